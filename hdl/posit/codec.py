"""Posit<N, ES> decode and encode blocks (2022 Standard for Posit Arithmetic).

An N-bit posit is ``sign | regime | exponent (ES bits) | fraction`` read as a
two's-complement integer: a negative posit is the two's complement of its
magnitude's pattern.  The regime is a run of R equal bits ended by the opposite
bit (or by the end of the word); a run of ones gives k = R - 1, a run of zeros
k = -R.  Exponent bits cut off by the end of the word are 0.  The value is
``(-1)**sign * 2**scale * (1 + f)`` with ``scale = k * 2**ES + e``.  ``0...0``
is zero and ``10...0`` is NaR.  ``golden/posit.py`` is the bit-exact model.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.posit import ES_RANGE, N_RANGE, PositFormat
from ..common.lzc import LeadingZeroCount
from ..common.params import check_bool, check_int
from ..common.shift import ShiftRightSticky, normalize_by_steps


__all__ = ["PositDecoder", "PositRegimeRun", "PositFields", "PositEncoder", "PositLayout", "PositRound",
           "check_format", "regime_width", "scale_width", "decode_pair", "encode"]


# posit<32,2> at depth 0 on ECP5-85F (best delay, medians of 3 seeds) with the regime runs by steps,
# steps of 8 and more on blocks: posit_add 1454 LUT4 at 20.7 MHz, posit_mul 922 at 25.3, against
# 1532 at 21.0 and 991 at 26.1 counted.  posit_add with steps of 16 and more on blocks: 1421 at
# 19.6, but 1149 against 999 at FloPoCo's 18 MHz; of 4 and more 1524, of 2 and more 1489 (seed 1).
REGIME_PARALLEL_STEP = 8


def check_format(owner, n, es):
    """Validate ``n`` (2..32) and ``es`` (0..4) and return the golden ``PositFormat``."""
    check_int(owner, "N", n, *N_RANGE)
    check_int(owner, "ES", es, *ES_RANGE)
    return PositFormat.get(n, es)


def regime_width(n):
    """Bits of the signed regime value k, which lies in -(n-1)..n-2 (-(n-1) only for 0 and NaR)."""
    return (n - 2).bit_length() + 1


def scale_width(n, es):
    """Bits of a decoded signed scale ``k * 2**es + e``: the concatenation of k and e."""
    return regime_width(n) + es


class PositDecoder(wiring.Component):
    """Splits a posit<n, es> pattern into sign, scale and significand.

    Ports: ``posit`` In(n).  ``sign``, ``zero``, ``nar`` Out(1) (sign is the
    pattern's top bit, so NaR has sign 1).  ``scale`` Out(signed(scale_width)):
    ``k * 2**es + e`` (for 0 and NaR: ``-(n-1) * 2**es``).  ``sig``
    Out(fbits + 1): the fraction with its hidden bit on top, ``fbits = max(0,
    n - 3 - es)`` fraction bits, shorter fractions padded with zeros below (0
    for 0 and NaR).  ``magnitude`` Out(n - 1): the pattern of ``|x|`` without
    its sign bit, which orders magnitudes like unsigned integers.

    The regime run length is the leading-zero count of the bits after the
    first regime bit XOR that bit, and the same bits shifted left by the count
    put the terminator on top with exponent and fraction below it.  With
    ``negate_pattern=True`` the fields come from the magnitude's pattern.  By
    default no negation precedes the field extraction: a negative pattern p
    has the regime and exponent of ~p (exponent bits XOR sign, cut-off bits
    reading as 1) and the value ``2**scale * (-2 + f)`` with its own fraction
    bits f, so only the fraction is negated afterwards: ``|sig| = 1 + (1 -
    f)``, one binade up when f = 0.  Which one maps to fewer LUTs depends on
    the unit around it (yosys' abc9 maps for delay).  Combinational: the two
    halves ``PositRegimeRun`` (the count) and ``PositFields`` (the shift and
    the fields), which a unit may put on either side of a pipeline register.
    With ``signed_form=True`` also ``PositFields``' two's-complement form
    ``signed_scale`` and ``signed_sig``; ``regime_by_steps``: see
    ``PositFields``.
    """

    def __init__(self, n, es=2, *, negate_pattern=False, signed_form=False, regime_by_steps=False):
        fmt = check_format("PositDecoder", n, es)
        check_bool("PositDecoder", "negate_pattern", negate_pattern)
        check_bool("PositDecoder", "signed_form", signed_form)
        check_bool("PositDecoder", "regime_by_steps", regime_by_steps)
        if signed_form and negate_pattern:
            raise ValueError("PositDecoder: signed_form needs the pattern as it is (negate_pattern=False)")
        self.n, self.es, self.fbits = n, es, fmt.fbits
        self.negate_pattern, self.signed_form = negate_pattern, signed_form
        self.regime_by_steps = regime_by_steps
        super().__init__({
            "posit":     In(n),
            "sign":      Out(1),
            "zero":      Out(1),
            "nar":       Out(1),
            "scale":     Out(signed(scale_width(n, es))),
            "sig":       Out(fmt.fbits + 1),
            "magnitude": Out(n - 1),
            **({"signed_scale": Out(signed(scale_width(n, es))),
                "signed_sig": Out(signed(fmt.fbits + 2))} if signed_form else {}),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.regime = regime = PositRegimeRun(self.n, self.es, negate_pattern=self.negate_pattern)
        m.submodules.fields = fields = PositFields(self.n, self.es, negate_pattern=self.negate_pattern,
                                                   signed_form=self.signed_form,
                                                   regime_by_steps=self.regime_by_steps)
        if self.signed_form:
            m.d.comb += [self.signed_scale.eq(fields.signed_scale), self.signed_sig.eq(fields.signed_sig)]
        m.d.comb += [
            regime.posit.eq(self.posit),
            fields.negative.eq(self.posit[self.n - 1]),
            fields.body.eq(regime.magnitude if self.negate_pattern else self.posit[:self.n - 1]),
            *([fields.run.eq(regime.run)] if hasattr(fields, "run") else []),
            self.sign.eq(fields.sign),
            self.zero.eq(fields.zero),
            self.nar.eq(fields.nar),
            self.scale.eq(fields.scale),
            self.sig.eq(fields.sig),
            self.magnitude.eq(regime.magnitude),
        ]
        return m


class PositRegimeRun(wiring.Component):
    """First half of ``PositDecoder``: the magnitude's pattern and the regime's run length.

    Ports: ``posit`` In(n); ``magnitude`` Out(n - 1) (``|x|`` without its sign
    bit); ``run`` Out(regime_width - 1): the leading-zero count of the bits after
    the first regime bit XOR that bit (of the magnitude's pattern with
    ``negate_pattern``).  Combinational.
    """

    def __init__(self, n, es=2, *, negate_pattern=False):
        check_format("PositRegimeRun", n, es)
        self.n, self.negate_pattern = n, negate_pattern
        super().__init__({
            "posit":     In(n),
            "magnitude": Out(n - 1),
            **({"run": Out(regime_width(n) - 1)} if n > 2 else {}),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.n
        sign = self.posit[n - 1]
        m.d.comb += self.magnitude.eq((self.posit[:n - 1] ^ sign.replicate(n - 1)) + sign)
        body = self.magnitude if self.negate_pattern else self.posit[:n - 1]
        if n > 2:
            m.submodules.lzc = lzc = LeadingZeroCount(n - 2)
            m.d.comb += [
                lzc.value.eq(body[:n - 2] ^ body[n - 2].replicate(n - 2)),
                self.run.eq(lzc.count),
            ]
        return m


class PositFields(wiring.Component):
    """Second half of ``PositDecoder``: from the pattern and its run length, the decoded fields.

    Ports: ``negative`` In(1), the pattern's top bit; ``body`` In(n - 1), the
    pattern's other bits (with ``negate_pattern``: ``PositRegimeRun``'s
    ``magnitude``); ``run`` In, ``PositRegimeRun``'s count; ``sign``, ``zero``,
    ``nar``, ``scale``, ``sig`` Out as ``PositDecoder`` describes them.

    With ``signed_form=True`` (not with ``negate_pattern``) also the
    two's-complement form, which needs no negation: ``signed_sig`` Out(signed(fbits + 2)) is ``Cat(f, ~s, s)``, the
    value ``1 + f`` of a positive pattern and ``-2 + f`` of a negative one
    (its own fraction bits f, fbits below the point; 0 for 0 and NaR), and
    ``signed_scale`` Out(signed(scale_width)) the scale of that form, so the
    value is ``2**signed_scale * signed_sig``; 0 has the lowest scale of all,
    ``-(n-1) * 2**es``.

    With ``regime_by_steps=True`` there is no ``run`` input: the fields find the
    run themselves, shifting the body's copies of its first bit out a power of
    two at a time (``normalize_by_steps``, steps of ``REGIME_PARALLEL_STEP``
    and more tested on blocks), with no count tree.  Combinational.
    """

    def __init__(self, n, es=2, *, negate_pattern=False, signed_form=False, regime_by_steps=False):
        fmt = check_format("PositFields", n, es)
        check_bool("PositFields", "negate_pattern", negate_pattern)
        check_bool("PositFields", "signed_form", signed_form)
        check_bool("PositFields", "regime_by_steps", regime_by_steps)
        if signed_form and negate_pattern:
            raise ValueError("PositFields: signed_form needs the pattern as it is (negate_pattern=False)")
        self.n, self.es, self.fbits = n, es, fmt.fbits
        self.negate_pattern, self.signed_form = negate_pattern, signed_form
        self.regime_by_steps = regime_by_steps
        super().__init__({
            "negative":  In(1),
            "body":      In(n - 1),
            **({"run": In(regime_width(n) - 1)} if n > 2 and not regime_by_steps else {}),
            "sign":      Out(1),
            "zero":      Out(1),
            "nar":       Out(1),
            "scale":     Out(signed(scale_width(n, es))),
            "sig":       Out(fmt.fbits + 1),
            **({"signed_scale": Out(signed(scale_width(n, es))),
                "signed_sig": Out(signed(fmt.fbits + 2))} if signed_form else {}),
        })

    def elaborate(self, platform):
        m = Module()
        n, es, kw, fbits = self.n, self.es, regime_width(self.n), self.fbits
        sign = self.negative
        body = self.body
        field_sign = C(0, 1) if self.negate_pattern else sign
        special = Signal(name="special")
        m.d.comb += special.eq(~body.any())
        first = body[n - 2]
        run = self.run if hasattr(self, "run") else C(0, 0)
        tail = C(0, 0)
        if n > 2 and self.regime_by_steps:
            head, _, run = normalize_by_steps(m, body, C(n - 2), n - 1, copies=True,
                                              parallel_step=REGIME_PARALLEL_STEP)
            tail = head[:n - 3]
        elif n > 2:
            shifted = Signal(n - 2, name="after_regime")
            m.d.comb += shifted.eq(body[:n - 2] << run)
            tail = shifted[:n - 3]
        # The fields of a negative pattern p decode as those of ~p (whose run has the same
        # length) with the fraction bits left as they are: the value is 2**scale(~p) * (-2 + f).
        # k = run for a run of ones, -run - 1 for a run of zeros: one's complement of Cat(run, 0).
        ones_run = first ^ field_sign
        k = Cat(run, C(0, 1)) ^ (~ones_run).replicate(kw)
        tw = len(tail)
        ext = Cat(C(0, es), tail)
        e = ext[tw:tw + es] ^ field_sign.replicate(es) if es else C(0, 0)
        raw_frac = ext[es:tw] if tw > es else C(0, 0)
        scale = Cat(e, k).as_signed()
        frac = raw_frac
        if self.signed_form:
            m.d.comb += [self.signed_scale.eq(scale),
                         self.signed_sig.eq(Cat(raw_frac, ~sign & ~special, sign & ~special))]
        if not self.negate_pattern and fbits:
            # |-2 + f| = 1 + (1 - f): the fraction's two's complement, one binade up when f = 0.
            frac = Signal(fbits, name="frac")
            m.d.comb += frac.eq((raw_frac ^ sign.replicate(fbits)) + sign)
            scale = scale + (sign & ~raw_frac.any())
        elif not self.negate_pattern:
            scale = scale + sign
        m.d.comb += [
            self.sign.eq(sign),
            self.zero.eq(special & ~sign),
            self.nar.eq(special & sign),
            self.scale.eq(scale),
            self.sig.eq(Cat(frac, ~special)),
        ]
        return m


class PositEncoder(wiring.Component):
    """Rounds ``(-1)**sign * 2**scale * (1.frac + sticky * tiny)`` to a posit<n, es> pattern.

    Ports: ``sign`` In(1); ``scale`` In(signed(scale_width)), any value (out of
    range saturates); ``frac`` In(frac_width): the bits below the hidden 1,
    MSB first; ``sticky`` In(1): nonzero bits were dropped below ``frac``;
    ``zero``, ``nar`` In(1) override the result with 0 and NaR.
    ``posit`` Out(n).

    Rounding (2022 standard): write ``|x|`` as the unbounded string regime,
    exponent, fraction; keep its first n - 1 bits, round to nearest, ties to
    even on the pattern (round bit, sticky = OR of every later bit); never 0
    or NaR: ``scale > (n-2) * 2**es`` gives maxpos and ``scale < -(n-2) *
    2**es`` minpos.  The string is laid out by one right shift of
    ``Cat(frac, e, ~r, r)`` by ``k`` (``r`` = k >= 0) or ``-k-1`` (k < 0),
    filled with ``r``; only the top n - 2 - es fraction bits can reach the
    kept bits or the round bit, the rest go straight to the sticky bit.  A
    negative result is ``~(t + up) + 1 = ~t + ~up``, so rounding and negation
    share one adder.  Combinational: the two halves ``PositLayout`` (the
    string) and ``PositRound`` (the rounding adder), which a unit may put on
    either side of a pipeline register.

    ``mask_sticky``: see ``PositLayout``; ``early_specials``: see ``PositRound``.

    With ``twos_complement=True`` a negative input is in the two's-complement
    form of ``PositFields.signed_sig``: ``2**scale * (-2 + 0.frac)``.  Its
    pattern is the sign, the regime and exponent of ``scale`` inverted, then
    ``frac`` as it is: the two's complement of the magnitude's string, laid
    out by the same shift.  Rounding that string to nearest, ties to even, is
    the magnitude's rounding reflected (negation keeps a pattern's parity), so
    only ``up`` is added and nothing is negated.  Saturation: ``scale >=
    (n-2) * 2**es`` gives -maxpos (the value is beyond -maxpos there) and
    ``scale < -(n-2) * 2**es`` gives -minpos.
    """

    def __init__(self, n, es=2, *, frac_width, scale_width, twos_complement=False, mask_sticky=False,
                 early_specials=False):
        check_format("PositEncoder", n, es)
        check_int("PositEncoder", "frac_width", frac_width, 0)
        check_int("PositEncoder", "scale_width", scale_width, 1)
        check_bool("PositEncoder", "twos_complement", twos_complement)
        check_bool("PositEncoder", "mask_sticky", mask_sticky)
        check_bool("PositEncoder", "early_specials", early_specials)
        self.n, self.es = n, es
        self.twos_complement, self.mask_sticky = twos_complement, mask_sticky
        self.early_specials = early_specials
        self.frac_width, self.scale_width = frac_width, scale_width
        super().__init__({
            "sign":   In(1),
            "scale":  In(signed(scale_width)),
            "frac":   In(frac_width),
            "sticky": In(1),
            "zero":   In(1),
            "nar":    In(1),
            "posit":  Out(n),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.layout = layout = PositLayout(self.n, self.es, frac_width=self.frac_width,
                                                   scale_width=self.scale_width,
                                                   twos_complement=self.twos_complement,
                                                   mask_sticky=self.mask_sticky)
        m.submodules.round = rnd = PositRound(self.n, twos_complement=self.twos_complement,
                                              early_specials=self.early_specials)
        if self.twos_complement:
            m.d.comb += layout.sign.eq(self.sign)
        m.d.comb += [
            layout.scale.eq(self.scale), layout.frac.eq(self.frac), layout.sticky.eq(self.sticky),
            rnd.sign.eq(self.sign), rnd.zero.eq(self.zero), rnd.nar.eq(self.nar),
            rnd.kept.eq(layout.kept), rnd.round_bit.eq(layout.round_bit), rnd.sticky.eq(layout.sticky_all),
            rnd.over.eq(layout.over), rnd.under.eq(layout.under),
            self.posit.eq(rnd.posit),
        ]
        return m


class PositLayout(wiring.Component):
    """First half of ``PositEncoder``: the magnitude's string cut to n - 1 bits, a round and a sticky bit.

    Ports: ``scale``, ``frac``, ``sticky`` In as for ``PositEncoder``; ``kept``
    Out(n - 1), ``round_bit``, ``sticky_all`` Out(1); ``over``, ``under``
    Out(1): the scale is beyond maxpos / below minpos.  With
    ``twos_complement=True`` (see ``PositEncoder``) also ``sign`` In(1), and
    the string is the pattern's own.  The bits the layout shift drops go to
    the sticky bit stage by stage, or with ``mask_sticky=True`` all at once,
    as the unshifted string ANDed with a mask of the shift amount (beside the
    shift rather than through it; which maps to fewer LUTs depends on the
    unit around it).  Combinational.
    """

    def __init__(self, n, es=2, *, frac_width, scale_width, twos_complement=False, mask_sticky=False):
        check_format("PositLayout", n, es)
        check_bool("PositLayout", "twos_complement", twos_complement)
        check_bool("PositLayout", "mask_sticky", mask_sticky)
        self.n, self.es = n, es
        self.twos_complement, self.mask_sticky = twos_complement, mask_sticky
        self.frac_width, self.scale_width = frac_width, scale_width
        super().__init__({
            **({"sign": In(1)} if twos_complement else {}),
            "scale":      In(signed(scale_width)),
            "frac":       In(frac_width),
            "sticky":     In(1),
            "kept":       Out(n - 1),
            "round_bit":  Out(1),
            "sticky_all": Out(1),
            "over":       Out(1),
            "under":      Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, es, fw = self.n, self.es, self.frac_width
        kw = regime_width(n)
        max_scale = (n - 2) << es
        if self.twos_complement:
            m.d.comb += self.over.eq((self.scale > max_scale) | (self.sign & (self.scale == max_scale)))
        else:
            m.d.comb += self.over.eq(self.scale > max_scale)
        m.d.comb += self.under.eq(self.scale < -max_scale)

        k = Signal(signed(kw), name="k")
        m.d.comb += k.eq(self.scale >> es)
        k_neg = k[kw - 1]
        amount = k[:kw - 1] ^ k_neg.replicate(kw - 1) if kw > 1 else C(0, 1)
        keep = max(0, n - 2 - es)
        if fw >= keep:
            f, dropped = self.frac[fw - keep:], self.frac[:fw - keep].any()
        else:
            f, dropped = Cat(C(0, keep - fw), self.frac), C(0, 1)
        if self.twos_complement:
            word = Cat(f, Cat(self.scale[:es], k_neg, ~k_neg) ^ self.sign.replicate(es + 2))
            fill = ~k_neg ^ self.sign
        else:
            word = Cat(f, self.scale[:es], k_neg, ~k_neg)
            fill = ~k_neg
        width = len(word)

        m.submodules.layout = layout = ShiftRightSticky(width, len(amount), fill=True)
        m.d.comb += [layout.value.eq(word), layout.amount.eq(amount), layout.fill.eq(fill)]
        string = layout.result
        shifted_out = layout.sticky
        if self.mask_sticky:
            reach = (1 << len(amount)) - 1
            mask = Cat(*(amount > i if i < reach else C(0, 1) for i in range(width)))
            shifted_out = (word & mask).any()
        m.d.comb += [
            self.kept.eq(string[width - (n - 1):]),
            self.round_bit.eq(string[width - n]),
            self.sticky_all.eq(self.sticky | dropped | shifted_out | string[:width - n].any()),
        ]
        return m


class PositRound(wiring.Component):
    """Second half of ``PositEncoder``: round to nearest even on the pattern, saturate, negate.

    Ports: ``kept``, ``round_bit``, ``sticky``, ``over``, ``under`` In
    (``PositLayout``'s outputs), ``sign``, ``zero``, ``nar`` In(1); ``posit``
    Out(n).  With ``twos_complement=True`` the kept bits are the pattern's
    own and are not negated.  With ``early_specials=True`` ``zero`` and ``nar``
    clear the kept bits, the round-up and the sign before the rounding adder
    (in the LUT4 per bit that picks the saturated pattern) and ``nar`` sets
    the top bit after it, rather than a mux after the adder: fewer LUT4 where
    they come early, from the operands (posit_mul <32,2> at depth 0: 590
    against 627 mapped for area), a longer path where they come from the sum.
    Combinational.
    """

    def __init__(self, n, *, twos_complement=False, early_specials=False):
        check_int("PositRound", "n", n, 2)
        check_bool("PositRound", "twos_complement", twos_complement)
        check_bool("PositRound", "early_specials", early_specials)
        self.n = n
        self.twos_complement, self.early_specials = twos_complement, early_specials
        super().__init__({
            "kept":      In(n - 1),
            "round_bit": In(1),
            "sticky":    In(1),
            "over":      In(1),
            "under":     In(1),
            "sign":      In(1),
            "zero":      In(1),
            "nar":       In(1),
            "posit":     Out(n),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.n
        body = Signal(n - 1, name="body")
        up = Signal(name="round_up")
        maxpos, minpos = (1 << (n - 1)) - 1, 1
        if self.twos_complement:
            # The patterns of -maxpos and -minpos are those of minpos and maxpos behind the sign.
            saturated = Mux(self.over, Mux(self.sign, minpos, maxpos), Mux(self.sign, maxpos, minpos))
        else:
            saturated = Mux(self.over, maxpos, minpos)
        sign = self.sign
        round_up = self.round_bit & (self.sticky | self.kept[0]) & ~self.over & ~self.under
        if self.early_specials:
            special = self.zero | self.nar
            sign = sign & ~special
            m.d.comb += [
                body.eq(Mux(special, 0, Mux(self.over | self.under, saturated, self.kept))),
                up.eq(round_up & ~special),
            ]
        else:
            m.d.comb += [
                body.eq(Mux(self.over | self.under, saturated, self.kept) if self.twos_complement else
                        Mux(self.over, maxpos, Mux(self.under, minpos, self.kept))),
                up.eq(round_up),
            ]
        signed_result = Signal(n, name="signed_result")
        if self.twos_complement:
            m.d.comb += signed_result.eq(Cat((body + up)[:n - 1], sign))
        else:
            m.d.comb += signed_result.eq((Cat(body, C(0, 1)) ^ sign.replicate(n)) + (up ^ sign))
        if self.early_specials:
            m.d.comb += self.posit.eq(signed_result | Cat(C(0, n - 1), self.nar))
        else:
            m.d.comb += self.posit.eq(Mux(self.nar, 1 << (n - 1), Mux(self.zero, 0, signed_result)))
        return m


def decode_pair(m, pipe, n, es, a, b, *, negate_pattern=False, signed_form=False, regime_by_steps=False,
                **carry):
    """Decodes posits ``a`` and ``b`` with pipeline cut point ``regime`` between the two halves.

    Returns a dict: ``a`` and ``b`` (``PositFields``: the ``PositDecoder``
    outputs but ``magnitude``, and the two's-complement form with
    ``signed_form``), ``a_larger`` (``|a| >= |b|``, compared before the cut)
    and the ``carry`` values after the cut.  With ``regime_by_steps`` the
    fields find the regime runs themselves (``PositFields``), after the cut.
    """
    halves = {}
    for name, posit in (("a", a), ("b", b)):
        regime = PositRegimeRun(n, es, negate_pattern=negate_pattern)
        m.submodules[f"regime_{name}"] = regime
        m.d.comb += regime.posit.eq(posit)
        halves[name] = (posit, regime)
    (pa, ra), (pb, rb) = halves["a"], halves["b"]
    runs = dict(a_run=ra.run, b_run=rb.run) if n > 2 and not regime_by_steps else {}
    body = (lambda p, r: r.magnitude) if negate_pattern else (lambda p, r: p[:n - 1])
    s = pipe.cut("regime", a_negative=pa[n - 1], b_negative=pb[n - 1], a_body=body(pa, ra), b_body=body(pb, rb),
                 a_larger=ra.magnitude >= rb.magnitude, **runs, **carry)
    out = {key: s[key] for key in carry}
    out["a_larger"] = s["a_larger"]
    for name in ("a", "b"):
        fields = PositFields(n, es, negate_pattern=negate_pattern, signed_form=signed_form,
                             regime_by_steps=regime_by_steps)
        m.submodules[f"fields_{name}"] = fields
        m.d.comb += [fields.negative.eq(s[f"{name}_negative"]), fields.body.eq(s[f"{name}_body"])]
        if runs:
            m.d.comb += fields.run.eq(s[f"{name}_run"])
        out[name] = fields
    return out


def encode(m, pipe, n, es, s, *, twos_complement=False, mask_sticky=False, early_specials=False):
    """The posit of encoder fields ``s`` (sign, scale, frac, sticky, zero, nar), with pipeline cut
    point ``layout`` between ``PositLayout`` and ``PositRound`` (``twos_complement``,
    ``mask_sticky``, ``early_specials``: see ``PositEncoder``, ``PositLayout`` and ``PositRound``)."""
    layout = PositLayout(n, es, frac_width=len(Value.cast(s["frac"])), scale_width=len(Value.cast(s["scale"])),
                         twos_complement=twos_complement, mask_sticky=mask_sticky)
    m.submodules.layout = layout
    m.d.comb += [layout.scale.eq(s["scale"]), layout.frac.eq(s["frac"]), layout.sticky.eq(s["sticky"])]
    if twos_complement:
        m.d.comb += layout.sign.eq(s["sign"])
    s = pipe.cut("layout", sign=s["sign"], zero=s["zero"], nar=s["nar"], kept=layout.kept,
                 round_bit=layout.round_bit, sticky=layout.sticky_all, over=layout.over, under=layout.under)
    m.submodules.round = rnd = PositRound(n, twos_complement=twos_complement, early_specials=early_specials)
    m.d.comb += [getattr(rnd, key).eq(value) for key, value in s.items()]
    return rnd.posit
