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
from ..common.params import check_int
from ..common.shift import ShiftRightSticky


__all__ = ["PositDecoder", "PositEncoder", "check_format", "regime_width", "scale_width"]


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
    the unit around it (yosys' abc9 maps for delay).  Combinational.
    """

    def __init__(self, n, es=2, *, negate_pattern=False):
        fmt = check_format("PositDecoder", n, es)
        if not isinstance(negate_pattern, bool):
            raise ValueError(f"PositDecoder: negate_pattern must be a bool, got {negate_pattern!r}")
        self.n, self.es, self.fbits = n, es, fmt.fbits
        self.negate_pattern = negate_pattern
        super().__init__({
            "posit":     In(n),
            "sign":      Out(1),
            "zero":      Out(1),
            "nar":       Out(1),
            "scale":     Out(signed(scale_width(n, es))),
            "sig":       Out(fmt.fbits + 1),
            "magnitude": Out(n - 1),
        })

    def elaborate(self, platform):
        m = Module()
        n, es, kw, fbits = self.n, self.es, regime_width(self.n), self.fbits
        sign = self.posit[n - 1]
        magnitude = Signal(n - 1, name="magnitude")
        m.d.comb += magnitude.eq((self.posit[:n - 1] ^ sign.replicate(n - 1)) + sign)
        body = magnitude if self.negate_pattern else self.posit[:n - 1]
        field_sign = C(0, 1) if self.negate_pattern else sign
        special = Signal(name="special")
        m.d.comb += special.eq(~body.any())
        first = body[n - 2]
        rest = body[:n - 2]
        run = C(0, 0)
        tail = C(0, 0)
        if n > 2:
            run = Signal(kw - 1, name="run_after_first")
            m.submodules.lzc = lzc = LeadingZeroCount(n - 2)
            shifted = Signal(n - 2, name="after_regime")
            m.d.comb += [
                lzc.value.eq(rest ^ first.replicate(n - 2)),
                run.eq(lzc.count),
                shifted.eq(rest << lzc.count),
            ]
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
            self.magnitude.eq(magnitude),
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
    share one adder.  Combinational.
    """

    def __init__(self, n, es=2, *, frac_width, scale_width):
        check_format("PositEncoder", n, es)
        check_int("PositEncoder", "frac_width", frac_width, 0)
        check_int("PositEncoder", "scale_width", scale_width, 1)
        self.n, self.es = n, es
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
        n, es, fw = self.n, self.es, self.frac_width
        kw = regime_width(n)
        max_scale = (n - 2) << es
        over = Signal(name="over")
        under = Signal(name="under")
        m.d.comb += [over.eq(self.scale > max_scale), under.eq(self.scale < -max_scale)]

        k = Signal(signed(kw), name="k")
        m.d.comb += k.eq(self.scale >> es)
        k_neg = k[kw - 1]
        amount = k[:kw - 1] ^ k_neg.replicate(kw - 1) if kw > 1 else C(0, 1)
        keep = max(0, n - 2 - es)
        if fw >= keep:
            f, dropped = self.frac[fw - keep:], self.frac[:fw - keep].any()
        else:
            f, dropped = Cat(C(0, keep - fw), self.frac), C(0, 1)
        word = Cat(f, self.scale[:es], k_neg, ~k_neg)
        width = len(word)

        m.submodules.layout = layout = ShiftRightSticky(width, len(amount), fill=True)
        m.d.comb += [layout.value.eq(word), layout.amount.eq(amount), layout.fill.eq(~k_neg)]
        string = layout.result
        kept = string[width - (n - 1):]
        round_bit = string[width - n]
        sticky = Signal(name="sticky_all")
        m.d.comb += sticky.eq(self.sticky | dropped | layout.sticky | string[:width - n].any())

        body = Signal(n - 1, name="body")
        up = Signal(name="round_up")
        m.d.comb += [
            body.eq(Mux(over, (1 << (n - 1)) - 1, Mux(under, 1, kept))),
            up.eq(round_bit & (sticky | kept[0]) & ~over & ~under),
        ]
        signed_result = Signal(n, name="signed_result")
        m.d.comb += signed_result.eq((Cat(body, C(0, 1)) ^ self.sign.replicate(n)) + (up ^ self.sign))
        m.d.comb += self.posit.eq(Mux(self.nar, 1 << (n - 1), Mux(self.zero, 0, signed_result)))
        return m
