"""Binary floating point in hardware: unpack/classify, normalize and round/pack.

Formats are ``golden.fp.FloatFormat`` descriptors: a ``1 + E + M``-bit word
``sign | exponent field | mantissa field``, bias ``b``, ``emin = 1 - b``.  A
finite value is ``(-1)**sign * significand * 2**exponent`` with the integer
``significand`` (``P = M + 1`` bits, hidden bit set for normal numbers) and the
exponent of its least significant bit ``exponent = max(field, 1) - b - M``.

Rounding (``FloatRound``) is the RISC-V one: the five ``frm`` modes of
``rounding.round_increment``, overflow to +-Inf or +-max finite by mode, and
tininess detected after rounding (UF = tiny and inexact).
"""

from typing import NamedTuple

from amaranth import *
from amaranth.utils import bits_for
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.fp import NX, OF, UF
from .params import check_bool, check_int
from .rounding import RoundingMode, round_increment
from .lzc import LeadingZeroCount
from .shift import Normalize, ShiftRightSticky, normalize_by_steps


__all__ = ["Unpacked", "unpack", "biased_exponent", "normalize_unpacked", "exponent_shape", "normalize_limits",
           "normalize_amounts", "normalize_masks", "float_normalize", "FloatRound",
           "round_normalized", "select_result"]


def exponent_shape(fmt):
    """A signed shape that holds every exponent arithmetic of the datapaths on ``fmt``."""
    return signed(max(12, fmt.exp_bits + 6))


class Unpacked(NamedTuple):
    """Fields of one unpacked operand (all 1-bit except ``significand`` and ``exponent``)."""
    sign: Value
    zero: Value
    inf: Value
    nan: Value
    snan: Value
    significand: Value
    exponent: Value


def unpack(m, pattern, fmt, name):
    """Classify ``pattern`` (a ``fmt.width``-bit value) and split it into sign, significand and exponent.

    ``fmt.flavour == "ieee"``: the all-ones exponent field is Inf (mantissa 0) or
    NaN, signalling when the mantissa MSB is clear.  ``"fn"`` (OCP E4M3FN): no
    Inf; only the all-ones exponent and mantissa is NaN, never signalling.
    ``"finite"`` (OCP FP6, FP4): every pattern is a number.
    """
    e, mb = fmt.exp_bits, fmt.man_bits
    mant, field, sign = pattern[:mb], pattern[mb:mb + e], pattern[mb + e]
    top = field == (1 << e) - 1
    u = Unpacked(
        sign=Signal(name=f"{name}_sign"), zero=Signal(name=f"{name}_zero"),
        inf=Signal(name=f"{name}_inf"), nan=Signal(name=f"{name}_nan"), snan=Signal(name=f"{name}_snan"),
        significand=Signal(fmt.precision, name=f"{name}_significand"),
        exponent=Signal(exponent_shape(fmt), name=f"{name}_exponent"))
    if fmt.flavour == "ieee":
        nan = top & (mant != 0)
        m.d.comb += [u.inf.eq(top & (mant == 0)), u.nan.eq(nan),
                     u.snan.eq(nan & ~mant[mb - 1] if mb >= 2 else 0)]
    elif fmt.flavour == "fn":
        m.d.comb += [u.inf.eq(0), u.nan.eq(top & (mant == (1 << mb) - 1)), u.snan.eq(0)]
    else:
        m.d.comb += [u.inf.eq(0), u.nan.eq(0), u.snan.eq(0)]
    normal = field != 0
    m.d.comb += [
        u.sign.eq(sign),
        u.zero.eq(~normal & (mant == 0)),
        u.significand.eq(Cat(mant, normal)),
        u.exponent.eq(biased_exponent(pattern, fmt) - (fmt.bias + mb)),
    ]
    return u


def biased_exponent(pattern, fmt):
    """The exponent field of a ``fmt`` pattern, 1 for subnormals and zero: ``unpack``'s exponent
    (the lsb's weight) plus ``bias + man_bits``."""
    field = Value.cast(pattern)[fmt.man_bits:fmt.man_bits + fmt.exp_bits]
    return Mux(field != 0, field, 1)


def normalize_unpacked(m, u, fmt, name):
    """``u`` (from ``unpack``) with a subnormal significand shifted up to its hidden-bit position.

    The exponent goes below ``emin`` by the shift; zeros stay zero.  Every
    nonzero finite significand then has its MSB set.
    """
    m.submodules[f"{name}_normalize"] = norm = Normalize(fmt.precision)
    significand = Signal(fmt.precision, name=f"{name}_normalized")
    exponent = Signal(exponent_shape(fmt), name=f"{name}_normalized_exponent")
    m.d.comb += [
        norm.value.eq(u.significand),
        significand.eq(norm.result),
        exponent.eq(u.exponent - norm.shift),
    ]
    return u._replace(significand=significand, exponent=exponent)


def normalize_limits(m, fmt, width, exponent, exponent_lo):
    """What the counted form of ``float_normalize`` derives from the exponent alone, to take from an
    earlier stage: ``under``, the magnitude lies wholly below 2**emin; ``down``, the right shift
    then; ``dropped``, the bits that shift drops (bit i set when i < down); ``exponent_top``, the
    weight of the top bit before the left shift; ``stop``, a one at bit ``width - 1 - left``, where
    ``left`` (0..width) is the most it may shift left (to put 2**emin at the top; no bit when left =
    width), so ORed into the magnitude it makes the leading-zero count ``min(count, left)``."""
    limits = normalize_masks(m, width, normalize_amounts(m, fmt, width, exponent, exponent_lo))
    return {key: limits[key] for key in ("stop", "under", "down", "dropped", "exponent_top")}


def normalize_amounts(m, fmt, width, exponent, exponent_lo):
    """The first half of ``normalize_limits``: ``under``, ``down``, ``left`` and ``exponent_top``."""
    w = width
    reach = (w - 1) - fmt.emin                          # the left shift limit is exponent + reach
    # Compared with constants rather than through the sum, so the sums run beside the comparisons.
    under = exponent < -reach
    down = Signal(range(w + 1), name="normalize_down")
    if exponent_lo + reach < 0:
        m.d.comb += down.eq(Mux(under, Mux(exponent < -reach - w, w, -reach - exponent), 0))
    left = Signal(range(w + 1), name="normalize_left")
    m.d.comb += left.eq(Mux(under, 0, Mux(exponent > w - reach, w, exponent + reach)))
    return dict(under=under, down=down, left=left, exponent_top=Mux(under, fmt.emin, exponent + (w - 1)))


def normalize_masks(m, width, amounts):
    """The second half of ``normalize_limits``: ``amounts`` with the ``stop`` and ``dropped`` masks."""
    w = width
    stop = Signal(w, name="normalize_stop")
    m.d.comb += stop.eq(C(1 << (w - 1), w) >> amounts["left"])
    dropped = Signal(w, name="normalize_dropped")
    m.d.comb += dropped.eq(~(C((1 << w) - 1, w) << amounts["down"]))
    return dict(amounts, stop=stop, dropped=dropped)


def float_normalize(m, pipe, cuts, fmt, magnitude, exponent, width, exponent_lo, exponent_hi, limits=None,
                    name="", **carry):
    """Brings a magnitude to the compact form ``FloatRound`` takes, stopping at the subnormal range
    of ``fmt``; returns ``(mantissa, exponent_top, carry)``, ``carry`` the values after the cut
    points ``cuts = (count, coarse)``.

    Input: ``magnitude`` (``width`` bits) worth ``magnitude * 2**exponent``, ``exponent`` in
    ``exponent_lo..exponent_hi``.  The magnitude is shifted left until its MSB is at the top or the
    top weighs ``2**emin``; when it lies wholly below ``2**emin`` (possible only if ``exponent_lo``
    says so) it is shifted right instead, the bits shifted out kept as sticky.  ``mantissa`` (P + 3
    bits): the top ``P + 2`` bits of the shifted magnitude above one sticky bit, the OR of all bits
    below them; ``exponent_top``, the weight of the mantissa's MSB.  ``width >= P + 3``.
    ``limits`` are ``normalize_limits`` of ``exponent`` (worked out here when None).  ``name``
    prefixes the submodules' names, for a unit that normalizes more than one magnitude.

    Two forms.  With a register at ``count``, the leading-zero count of the magnitude (the limit
    ORed in as a stop bit) goes through it and the shift is done in two steps, by the count's
    multiple of 8 and by the rest, with the register at ``coarse`` between them.  Without one,
    the shift is decided step by step (``shift.normalize_by_steps``): no count tree, and a
    shifter that narrows as it goes, so fewer LUT4 at every width (ECP5-85F, depth 0, best delay, seed 1: the
    fp32 ``fma``, 81 bits, 1453 LUT4 at 18.3 MHz against 1761 at 19.1 counted; the fp16 -> fp32
    ``exsdotp``, 110 bits, 1977 at 15.7 against 2178 at 15.5; the e5m2 -> fp16 ``exsdotp``, 45
    bits, 1022 at 22.1 against 1220 at 21.3 with a count and a one-step shift), at the cost of a
    longer path in a stage holding the whole normalization (fp32 ``fma`` at depth 1: 31.7 MHz
    against 38.4, medians of 3 seeds)."""
    count_cut, coarse_cut = cuts
    w, keep = width, fmt.precision + 2
    by_steps = not pipe.registered(count_cut)
    if limits is None:
        amounts = normalize_amounts(m, fmt, w, exponent, exponent_lo)
        limits = amounts if by_steps else normalize_masks(m, w, amounts)
    value = magnitude
    if exponent_lo + (w - 1) - fmt.emin < 0:
        m.submodules[f"{name}denormalize"] = right = ShiftRightSticky(w, bits_for(w))
        m.d.comb += [right.value.eq(magnitude), right.amount.eq(limits["down"])]
        # The sticky bit from the magnitude and a mask, beside the shift rather than through it.
        sticky = right.sticky if by_steps else (magnitude & limits["dropped"]).any()
        value = Signal(w, name="denormalized")
        m.d.comb += value.eq(right.result | sticky)
    if by_steps:
        head, sticky, shift = normalize_by_steps(m, value, limits["left"], keep, leading=magnitude)
        carry = pipe.cut(coarse_cut, **pipe.cut(count_cut, **carry))
        exponent_top = Mux(limits["under"], limits["exponent_top"], limits["exponent_top"] - shift)
        return Cat(sticky, head), exponent_top, carry
    # Counted on the magnitude itself, beside the right shift: a denormalized value is not shifted
    # left (its stop bit is the top one).
    m.submodules[f"{name}lzc"] = lzc = LeadingZeroCount(w)
    m.d.comb += lzc.value.eq(magnitude | limits["stop"])
    s = pipe.cut(count_cut, value=value, count=lzc.count, under=limits["under"],
                 exponent_top=limits["exponent_top"], **carry)
    shift = s["count"]
    exponent_top = Mux(s["under"], s["exponent_top"], s["exponent_top"] - shift)
    head, sticky, s = _shift_left_sticky(m, pipe, coarse_cut, s["value"], shift, keep,
                                         exponent_top=exponent_top, **{key: s[key] for key in carry})
    return Cat(sticky, head), s["exponent_top"], {key: s[key] for key in carry}


def _shift_left_sticky(m, pipe, cut, value, shift, keep, **carry):
    """The top ``keep`` bits of ``value << shift`` and the OR of the bits below them, the shift
    done in two steps with pipeline cut point ``cut`` between: by ``shift`` rounded down to a
    multiple of 8 (keeping the top keep + 7 bits and the OR of the rest), then by the rest."""
    w = len(value)
    pad = max(0, keep + 7 - w)
    value = Cat(C(0, pad), value)
    w += pad
    shift = Value.cast(shift)
    coarse, fine = Cat(C(0, 3), shift[3:]), shift[:3]
    low = w - keep - 7                                  # bits of value << coarse below the kept window
    moved = Signal(keep + 7, name="coarse_shifted")
    m.d.comb += moved.eq((value << coarse)[low:w])
    # A shift by 8j drops the bits below low - 8j: the OR of each such tail, picked by the shift.
    tails = [value[:low - 8 * j].any() for j in range((low + 7) // 8)]
    dropped = Array(tails + [C(0, 1)] * ((1 << len(shift[3:])) - len(tails)))[shift[3:]] if low else C(0, 1)
    s = pipe.cut(cut, moved=moved, fine=fine, dropped=dropped, **carry)
    shifted = Signal(keep + 7, name="fine_shifted")
    m.d.comb += shifted.eq(s["moved"] << s["fine"])
    below = Cat(*(s["fine"] + i < 7 for i in range(7)))
    sticky = s["dropped"] | (s["moved"][:7] & below).any()
    return shifted[7:], sticky, {key: s[key] for key in carry}


class FloatRound(wiring.Component):
    """Rounds a normalized magnitude to ``fmt`` and packs it (IEEE-flavour destinations).

    Inputs: ``sign``; ``mantissa`` In(width) with ``exponent_top`` as
    ``float_normalize`` gives them (MSB set, or ``exponent_top == emin`` for a
    subnormal); ``rm`` (codes 0..4; the caller replaces reserved codes).  The
    top ``P`` bits are kept, the next is the guard bit, the rest are sticky.
    Outputs: ``result`` (the packed word), ``overflow`` (the rounded value
    exceeds max finite: +-Inf for RNE, RMM and for RUP/RDN toward the sign, else
    +-max finite), ``underflow`` (tiny after rounding and inexact), ``inexact``.
    A zero mantissa packs +-0 with ``sign``.  Combinational.

    The rounded word is ``Cat(mantissa, field) + increment`` and overflow a
    comparison of it with Inf's pattern.  With ``carry_select=True`` the
    mantissa's increment runs beside the exponent field and the field plus
    one (picked by the mantissa's carry), and overflow comes from the
    exponent: a shorter path for deep pipelines, more LUTs for a short one.
    """

    def __init__(self, fmt, width, *, carry_select=False):
        if fmt.flavour != "ieee":
            raise ValueError(f"FloatRound: destination format {fmt!r} must have the ieee flavour (with Inf)")
        check_int("FloatRound", "width", width, fmt.precision + 3)
        check_bool("FloatRound", "carry_select", carry_select)
        self.fmt, self.width, self.carry_select = fmt, width, carry_select
        super().__init__({
            "sign":         In(1),
            "mantissa":     In(width),
            "exponent_top": In(exponent_shape(fmt)),
            "rm":           In(RoundingMode),
            "result":       Out(fmt.width),
            "overflow":     Out(1),
            "underflow":    Out(1),
            "inexact":      Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, w, p = self.fmt, self.width, self.fmt.precision
        mb, eb = fmt.man_bits, fmt.exp_bits
        x, rm, sign = self.mantissa, self.rm.as_value(), self.sign
        kept, guard, sticky = x[w - p:], x[w - p - 1], x[:w - p - 1].any()
        normal = kept[p - 1]
        increment = Signal()
        m.d.comb += increment.eq(round_increment(rm, sign, kept[0], guard, sticky))

        field = Signal(exponent_shape(fmt))
        m.d.comb += field.eq(Mux(normal, self.exponent_top - fmt.emin + 1, 0))
        if self.carry_select:
            carry = kept[:mb].all() & increment
            mantissa, field_up = Signal(mb), Signal(exponent_shape(fmt))
            m.d.comb += [mantissa.eq(kept[:mb] + increment),
                         field_up.eq(Mux(normal, self.exponent_top - fmt.emin + 2, 1))]
            packed = Cat(mantissa, Mux(carry, field_up, field)[:eb])
            overflow = normal & ((self.exponent_top > fmt.emax) | ((self.exponent_top == fmt.emax) & carry))
        else:
            packed = Signal(signed(mb + len(field) + 1))
            m.d.comb += packed.eq(Cat(kept[:mb], field).as_signed() + increment)
            overflow = packed >= (((1 << eb) - 1) << mb)
            packed = packed[:mb + eb]

        # Tiny after rounding: below 2**emin even when rounded to P bits with an unbounded exponent.
        wide_kept, wide_guard, wide_sticky = x[w - p - 1:w - 1], x[w - p - 2], x[:w - p - 2].any()
        wide_carry = wide_kept.all() & round_increment(rm, sign, wide_kept[0], wide_guard, wide_sticky)
        tiny = ~normal & ~(x[w - 2] & wide_carry)

        inexact = guard | sticky
        to_inf = ((rm == RoundingMode.RNE.value) | (rm == RoundingMode.RMM.value)
                  | ((rm == RoundingMode.RUP.value) & ~sign) | ((rm == RoundingMode.RDN.value) & sign))
        inf = ((1 << eb) - 1) << mb
        max_finite = inf - 1
        m.d.comb += [
            self.inexact.eq(inexact),
            self.overflow.eq(overflow),
            self.underflow.eq(tiny & inexact),
            self.result.eq(Cat(Mux(overflow, Mux(to_inf, inf, max_finite), packed), sign)),
        ]
        return m


def round_normalized(m, pipe, fmt, *, sign, mantissa, exponent_top, rm, carry):
    """``FloatRound`` of ``float_normalize``'s ``mantissa`` (``fmt.precision + 3`` bits) and
    ``exponent_top`` by ``rm`` (codes 0..4), then the pipeline cut ``rounded``: its values
    ``rounded``, ``overflow``, ``underflow``, ``inexact`` and those of the dict ``carry``."""
    m.submodules.round = rnd = FloatRound(fmt, fmt.precision + 3, carry_select=pipe.registered("rounded"))
    m.d.comb += [rnd.sign.eq(sign), rnd.mantissa.eq(mantissa), rnd.exponent_top.eq(exponent_top), rnd.rm.eq(rm)]
    return pipe.cut("rounded", rounded=rnd.result, overflow=rnd.overflow, underflow=rnd.underflow,
                    inexact=rnd.inexact, **carry)


def select_result(m, fmt, s, specials):
    """The ``fmt`` word and RISC-V fflags of a rounded result ``s`` (``round_normalized``'s values).

    ``specials`` is a list of ``(condition, word, flags)``, highest priority first: the first whose
    condition holds gives the word and its flags (``None``: none raised); otherwise the word is
    ``s["rounded"]`` with OF | NX on overflow, UF on underflow and NX when inexact.
    """
    result = Signal(fmt.width, name="result_word")
    flags = Signal(5, name="result_flags")
    for i, (condition, word, raised) in enumerate(specials):
        with (m.Elif if i else m.If)(condition):
            m.d.comb += result.eq(word)
            if raised is not None:
                m.d.comb += flags.eq(raised)
    with m.Else():
        m.d.comb += [
            result.eq(s["rounded"]),
            flags.eq(Mux(s["overflow"], OF | NX, 0) | Mux(s["underflow"], UF, 0) | Mux(s["inexact"], NX, 0)),
        ]
    return result, flags
