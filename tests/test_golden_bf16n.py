"""golden.bf16n against references nobody here wrote: ml_dtypes for the bf16 terms, exact Fractions for
their sums, Berkeley SoftFloat (its RISC-V FP32 FMA, fed the bf16 terms widened exactly) for every step
of the FMA chain."""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden import bf16n, fp
from golden.fp import BF16, FP32, NV, RNE, ROUNDING_MODES, RTZ
from test_golden_fp import sf_apply, sf_mode  # noqa: F401  (sf_mode is a fixture)
import softfloatpy as softfloat


U64 = np.uint64


def fp32_patterns(rng, count):
    """Uniform bit patterns, moderate exponents, the corners, values at bf16's overflow edge and near the
    bottom of the range where bf16's subnormals cut terms short."""
    uniform = rng.integers(0, 1 << 32, size=count, dtype=U64)
    field = rng.integers(127 - 40, 127 + 40, size=count, dtype=U64)
    moderate = (rng.integers(0, 2, size=count, dtype=U64) << U64(31)) | (field << U64(23)) | \
        rng.integers(0, 1 << 23, size=count, dtype=U64)
    edge = U64(0x7F7F0000) | rng.integers(0, 1 << 16, size=64, dtype=U64)
    low = (rng.integers(0, 20, size=256, dtype=U64) << U64(23)) | rng.integers(0, 1 << 23, size=256, dtype=U64)
    x = np.concatenate([fp.corner_patterns(FP32), uniform, moderate, edge, edge | U64(1 << 31), low])
    return x


@pytest.mark.parametrize("n", [1, 2, 3])
def test_split_terms_are_ml_dtypes_roundings_of_the_float32_remainders(n, seed):
    rng = np.random.default_rng(seed)
    x = fp32_patterns(rng, 100_000)
    terms = bf16n.split(x, n)
    rest = x.astype(np.uint32).view(np.float32)
    finite = np.isfinite(rest)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n):
            want = rest.astype(ml_dtypes.bfloat16)
            # ml_dtypes rounds past bf16's largest finite value to Inf; the split keeps the largest finite.
            over = finite & np.isinf(want.astype(np.float32))
            want[over] = np.copysign(ml_dtypes.finfo(ml_dtypes.bfloat16).max, rest[over]).astype(ml_dtypes.bfloat16)
            want_bits = want.view(np.uint16).astype(U64)
            if k:
                want_bits = np.where(finite, want_bits, U64(0))
            nan = ~finite & np.isnan(rest) if k == 0 else np.zeros_like(finite)
            assert (terms[~nan, k] == want_bits[~nan]).all(), f"term {k}"
            assert (terms[nan, k] == U64(BF16.canonical_nan)).all()
            rest = np.where(finite, rest - want.astype(np.float32), np.float32(0))
    assert int(finite.sum()) > 100_000 and int((~finite).sum()) >= 4


def test_three_terms_hold_every_float32_of_exponent_minus_110_and_up_exactly(seed):
    rng = np.random.default_rng(seed)
    x = fp32_patterns(rng, 20_000)
    x = x[((x >> U64(23)) & U64(0xFF)) >= U64(127 - 110)]
    x = x[((x >> U64(23)) & U64(0xFF)) != U64(0xFF)]
    terms = bf16n.split(x, 3)
    values = fp.to_fraction(x, FP32)
    parts = [fp.to_fraction(terms[:, k], BF16) for k in range(3)]
    sums = [p0 + p1 + p2 for p0, p1, p2 in zip(*parts)]
    assert all(s == v for s, v in zip(sums, values))
    assert (bf16n.join(terms, rm=RTZ)[0] == x).all()
    assert len(x) > 20_000


def test_two_terms_keep_17_significant_bits(seed):
    """t0 + t1 is within 2**-17 of x relatively (RNE splits: 8 bits and a sign per term)."""
    rng = np.random.default_rng(seed)
    field = rng.integers(127 - 60, 127 + 60, size=5000, dtype=U64)
    x = (field << U64(23)) | rng.integers(0, 1 << 23, size=5000, dtype=U64)
    terms = bf16n.split(x, 2)
    worst = max(abs((t0 + t1 - v) / v) for t0, t1, v in zip(fp.to_fraction(terms[:, 0], BF16),
                                                            fp.to_fraction(terms[:, 1], BF16), fp.to_fraction(x, FP32)))
    assert 0 < worst <= Fraction(1, 2 ** 17)


@pytest.mark.parametrize("n,full", [(1, False), (2, False), (2, True), (3, False), (3, True)])
def test_fma_is_a_chain_of_softfloat_fp32_fmas_on_the_widened_terms(n, full, sf_mode, seed):
    rng = np.random.default_rng(seed)
    count = 4000
    a = bf16n.split(fp32_patterns(rng, count)[:count], n)
    b = bf16n.split(rng.permutation(fp32_patterns(rng, count))[:count], n)
    corners = fp.corner_patterns(BF16)
    pick = rng.random((count, n)) < 0.05
    a[pick] = rng.choice(corners, size=pick.sum())
    c = rng.permutation(fp32_patterns(rng, count))[:count]
    near = rng.random(count) < 0.3
    # c cancelling the leading product: the small products decide the result
    lead, _ = fp.fused_dot(a[near, :1], b[near, :1], np.zeros(near.sum(), U64), src=BF16, dst=FP32, rm=RNE)
    c[near] = lead ^ U64(1 << 31)
    for rm in ROUNDING_MODES:
        got = bf16n.fma(a, b, c, rm=rm, full=full)
        sf_mode(rm)
        acc, flags = c, np.zeros(count, U64)
        for i, j in bf16n.products(n, full):
            ai, fa = sf_apply(softfloat.bf16_to_f32, [BF16], a[:, i])
            bj, fb = sf_apply(softfloat.bf16_to_f32, [BF16], b[:, j])
            acc, f = sf_apply(softfloat.f32_mul_add, [FP32, FP32, FP32], ai, bj, acc)
            flags |= fa | fb | f
        bad = np.flatnonzero((got[0] != acc) | (got[1] != flags))
        assert not bad.size, (f"rm {rm}: {bad.size} mismatches, first a={a[bad[0]]} b={b[bad[0]]} "
                              f"c={c[bad[0]]:#x}: got {got[0][bad[0]]:#x}/{got[1][bad[0]]}, "
                              f"want {acc[bad[0]]:#x}/{flags[bad[0]]}")


def test_fma_of_three_terms_is_within_a_few_float32_ulps_and_two_terms_is_not(seed):
    """The seed's accuracy claim at the golden level, on split FP32 operands: the error against the exact
    a*b + c in units of 2**-24 (|a*b| + |c|).  Measured on 20,000 rows: FP32's own FMA at most 0.99
    (mean 0.31); BF16x3 (6 products) 3.3 (0.39); BF16x2 (3 products) 347 (26), about 2**-16: two terms
    keep 17 bits of each operand, not FP32's 24; BF16x1 117,494."""
    rng = np.random.default_rng(seed)
    count = 3000
    field = rng.integers(127 - 20, 127 + 20, size=(3, count), dtype=U64)
    a, b, c = (rng.integers(0, 2, size=(3, count), dtype=U64) << U64(31)) | (field << U64(23)) | \
        rng.integers(0, 1 << 23, size=(3, count), dtype=U64)
    fa, fb, fc = (fp.to_fraction(v, FP32) for v in (a, b, c))
    exact = [x * y + z for x, y, z in zip(fa, fb, fc)]
    scale = [(abs(x * y) + abs(z)) / 2 ** 24 for x, y, z in zip(fa, fb, fc)]

    def error(result):
        return np.array([float(abs(r - e) / s) for r, e, s in zip(fp.to_fraction(result, FP32), exact, scale)])

    fp32 = error(fp.fused_dot(a[:, None], b[:, None], c, src=FP32, dst=FP32, rm=RNE)[0])
    terms = {n: error(bf16n.fma(bf16n.split(a, n), bf16n.split(b, n), c, rm=RNE)[0]) for n in (1, 2, 3)}
    print({"fp32": (fp32.max(), fp32.mean()), **{n: (e.max(), e.mean()) for n, e in terms.items()}})
    assert fp32.max() <= 1
    assert terms[3].max() <= 4 and terms[3].mean() < 1.5 * fp32.mean()
    assert 2 ** 6 < terms[2].max() <= 2 ** 9
    assert terms[1].mean() > 100 * terms[2].mean() > 100 * terms[3].mean()


def test_reserved_rounding_modes_give_the_canonical_nan_with_nv():
    a = bf16n.split(np.array([0x3F800000, 0x40490FDB], U64), 2)
    result, flags = bf16n.fma(a, a, np.array([0, 0x3F800000], U64), rm=np.array([5, 7]))
    assert (result == U64(FP32.canonical_nan)).all() and (flags & U64(NV)).all()


@pytest.mark.parametrize("call,error,match", [
    (lambda: bf16n.split(np.array([1], U64), 4), ValueError, r"n must be an integer in 1\.\.3, got 4"),
    (lambda: bf16n.split(np.array([1 << 32], U64), 2), ValueError, r"x: pattern 0x100000000 does not fit in 32"),
    (lambda: bf16n.split(np.array([1.0]), 2), TypeError, r"x: expected an integer array"),
    (lambda: bf16n.products(0), ValueError, r"n must be an integer in 1\.\.3"),
    (lambda: bf16n.products(2, full="yes"), TypeError, r"full must be True or False"),
    (lambda: bf16n.fma(np.zeros((2, 4), U64), np.zeros((2, 4), U64), np.zeros(2, U64), rm=0), ValueError,
     r"a: expected shape \(m, n\) with n in 1\.\.3, got \(2, 4\)"),
    (lambda: bf16n.fma(np.zeros((2, 2), U64), np.zeros((2, 3), U64), np.zeros(2, U64), rm=0), ValueError,
     r"b: expected shape \(n, 2\)"),
    (lambda: bf16n.fma(np.full((1, 2), 1 << 16, U64), np.zeros((1, 2), U64), np.zeros(1, U64), rm=0), ValueError,
     r"a: pattern 0x10000 does not fit in 16 bits"),
    (lambda: bf16n.fma(np.zeros((2, 2), U64), np.zeros((2, 2), U64), np.zeros(3, U64), rm=0), ValueError,
     r"a, b, c: expected the same number of rows, got 2, 2, 3"),
    (lambda: bf16n.fma(np.zeros((1, 2), U64), np.zeros((1, 2), U64), np.zeros(1, U64), rm=8), ValueError,
     r"rm: code 8 is not one of"),
    (lambda: bf16n.join(np.zeros((2, 5), U64)), ValueError, r"terms: expected shape \(m, n\)"),
])
def test_bad_input_is_rejected_with_a_message_naming_it(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_products_are_the_triangle_smallest_first_as_documented():
    assert bf16n.products(1) == [(0, 0)]
    assert bf16n.products(2) == [(1, 0), (0, 1), (0, 0)]
    assert bf16n.products(3) == [(2, 0), (1, 1), (0, 2), (1, 0), (0, 1), (0, 0)]
    assert bf16n.products(2, full=True) == [(1, 1), (1, 0), (0, 1), (0, 0)]
    assert len(bf16n.products(3, full=True)) == 9
