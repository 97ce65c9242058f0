"""golden.vsq against a plain element-by-element reading of the VS-Quant formulas and exact arithmetic."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from golden import vsq


def reference_quantize(x, V, N, M, signed, granularity, ceil):
    """The module docstring's formulas, one vector and one element at a time (Python floats)."""
    qmax = 2 ** (N - 1) - 1 if signed else 2 ** N - 1
    rows = x.reshape(-1, x.shape[-1])
    s = [[max(abs(float(e)) for e in row[j:j + V]) / qmax for j in range(0, len(row), V)] for row in rows]
    if granularity == "tensor":
        gammas = [float(np.float32(max(max(r) for r in s) / (2 ** M - 1)))] * len(rows)
    else:
        gammas = [float(np.float32(max(r) / (2 ** M - 1))) for r in s]
    q, sq = [], []
    for row, srow, g in zip(rows, s, gammas):
        qrow, sqrow = [], []
        for j, sv in enumerate(srow):
            ratio = sv / g if g > 0 else 0.0
            k = min(math.ceil(ratio) if ceil else round(ratio), 2 ** M - 1)
            sqrow.append(k)
            for e in row[j * V:(j + 1) * V]:
                v = round(float(e) / (k * g)) if k * g > 0 else 0
                qrow.append(max(-qmax if signed else 0, min(qmax, v)))
        q.append(qrow)
        sq.append(sqrow)
    return np.array(q), np.array(sq), np.array(gammas)


@pytest.mark.parametrize("V,N,M,signed,granularity,ceil", [
    (16, 4, 6, True, "channel", False), (64, 4, 8, True, "channel", False), (16, 4, 4, True, "tensor", False),
    (32, 8, 6, True, "channel", True), (16, 4, 6, False, "tensor", False), (8, 3, 5, False, "channel", True),
])
def test_quantize_matches_the_formulas_element_by_element(V, N, M, signed, granularity, ceil, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((12, 128)) * np.exp(rng.standard_normal((12, 1)))
    x[3, :V] = 0.0                                   # an all-zero vector
    x[5, 7] = 40.0                                   # an outlier that dwarfs its channel's other vectors
    if not signed:
        x = np.maximum(x, 0.0)
    t = vsq.quantize(x, vector=V, bits=N, scale_bits=M, signed=signed, granularity=granularity,
                     scale_rounding="ceil" if ceil else "round")
    q, sq, gammas = reference_quantize(x, V, N, M, signed, granularity, ceil)
    assert np.array_equal(t.q.reshape(12, -1), q)
    assert np.array_equal(t.scale, sq)
    assert np.allclose(np.broadcast_to(t.gamma, (12, 1)).ravel(), gammas, rtol=0, atol=0)
    assert np.abs(t.q).max() <= (2 ** (N - 1) - 1 if signed else 2 ** N - 1)
    assert t.scale.max() <= 2 ** M - 1


def test_ceil_scales_never_clip_a_vector_maximum(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 256))
    t = vsq.quantize(x, vector=16, bits=4, scale_bits=4, scale_rounding="ceil")
    xhat = vsq.dequantize(t).reshape(8, 16, 16)
    vmax = np.abs(x.reshape(8, 16, 16)).max(axis=-1)
    step = t.scale * t.gamma.astype(np.float64)
    assert (np.abs(xhat).max(axis=-1) >= vmax - step / 2 - 1e-12).all()


def test_vsq_matmul_is_the_exact_integer_sum_scaled_once(seed):
    rng = np.random.default_rng(seed)
    w = vsq.quantize(rng.standard_normal((5, 64)), vector=16, scale_bits=6)
    x = vsq.quantize(np.abs(rng.standard_normal((3, 64))), vector=16, scale_bits=6, granularity="tensor")
    y = vsq.vsq_matmul(w, x)
    for t in range(3):
        for o in range(5):
            exact = sum(Fraction(int(x.q[t, v, i]) * int(w.q[o, v, i]) * int(x.scale[t, v]) * int(w.scale[o, v]))
                        for v in range(4) for i in range(16))
            exact *= Fraction(float(x.gamma)) * Fraction(float(w.gamma[o, 0]))
            assert abs(Fraction(y[t, o]) - exact) <= abs(exact) * Fraction(1, 2 ** 51)
    # and it equals the product of the dequantized operands up to float rounding
    assert np.allclose(y, vsq.dequantize(x) @ vsq.dequantize(w).T, rtol=1e-12, atol=1e-12)


def test_vsq_mac_stream_matches_python_integers(seed):
    rng = np.random.default_rng(seed)
    n, V, N, M, acc = 2000, 8, 4, 6, 23                 # 23: the narrowest vsq_mac accepts here
    op = rng.choice([0, 1, 2, 3], size=n, p=[0.02, 0.9, 0.05, 0.03])
    a = rng.integers(0, 16, size=(n, V), dtype=np.uint64)
    b = rng.integers(0, 16, size=(n, V), dtype=np.uint64)
    sa = rng.integers(0, 64, size=n, dtype=np.uint64)
    sb = rng.integers(0, 64, size=n, dtype=np.uint64)
    op[:3], a[1:3], b[1:3], sa[1:3], sb[1:3] = [0, 1, 1], 8, 15, 63, 63     # two extreme MACs wrap
    result, overflow = vsq.vsq_mac(op, a, b, sa, sb, width=N, scale_width=M, a_signed=True, b_signed=False,
                                   acc_width=acc)
    value, wrapped = 0, 0
    for i in range(n):
        if op[i] == 0:
            value, wrapped = 0, 0
        elif op[i] == 1:
            dot = sum((int(p) - 16 if p >= 8 else int(p)) * int(q) for p, q in zip(a[i], b[i]))
            value += dot * int(sa[i]) * int(sb[i])
            if not -(1 << (acc - 1)) <= value < (1 << (acc - 1)):
                wrapped = 1
                value = (value + (1 << (acc - 1))) % (1 << acc) - (1 << (acc - 1))
        assert (int(result[i]), int(overflow[i])) == (value % (1 << acc), wrapped), f"op {i}"
    assert overflow.any()


def test_sqnr_orders_the_schemes_on_heavy_tailed_data(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(3, size=(256, 512)) * np.exp(0.5 * rng.standard_normal((256, 1)))
    sq = {name: vsq.sqnr_db(w, f()) for name, f in {
        "int4_tensor": lambda: vsq.quantize_uniform(w, bits=4, granularity="tensor"),
        "int4_channel": lambda: vsq.quantize_uniform(w, bits=4),
        "vsq16_m6": lambda: vsq.dequantize(vsq.quantize(w, vector=16, scale_bits=6)),
        "int8_channel": lambda: vsq.quantize_uniform(w, bits=8),
    }.items()}
    assert sq["int4_tensor"] < sq["int4_channel"] < sq["vsq16_m6"] < sq["int8_channel"], sq


def test_bad_input_gets_clear_errors():
    x = np.ones((4, 32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        vsq.quantize(np.where(x > 0, np.nan, x))
    with pytest.raises(ValueError, match="NaN or Inf"):
        vsq.quantize(np.full((2, 16), np.inf))
    with pytest.raises(TypeError, match="expected a float array"):
        vsq.quantize(np.ones((4, 32), dtype=np.int32))
    with pytest.raises(ValueError, match="not a multiple of the vector length 16.*pad=True"):
        vsq.quantize(np.ones((4, 40)))
    assert vsq.quantize(np.ones((4, 40)), pad=True).q.shape == (4, 3, 16)
    assert vsq.dequantize(vsq.quantize(np.ones((4, 40)), pad=True)).shape == (4, 40)
    with pytest.raises(ValueError, match=r"bits must be an integer in 2..8, got 9"):
        vsq.quantize(x, bits=9)
    with pytest.raises(ValueError, match=r"scale_bits must be an integer in 1..8, got 0"):
        vsq.quantize(x, scale_bits=0)
    with pytest.raises(ValueError, match="vector must be"):
        vsq.quantize(x, vector=0)
    with pytest.raises(ValueError, match="non-negative"):
        vsq.quantize(-x, signed=False)
    with pytest.raises(ValueError, match="granularity"):
        vsq.quantize(x, granularity="row")
    with pytest.raises(ValueError, match="does not fit in 6 bits"):
        vsq.vsq_mac([1], np.zeros((1, 4), np.uint64), np.zeros((1, 4), np.uint64), [64], [1],
                    width=4, scale_width=6, a_signed=True, b_signed=True, acc_width=30)
    with pytest.raises(ValueError, match=r"x: 1e\+300 exceeds the float32 range"):
        vsq.quantize(np.full((1, 16), 1e300))
    for flag in ("signed", "pad"):
        with pytest.raises(TypeError, match=f"{flag} must be True or False, got 'no'"):
            vsq.quantize(x, **{flag: "no"})
    with pytest.raises(TypeError, match="dequantize: expected a VSQTensor"):
        vsq.dequantize(x)
    with pytest.raises(TypeError, match="vsq_matmul: w: expected a VSQTensor"):
        vsq.vsq_matmul(x, x)
    zeros = np.zeros((1, 4), np.uint64)
    with pytest.raises(ValueError, match=r"vsq_mac: width must be an integer in 2..8, got 4.0"):
        vsq.vsq_mac([1], zeros, zeros, [1], [1], width=4.0, scale_width=6, a_signed=True, b_signed=True,
                    acc_width=30)
    with pytest.raises(TypeError, match="vsq_mac: b_signed must be True or False"):
        vsq.vsq_mac([1], zeros, zeros, [1], [1], width=4, scale_width=6, a_signed=True, b_signed="no",
                    acc_width=30)


def extreme_scaled_sums(lanes, width, scale_width, a_signed, b_signed):
    """Every dot(a, b) * sa * sb of corner operands (all lanes alike, largest scales), as Python ints."""
    def corners(signed):
        return [-(1 << (width - 1)), (1 << (width - 1)) - 1] if signed else [0, (1 << width) - 1]
    smax = (1 << scale_width) - 1
    return [(x, y, lanes * x * y * smax * smax) for x in corners(a_signed) for y in corners(b_signed)]


@pytest.mark.parametrize("lanes,width,scale_width,a_signed,b_signed", [
    (8, 4, 6, True, False), (16, 4, 6, True, True), (1, 2, 1, False, False), (64, 8, 8, True, True),
    (3, 5, 3, False, True)])
def test_vsq_mac_accepts_acc_width_down_to_one_extreme_scaled_sum(lanes, width, scale_width, a_signed, b_signed):
    sums = extreme_scaled_sums(lanes, width, scale_width, a_signed, b_signed)
    signed = a_signed or b_signed
    need = next(w for w in range(1, 63) if all(
        (-(1 << (w - 1)) <= v < 1 << (w - 1)) if signed else (0 <= v < 1 << w) for _, _, v in sums))
    kw = dict(width=width, scale_width=scale_width, a_signed=a_signed, b_signed=b_signed)
    smax = (1 << scale_width) - 1
    for x, y, v in sums:
        a = np.full((2, lanes), x % (1 << width), np.uint64)
        b = np.full((2, lanes), y % (1 << width), np.uint64)
        result, overflow = vsq.vsq_mac([0, 1], a, b, [smax] * 2, [smax] * 2, acc_width=need, **kw)
        assert overflow[1] == 0 and int(result[1]) == v % (1 << need)
    if need > 2:
        with pytest.raises(ValueError, match=rf"vsq_mac: acc_width must be in {need}\.\.62 for {lanes} lanes and "
                                             rf"{scale_width}-bit scales, got {need - 1}"):
            vsq.vsq_mac([1], a[:1], b[:1], [1], [1], acc_width=need - 1, **kw)


@pytest.mark.parametrize("op", [1, [[1]]])
def test_vsq_mac_op_must_be_one_dimensional(op):
    ones = np.ones((1, 4), np.uint64)
    with pytest.raises(ValueError, match=r"op: expected shape \(n,\), got \((1, 1)?\)"):
        vsq.vsq_mac(op, ones, ones, [1], [1], width=4, scale_width=4, a_signed=True, b_signed=True, acc_width=30)


@pytest.mark.parametrize("x,x_hat,error,match", [
    ([1.0, 2.0, 3.0], [[1.0, 2.0, 3.0], [1.0, 2.0, 3.5]], ValueError, r"got x \(3,\) and x_hat \(2, 3\)"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], ValueError, r"same non-empty shape, got x \(3,\) and x_hat \(2,\)"),
    ([], [], ValueError, r"same non-empty shape, got x \(0,\)"),
    (["1", "2"], [1.0, 2.0], TypeError, "sqnr_db: x must be a real .* got dtype <U1"),
    ([1.0, 2.0], [True, False], TypeError, "sqnr_db: x_hat must be a real .* got dtype bool"),
])
def test_sqnr_db_rejects_mismatched_or_non_real_input(x, x_hat, error, match):
    with pytest.raises(error, match=match):
        vsq.sqnr_db(x, x_hat)


@pytest.mark.parametrize("x,x_hat,want", [
    ([0.0, 0.0], [1.0, 1.0], -math.inf), ([0.0, 0.0], [0.0, 0.0], math.inf), ([1, 2], [1, 2], math.inf),
    ([3.0, 4.0], [3.0, 3.0], 10 * math.log10(25))])
def test_sqnr_db_of_no_signal_or_no_noise_is_infinite_without_warnings(x, x_hat, want):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert vsq.sqnr_db(x, x_hat) == pytest.approx(want)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.longdouble])
def test_quantize_takes_any_float_dtype_without_warnings(dtype):
    x = np.linspace(-3, 3, 32).reshape(2, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = vsq.quantize(x.astype(dtype))
    assert np.array_equal(t.q, vsq.quantize(x.astype(dtype).astype(np.float64)).q)
