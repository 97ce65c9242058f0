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

from .params import check_int
from .rounding import RoundingMode, round_increment
from .shift import Normalize, ShiftRightSticky


__all__ = ["Unpacked", "unpack", "normalize_unpacked", "exponent_shape", "FloatNormalize", "FloatRound"]


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
    else:
        m.d.comb += [u.inf.eq(0), u.nan.eq(top & (mant == (1 << mb) - 1)), u.snan.eq(0)]
    normal = field != 0
    m.d.comb += [
        u.sign.eq(sign),
        u.zero.eq(~normal & (mant == 0)),
        u.significand.eq(Cat(mant, normal)),
        u.exponent.eq(Mux(normal, field, 1) - (fmt.bias + mb)),
    ]
    return u


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


class FloatNormalize(wiring.Component):
    """Brings a magnitude to the compact form ``FloatRound`` takes, stopping at the subnormal range of ``fmt``.

    Input: ``magnitude`` In(width) worth ``magnitude * 2**exponent`` (``exponent``
    is the weight of bit 0, in ``exponent_lo..exponent_hi``).  The magnitude is
    shifted left until its MSB is at the top or the top weighs ``2**emin``; when
    it lies wholly below ``2**emin`` (possible only if ``exponent_lo`` says so) it
    is shifted right instead, the bits shifted out kept as sticky.  Outputs:
    ``mantissa`` Out(P + 3): the top ``P + 2`` bits of the shifted magnitude above
    one sticky bit, the OR of all bits below them (computed from the unshifted
    magnitude with a thermometer mask, so only the top bits are shifted);
    ``exponent_top``, the weight of the mantissa's MSB.  ``width >= P + 3``.
    Combinational.
    """

    def __init__(self, fmt, width, exponent_lo, exponent_hi):
        check_int("FloatNormalize", "width", width, fmt.precision + 3)
        self.fmt, self.width = fmt, width
        self.exponent_lo, self.exponent_hi = exponent_lo, exponent_hi
        shape = exponent_shape(fmt)
        super().__init__({
            "magnitude":    In(width),
            "exponent":     In(shape),
            "mantissa":     Out(fmt.precision + 3),
            "exponent_top": Out(shape),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, w = self.fmt, self.width
        keep = fmt.precision + 2
        shape = exponent_shape(fmt)
        limit = Signal(shape)
        m.d.comb += limit.eq(self.exponent + (w - 1) - fmt.emin)
        value = self.magnitude
        if self.exponent_lo + (w - 1) - fmt.emin < 0:
            m.submodules.denormalize = right = ShiftRightSticky(w, bits_for(w))
            under = limit < 0
            m.d.comb += [
                right.value.eq(value),
                right.amount.eq(Mux(under, Mux(-limit > w, w, -limit), 0)),
            ]
            value = Signal(w, name="denormalized")
            m.d.comb += value.eq(right.result | right.sticky)
        m.submodules.normalize = norm = Normalize(w, limited=True, keep=keep, sticky=True)
        m.d.comb += [
            norm.value.eq(value),
            norm.limit.eq(Mux(limit < 0, 0, Mux(limit > w, w, limit))),
        ]
        m.d.comb += [
            self.mantissa.eq(Cat(norm.sticky, norm.result)),
            self.exponent_top.eq(Mux(limit < 0, fmt.emin, self.exponent + (w - 1) - norm.shift)),
        ]
        return m


class FloatRound(wiring.Component):
    """Rounds a normalized magnitude to ``fmt`` and packs it (IEEE-flavour destinations).

    Inputs: ``sign``; ``mantissa`` In(width) with ``exponent_top`` as
    ``FloatNormalize`` gives them (MSB set, or ``exponent_top == emin`` for a
    subnormal); ``rm`` (codes 0..4; the caller replaces reserved codes).  The
    top ``P`` bits are kept, the next is the guard bit, the rest are sticky.
    Outputs: ``result`` (the packed word), ``overflow`` (the rounded value
    exceeds max finite: +-Inf for RNE, RMM and for RUP/RDN toward the sign, else
    +-max finite), ``underflow`` (tiny after rounding and inexact), ``inexact``.
    A zero mantissa packs +-0 with ``sign``.  Combinational.
    """

    def __init__(self, fmt, width):
        if fmt.flavour != "ieee":
            raise ValueError(f"FloatRound: destination format {fmt!r} must have the ieee flavour (with Inf)")
        check_int("FloatRound", "width", width, fmt.precision + 3)
        self.fmt, self.width = fmt, width
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
        packed = Signal(signed(mb + len(field) + 1))
        m.d.comb += packed.eq(Cat(kept[:mb], field).as_signed() + increment)

        # Tiny after rounding: below 2**emin even when rounded to P bits with an unbounded exponent.
        wide_kept, wide_guard, wide_sticky = x[w - p - 1:w - 1], x[w - p - 2], x[:w - p - 2].any()
        wide_carry = wide_kept.all() & round_increment(rm, sign, wide_kept[0], wide_guard, wide_sticky)
        tiny = ~normal & ~(x[w - 2] & wide_carry)

        inexact = guard | sticky
        overflow = packed >= (((1 << eb) - 1) << mb)
        to_inf = ((rm == RoundingMode.RNE.value) | (rm == RoundingMode.RMM.value)
                  | ((rm == RoundingMode.RUP.value) & ~sign) | ((rm == RoundingMode.RDN.value) & sign))
        inf = ((1 << eb) - 1) << mb
        max_finite = inf - 1
        m.d.comb += [
            self.inexact.eq(inexact),
            self.overflow.eq(overflow),
            self.underflow.eq(tiny & inexact),
            self.result.eq(Cat(Mux(overflow, Mux(to_inf, inf, max_finite), packed[:mb + eb]), sign)),
        ]
        return m
