"""golden.fp against independent references, never against itself.

* ml_dtypes: decoding of every 8- and 16-bit pattern, widening conversions
  (exhaustive) and RNE narrowing conversions from float32 / fp16 / bf16 (ml_dtypes
  rounds float64 twice, so nothing here converts from float64 with it).
* Berkeley SoftFloat (softfloatpy, RISC-V specialization: canonical NaNs,
  tininess after rounding): fp16 / fp32 / fp64 FMA and conversions, results
  and fflags, in all five rounding modes.
* Exact ``Fraction`` arithmetic with a rounding written here, for K-term fused
  dot products, conversions to fp8, and ``round`` of arbitrary rationals.
"""

import math
import time
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
import softfloatpy as softfloat


from golden import fp
from golden.fp import (BF16, E2M1, E2M3, E3M2, E4M3, E4M3FN, E5M2, FP16, FP32, FP64, NV, NX, OF, RDN, RMM, RNE,
                       RTZ, RUP, UF,
                       FloatFormat, convert, decode, encode, fma, fused_dot, to_fraction)


MODES = (RNE, RTZ, RDN, RUP, RMM)
ML = {FP32: np.float32, FP16: np.float16, BF16: ml_dtypes.bfloat16, E5M2: ml_dtypes.float8_e5m2,
      E4M3: ml_dtypes.float8_e4m3, E4M3FN: ml_dtypes.float8_e4m3fn, E3M2: ml_dtypes.float6_e3m2fn,
      E2M3: ml_dtypes.float6_e2m3fn, E2M1: ml_dtypes.float4_e2m1fn}
UINT = {4: np.uint8, 6: np.uint8, 8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
SMALL = [E5M2, E4M3, E4M3FN, FP16, BF16, E3M2, E2M3, E2M1]          # every pattern can be enumerated


def ids(value):
    if isinstance(value, FloatFormat):
        return value.name or f"E{value.exp_bits}M{value.man_bits}b{value.bias}{value.flavour}"
    return None


# -- independent reference: exact values and rounding written from the format definition --------

def ref_value(p, f):
    """('num', sign, Fraction) | ('inf', sign) | ('nan', signalling) for one pattern."""
    e_bits, m_bits = f.exp_bits, f.man_bits
    s, e, m = p >> (e_bits + m_bits), (p >> m_bits) & ((1 << e_bits) - 1), p & ((1 << m_bits) - 1)
    top = (1 << e_bits) - 1
    if f.flavour == "ieee" and e == top:
        return ("inf", s) if m == 0 else ("nan", m < (1 << (m_bits - 1)))
    if f.flavour == "fn" and e == top and m == (1 << m_bits) - 1:
        return ("nan", False)
    # "finite": every pattern is a number
    significand = m if e == 0 else m + (1 << m_bits)
    return ("num", s, significand * Fraction(2) ** (max(e, 1) - f.bias - m_bits))


def ref_max(f):
    top = (1 << f.exp_bits) - 1
    if f.flavour == "ieee":
        return (2 - Fraction(1, 2 ** f.man_bits)) * Fraction(2) ** (top - 1 - f.bias)
    if f.flavour == "finite":
        return (2 - Fraction(1, 2 ** f.man_bits)) * Fraction(2) ** (top - f.bias)
    return (2 - Fraction(2, 2 ** f.man_bits)) * Fraction(2) ** (top - f.bias)


def ref_nan(f):
    top = ((1 << f.exp_bits) - 1) << f.man_bits
    return top | ((1 << f.man_bits) - 1) if f.flavour == "fn" else top | (1 << (f.man_bits - 1))


def ref_pattern(sign, y, f):
    """Pattern of the representable magnitude ``y`` (a Fraction) with ``sign``."""
    m_bits, emin = f.man_bits, 1 - f.bias
    if y < Fraction(2) ** emin:
        field, mant = 0, y / Fraction(2) ** (emin - m_bits)
    else:
        e = ilog2(y)
        field, mant = e + f.bias, y / Fraction(2) ** (e - m_bits) - 2 ** m_bits
    assert mant.denominator == 1
    return (sign << (f.exp_bits + m_bits)) | (field << m_bits) | int(mant)


def ilog2(x):
    """floor(log2(x)) of a positive Fraction, by exact comparisons."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    while Fraction(2) ** e > x:
        e -= 1
    while Fraction(2) ** (e + 1) <= x:
        e += 1
    return e


def ref_round(sign, x, f, rm):
    """Round the magnitude ``x`` (Fraction >= 0) with ``sign``; returns (pattern, flags).

    IEEE 754 with RISC-V choices: tininess after rounding; overflow to Inf or max
    finite by mode; "fn" formats overflow to NaN instead of Inf.
    """
    if x == 0:
        return sign << (f.width - 1), 0
    m_bits, emin = f.man_bits, 1 - f.bias

    def to_multiple(q):
        ulp = Fraction(2) ** q
        lo = math.floor(x / ulp)
        rest = x / ulp - lo
        up = {RNE: rest > Fraction(1, 2) or (rest == Fraction(1, 2) and lo % 2 == 1), RTZ: False,
              RDN: rest > 0 and sign == 1, RUP: rest > 0 and sign == 0, RMM: rest >= Fraction(1, 2)}[rm]
        return (lo + up) * ulp, rest != 0

    e = ilog2(x)
    unbounded, _ = to_multiple(e - m_bits)
    y, inexact = to_multiple(max(e, emin) - m_bits)
    if y > ref_max(f):
        to_inf = rm in (RNE, RMM) or (rm == RUP and sign == 0) or (rm == RDN and sign == 1)
        if not to_inf:
            return ref_pattern(sign, ref_max(f), f), OF | NX
        if f.flavour == "fn":
            return ref_nan(f), OF | NX
        return (sign << (f.width - 1)) | (((1 << f.exp_bits) - 1) << m_bits), OF | NX
    flags = (NX if inexact else 0) | (UF if inexact and unbounded < Fraction(2) ** emin else 0)
    return ref_pattern(sign, y, f), flags


def ref_fused(a_row, b_row, c, src, dst, rm, scale=0):
    """IEEE 754 / RISC-V sum of products (times 2**scale) plus c, exact, then one rounding."""
    if rm >= 5:
        return ref_nan(dst), NV
    pairs = [(ref_value(x, src), ref_value(y, src)) for x, y in zip(a_row, b_row)]
    vc = ref_value(c, dst)
    everything = [v for pair in pairs for v in pair] + [vc]
    snan = any(v[0] == "nan" and v[1] for v in everything)
    is_zero = lambda v: v[0] == "num" and v[2] == 0
    inf_zero = any((x[0] == "inf" and is_zero(y)) or (is_zero(x) and y[0] == "inf") for x, y in pairs)
    if any(v[0] == "nan" for v in everything) or inf_zero:
        return ref_nan(dst), NV if (snan or inf_zero) else 0
    inf_signs = {x[1] ^ y[1] for x, y in pairs if "inf" in (x[0], y[0])} | ({vc[1]} if vc[0] == "inf" else set())
    if len(inf_signs) == 2:
        return ref_nan(dst), NV
    if inf_signs:
        if dst.flavour == "fn":
            return ref_nan(dst), NV
        return (inf_signs.pop() << (dst.width - 1)) | (((1 << dst.exp_bits) - 1) << dst.man_bits), 0
    terms = [(x[1] ^ y[1], x[2] * y[2] * Fraction(2) ** scale) for x, y in pairs] + [(vc[1], vc[2])]
    total = sum((-v if s else v) for s, v in terms)
    if total == 0:
        if all(v == 0 for _, v in terms) and len({s for s, _ in terms}) == 1:
            sign = terms[0][0]
        else:
            sign = int(rm == RDN)
        return sign << (dst.width - 1), 0
    return ref_round(int(total < 0), abs(total), dst, rm)


def ref_convert(x, src, dst, rm):
    """One pattern converted: NaN -> canonical (NV if signalling), Inf -> Inf (NaN + NV for "fn")."""
    v = ref_value(x, src)
    if v[0] == "nan":
        return ref_nan(dst), NV if v[1] else 0
    if v[0] == "inf":
        if dst.flavour == "fn":
            return ref_nan(dst), NV
        return (v[1] << (dst.width - 1)) | (((1 << dst.exp_bits) - 1) << dst.man_bits), 0
    return ref_round(v[1], abs(v[2]), dst, rm)


# -- vector generators (inputs only) -------------------------------------------------------------

def fields(rng, f, n, exp_lo, exp_hi, sparse=False):
    """Random patterns with the exponent field uniform in [exp_lo, exp_hi] (clipped)."""
    top = (1 << f.exp_bits) - 1
    exp_lo = min(max(exp_lo, 0), top)
    e = rng.integers(exp_lo, min(max(exp_hi, exp_lo), top) + 1, size=n).astype(np.uint64)
    m = rng.integers(0, 1 << f.man_bits, size=n, dtype=np.uint64)
    if sparse:                      # only the top two mantissa bits random: exact results, ties
        keep = min(2, f.man_bits)
        m = (m >> np.uint64(f.man_bits - keep)) << np.uint64(f.man_bits - keep)
    s = rng.integers(0, 2, size=n, dtype=np.uint64)
    return (s << np.uint64(f.width - 1)) | (e << np.uint64(f.man_bits)) | m


def uniform(rng, f, n):
    if f.width == 64:
        return rng.integers(0, 1 << 63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=n,
                                                                                                   dtype=np.uint64)
    return rng.integers(0, 1 << f.width, size=n, dtype=np.uint64)


def corners(f):
    """Both signs of: 0, min/max subnormal, min normal, 1, 1+ulp, 1.5, 3, max finite, its
    neighbour, Inf, quiet and signalling NaNs (those the format has)."""
    m, top = f.man_bits, (1 << f.exp_bits) - 1
    one = f.bias << m
    mags = {0, 1, 2, (1 << m) - 1, 1 << m, (1 << m) | 1, one, one + 1, one | (1 << (m - 1)),
            ((f.bias + 1) << m) | (1 << (m - 1))}
    if f.flavour == "ieee":
        mags |= {(top << m) - 1, (top << m) - 2, top << m, (top << m) | (1 << (m - 1)), (top << m) | 1}
    else:
        mags |= {(top << m) | ((1 << m) - 2), (top << m) - 1, (top << m) | ((1 << m) - 1)}
    mags = sorted(x for x in mags if x < 1 << (f.width - 1))
    return np.array(mags + [x | (1 << (f.width - 1)) for x in mags], dtype=np.uint64)


def cross(*arrays):
    grids = np.meshgrid(*arrays, indexing="ij")
    return [g.reshape(-1) for g in grids]


# -- SoftFloat helpers ---------------------------------------------------------------------------

SF_TYPES = {FP16: softfloat.Float16, FP32: softfloat.Float32, FP64: softfloat.Float64, BF16: softfloat.BFloat16}
SF_FMA = {FP16: softfloat.f16_mul_add, FP32: softfloat.f32_mul_add, FP64: softfloat.f64_mul_add}
SF_CONVERT = {(FP32, FP16): softfloat.f32_to_f16, (FP32, BF16): softfloat.f32_to_bf16,
              (FP64, FP32): softfloat.f64_to_f32, (FP64, FP16): softfloat.f64_to_f16,
              (FP16, FP32): softfloat.f16_to_f32, (BF16, FP32): softfloat.bf16_to_f32,
              (FP32, FP64): softfloat.f32_to_f64, (FP16, FP64): softfloat.f16_to_f64}
SF_FLAGS = ((softfloat.ExceptionFlag.INVALID, NV), (softfloat.ExceptionFlag.OVERFLOW, OF),
            (softfloat.ExceptionFlag.UNDERFLOW, UF), (softfloat.ExceptionFlag.INEXACT, NX))


@pytest.fixture
def sf_mode():
    """Configure SoftFloat (RISC-V: tininess after rounding); restores RNE afterwards."""
    softfloat.set_tininess_mode(softfloat.TininessMode.AFTER_ROUNDING)

    def set_mode(rm):
        softfloat.set_rounding_mode(softfloat.RoundingMode({RNE: softfloat.RoundingMode.NEAR_EVEN,
                                                            RTZ: softfloat.RoundingMode.MIN_MAG,
                                                            RDN: softfloat.RoundingMode.MIN,
                                                            RUP: softfloat.RoundingMode.MAX,
                                                            RMM: softfloat.RoundingMode.NEAR_MAX_MAG}[rm]))
    yield set_mode
    softfloat.set_rounding_mode(softfloat.RoundingMode.NEAR_EVEN)
    softfloat.set_exception_flags(0)


def sf_apply(op, formats, *operands):
    """Run a SoftFloat op element by element; returns (patterns, RISC-V flags) as uint64 arrays."""
    makers = [(SF_TYPES[f].from_bytes, f.width // 8) for f in formats]
    out, flags = [], []
    for values in zip(*(x.tolist() for x in operands)):
        args = [make(v.to_bytes(nbytes, "big")) for (make, nbytes), v in zip(makers, values)]
        softfloat.set_exception_flags(0)
        r = op(*args)
        raw = softfloat.get_exception_flags()
        out.append(int.from_bytes(r.to_bytes(), "big"))
        flags.append(sum(ours for theirs, ours in SF_FLAGS if raw & theirs))
    return np.array(out, dtype=np.uint64), np.array(flags, dtype=np.uint64)


def assert_same(got, want, what, inputs):
    got_p, got_f = got
    want_p, want_f = want
    bad = np.flatnonzero((got_p != want_p) | (got_f != want_f))
    if bad.size:
        i = bad[0]
        shown = ", ".join(f"{hex(int(x[i]))}" if np.ndim(x) == 1 else str([hex(int(v)) for v in x[i]])
                          for x in inputs)
        pytest.fail(f"{what}: {bad.size} mismatches; first: inputs {shown} -> got {hex(int(got_p[i]))} "
                    f"flags {int(got_f[i])}, want {hex(int(want_p[i]))} flags {int(want_f[i])}")


def all_patterns(f):
    return np.arange(1 << f.width, dtype=np.uint64)


def ml_view(p, f):
    return p.astype(UINT[f.width]).view(ML[f])


def ml_cast(x, dtype):
    """ml_dtypes / numpy cast; overflow to Inf or NaN is expected here, not worth a warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(dtype)


# -- formats ------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", list(ML), ids=ids)
def test_named_format_limits_match_ml_dtypes(f):
    info = ml_dtypes.finfo(ML[f])
    assert f.width == info.bits
    for helper, want in ((f.max_finite, info.max), (f.min_normal, info.smallest_normal),
                         (f.min_subnormal, info.smallest_subnormal)):
        value = to_fraction([helper()], f)[0]
        assert value == Fraction(float(want)), helper.__name__
        assert to_fraction([helper(1)], f)[0] == -Fraction(float(want))
    if f.has_nan:
        assert np.isnan(ml_view(np.array([f.canonical_nan]), f).astype(np.float32))[0]
    else:
        with pytest.raises(ValueError, match="has no NaN"):
            f.canonical_nan
    if f.has_inf:
        assert ml_view(np.array([f.inf(), f.inf(1)]), f).astype(np.float32).tolist() == [np.inf, -np.inf]
    else:
        with pytest.raises(ValueError, match="no infinity"):
            f.inf()


def test_e4m3_flavours_are_different_formats():
    assert to_fraction([E4M3.max_finite()], E4M3)[0] == 240
    assert to_fraction([E4M3FN.max_finite()], E4M3FN)[0] == 448
    assert E4M3.canonical_nan == 0x7C and E4M3FN.canonical_nan == 0x7F and E4M3.inf() == 0x78
    assert E4M3 != E4M3FN and FloatFormat(4, 3) == E4M3
    assert to_fraction([0x78], E4M3FN)[0] == 256       # Inf in E4M3, a number in E4M3FN


def test_canonical_nan_is_risc_v_canonical():
    assert (FP32.canonical_nan, FP16.canonical_nan, BF16.canonical_nan, FP64.canonical_nan) == (
        0x7FC00000, 0x7E00, 0x7FC0, 0x7FF8000000000000)
    assert E5M2.canonical_nan == 0x7E


@pytest.mark.parametrize("kwargs,name", [
    (dict(exp_bits=1, man_bits=3), "exp_bits"), (dict(exp_bits=12, man_bits=3), "exp_bits"),
    (dict(exp_bits=4, man_bits=0), "man_bits"), (dict(exp_bits=4, man_bits=53), "man_bits"),
    (dict(exp_bits=4.0, man_bits=3), "exp_bits"), (dict(exp_bits=True, man_bits=3), "exp_bits"),
    (dict(exp_bits=4, man_bits=3, bias=-1), "bias"), (dict(exp_bits=4, man_bits=3, bias=16), "bias"),
    (dict(exp_bits=4, man_bits=3, flavour="fnuz"), "flavour")])
def test_format_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FloatFormat(**kwargs)


# -- decode ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", SMALL, ids=ids)
def test_decode_every_pattern_matches_ml_dtypes(f):
    p = all_patterns(f)
    ref = ml_view(p, f).astype(np.float32)            # widening to float32 is exact
    d = decode(p, f)
    nan, inf = np.isnan(ref), np.isinf(ref)
    assert np.array_equal(d.cls == fp.NAN, nan)
    assert np.array_equal(d.cls == fp.INF, inf)
    assert np.array_equal(d.cls == fp.ZERO, ref == 0)
    assert np.array_equal(d.sign.astype(bool)[~nan], np.signbit(ref)[~nan])
    fin = ~nan & ~inf
    assert np.array_equal(d.cls[fin] == fp.SUBNORMAL, (np.abs(ref[fin]) < float(ml_dtypes.finfo(ML[f]).smallest_normal))
                          & (ref[fin] != 0))
    values = to_fraction(p, f)
    for i in np.flatnonzero(fin):
        want = Fraction(float(ref[i]))
        assert values[i] == want, hex(i)
        got = Fraction(int(d.significand[i])) * Fraction(2) ** (int(d.exponent[i]) - f.man_bits)
        assert (-got if d.sign[i] else got) == want, hex(i)
    assert not d.quiet[~nan].any() and not d.signalling[~nan].any()
    assert np.array_equal(d.quiet | d.signalling, nan)


@pytest.mark.parametrize("f", [FP16, BF16], ids=ids)
def test_signalling_nans_match_softfloat(f):
    p = all_patterns(f)
    d = decode(p, f)
    test = {FP16: softfloat.f16_is_signaling_nan, BF16: softfloat.bf16_is_signaling_nan}[f]
    make = SF_TYPES[f].from_bytes
    want = np.array([test(make(int(x).to_bytes(2, "big"))) for x in p.tolist()])
    assert np.array_equal(d.signalling, want)


@pytest.mark.parametrize("f", list(fp.FORMATS.values()) + [FloatFormat(2, 1), FloatFormat(3, 2, flavour="fn"),
                               FloatFormat(3, 3, bias=5, flavour="finite")],
                         ids=ids)
def test_corner_patterns_cover_the_special_values(f):
    got = set(fp.corner_patterns(f).tolist())
    want = {f.zero(0), f.zero(1), f.min_subnormal(0), f.min_subnormal(1), f.min_normal(1), f.max_finite(0),
            f.max_finite(1)}
    want |= {f.inf(0), f.inf(1)} if f.has_inf else set()
    want |= {f.signalling_nan} if f.signalling_nan is not None else set()
    want |= {f.canonical_nan} if f.has_nan else set()
    assert want <= got and max(got) < 1 << f.width
    if not f.has_nan:
        return
    assert ref_value(f.canonical_nan, f)[0] == "nan" and not ref_value(f.canonical_nan, f)[1]
    if f.signalling_nan is not None:
        assert ref_value(f.signalling_nan, f) == ("nan", True)


def test_scalar_and_shaped_inputs_keep_their_shape():
    got, flags = convert(0x3C01, src=FP16, dst=E4M3, rm=RUP)
    assert (got.shape, int(got), int(flags)) == ((), 0x39, NX)
    got, flags = convert(np.full((2, 3), 0x3C00, dtype=np.uint64), src=FP16, dst=BF16)
    assert got.shape == (2, 3) and (got == 0x3F80).all() and not flags.any()
    got, flags = fp.round([[1, 2], [3, Fraction(1, 3)]], fmt=E4M3, rm=[[RNE, RTZ], [RDN, RUP]])
    assert got.tolist() == [[0x38, 0x40], [0x44, 0x2B]] and flags.tolist() == [[0, 0], [0, NX]]
    empty = np.zeros((0, 2), dtype=np.uint64)
    got, flags = fused_dot(empty, empty, np.zeros(0, dtype=np.uint64), src=FP16, dst=FP32, rm=RNE)
    assert got.shape == flags.shape == (0,)


def test_e4m3fn_nan_is_quiet_and_unique():
    d = decode(np.arange(256, dtype=np.uint64), E4M3FN)
    assert np.flatnonzero(d.cls == fp.NAN).tolist() == [0x7F, 0xFF]
    assert d.quiet[[0x7F, 0xFF]].all() and not d.signalling.any()


# -- conversions ------------------------------------------------------------------------------------

WIDENING = [(E5M2, FP16), (E5M2, BF16), (E5M2, FP32), (E4M3, FP16), (E4M3, BF16), (E4M3, FP32),
            (E4M3FN, FP16), (E4M3FN, BF16), (E4M3FN, FP32), (FP16, FP32), (BF16, FP32)]


@pytest.mark.parametrize("src,dst", WIDENING, ids=ids)
def test_widening_conversion_is_exact_and_matches_ml_dtypes(src, dst):
    p = all_patterns(src)
    want = ml_cast(ml_view(p, src), ML[dst])
    want_bits = want.view(UINT[dst.width]).astype(np.uint64)
    nan = np.isnan(want.astype(np.float32))
    signalling = np.array([ref_value(x, src)[0] == "nan" and ref_value(x, src)[1] for x in p.tolist()])
    for rm in MODES:
        got, flags = convert(p, src=src, dst=dst, rm=rm)
        assert np.array_equal(got[~nan], want_bits[~nan])
        assert (got[nan] == dst.canonical_nan).all()
        assert np.array_equal(flags, np.where(signalling, NV, 0))


NARROW = [BF16, FP16, E5M2, E4M3, E4M3FN, E3M2, E2M3, E2M1]


def float32_samples(rng, dst, n):
    """float32 patterns: uniform, around dst's range (ties, subnormals, overflow), specials."""
    lo, hi = 127 + (1 - dst.bias) - dst.man_bits - 3, 127 + (1 << dst.exp_bits) - dst.bias + 1
    parts = [uniform(rng, FP32, n), fields(rng, FP32, n, lo, hi)]
    # ties and their neighbours: the bits below dst's precision are 100..0, +-1 ulp of float32
    tie = fields(rng, FP32, n, lo, hi)
    drop = np.uint64(23 - dst.man_bits)
    tie = (tie >> drop << drop) | (np.uint64(1) << (drop - np.uint64(1)))
    parts += [tie, tie + np.uint64(1), tie - np.uint64(1)]
    parts.append(corners(FP32))
    return np.concatenate(parts)


@pytest.mark.parametrize("dst", NARROW, ids=ids)
def test_narrowing_from_float32_matches_ml_dtypes(dst, seed):
    rng = np.random.default_rng(seed)
    p = float32_samples(rng, dst, 40000)
    if not dst.has_nan:       # ml_dtypes saturates these, as the "finite" flavour does; NaN has no pattern
        p = p[~np.isnan(p.astype(np.uint32).view(np.float32))]
    want = ml_cast(p.astype(np.uint32).view(np.float32), ML[dst])
    nan = np.isnan(want.astype(np.float32))
    want_bits = want.view(UINT[dst.width]).astype(np.uint64)
    got, _ = convert(p, src=FP32, dst=dst, rm=RNE)
    bad = np.flatnonzero((got != want_bits) & ~nan)
    assert bad.size == 0, f"{hex(int(p[bad[0]]))} -> {hex(int(got[bad[0]]))}, ml_dtypes {hex(int(want_bits[bad[0]]))}"
    if dst.has_nan:
        assert (got[nan] == dst.canonical_nan).all()
    else:
        assert not nan.any()
        with pytest.raises(ValueError, match="has no NaN"):
            convert([0x7FC00000], src=FP32, dst=dst)


@pytest.mark.parametrize("src,dst", [(s, d) for s in (FP16, BF16) for d in (E5M2, E4M3, E4M3FN)]
                         + [(FP16, BF16), (BF16, FP16)], ids=ids)
def test_narrowing_every_16_bit_pattern_matches_ml_dtypes(src, dst):
    p = all_patterns(src)
    want = ml_cast(ml_view(p, src).astype(np.float32), ML[dst])    # widening first is exact
    nan = np.isnan(want.astype(np.float32))
    want_bits = want.view(UINT[dst.width]).astype(np.uint64)
    got, _ = convert(p, src=src, dst=dst, rm=RNE)
    assert np.array_equal(got[~nan], want_bits[~nan])
    assert (got[nan] == dst.canonical_nan).all()


def conversion_samples(rng, src, dst, n):
    lo = src.bias + (1 - dst.bias) - dst.man_bits - 3
    hi = src.bias + ((1 << dst.exp_bits) - dst.bias) + 1
    parts = [uniform(rng, src, n), fields(rng, src, n, lo, hi), fields(rng, src, n, lo, lo + dst.man_bits + 4),
             corners(src)]
    if src.man_bits > dst.man_bits:
        tie = fields(rng, src, n, lo, hi)
        drop = np.uint64(src.man_bits - dst.man_bits)
        tie = (tie >> drop << drop) | (np.uint64(1) << (drop - np.uint64(1)))
        parts += [tie, tie ^ np.uint64(1)]
    return np.concatenate(parts)


@pytest.mark.parametrize("src,dst", list(SF_CONVERT), ids=ids)
@pytest.mark.parametrize("rm", MODES)
def test_conversion_matches_softfloat(src, dst, rm, sf_mode, seed):
    rng = np.random.default_rng(seed)
    p = conversion_samples(rng, src, dst, 1500)
    sf_mode(rm)
    want = sf_apply(SF_CONVERT[src, dst], [src], p)
    assert_same(convert(p, src=src, dst=dst, rm=rm), want, f"{src.name}->{dst.name} rm={rm}", [p])


@pytest.mark.parametrize("src,dst", [(FP16, E5M2), (FP16, E4M3), (FP16, E4M3FN), (FP32, E4M3FN),
                                     (FP32, FloatFormat(3, 2, bias=1)), (FP32, FloatFormat(6, 4, bias=20))],
                         ids=ids)
def test_conversion_in_every_mode_matches_exact_rounding(src, dst, seed):
    rng = np.random.default_rng(seed)
    p = conversion_samples(rng, src, dst, 400)
    rm = rng.integers(0, 5, size=p.size)
    got = convert(p, src=src, dst=dst, rm=rm)
    want = [ref_convert(x, src, dst, r) for x, r in zip(p.tolist(), rm.tolist())]
    assert_same(got, (np.array([w[0] for w in want], dtype=np.uint64), np.array([w[1] for w in want], dtype=np.uint64)),
                f"{src.name}->{dst!r}", [p])


def test_fn_destination_overflow_gives_nan_unless_saturating():
    big = np.array([0x5F80, 0x5F40, 0xDF80, 0x7C00, 0xFC00], dtype=np.uint64)   # 480, 464, -480, +-Inf
    assert [hex(int(v)) for v in convert(big, src=FP16, dst=E4M3FN, rm=RNE)[0]] == [
        "0x7f", "0x7e", "0x7f", "0x7f", "0x7f"]
    assert convert(big, src=FP16, dst=E4M3FN, rm=RNE)[1].tolist() == [OF | NX, NX, OF | NX, NV, NV]
    assert [hex(int(v)) for v in convert(big, src=FP16, dst=E4M3FN, rm=RTZ)[0]] == [
        "0x7e", "0x7e", "0xfe", "0x7f", "0x7f"]
    got, flags = convert(big, src=FP16, dst=E4M3FN, rm=RNE, saturate=True)
    assert [hex(int(v)) for v in got] == ["0x7e", "0x7e", "0xfe", "0x7e", "0xfe"]
    assert flags.tolist() == [OF | NX, NX, OF | NX, 0, 0]


def test_reserved_rounding_modes_give_canonical_nan_with_nv():
    for rm in (5, 6, 7):
        got, flags = convert(np.array([0x3C00], dtype=np.uint64), src=FP16, dst=FP32, rm=rm)
        assert (got.tolist(), flags.tolist()) == ([FP32.canonical_nan], [NV])
        got, flags = fma([0x3C00], [0x3C00], [0x3C00], fmt=FP16, rm=rm)
        assert (got.tolist(), flags.tolist()) == ([FP16.canonical_nan], [NV])


# -- round / encode from exact values ---------------------------------------------------------------

@pytest.mark.parametrize("f", [FP16, E4M3FN, E5M2, BF16, FloatFormat(3, 4, bias=2)], ids=ids)
def test_round_of_rationals_matches_exact_rounding(f, seed):
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(600):
        den = int(rng.integers(1, 1 << 20))
        scale = 2.0 ** int(rng.integers(-f.bias - f.man_bits - 4, 2 ** f.exp_bits - f.bias + 1))
        num = int(rng.integers(-(1 << 20), 1 << 20))
        values.append(Fraction(num, den) * Fraction(scale))
    values += [ref_max(f), ref_max(f) * Fraction(1025, 1024), -ref_max(f) * 2, Fraction(1, 3), 0, 7,
               Fraction(2) ** (1 - f.bias - f.man_bits) / 2, Fraction(2) ** (1 - f.bias - f.man_bits) * Fraction(3, 4)]
    for rm in MODES:
        got = fp.round(values, fmt=f, rm=rm)
        want = [ref_round(int(v < 0), abs(v), f, rm) for v in values]
        assert_same(got, (np.array([w[0] for w in want], dtype=np.uint64),
                          np.array([w[1] for w in want], dtype=np.uint64)), f"round rm={rm}", [np.arange(len(values))])
        sign = [int(v < 0) for v in values]
        dyadic = [i for i, v in enumerate(values) if v.denominator & (v.denominator - 1) == 0]
        sig = [abs(values[i].numerator) for i in dyadic]
        exp = [-(values[i].denominator.bit_length() - 1) for i in dyadic]
        got_p, got_f = encode([sign[i] for i in dyadic], sig, exp, fmt=f, rm=rm)
        assert got_p.tolist() == [want[i][0] for i in dyadic] and got_f.tolist() == [want[i][1] for i in dyadic]


def test_round_of_special_floats():
    got, flags = fp.round([-0.0, 0.0, float("inf"), float("-inf"), float("nan"), 1.0, 2 ** 16], fmt=FP16)
    assert [hex(int(v)) for v in got] == ["0x8000", "0x0", "0x7c00", "0xfc00", "0x7e00", "0x3c00", "0x7c00"]
    assert flags.tolist() == [0, 0, 0, 0, 0, 0, OF | NX]


def test_round_and_encode_reject_reserved_rounding_modes():
    for rm in (5, 7):
        with pytest.raises(ValueError, match="rm"):
            fp.round([1], fmt=FP16, rm=rm)
        with pytest.raises(ValueError, match="rm"):
            encode(0, 1, 0, fmt=FP16, rm=rm)


# -- FMA against SoftFloat ---------------------------------------------------------------------------

def fma_samples(rng, f, n, sf_mode):
    """a, b, c: uniform, cancelling (c = -round(a*b) +- a few ulps), sparse mantissas (ties,
    exact results), underflow and overflow ranges, and every triple of corners."""
    top = (1 << f.exp_bits) - 1
    b0 = f.bias
    near = lambda k: fields(rng, f, k, b0 - 6, b0 + 6)
    a, b, c = [uniform(rng, f, n)], [uniform(rng, f, n)], [uniform(rng, f, n)]
    # cancellation
    x, y = near(n), near(n)
    sf_mode(RNE)
    prod, _ = sf_apply({FP16: softfloat.f16_mul, FP32: softfloat.f32_mul, FP64: softfloat.f64_mul}[f],
                       [f, f], x, y)
    z = prod ^ np.uint64(1 << (f.width - 1))
    z = np.where(rng.random(n) < 0.5, z, z + rng.integers(0, 3, size=n).astype(np.uint64) - np.uint64(1))
    a.append(x), b.append(y), c.append(z)
    # sparse mantissas around one binade: ties and exact sums
    a.append(fields(rng, f, n, b0 - 3, b0 + 3, sparse=True))
    b.append(fields(rng, f, n, b0 - 3, b0 + 3, sparse=True))
    c.append(fields(rng, f, n, b0 - 2 - f.man_bits, b0 + 3, sparse=True))
    # underflow: products near and below the smallest normal
    a.append(fields(rng, f, n, 0, b0 // 2 + 2))
    b.append(fields(rng, f, n, 0, b0 // 2 + 2))
    c.append(np.where(rng.random(n) < 0.5, fields(rng, f, n, 0, 2), fields(rng, f, n, 0, 0, sparse=True)))
    # overflow
    a.append(fields(rng, f, n, top - 3, top - 1))
    b.append(fields(rng, f, n, b0, b0 + 3))
    c.append(fields(rng, f, n, top - 4, top - 1))
    k = corners(f)
    ca, cb, cc = cross(k, k, k)
    return np.concatenate(a + [ca]), np.concatenate(b + [cb]), np.concatenate(c + [cc])


@pytest.mark.parametrize("f,n", [(FP16, 3000), (FP32, 3000), (FP64, 800)], ids=ids)
def test_fma_matches_softfloat_in_every_mode(f, n, sf_mode, seed):
    rng = np.random.default_rng(seed)
    a, b, c = fma_samples(rng, f, n, sf_mode)
    for rm in MODES:
        sf_mode(rm)
        want = sf_apply(SF_FMA[f], [f, f, f], a, b, c)
        assert_same(fma(a, b, c, fmt=f, rm=rm), want, f"{f.name} fma rm={rm}", [a, b, c])


def test_fma_per_element_rounding_modes_match_softfloat(sf_mode, seed):
    rng = np.random.default_rng(seed)
    a, b, c = fma_samples(rng, FP16, 500, sf_mode)
    rm = rng.integers(0, 5, size=a.size)
    got = fma(a, b, c, fmt=FP16, rm=rm)
    want_p, want_f = np.zeros_like(a), np.zeros_like(a)
    for mode in MODES:
        sel = rm == mode
        sf_mode(mode)
        want_p[sel], want_f[sel] = sf_apply(softfloat.f16_mul_add, [FP16] * 3, a[sel], b[sel], c[sel])
    assert_same(got, (want_p, want_f), "fp16 fma, per-element rm", [a, b, c])


# -- K-term fused dot products against exact Fractions ----------------------------------------------

DOT_FORMATS = [(E5M2, FP16), (E4M3, FP16), (E4M3FN, FP16), (FP16, FP32), (BF16, FP32), (E5M2, E4M3FN),
               (E4M3FN, BF16), (FloatFormat(3, 4, bias=2), FloatFormat(6, 9, bias=40))]


def dot_samples(rng, src, dst, n, k):
    """(a, b, c): uniform, clustered exponents with sparse mantissas, exact cancellation between
    products, zeros of both signs, tiny and huge sums, and a sprinkle of specials."""
    b0 = src.bias
    top = (1 << src.exp_bits) - 1
    parts = []
    for kind in range(6):
        if kind == 0:
            a, b, c = uniform(rng, src, (n, k)), uniform(rng, src, (n, k)), uniform(rng, dst, n)
        elif kind in (1, 2):
            a = fields(rng, src, (n, k), b0 - 3, b0 + 3, sparse=kind == 1)
            b = fields(rng, src, (n, k), b0 - 3, b0 + 3, sparse=kind == 1)
            c = fields(rng, dst, n, dst.bias - 8 - dst.man_bits, dst.bias + 6, sparse=kind == 1)
        elif kind == 3:                                   # products cancel pairwise, c small or zero
            a = fields(rng, src, (n, k), 0, top)
            b = fields(rng, src, (n, k), 0, top)
            if k >= 2:
                a[:, 1] = a[:, 0] ^ np.uint64(1 << (src.width - 1))
                b[:, 1] = b[:, 0]
            c = np.where(rng.random(n) < 0.5, fields(rng, dst, n, 0, 0), fields(rng, dst, n, 0, dst.bias))
            c = np.where(rng.random(n) < 0.3, np.uint64(0), c)
        elif kind == 4:                                   # near the destination's underflow/overflow
            lo = rng.random(n) < 0.5
            a = np.where(lo[:, None], fields(rng, src, (n, k), 0, b0 // 2), fields(rng, src, (n, k), top - 2, top))
            b = np.where(lo[:, None], fields(rng, src, (n, k), 0, b0 // 2), fields(rng, src, (n, k), top - 2, top))
            c = np.where(lo, fields(rng, dst, n, 0, 1), fields(rng, dst, n, (1 << dst.exp_bits) - 3,
                                                                 (1 << dst.exp_bits) - 1))
        else:                                             # zeros of both signs and specials
            pool_s, pool_d = corners(src), corners(dst)
            a = rng.choice(pool_s, size=(n, k))
            b = rng.choice(pool_s, size=(n, k))
            c = rng.choice(pool_d, size=n)
        parts.append((a, b, c))
    return tuple(np.concatenate(x) for x in zip(*parts))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("src,dst", DOT_FORMATS, ids=ids)
def test_fused_dot_matches_exact_fraction_sum(src, dst, k, seed):
    rng = np.random.default_rng(seed)
    a, b, c = dot_samples(rng, src, dst, 150, k)
    rm = rng.integers(0, 5, size=a.shape[0])
    rm[rng.random(rm.size) < 0.02] = 5 + rng.integers(0, 3)
    got = fused_dot(a, b, c, src=src, dst=dst, rm=rm)
    want = [ref_fused(x, y, z, src, dst, r) for x, y, z, r in zip(a.tolist(), b.tolist(), c.tolist(), rm.tolist())]
    want = (np.array([w[0] for w in want], dtype=np.uint64), np.array([w[1] for w in want], dtype=np.uint64))
    assert_same(got, want, f"{src!r}->{dst!r} K={k}", [a, b, c, rm])


@pytest.mark.parametrize("src,dst", [(E2M1, FP32), (E3M2, FP16), (E2M3, BF16), (E4M3FN, FP32), (E5M2, FP32)],
                         ids=ids)
def test_scaled_fused_dot_matches_exact_fraction_sum(src, dst, seed):
    """``scale`` multiplies the products by a power of two before the one rounding (MX shared scales),
    reaching the destination's overflow and subnormals; the "finite" formats as sources."""
    rng = np.random.default_rng(seed)
    a, b, c = dot_samples(rng, src, dst, 100, 4)
    rm = rng.integers(0, 5, size=a.shape[0])
    reach = (1 << dst.exp_bits) + 2 * dst.man_bits
    scale = rng.integers(-reach, reach, size=a.shape[0])
    got = fused_dot(a, b, c, src=src, dst=dst, rm=rm, scale=scale)
    want = [ref_fused(x, y, z, src, dst, r, k) for x, y, z, r, k in
            zip(a.tolist(), b.tolist(), c.tolist(), rm.tolist(), scale.tolist())]
    want = (np.array([w[0] for w in want], dtype=np.uint64), np.array([w[1] for w in want], dtype=np.uint64))
    assert_same(got, want, f"{src!r}->{dst!r} scaled", [a, b, c, rm, scale])
    assert (got[1] & OF).any() and (got[1] & UF).any()


@pytest.mark.parametrize("rm", MODES)
def test_finite_formats_saturate_in_every_mode(rm):
    for f in (E3M2, E2M3, E2M1):
        for sign in (0, 1):
            got, flags = fp.round([(-1) ** sign * 1000, (-1) ** sign * float("inf")], fmt=f, rm=rm)
            assert [hex(int(x)) for x in got] == [hex(f.max_finite(sign))] * 2
            assert flags.tolist() == [OF | NX, 0]
    with pytest.raises(ValueError, match="E2M1.* has no NaN"):
        fp.round([float("nan")], fmt=E2M1)
    with pytest.raises(ValueError, match="fused_dot: dst E3M2.* has no NaN"):
        fused_dot([[0]], [[0]], [0], src=E2M1, dst=E3M2, rm=RNE)
    with pytest.raises(ValueError, match=r"expected scale of shape \(1,\)"):
        fused_dot([[0]], [[0]], [0], src=E2M1, dst=FP32, rm=RNE, scale=[1, 2])
    with pytest.raises(TypeError, match="scale: expected integers"):
        fused_dot([[0]], [[0]], [0], src=E2M1, dst=FP32, rm=RNE, scale=[1.5])


@pytest.mark.parametrize("rm", MODES)
def test_exsdotp_paper_case_is_exact_in_every_mode(rm):
    # e5m2 -> fp16: 2**-16 * 2**-16 - 2**-16 * 2**-16 + 1.0 = 1.0 exactly, NX clear.
    got, flags = fused_dot([[0x01, 0x81]], [[0x01, 0x01]], [0x3C00], src=E5M2, dst=FP16, rm=rm)
    assert (hex(int(got[0])), int(flags[0])) == ("0x3c00", 0)


@pytest.mark.parametrize("a,b,c,rm,want,flags", [
    ([0x7C00, 0x0000], [0x0000, 0x3C00], 0x7FC00000, RNE, 0x7FC00000, NV),   # Inf * 0 with a qNaN: NV
    ([0x7C00, 0x3C00], [0x3C00, 0x3C00], 0xFF800000, RNE, 0x7FC00000, NV),   # +Inf - Inf
    ([0x7C00, 0xFC00], [0x3C00, 0x3C00], 0x00000000, RTZ, 0x7FC00000, NV),   # Inf - Inf among products
    ([0x7C00, 0xFC00], [0x3C00, 0x3C00], 0x7FC00000, RNE, 0x7FC00000, 0),    # ... but a qNaN operand wins
    ([0x7D00, 0x3C00], [0x3C00, 0x3C00], 0x3F800000, RNE, 0x7FC00000, NV),   # sNaN in a
    ([0x3C00, 0x3C00], [0x3C00, 0x3C00], 0x7F800001, RNE, 0x7FC00000, NV),   # sNaN in c
    ([0x7E01, 0x3C00], [0x3C00, 0x3C00], 0x3F800000, RNE, 0x7FC00000, 0),    # qNaN payload dropped
    ([0x7C00, 0x3C00], [0xBC00, 0x3C00], 0x3F800000, RUP, 0xFF800000, 0),    # -Inf, exact
    ([0x8000, 0x8000], [0x3C00, 0x3C00], 0x80000000, RNE, 0x80000000, 0),    # -0 + -0 + -0 = -0
    ([0x8000, 0x0000], [0x3C00, 0x3C00], 0x80000000, RNE, 0x00000000, 0),    # mixed zeros: +0
    ([0x8000, 0x0000], [0x3C00, 0x3C00], 0x80000000, RDN, 0x80000000, 0),    # ... -0 under RDN
    ([0x3C00, 0xBC00], [0x3C00, 0x3C00], 0x00000000, RUP, 0x00000000, 0),    # 1 - 1 + 0 = +0
    ([0x3C00, 0xBC00], [0x3C00, 0x3C00], 0x80000000, RDN, 0x80000000, 0),    # ... -0 under RDN
    ([0x0001, 0x8001], [0x0001, 0x0001], 0x00000001, RNE, 0x00000001, 0),    # subnormals in and out, exact
    ([0x0001, 0x0000], [0x0001, 0x0000], 0x00000000, RNE, 0x27800000, 0),    # 2**-48 is exact in fp32
])
def test_fused_dot_special_cases(a, b, c, rm, want, flags):
    got, got_flags = fused_dot([a], [b], [c], src=FP16, dst=FP32, rm=rm)
    assert (hex(int(got[0])), int(got_flags[0])) == (hex(want), flags)


@pytest.mark.parametrize("a,b,c,rm,want,flags", [
    ([0x01], [0x01], 0x0000, RNE, 0x0000, UF | NX),      # 2**-32 underflows to +0
    ([0x01], [0x81], 0x0000, RNE, 0x8000, UF | NX),      # ... to -0
    ([0x01], [0x01], 0x0000, RUP, 0x0001, UF | NX),      # ... or up to the smallest subnormal
    ([0x01], [0x01], 0x8001, RNE, 0x8001, UF | NX),      # -2**-24 + 2**-32: tiny and inexact
    ([0x01], [0x01], 0x0400, RNE, 0x0400, NX),           # 2**-14 + 2**-32: inexact, not tiny
    ([0x7B], [0x7B], 0x7BFF, RTZ, 0x7BFF, OF | NX),      # 57344**2 + 65504: overflow, RTZ gives max
    ([0x7B], [0x7B], 0x7BFF, RNE, 0x7C00, OF | NX),
    ([0x7B], [0xFB], 0x0000, RUP, 0xFBFF, OF | NX),      # negative overflow, RUP gives -max
    ([0x3C], [0x3C], 0x7C00, RNE, 0x7C00, 0),            # 1 + Inf = Inf, exact
])
def test_fused_dot_underflow_and_overflow(a, b, c, rm, want, flags):
    got, got_flags = fused_dot([a], [b], [c], src=E5M2, dst=FP16, rm=rm)
    assert (hex(int(got[0])), int(got_flags[0])) == (hex(want), flags)


def test_fused_dot_handles_1e5_vectors_quickly(seed):
    rng = np.random.default_rng(seed)
    n = 100_000
    a, b = uniform(rng, FP16, (n, 2)), fields(rng, FP16, (n, 2), 5, 25)
    c = fields(rng, FP32, n, 100, 140)
    rm = rng.integers(0, 5, size=n)
    start = time.perf_counter()
    got = fused_dot(a, b, c, src=FP16, dst=FP32, rm=rm)
    elapsed = time.perf_counter() - start
    print(f"fused_dot fp16*fp16+fp32, K=2, n={n}: {elapsed:.2f} s")
    assert elapsed < 30
    rows = rng.choice(n, size=300, replace=False)
    want = [ref_fused(a[i].tolist(), b[i].tolist(), int(c[i]), FP16, FP32, int(rm[i])) for i in rows]
    assert got[0][rows].tolist() == [w[0] for w in want] and got[1][rows].tolist() == [w[1] for w in want]


# -- bad input ------------------------------------------------------------------------------------------

def test_fused_dot_rejects_bad_operands():
    ok = np.zeros((3, 2), dtype=np.uint64)
    c = np.zeros(3, dtype=np.uint64)
    with pytest.raises(ValueError, match="a: pattern 0x100"):
        fused_dot(ok + 0x100, ok, c, src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match="c: pattern"):
        fused_dot(ok, ok, c + (1 << 16), src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(TypeError, match="dtype float"):
        fused_dot(ok.astype(float), ok, c, src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match="negative"):
        fused_dot(ok.astype(np.int64) - 1, ok, c, src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match=r"\(n, K\)"):
        fused_dot(ok, np.zeros((3, 3), dtype=np.uint64), c, src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match=r"\(n, K\)"):
        fused_dot(c, c, c, src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match="c of shape"):
        fused_dot(ok, ok, c[:2], src=E5M2, dst=FP16, rm=RNE)
    with pytest.raises(ValueError, match=r"fma: expected a, b, c of one shape \(n,\); got \(3,\), \(3,\), \(2,\)"):
        fma(c, c, c[:2], fmt=FP16, rm=RNE)
    with pytest.raises(ValueError, match="rm"):
        fused_dot(ok, ok, c, src=E5M2, dst=FP16, rm=8)
    with pytest.raises(ValueError, match="rm"):
        fused_dot(ok, ok, c, src=E5M2, dst=FP16, rm=[0, 1])
    with pytest.raises(TypeError, match="rm"):
        fused_dot(ok, ok, c, src=E5M2, dst=FP16, rm=0.0)
    with pytest.raises(TypeError, match="src"):
        fused_dot(ok, ok, c, src="e5m2", dst=FP16, rm=RNE)


def test_conversions_and_rounding_reject_bad_input():
    with pytest.raises(ValueError, match="patterns: pattern 0x10000"):
        convert([1 << 16], src=FP16, dst=FP32)
    with pytest.raises(TypeError, match="dtype float"):
        convert(np.array([1.0]), src=FP16, dst=FP32)
    with pytest.raises(TypeError, match="values"):
        fp.round(["1"], fmt=FP16)
    with pytest.raises(ValueError, match="significand"):
        encode(0, -1, 0, fmt=FP16)
    with pytest.raises(TypeError, match="exponent"):
        encode(0, 1, 0.5, fmt=FP16)
    with pytest.raises(ValueError, match="sign"):
        FP16.zero(2)
    with pytest.raises(TypeError, match="saturate must be True or False, got 'no'"):
        convert([0x7C00], src=FP16, dst=fp.E4M3FN, saturate="no")
    with pytest.raises(TypeError, match="patterns: expected integer 16-bit patterns, got Fraction"):
        convert(np.array([Fraction(3, 2)], dtype=object), src=FP16, dst=FP32)


# -- long sweeps ------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("f", [FP16, FP32], ids=ids)
def test_fma_matches_softfloat_on_long_random_streams(f, sf_mode, seed):
    """About 270k vectors x 5 rounding modes (1.3M FMAs) per format."""
    rng = np.random.default_rng(seed)
    a, b, c = fma_samples(rng, f, 40_000, sf_mode)
    for rm in MODES:
        sf_mode(rm)
        want = sf_apply(SF_FMA[f], [f, f, f], a, b, c)
        assert_same(fma(a, b, c, fmt=f, rm=rm), want, f"{f.name} fma rm={rm}", [a, b, c])


@pytest.mark.slow
@pytest.mark.parametrize("src,dst", [(FP16, E5M2), (FP16, E4M3), (FP16, E4M3FN), (BF16, E4M3FN), (FP16, BF16)],
                         ids=ids)
def test_every_16_bit_pattern_converts_like_exact_rounding_in_every_mode(src, dst):
    p = all_patterns(src)
    for rm in MODES:
        got = convert(p, src=src, dst=dst, rm=rm)
        want = [ref_convert(x, src, dst, rm) for x in p.tolist()]
        assert_same(got, (np.array([w[0] for w in want], dtype=np.uint64),
                          np.array([w[1] for w in want], dtype=np.uint64)),
                    f"{src.name}->{dst.name} rm={rm}", [p])


@pytest.mark.slow
@pytest.mark.parametrize("src", [E5M2, E4M3, E4M3FN], ids=ids)
def test_every_fp8_product_pair_matches_exact_fraction_sum(src, seed):
    rng = np.random.default_rng(seed)
    a, b = cross(all_patterns(src), all_patterns(src))
    c = rng.choice(corners(FP16), size=a.size)
    rm = rng.integers(0, 5, size=a.size)
    got = fused_dot(a[:, None], b[:, None], c, src=src, dst=FP16, rm=rm)
    want = [ref_fused([x], [y], z, src, FP16, r) for x, y, z, r in zip(a.tolist(), b.tolist(), c.tolist(),
                                                                      rm.tolist())]
    assert_same(got, (np.array([w[0] for w in want], dtype=np.uint64), np.array([w[1] for w in want], dtype=np.uint64)),
                f"{src.name} products", [a, b, c, rm])
