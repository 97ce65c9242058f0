"""The fused dot-product datapath: ``round(sum_{i<K} a_i*b_i + c)`` with one rounding.

``a_i``, ``b_i`` are in the source format, ``c`` and the result in the
destination format (``golden.fp.FloatFormat``; destinations have the ieee
flavour).  Datapath, from ``hdl/common``::

    unpack -> K exact products -> exact product sum S -> align c to S (sticky)
           -> two's complement add -> normalize (subnormal-aware) -> round -> pack

The product sum S is exact: for K = 1 it is the product itself, with its own
exponent; for K >= 2 every product is placed by its exponent into one
fixed-point frame spanning the whole product range of the source format (so
two products never lose bits to each other, whatever their exponents), which
is done for K >= 2 when that frame is at most ``MAX_FRAME_BITS`` wide (fp8,
fp16 sources).  For K = 2 without c in the frame (fp16 into fp32, fp8 into
bf16) the frame is anchored at the larger product's exponent and the smaller
product is shifted right by the difference (``order_products``), by up to the
whole range.  When c's whole range fits into that frame too (fp8 sources into
fp16), c is placed by its exponent as well and the sum is exact to the last bit
(a Kulisch-style accumulator of K + 1 terms, its terms placed unsigned by
``place`` and added relative to the first product's sign); only the bits that can decide
its rounding go on (``clamp_frame``: the bits below the guard bit of
tininess after rounding as one sticky bit, those above ``2**(emax + 1)`` as
an overflow).  For K = 2 with wider sources
(bf16, 522-bit frame) the two products and c go to ``ThreeTermSum``
(``hdl/common/three_term_sum.py``): sorted by exponent, added in two windows
with one sticky term at most, t3 alone when t1 + t2 cancel exactly.
Otherwise ``c`` is added as in a classic FMA: the window holds S
exactly with ``P + 3`` bits above it (P the destination precision) and ``P +
3`` below the lowest place S's leading one can take (``guard_below``: for a
single product with a normal factor that is ``p_src - 1`` bits above S's lsb,
for two products anchored at the larger one ``span - 2 * p_src`` above it, so
no bits below S);
c is shifted right from the top of the window and its bits below the window
become a sticky bit with c's sign (for K = 1 the sum is formed relative to the
product's sign: the product enters unnegated, c's sign is flipped by the
product's and the sum's sign flipped back); when c lies wholly above the window S
becomes that sticky bit instead.  With one sticky term at most, the rounded
result is that of the exact sum.  When S is exactly zero the result is c itself.

Special values follow ``golden.fp.fused_dot``: canonical NaN for NaN operands,
Inf * 0, Inf - Inf and reserved rounding modes (NV for the last three and for
signalling NaNs); RISC-V fflags ``NV=16, OF=4, UF=2, NX=1`` (tininess after
rounding); an exact zero sum is +0 (-0 under RDN), or -0 when every term is -0.

Pipeline cut points, in fill order: ``sum`` (after the add), ``products``
(after the multipliers and the product sum), ``normalized`` (before rounding),
``operands`` (the inputs, placed by the unit), ``multiplied`` (after the
significand products, before their negation and placement), ``aligned``
(after c's placement or alignment shift, before the add), ``magnitude`` (after
the sum's absolute value, before normalizing), ``count`` (after the
normalization's leading-zero count, before its shift), ``rounded`` (after the
rounding, before the special cases), ``placed`` (after the products' placement
in the frame, before their sum), ``coarse`` (between the normalizing shift's
two steps), ``partial`` (between the DSP-sized partial products of the
significands and their sums, ``hdl/common/multiply.py``).  The first four
split the datapath at its stage boundaries, the rest inside the stages.  A
register brings the speed-oriented form of the logic around it (a short
unit keeps the smaller one): at ``aligned``, c's shift amount and whether
the products cancelled are worked out a stage early; at ``count``, the
normalization's limits, its right shift's mask and a stop bit that makes the
leading-zero count its limited shift (without it the shift is decided step by
step: ``float_normalize``); at ``placed``, each product's frame
offset stages early, the product negated before its shift (in the exact
frame: not negated, see above); at ``rounded``,
``FloatRound``'s carry-select form.  Where a path has
nothing to split at a cut point (``partial``, ``placed`` and ``aligned`` on
the three-term path) the register sits beside the next one.
"""

from amaranth import *
from amaranth.utils import bits_for

from golden.fp import NV
from .common.float import (biased_exponent, exponent_shape, float_normalize, normalize_amounts, normalize_limits,
                           normalize_masks, normalize_unpacked, round_normalized, select_result, unpack)
from .common import multiply as dsp_parts
from .common.rounding import RoundingMode
from .common.shift import ShiftRightSticky, place
from .common.three_term_sum import ThreeTermSum, add_or_subtract, negate_if


__all__ = ["CUT_POINTS", "MAX_FRAME_BITS", "frame_bits", "exact_frame_bits", "guard_below", "clamp_sticky_weight",
           "clamp_layout", "clamp_frame", "order_products", "fused_dot"]


CUT_POINTS = ("sum", "products", "normalized", "operands", "multiplied", "aligned", "magnitude", "count", "rounded",
              "placed", "coarse", "partial")
MAX_FRAME_BITS = 128


def _range(lo, hi):
    return Shape.cast(range(lo, hi + 1))


def frame_bits(src, terms):
    """Width of the exact product-sum frame of ``terms`` products of ``src`` values."""
    span = 2 * (src.emax - src.emin)
    return span + 2 * src.precision + (terms - 1).bit_length()


def exact_frame_bits(src, dst, terms):
    """Width of one frame holding ``terms`` products of ``src`` values and a ``dst`` addend exactly."""
    lo = min(2 * (src.emin - src.man_bits), dst.emin - dst.man_bits)
    hi = max(2 * (src.emax - src.man_bits) + 2 * src.precision, dst.emax - dst.man_bits + dst.precision)
    return hi + terms.bit_length() - lo


def guard_below(src, dst, terms, *, anchored=False):
    """Window bits below the product sum S, for c's bits there: P + 3 below the lowest place S's leading
    one can take when c is not wholly above S (P the destination precision).

    A single product (``terms`` = 1) with a normal factor is at least ``2**(p_src - 1)`` of its lsbs;
    with two subnormal factors it is below the smallest nonzero c when ``2*emin_src <= emin_dst -
    man_dst``, so c is then above S's leading one and inside the window or above it.  Two products
    in a frame anchored at the larger one's lsb (``anchored``, ``order_products``): a nonzero S has
    its leading one at most ``2 * p_src`` places below that lsb (the products cancel down to the
    smaller one's lsb at most, and one ``2 * p_src`` or more places below the other is smaller
    than it), which is ``span - 2 * p_src`` places above the frame's lsb.  Otherwise (two products
    may cancel down to the frame's lsb, or tiny products meet tinier c) P + 3 below S's lsb.
    """
    guard = dst.precision + 3
    if anchored:
        return max(0, guard - (2 * (src.emax - src.emin) - 2 * src.precision))
    if terms == 1 and 2 * src.emin <= dst.emin - dst.man_bits:
        return max(0, guard - (src.precision - 1))
    return guard


def clamp_sticky_weight(dst):
    """Exponent of ``clamp_frame``'s sticky bit: the bits of a ``dst`` sum below ``2**(emin - P - 1)``
    only matter as their OR."""
    return dst.emin - dst.precision - 2


def clamp_layout(dst, width, lo):
    """``clamp_frame``'s bit ranges for a ``width``-bit signed sum with lsb weight ``2**lo``:
    ``(cut, keep_hi, clamped_lo, magnitude_width)``, bits below ``cut`` ORed into the sticky bit,
    bits ``cut..keep_hi - 1`` kept below the sign; ``clamped_lo`` the clamped value's lsb weight and
    ``magnitude_width`` the bits of its magnitude (``width - 1`` when nothing is clamped: the
    sum then has a spare bit below its sign)."""
    top = width - 1
    cut = max(0, clamp_sticky_weight(dst) + 1 - lo)
    keep_hi = min(top, dst.emax + 2 - lo)
    if cut == 0 and keep_hi == top:
        return cut, keep_hi, lo, top
    return cut, keep_hi, lo + cut - (1 if cut else 0), keep_hi - cut + (2 if cut else 1)


def clamp_frame(m, dst, total, lo):
    """The exact two's-complement sum ``total`` (lsb weight ``2**lo``, with a spare bit below its
    sign) cut to the bits that can decide its rounding to ``dst``; returns a signed Value, with the
    lsb weight and magnitude width of ``clamp_layout``.

    Below: the bits under ``2**(emin - P - 1)`` become one sticky bit (their OR) at ``2**(emin - P -
    2)``.  The lowest bit that matters is the guard bit of tininess after rounding (P bits one
    binade below ``2**emin``), and a two's-complement remainder is never negative, so the value lies
    strictly between the same neighbours of the kept bits with the sticky bit as without, negated
    or not.  Above: the bits up to ``2**(emax + 1)`` are kept below the sign; a value that does not
    fit has ``|total| >= 2**(emax + 2)``, so it is replaced by the end of the clamped range on its
    side, still at least ``2**(emax + 1)``: every value there overflows in every rounding mode (even
    rounded toward zero it is above max finite).  The magnitude takes one bit more than the clamped
    value's others, for ``-2**(emax + 2)``.
    """
    total = Value.cast(total)
    top = len(total) - 1                                # the sign bit's index
    cut, keep_hi, _, _ = clamp_layout(dst, len(total), lo)
    if cut == 0 and keep_hi == top:
        return total
    sign = total[top]
    body = Cat(total[:cut].any() if cut else C(0, 0), total[cut:keep_hi])
    if keep_hi < top:
        huge = Signal(name="frame_overflow")
        m.d.comb += huge.eq(total[keep_hi:top] != sign.replicate(top - keep_hi))
        body = Mux(huge, (~sign).replicate(len(body)), body)
    clamped = Signal(signed(len(body) + 1), name="clamped_total")
    m.d.comb += clamped.eq(Cat(body, sign))
    return clamped


def order_products(m, keys, offset, span, xshape):
    """Two products' frame anchored at the larger lsb exponent: ``[first, distance, lsb]``, ``first``
    high when product 0's is the larger (or equal), ``distance`` (0..``span``) the other's right
    shift in the frame and ``lsb`` the frame's lsb exponent, ``span`` below the larger product's.
    ``keys``: the two lsb exponents plus ``offset`` (e.g. the biased exponent fields' sums, which
    no adder takes the bias off before the comparison).  Both differences and both candidate lsbs
    are formed side by side, then chosen."""
    first = Signal(name="product0_first")
    distance = Signal(range(span + 1), name="product_distance")
    lsb = Signal(xshape, name="product_sum_exponent")
    k0, k1 = (Value.cast(key) for key in keys)
    ahead = Signal(signed(max(len(k0), len(k1)) + 1), name="product0_ahead")
    m.d.comb += [
        ahead.eq(k0 - k1),
        first.eq(~ahead[-1]),
        distance.eq(Mux(first, ahead, k1 - k0)),
        lsb.eq(Mux(first, k0 - (offset + span), k1 - (offset + span))),
    ]
    return [first, distance, lsb]


def fused_dot(m, pipe, *, src, dst, a, b, c, rm, negate_products, negate_c, addends=None, bad_op=C(0, 1)):
    """Build the datapath into ``m`` behind ``pipe``; return ``(result, flags)`` Values.

    ``a``, ``b``: lists of K ``src`` patterns; ``c``: a ``dst`` pattern; ``rm``: 3-bit
    rounding mode; ``negate_products``, ``negate_c``: 1-bit sign flips (the op
    variants).  ``addends = (select, [x0, x1])`` (K = 2 only): when ``select`` is
    high the two terms are the ``dst`` patterns ``x0``, ``x1`` instead of the
    products (a non-expanding three-term sum; ``negate_products`` flips them);
    this takes the three-term datapath.  ``bad_op`` high gives the canonical NaN
    with NV, as a reserved rounding mode does.  The cut points ``sum``,
    ``products`` and ``normalized`` are placed here.
    """
    k = len(a)
    p_src, p_dst = src.precision, dst.precision
    xshape = exponent_shape(dst)
    if addends is not None and k != 2:
        raise ValueError(f"fused_dot: addends replace the two products of K = 2, got K = {k}")
    three_terms = k == 2 and (addends is not None or frame_bits(src, k) > MAX_FRAME_BITS)

    ua = [unpack(m, x, src, f"a{i}") for i, x in enumerate(a)]
    ub = [unpack(m, x, src, f"b{i}") for i, x in enumerate(b)]
    uc = unpack(m, c, dst, "c")
    rm = Value.cast(rm)

    # Each term's class (products, or the addends when selected), then the specials and the sign of
    # an exact zero, as golden.fp.fused_dot decides them.
    p_sign = [x.sign ^ y.sign ^ negate_products for x, y in zip(ua, ub)]
    p_nan = [x.nan | y.nan for x, y in zip(ua, ub)]
    p_snan = [x.snan | y.snan for x, y in zip(ua, ub)]
    p_inf_times_zero = [(x.inf & y.zero) | (x.zero & y.inf) for x, y in zip(ua, ub)]
    p_inf = [(x.inf | y.inf) & ~(x.zero | y.zero) & ~x.nan & ~y.nan for x, y in zip(ua, ub)]
    finite = [~(x.inf | x.nan | y.inf | y.nan) for x, y in zip(ua, ub)]
    p_nonzero = [f & ~x.zero & ~y.zero for f, x, y in zip(finite, ua, ub)]
    if addends is not None:
        select, xs = addends
        ux = [unpack(m, x, dst, f"x{i}") for i, x in enumerate(xs)]
        pick = lambda new, old: [Mux(select, n, o) for n, o in zip(new, old)]
        p_sign = pick([x.sign ^ negate_products for x in ux], p_sign)
        p_nan = pick([x.nan for x in ux], p_nan)
        p_snan = pick([x.snan for x in ux], p_snan)
        p_inf_times_zero = pick([C(0, 1) for _ in ux], p_inf_times_zero)
        p_inf = pick([x.inf for x in ux], p_inf)
        finite = pick([~(x.inf | x.nan) for x in ux], finite)
        p_nonzero = pick([~(x.inf | x.nan | x.zero) for x in ux], p_nonzero)
    c_sign = uc.sign ^ negate_c
    nan_in = Cat(*p_nan, uc.nan).any()
    snan_in = Cat(*p_snan, uc.snan).any()
    inf_times_zero = Cat(*p_inf_times_zero).any()
    pos_inf = Cat(*(i & ~s for i, s in zip(p_inf, p_sign)), uc.inf & ~c_sign).any()
    neg_inf = Cat(*(i & s for i, s in zip(p_inf, p_sign)), uc.inf & c_sign).any()
    inf_minus_inf = pos_inf & neg_inf & ~nan_in & ~inf_times_zero
    reserved = (rm > RoundingMode.RMM.value) | bad_op
    nan_out = nan_in | inf_times_zero | inf_minus_inf | reserved
    invalid = snan_in | inf_times_zero | inf_minus_inf | reserved
    inf_out = (pos_inf | neg_inf) & ~nan_out
    any_nonzero = Cat(*p_nonzero, ~uc.zero & ~uc.inf & ~uc.nan).any()
    all_neg = Cat(*p_sign, c_sign).all()
    all_pos = ~Cat(*p_sign, c_sign).any()
    c_signed = Cat(c[:dst.width - 1], c_sign)
    tags = Cat(nan_out, invalid, inf_out, neg_inf, any_nonzero, all_neg, all_pos, uc.zero)

    p_lo, p_hi = 2 * (src.emin - src.man_bits), 2 * (src.emax - src.man_bits)
    c_lo, c_hi = dst.emin - dst.man_bits, dst.emax - dst.man_bits
    clamp_lo = None                                     # the exact frame's lsb weight, when it is clamped
    if three_terms:
        # Wide sources (bf16) or addends: the two terms and c as three normalized terms of any exponents.
        ua = [normalize_unpacked(m, x, src, f"a{i}") for i, x in enumerate(ua)]
        ub = [normalize_unpacked(m, x, src, f"b{i}") for i, x in enumerate(ub)]
        uc = normalize_unpacked(m, uc, dst, "c")
        q = max(2 * p_src, p_dst)
        raw = [Mux(f, x.significand * y.significand, 0) for f, x, y in zip(finite, ua, ub)]
        tops = [x.exponent + y.exponent + 2 * p_src for x, y in zip(ua, ub)]
        carried = dict(raw=raw, tops=tops, p_sign=p_sign, c_significand=uc.significand, c_exponent=uc.exponent,
                       c_sign=c_sign, c_signed=c_signed, rm=rm, tags=tags)
        if addends is not None:
            ux = [normalize_unpacked(m, x, dst, f"x{i}") for i, x in enumerate(ux)]
            carried.update(select=select, finite=finite, x_significand=[x.significand for x in ux],
                           x_exponent=[x.exponent for x in ux])
        s = pipe.cut("partial", **pipe.cut("multiplied", **carried))
        fields = [r << (q - 2 * p_src) for r in s["raw"]]
        tops, p_sign = s["tops"], s["p_sign"]
        uc = uc._replace(significand=s["c_significand"], exponent=s["c_exponent"])
        c_sign, c_signed, rm, tags = s["c_sign"], s["c_signed"], s["rm"], s["tags"]
        p_lo -= 2 * src.man_bits
        top_lo = min(p_lo + 2 * p_src, c_lo - dst.man_bits + p_dst)
        top_hi = max(p_hi + 2 * p_src, c_hi + p_dst)
        if addends is not None:
            select, finite = s["select"], s["finite"]
            fields = [Mux(select, Mux(f, sig, 0) << (q - p_dst), p)
                      for f, sig, p in zip(finite, s["x_significand"], fields)]
            tops = [Mux(select, exp + p_dst, t) for exp, t in zip(s["x_exponent"], tops)]
        terms_in = {f"t{i}_{key}": value for i, (field, top, sign) in enumerate(zip(fields, tops, p_sign))
                    for key, value in (("field", field), ("top", top), ("sign", sign))}
        s = pipe.cut("placed", **terms_in, c_significand=uc.significand, c_exponent=uc.exponent,
                     c_sign=c_sign, c_signed=c_signed, rm=rm, tags=tags)
        s = pipe.cut("products", **s)
        m.submodules.terms = terms = ThreeTermSum(q, p_dst, xshape, top_lo, top_hi)
        for i in range(2):
            m.d.comb += [getattr(terms, f"sign{i}").eq(s[f"t{i}_sign"]),
                         getattr(terms, f"field{i}").eq(s[f"t{i}_field"]),
                         getattr(terms, f"top{i}").eq(s[f"t{i}_top"])]
        m.d.comb += [
            terms.sign2.eq(s["c_sign"]), terms.field2.eq(s["c_significand"] << (q - p_dst)),
            terms.top2.eq(s["c_exponent"] + p_dst),
        ]
        s = pipe.cut("aligned", total=terms.total, window_exponent=terms.exponent, c_signed=s["c_signed"],
                     rm=s["rm"], tags=s["tags"])
        total, window_exponent = s["total"], s["window_exponent"]
        window_lo, window_hi = terms.exponent_lo, terms.exponent_hi
        s_zero, width = C(0, 1), len(terms.total) - 1
        rm, tags = s["rm"], s["tags"]
    else:
        c_vals = dict(c_significand=uc.significand, c_exponent=uc.exponent, c_sign=c_sign, c_signed=c_signed,
                      rm=rm, tags=tags)
        # A single product is zero exactly when a factor is (or when it is not finite, and set to 0).
        # Taking that from the operands rather than from the product maps to fewer LUT4 in the
        # non-expanding FMAs and to more in the expanding ones (ECP5-85F, depth 0, with window_lo
        # below: fp32 1906 -> 1761, fp16 1035 -> 880, bf16 662 -> 658; fp16 -> fp32 1488 -> 1539,
        # e5m2 -> fp16 600 -> 642).
        product_zero_flag = k == 1 and src == dst
        if product_zero_flag:
            c_vals["p_zero"] = ~p_nonzero[0]
        p_exp = [x.exponent + y.exponent for x, y in zip(ua, ub)]
        # c in the products' frame too (fp8 sources): the sum is exact to the last bit.
        exact = k >= 2 and exact_frame_bits(src, dst, k) <= MAX_FRAME_BITS
        # With a register after the placement (deep pipelines), or in the exact frame at every depth,
        # each product's offset in the frame is worked out stages early and the product is negated
        # before its shift, a short carry (e5m2 -> fp16 exsdotp at depth 0: 1220 LUT4 against 1257
        # negated after its shift, 844 against 971 mapped for area), or in the exact frame not
        # negated at all (below).
        late = k >= 2 and (exact or pipe.registered("placed"))
        # Two products without c in their frame: the frame is anchored at the larger one's exponent
        # and the other is shifted right by the difference, one shifter instead of two, and c's
        # window needs no bits below the frame (``guard_below``).  fp16 -> fp32 exsdotp at depth 0:
        # 2178 LUT4 (1727 mapped for area) against 3037 (2235) placing both by exponent with 27 bits
        # below; 2785 (1977) anchored with 27 bits below; 2426 (1710) with the products negated
        # before they are put in order.
        anchored = k == 2 and not exact
        if anchored:
            # The order keys (``order_products``), a zero product's the lowest so that a nonzero one
            # anchors the frame.  With a register at `multiplied` they are the biased exponent
            # fields' sums, ordered after the register at `partial`: from the lsb exponents, their
            # bias adders, the comparison and the products' swap were one stage's critical path at
            # depths 10..12 (87..91 MHz).  Without it the lsb exponents map to fewer LUT4 (depth 0:
            # 2178 against 2332).
            if pipe.registered("multiplied"):
                key_offset = 2 * (src.bias + src.man_bits)
                p_exp = [Mux(nonzero, biased_exponent(x, src) + biased_exponent(y, src), 2)
                         for x, y, nonzero in zip(a, b, p_nonzero)]
            else:
                key_offset = 0
                p_exp = [Mux(nonzero, exp, p_lo) for exp, nonzero in zip(p_exp, p_nonzero)]
        elif late:
            offsets = [Signal(range(p_hi - p_lo + 1), name=f"frame_offset{i}") for i in range(k)]
            m.d.comb += [offset.eq(exp - p_lo) for offset, exp in zip(offsets, p_exp)]
            p_exp = offsets
        if pipe.registered("partial"):
            # DSP-sized partial products, then a register, then their sums.
            s = pipe.cut("partial", parts=[dsp_parts.partial_products(m, x.significand, y.significand)
                                           for x, y in zip(ua, ub)],
                         finite=finite, p_exp=p_exp, p_sign=p_sign, **c_vals)
            p_exp, p_sign = s["p_exp"], s["p_sign"]
            c_vals = {key: s[key] for key in c_vals}
            products = [Mux(f, dsp_parts.sum_partials(m, parts, 2 * p_src), 0)
                        for f, parts in zip(s["finite"], s["parts"])]
        else:
            c_vals = pipe.cut("partial", **c_vals)
            products = [Mux(f, x.significand * y.significand, 0) for f, x, y in zip(finite, ua, ub)]
        if anchored:
            # The products in order, larger first, a stage before their negation and placement.
            p_exp = order_products(m, p_exp, key_offset, p_hi - p_lo, xshape)
            first = p_exp[0]
            products = [Mux(first, products[0], products[1]), Mux(first, products[1], products[0])]
            p_sign = [Mux(first, p_sign[0], p_sign[1]), Mux(first, p_sign[1], p_sign[0])]
        s = pipe.cut("multiplied", p_exp=p_exp, products=products, p_sign=p_sign, **c_vals)
        p_exp, products, p_sign = s["p_exp"], s["products"], s["p_sign"]
        c_vals = {key: s[key] for key in c_vals}
        if k == 1:
            s_bits = 2 * p_src
            s_value = Signal(s_bits, name="product")
            s_exponent = Signal(xshape, name="product_exponent")
            m.d.comb += [s_value.eq(products[0]), s_exponent.eq(p_exp[0])]
            # The sum is formed relative to the product's sign: c's sign flips with it, the result's back.
            c_vals.update(c_sign=c_vals["c_sign"] ^ p_sign[0], s_sign=p_sign[0])
            s_lo, s_hi = p_lo, p_hi
            s = pipe.cut("placed", s_value=s_value, s_exponent=s_exponent, **c_vals)
            s_value, s_exponent = s["s_value"], s["s_exponent"]
            c_vals = {key: s[key] for key in c_vals}
        elif anchored:
            s_bits = frame_bits(src, k)
            span = p_hi - p_lo
            _, distance, s_exponent = p_exp
            larger, smaller_term = (negate_if(sign, prod) for prod, sign in zip(products, p_sign))
            smaller = Signal(signed(s_bits + 1), name="smaller_product")
            m.d.comb += smaller.eq((smaller_term << span) >> distance)
            s = pipe.cut("placed", larger=larger, smaller=smaller, s_exponent=s_exponent, **c_vals)
            c_vals = {key: s[key] for key in c_vals}
            s_value = Signal(signed(s_bits + 1), name="product_sum")
            m.d.comb += s_value.eq((Value.cast(s["larger"]) << span) + s["smaller"])
            s_exponent = s["s_exponent"]
            s_lo, s_hi = p_lo - span, p_hi - span
        elif exact:
            # The sum is formed relative to the first product's sign (the others' and c's flip with
            # it, the result's back): the first product is placed as it is, the others as their
            # ones' complement with the +1 carried into the sum, so every placement is unsigned
            # (``place``) and no sign is extended across the frame.  e5m2 -> fp16 exsdotp at depth
            # 0 (ECP5-85F): 875 LUT4, 676 mapped for area, against 1022 and 731 with each product
            # negated before a logarithmic shift and c by ``negate_if``; 971 (719) with the signs
            # relative but the shifts logarithmic, 904 (690) with ``place`` but c by ``negate_if``.
            s_bits = frame_bits(src, k)
            reference = p_sign[0]
            c_vals.update(c_sign=c_vals["c_sign"] ^ reference, s_sign=reference)
            flips = [C(0, 1)] + [sign ^ reference for sign in p_sign[1:]]
            placed = []
            for i, (prod, exp, flip) in enumerate(zip(products, p_exp, flips)):
                term = Signal(signed(s_bits + 1), name=f"frame_term{i}")
                field = place(m, prod, exp, s_bits + 1, name=f"frame_field{i}")
                m.d.comb += term.eq(field ^ flip.replicate(s_bits + 1))
                placed.append(term)
            s = pipe.cut("placed", placed=placed, flips=flips[1:], **c_vals)
            c_vals = {key: s[key] for key in c_vals}
            s_value = Signal(signed(s_bits + 1), name="product_sum")
            m.d.comb += s_value.eq(sum(s["placed"]) + sum(s["flips"]))
            s_exponent = C(p_lo, xshape)
            s_lo = s_hi = p_lo
        else:
            s_bits = frame_bits(src, k)
            s_value = Signal(signed(s_bits + 1), name="product_sum")
            placed = []
            for i, (prod, exp, sign) in enumerate(zip(products, p_exp, p_sign)):
                term = Signal(signed(s_bits + 1), name=f"frame_term{i}")
                if late:
                    m.d.comb += term.eq(Mux(sign, -prod, prod) << exp)
                else:
                    offset = Signal(range(p_hi - p_lo + 1), name=f"frame_offset{i}")
                    m.d.comb += [offset.eq(exp - p_lo), term.eq(Mux(sign, -(prod << offset), prod << offset))]
                placed.append(term)
            s = pipe.cut("placed", placed=placed, **c_vals)
            c_vals = {key: s[key] for key in c_vals}
            m.d.comb += s_value.eq(sum(s["placed"]))
            s_exponent = C(p_lo, xshape)
            s_lo = s_hi = p_lo

        variable = {"s_exponent": s_exponent} if k == 1 or anchored else {}
        if not exact:
            # Window: [P+3 guard bits | S (s_bits) | `below` bits for c below S]; bit -1 is the sticky bit.
            guard = p_dst + 3
            below = guard_below(src, dst, k, anchored=anchored)
            top = guard + s_bits + below
            shift_lo, shift_hi = top - p_dst - c_hi + s_lo - below, top - p_dst - c_lo + s_hi - below

            def c_alignment(c_exponent, s_exponent):
                """c's right shift in the window (0 when c lies wholly above it: ``c_above``)."""
                shift = Signal(_range(shift_lo, shift_hi), name="c_shift")
                m.d.comb += shift.eq((top - p_dst) - (c_exponent - s_exponent + below))
                # Static range checks keep comparisons that cannot change out of the Verilog.
                c_above = (shift < 0) if shift_lo < 0 else C(0, 1)
                amount = Mux(shift > top, top, shift) if shift_hi > top else shift
                return c_above, Mux(c_above, 0, amount) if shift_lo < 0 else amount

            def window_of(c_above, c_exponent, s_exponent):
                """The window's lsb exponent: from c's when c lies above the window, else from S's."""
                window_exponent = Signal(xshape, name="window_exponent")
                m.d.comb += window_exponent.eq(Mux(c_above, c_exponent - (top - p_dst) - 1,
                                                   s_exponent - below - 1))
                return window_exponent

            # With a register after the alignment, the shift amount is worked out a stage early.
            early = pipe.registered("aligned")
            if early:
                variable["c_above"], variable["c_amount"] = c_alignment(c_vals["c_exponent"], s_exponent)
                if anchored:
                    # S's exponent varies too: the window's is chosen here, two stages before the
                    # normalization's limits that start from it (fp16 -> fp32 exsdotp at depth 12).
                    variable["window_exponent"] = window_of(variable["c_above"], c_vals["c_exponent"], s_exponent)
        s = pipe.cut("products", s_value=s_value, **c_vals, **variable)
        s_value, rm, tags = s["s_value"], s["rm"], s["tags"]
        s_exponent = s.get("s_exponent", s_exponent)

        if exact:
            # c lies inside one frame with the products: place it by its exponent, nothing is lost.
            # c has no bits below dst's smallest subnormal, so the frame's bits that ``clamp_frame``
            # ORs into its sticky bit are S's alone: their OR is taken from S and c is added above.
            lo = min(p_lo, c_lo)
            top = exact_frame_bits(src, dst, k)
            cut = clamp_layout(dst, top + 1, lo)[0]
            base = lo + cut
            s_frame = (s_value << (p_lo - lo))[:top + 1]
            offset = Signal(range(c_hi - base + 1), name="c_offset")
            m.d.comb += offset.eq(s["c_exponent"] - base)
            c_term = Signal(top - cut, name="c_placed")
            m.d.comb += c_term.eq(s["c_significand"] << offset)
            s = pipe.cut("aligned", s_upper=s_frame[cut:].as_signed(), s_below=s_frame[:cut].any(), c_term=c_term,
                         c_sign=s["c_sign"], c_signed=s["c_signed"], rm=rm, tags=tags, s_sign=s["s_sign"])
            rm, tags = s["rm"], s["tags"]
            exact_total = Signal(signed(top + 1 - cut), name="exact_total")
            m.d.comb += exact_total.eq(add_or_subtract(s["s_upper"], s["c_term"], s["c_sign"], len(exact_total)))
            total, clamp_lo = (Cat(s["s_below"], exact_total).as_signed(), base - 1) if cut else (exact_total, base)
            _, _, window_lo, width = clamp_layout(dst, len(total), clamp_lo)
            window_hi = window_lo
            window_exponent = C(window_lo, xshape)
            s_zero = C(0, 1)
        else:
            if early:
                c_above, amount = s["c_above"], s["c_amount"]
            else:
                c_above, amount = c_alignment(s["c_exponent"], s_exponent)
            m.submodules.align = align = ShiftRightSticky(top, bits_for(top))
            m.d.comb += [
                align.value.eq(s["c_significand"] << (top - p_dst)),
                align.amount.eq(amount),
            ]
            sticky = align.sticky
            if early:
                # From c's own bits and the amount, beside the shift rather than through its stages.
                sticky = Cat(*(s["c_significand"][j] & (amount > top - p_dst + j) for j in range(p_dst))).any()
            variable = {"s_exponent": s_exponent} if k == 1 or anchored else {}
            if product_zero_flag:
                variable["s_zero"] = s["p_zero"]
            elif early:
                # Whether the products cancelled, worked out beside the shift: the sum takes it as c's sticky.
                variable["s_zero"] = s_value == 0
            if k == 1:
                variable["s_sign"] = s["s_sign"]
            if "window_exponent" in s:
                variable["window_exponent"] = s["window_exponent"]
            s = pipe.cut("aligned", s_value=s_value, c_term=Cat(sticky, align.result), c_above=c_above,
                         c_exponent=s["c_exponent"], c_sign=s["c_sign"], c_signed=s["c_signed"], rm=rm, tags=tags,
                         **variable)
            s_value, c_term, c_above, rm, tags = (s[key] for key in ("s_value", "c_term", "c_above", "rm", "tags"))
            s_exponent = s.get("s_exponent", s_exponent)
            zero_flag = early or product_zero_flag
            s_nonzero = ~s["s_zero"] if zero_flag else s_value != 0
            s_sticky = Mux(s_nonzero, 1, 0) if k == 1 else Mux(s_value < 0, -1, Mux(s_nonzero, 1, 0))
            total = Signal(signed(top + 3), name="total")
            m.d.comb += total.eq(Mux(c_above, s_sticky, s_value << (below + 1)) + negate_if(s["c_sign"], c_term))
            # c's exponent is at least c_lo (a zero c's too): in the window it holds the window's
            # exponent at or above c_lo - (top - P) - 1, and above it puts the window there.
            window_lo = max(s_lo - below - 1, c_lo - (top - p_dst) - 1)
            window_hi = max(s_hi - below - 1, c_hi - (top - p_dst) - 1)
            window_exponent = s["window_exponent"] if "window_exponent" in s else window_of(c_above, s["c_exponent"],
                                                                                           s_exponent)
            s_zero = s["s_zero"] if zero_flag else s_value == 0
            width = top + 2

    variable = {} if window_lo == window_hi else {"window_exponent": window_exponent, "s_zero": s_zero}
    if "s_sign" in s:
        variable["s_sign"] = s["s_sign"]
    # The normalization's shift limits come from the exponent alone: with a register at count, their
    # amounts are worked out two stages early, beside the add, and their masks one stage early.
    split_limits = pipe.registered("count") and window_lo != window_hi
    if split_limits:
        variable["amounts"] = normalize_amounts(m, dst, width, window_exponent, window_lo)
    s = pipe.cut("sum", total=total, c_signed=s["c_signed"], rm=rm, tags=tags, **variable)
    total, rm, tags = s["total"], s["rm"], s["tags"]
    if clamp_lo is not None:
        # After the register at `sum`: its overflow test and mux would lengthen the adder's stage
        # (e5m2 -> fp16 at depth 12: 113.6 MHz against 100.8 before it, median of 3 seeds).
        total = clamp_frame(m, dst, total, clamp_lo)
    window_exponent, s_zero = s.get("window_exponent", window_exponent), s.get("s_zero", s_zero)
    magnitude = Signal(width, name="magnitude")
    m.d.comb += magnitude.eq((total ^ total[-1].replicate(len(total))) + total[-1])
    variable = {} if window_lo == window_hi else {"window_exponent": window_exponent}
    if split_limits:
        variable["limits"] = normalize_masks(m, width, s["amounts"])
    elif pipe.registered("count"):
        variable["limits"] = normalize_limits(m, dst, width, window_exponent, window_lo)
    s = pipe.cut("magnitude", magnitude=magnitude, sign=(total < 0) ^ s.get("s_sign", C(0, 1)),
                 total_zero=total == 0, s_zero=s_zero, c_signed=s["c_signed"], rm=rm, tags=tags, **variable)
    window_exponent = s.get("window_exponent", window_exponent)
    mantissa, exponent_top, s = float_normalize(
        m, pipe, ("count", "coarse"), dst, s["magnitude"], window_exponent, width, window_lo, window_hi,
        limits=s.get("limits"), **{key: s[key] for key in ("sign", "total_zero", "s_zero", "c_signed", "rm", "tags")})

    s = pipe.cut("normalized", mantissa=mantissa, exponent_top=exponent_top, sign=s["sign"],
                 total_zero=s["total_zero"], s_zero=s["s_zero"], c_signed=s["c_signed"], rm=s["rm"], tags=s["tags"])
    s = round_normalized(m, pipe, dst, sign=s["sign"], mantissa=s["mantissa"], exponent_top=s["exponent_top"],
                         rm=Mux(s["rm"] > RoundingMode.RMM.value, RoundingMode.RNE.value, s["rm"]),
                         carry={key: s[key] for key in ("total_zero", "s_zero", "c_signed", "rm", "tags")})
    rm, tags = s["rm"], s["tags"]
    nan_out, invalid, inf_out, neg_inf, any_nonzero, all_neg, all_pos, c_zero = (tags[i] for i in range(8))
    rdn = rm == RoundingMode.RDN.value
    zero_sign = Mux(any_nonzero, rdn, all_neg | (~all_pos & rdn))
    inf = ((1 << dst.exp_bits) - 1) << dst.man_bits
    result, flags = select_result(m, dst, s, [
        (nan_out, dst.canonical_nan, Mux(invalid, NV, 0)),
        (inf_out, Cat(C(inf, dst.width - 1), neg_inf), None),
        (s["s_zero"] & ~c_zero, s["c_signed"], None),
        (s["total_zero"], Cat(C(0, dst.width - 1), zero_sign), None),
    ])
    return result, flags
