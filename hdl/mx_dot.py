"""``mx_dot``: the dot product of two OCP MX blocks, rounded once to FP32.

Ports: ``a_scale``, ``b_scale`` In(8), E8M0 scales (``2**(X - 127)``, 255 is
NaN); ``a``, ``b`` In(K * w), K elements of the element format packed, element
i in bits ``[i*w, (i+1)*w)``; ``rm`` In(3), a RISC-V rounding mode; ``result``
Out(32), an FP32 pattern; ``flags`` Out(5), RISC-V fflags (``NV=16, OF=4,
UF=2, NX=1``).

``result = round(2**(Xa + Xb - 254) * sum_i a_i * b_i)``: the sum is exact and
rounded once (``golden.mx.dot``).  A NaN scale gives the canonical NaN without
flags; a NaN element (e4m3, e5m2), Inf * 0 and Inf - Inf (e5m2) the canonical
NaN (NV for the last two and a signalling NaN); an infinite product that
infinity; reserved ``rm`` codes 5..7 the canonical NaN with NV.

Datapath (``hdl/common``): unpack every element (``float.unpack``; int8 is its
own two's-complement integer) -> put each product into one fixed-point frame
that holds every sum exactly: the two significands, each shifted left by its
own biased exponent, multiply into place (a DSP block per lane), or for e5m2,
whose shifted significands are too wide for one, the product is placed by its
exponent sum (``shift.place``) -> each placed product as its ones' complement
when negative, the +1s summed as one more term -> a balanced adder tree
(``adder_tree``) -> the
magnitude, normalized with the frame's exponent ``lo + Xa + Xb - 254``
(``float_normalize``) -> ``FloatRound``.  Cut points in fill order: ``sum``,
``normalized``, ``products``, ``operands``, ``count``, ``rounded``,
``magnitude``, ``coarse``; latency ``depth + 1``.
"""

from amaranth import *
from amaranth.utils import bits_for

from golden.fp import FP32, NV
from golden.mx import ELEMENTS, SCALE_BIAS, SCALE_NAN
from .common.adder_tree import adder_tree
from .common.float import biased_exponent, float_normalize, round_normalized, select_result, unpack
from .common.multiply import lut_product
from .common.params import check_int
from .common.pipeline import PipelinedUnit
from .common.rounding import RoundingMode
from .common.shift import place


__all__ = ["CUT_POINTS", "MxDot"]


# Significands shifted by their own exponents to at most DSP_WIDTH bits (e4m3: 18, e3m2: 9, e2m3: 6,
# e2m1: 4) are multiplied into place, one DSP block per lane; wider ones (e5m2: 32) are multiplied
# from LUTs and placed by a shifter.  ECP5-85F, depth 0, best delay: e4m3 8350 LUT4 + 32 DSP against
# 14243 LUT4 placed by shifters (12284 + 32 DSP with the 4x4 products in DSPs), e2m1 1873 + 32 DSP
# against 3589, e2m3 2522 + 32 DSP against 6367.
DSP_WIDTH = 18

CUT_POINTS = ("sum", "normalized", "products", "operands", "count", "rounded", "magnitude", "coarse")


class MxDot(PipelinedUnit):
    """Block dot product of two MX blocks; ``elem`` one of ``golden.mx.ELEMENTS`` (e4m3, e5m2,
    e3m2, e2m3, e2m1, int8), ``block`` elements (1..64, OCP: 32), ``depth`` 0..8."""

    def __init__(self, *, elem="e4m3", block=32, depth=1):
        if elem not in ELEMENTS:
            raise ValueError(f"MxDot: elem must be one of {', '.join(ELEMENTS)}, got {elem!r}")
        check_int("MxDot", "block", block, 1, 64)
        check_int("MxDot", "depth", depth, 0, len(CUT_POINTS))
        self.elem, self.block, self.depth = ELEMENTS[elem], block, depth
        w = self.elem.width
        super().__init__(
            inputs={"a_scale": 8, "a": block * w, "b_scale": 8, "b": block * w, "rm": 3},
            outputs={"result": 32, "flags": 5})

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, CUT_POINTS)
        s = pipe.cut("operands", a_scale=self.a_scale, a=self.a, b_scale=self.b_scale, b=self.b, rm=self.rm)
        w, k = self.elem.width, self.block
        a = [s["a"][i * w:(i + 1) * w] for i in range(k)]
        b = [s["b"][i * w:(i + 1) * w] for i in range(k)]
        rm = s["rm"]
        rdn = rm == RoundingMode.RDN.value
        if self.elem.float is None:
            terms, lo, tags = _integer_products(a, b)
            tags["zero_sign"] = rdn & tags.pop("any_nonzero")
        else:
            terms, lo, tags = _float_products(m, self.elem.float, a, b)
            tags["zero_sign"] = rdn | tags.pop("all_negative")
        tags.update(nan_scale=(s["a_scale"] == SCALE_NAN) | (s["b_scale"] == SCALE_NAN),
                    bad_rm=rm > RoundingMode.RMM.value)
        total_width = max(len(Value.cast(t)) for t in terms) + bits_for(len(terms))
        # A short frame (int8, e2m1) is widened below its lsb to what float_normalize needs.
        pad = max(0, FP32.precision + 3 - (total_width - 1))
        lo_exp = lo - pad - 2 * SCALE_BIAS
        exponent = Signal(signed(12), name="frame_exponent")
        m.d.comb += exponent.eq(s["a_scale"] + s["b_scale"] + lo_exp)
        s = pipe.cut("products", terms=terms, exponent=exponent, rm=rm, **tags)
        total = Signal(signed(total_width), name="total")
        m.d.comb += total.eq(adder_tree(s["terms"]))
        tags = {key: s[key] for key in tags}
        s = pipe.cut("sum", total=total, exponent=s["exponent"], rm=s["rm"], **tags)

        total = s["total"]
        width = len(total) - 1 + pad
        magnitude = Signal(width, name="magnitude")
        m.d.comb += magnitude.eq(Cat(C(0, pad), (total ^ total[-1].replicate(len(total))) + total[-1]))
        tags = {key: s[key] for key in tags}
        s = pipe.cut("magnitude", magnitude=magnitude, negative=total[-1], zero=total == 0, exponent=s["exponent"],
                     rm=s["rm"], **tags)
        carry = {key: s[key] for key in ("negative", "zero", "rm", *tags)}
        mantissa, exponent_top, s = float_normalize(m, pipe, ("count", "coarse"), FP32, s["magnitude"],
                                                    s["exponent"], width, lo_exp, lo_exp + 2 * (SCALE_NAN - 1),
                                                    **carry)
        s = pipe.cut("normalized", mantissa=mantissa, exponent_top=exponent_top, **s)
        s = round_normalized(m, pipe, FP32, sign=s["negative"], mantissa=s["mantissa"],
                             exponent_top=s["exponent_top"], rm=Mux(s["bad_rm"], RoundingMode.RNE.value, s["rm"]),
                             carry={key: s[key] for key in ("zero", *tags)})
        specials = [(s["nan_scale"] | s["bad_rm"] | s.get("nan", C(0, 1)), FP32.canonical_nan,
                     Mux(~s["nan_scale"] & (s["bad_rm"] | s.get("invalid", C(0, 1))), NV, 0))]
        if "inf" in s:
            specials.append((s["inf"], Cat(C(FP32.inf(), 31), s["inf_negative"]), None))
        specials.append((s["zero"], Cat(C(0, 31), s["zero_sign"]), None))
        result, flags = select_result(m, FP32, s, specials)
        pipe.output(self.result.eq(result), self.flags.eq(flags))
        return m


def _integer_products(a, b):
    """int8 elements: the signed products, all of weight ``2**-12``, and whether any is nonzero (an
    exact zero sum is -0 only under RDN when nonzero products cancelled)."""
    products = [x.as_signed() * y.as_signed() for x, y in zip(a, b)]
    return products, -12, {"any_nonzero": Cat(*(p != 0 for p in products)).any()}


def _float_products(m, fmt, a, b):
    """Floating-point elements: each product placed in the exact frame by its exponent, as its
    ones' complement when negative, and the count of negative products as the last term (their
    +1s); the special-value tags and whether every product is negative (an exact zero sum is -0
    then, or under RDN)."""
    p_lo = 2 * (fmt.emin - fmt.man_bits)
    span = 2 * (fmt.emax - fmt.emin)
    frame = span + 2 * fmt.precision
    shifted = fmt.precision + fmt.emax - fmt.emin
    terms, signs, nan, invalid, pos_inf, neg_inf = [], [], [], [], [], []
    for i, (x, y) in enumerate(zip(a, b)):
        ux, uy = unpack(m, x, fmt, f"a{i}"), unpack(m, y, fmt, f"b{i}")
        finite = ~(ux.inf | ux.nan | uy.inf | uy.nan)
        sign = ux.sign ^ uy.sign
        placed = Signal(frame, name=f"placed{i}")
        if shifted <= DSP_WIDTH:
            # Each significand shifted by its own exponent: their product is the placed product.
            xs, ys = (Signal(shifted, name=f"{n}{i}_shifted") for n in "ab")
            m.d.comb += [xs.eq(ux.significand << (biased_exponent(x, fmt) - 1).as_unsigned()),
                         ys.eq(uy.significand << (biased_exponent(y, fmt) - 1).as_unsigned())]
            m.d.comb += placed.eq(Mux(finite, xs * ys, 0))
        else:
            offset = Signal(range(span + 1), name=f"offset{i}")
            m.d.comb += offset.eq(ux.exponent + uy.exponent - p_lo)
            product = Mux(finite, lut_product(ux.significand, uy.significand), 0)
            m.d.comb += placed.eq(place(m, product, offset, frame, name=f"frame_field{i}"))
        terms.append(Cat(placed ^ sign.replicate(frame), sign).as_signed())
        signs.append(sign)
        nan.append(ux.nan | uy.nan)
        invalid.append(ux.snan | uy.snan | (ux.inf & uy.zero) | (ux.zero & uy.inf))
        infinite = (ux.inf | uy.inf) & ~(ux.zero | uy.zero) & ~(ux.nan | uy.nan)
        pos_inf.append(infinite & ~sign)
        neg_inf.append(infinite & sign)
    terms.append(sum(signs))
    any_nan, inf_times_zero = Cat(*nan).any(), Cat(*invalid).any()
    pos, neg = Cat(*pos_inf).any(), Cat(*neg_inf).any()
    inf_minus_inf = pos & neg
    tags = {
        "nan": any_nan | inf_times_zero | inf_minus_inf,
        "invalid": inf_times_zero | (inf_minus_inf & ~any_nan),
        "inf": pos | neg, "inf_negative": neg,
        "all_negative": Cat(*signs).all(),
    }
    return terms, p_lo, tags
