"""golden.mx against independent references: ml_dtypes (E8M0, element rounding), the OCP MX v1.0
conversion rule written out here, and exact Fraction dot products rounded by test_golden_fp's reference."""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden import fp, mx
from test_golden_fp import ref_fused, ref_round


ML = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2, "e3m2": ml_dtypes.float6_e3m2fn,
      "e2m3": ml_dtypes.float6_e2m3fn, "e2m1": ml_dtypes.float4_e2m1fn}
ELEMS = list(mx.ELEMENTS)
# OCP MX v1.0 Table 1: emax of each element format, and its bits.
SPEC = {"e4m3": (8, 8), "e5m2": (15, 8), "e3m2": (4, 6), "e2m3": (2, 6), "e2m1": (2, 4), "int8": (0, 8)}


def test_e8m0_scales_are_powers_of_two_as_ml_dtypes_decodes_them():
    patterns = np.arange(256, dtype=np.uint64)
    want = patterns.astype(np.uint8).view(ml_dtypes.float8_e8m0fnu).astype(np.float64)
    exponents = mx.scale_exponent(patterns)
    assert np.array_equal(np.ldexp(1.0, exponents[:255]), want[:255])
    assert np.isnan(want[255]) and mx.SCALE_NAN == 255


@pytest.mark.parametrize("elem", ELEMS)
def test_element_values_match_ml_dtypes(elem):
    assert (mx.ELEMENTS[elem].emax, mx.ELEMENTS[elem].width) == SPEC[elem]
    patterns = np.arange(1 << SPEC[elem][1], dtype=np.uint64)
    got = mx.element_values(patterns, elem)
    if elem == "int8":
        want = [Fraction(int(v), 64) for v in patterns.astype(np.uint8).view(np.int8)]
    else:
        want = [Fraction(float(v)) if np.isfinite(v) else None
                for v in patterns.astype(np.uint8).view(ML[elem]).astype(np.float64)]
    for p, g, w in zip(patterns.tolist(), got, want):
        assert (g == w) if w is not None else not isinstance(g, Fraction), hex(p)


def spec_quantize(block, elem):
    """OCP MX v1.0 section 6.3 for one block of float32 values, rounding by ml_dtypes (RNE) after a
    clamp to the element's largest magnitude; the module docstring's choices for NaN/Inf blocks."""
    emax = SPEC[elem][0]
    if not all(math.isfinite(float(v)) for v in block):
        return 255, [0] * len(block)
    amax = max(abs(float(v)) for v in block)
    shared = math.frexp(amax)[1] - 1 - emax if amax else -127
    shared = max(shared, -127)
    scaled = [math.ldexp(float(v), -shared) for v in block]
    if elem == "int8":
        codes = [min(127, max(-128, round(x * 64))) for x in scaled]     # Python round: ties to even
        return shared + 127, [c & 0xFF for c in codes]
    top = float(ml_dtypes.finfo(ML[elem]).max)
    clamped = np.array([math.copysign(min(abs(x), top), x) for x in scaled], dtype=np.float32)  # exact
    return shared + 127, clamped.astype(ML[elem]).view(np.uint8).tolist()


def float32_blocks(rng, n):
    """Blocks of float32: normal, wide dynamic range, all zero, float32 subnormals, near float32's top,
    element-grid ties, and a few with NaN or Inf."""
    parts = [rng.standard_normal((n, 32)),
             rng.standard_normal((n, 32)) * np.exp2(rng.integers(-30, 30, size=(n, 32))),
             np.zeros((2, 32)),
             rng.standard_normal((n, 32)) * 2.0 ** -140,
             rng.uniform(-3.99, 3.99, size=(n, 32)) * 2.0 ** 126,
             rng.integers(-64, 64, size=(n, 32)) / 16 + 1 / 32]
    blocks = np.concatenate(parts).astype(np.float32)
    blocks[rng.random(blocks.shape[0]) < 0.05, rng.integers(0, 32)] = rng.choice([np.inf, -np.inf, np.nan])
    return blocks


@pytest.mark.parametrize("elem", ELEMS)
def test_quantize_follows_the_ocp_conversion_rule(elem, seed):
    rng = np.random.default_rng(seed)
    blocks = float32_blocks(rng, 60)
    scales, elements = mx.quantize(blocks, elem)
    for i, block in enumerate(blocks):
        want_scale, want_elements = spec_quantize(block, elem)
        assert int(scales[i]) == want_scale, f"block {i}: {block.tolist()}"
        assert elements[i].tolist() == want_elements, f"block {i}: {block.tolist()}"


@pytest.mark.parametrize("elem", ELEMS)
def test_quantize_keeps_the_block_maximum_within_one_rounding(elem, seed):
    """The largest element of a finite nonzero block decodes to within half an element ulp of its
    value, or saturates, and never to zero."""
    rng = np.random.default_rng(seed)
    blocks = (rng.standard_normal((200, 32)) * np.exp2(rng.integers(-20, 20, size=(200, 1)))).astype(np.float32)
    scales, elements = mx.quantize(blocks, elem)
    values = mx.element_values(elements, elem)
    for i in range(len(blocks)):
        j = int(np.argmax(np.abs(blocks[i])))
        decoded = values[i, j] * Fraction(2) ** int(mx.scale_exponent(scales[i]))
        assert decoded != 0 and (decoded > 0) == (blocks[i, j] > 0)
        assert abs(decoded - Fraction(float(blocks[i, j]))) <= abs(Fraction(float(blocks[i, j]))) / 2


def random_blocks(rng, elem, n):
    """Element patterns (quantized floats and raw patterns, specials included) and E8M0 scales
    (random, the extremes and NaN)."""
    fmt = mx.ELEMENTS[elem]
    _, quantized = mx.quantize(float32_blocks(rng, n // 6)[:, :32], elem)
    raw = rng.integers(0, 1 << fmt.width, size=(n - len(quantized), 32), dtype=np.uint64)
    elements = np.concatenate([quantized, raw])
    scales = rng.integers(0, 256, size=len(elements), dtype=np.uint64)
    scales[rng.random(len(scales)) < 0.2] = rng.choice([0, 1, 127, 253, 254, 255])
    return scales, elements


@pytest.mark.parametrize("elem", ELEMS)
def test_dot_is_the_exact_scaled_sum_rounded_once(elem, seed):
    rng = np.random.default_rng(seed)
    sa, a = random_blocks(rng, elem, 120)
    sb, b = random_blocks(rng, elem, 120)
    rm = rng.integers(0, 5, size=len(a))
    got, flags = mx.dot(sa, a, sb, b, elem, rm=rm)
    fmt = mx.ELEMENTS[elem]
    for i in range(len(a)):
        scale = int(sa[i]) + int(sb[i]) - 254
        if 255 in (int(sa[i]), int(sb[i])):
            want = (fp.FP32.canonical_nan, 0)
        elif fmt.float is not None:
            want = ref_fused(a[i].tolist(), b[i].tolist(), fp.FP32.zero(1), fmt.float, fp.FP32, int(rm[i]), scale)
        else:
            ia, ib = a[i].astype(np.uint8).view(np.int8), b[i].astype(np.uint8).view(np.int8)
            total = sum(Fraction(int(x) * int(y), 4096) for x, y in zip(ia, ib)) * Fraction(2) ** scale
            cancelled = total == 0 and any(int(x) * int(y) for x, y in zip(ia, ib))
            sign = int(total < 0) if total else int(cancelled and rm[i] == fp.RDN)
            want = ref_round(sign, abs(total), fp.FP32, int(rm[i]))
        assert (hex(int(got[i])), int(flags[i])) == (hex(want[0]), want[1]), \
            f"row {i}: scales {int(sa[i])}, {int(sb[i])}, rm {int(rm[i])}"
    assert (flags & fp.OF).any() and (flags & fp.NX).any()


def test_dot_of_blocks_quantized_from_two_bit_values_is_exact():
    values = np.resize(np.array([0, 1, 2, 3, 4, 6, 8, 12, -1, -2, -3, -4, -6, -8, -12, 0], np.float32), (1, 32)) / 4
    for elem in ELEMS:
        sa, a = mx.quantize(values, elem)
        got, flags = mx.dot(sa, a, sa, a, elem)
        assert got.view(np.uint64).astype(np.uint32).view(np.float32)[0] == float((values ** 2).sum()), elem
        assert int(flags[0]) == 0


@pytest.mark.parametrize("call,error,match", [
    (lambda: mx.quantize(np.zeros((1, 32)), "e4m3"), TypeError, "values: expected a float32 array, got dtype float64"),
    (lambda: mx.quantize(np.zeros((1, 16), np.float32), "e4m3"), ValueError, r"values: expected shape \(n, 32\)"),
    (lambda: mx.quantize(np.zeros((1, 32), np.float32), "fp8"), ValueError, "elem must be one of e4m3, e5m2"),
    (lambda: mx.quantize(np.zeros((1, 32), np.float32), "e4m3", block=0), ValueError, "block must be an integer >= 1"),
    (lambda: mx.dot([0], np.zeros((1, 32), np.uint64), [0], np.full((1, 32), 16, np.uint64), "e2m1"),
     ValueError, "b: pattern 0x10 does not fit in 4 bits"),
    (lambda: mx.dot([0, 1], np.zeros((1, 32), np.uint64), [0], np.zeros((1, 32), np.uint64), "e2m1"),
     ValueError, r"a_scale must have shape \(1,\)"),
    (lambda: mx.dot([256], np.zeros((1, 32), np.uint64), [0], np.zeros((1, 32), np.uint64), "e2m1"),
     ValueError, "a_scale: pattern 0x100 does not fit in 8 bits"),
    (lambda: mx.dot([0], np.zeros((2, 32), np.uint64), [0], np.zeros((1, 32), np.uint64), "int8"),
     ValueError, "a and b must have one shape"),
    (lambda: mx.dot([0], np.zeros((1, 32)), [0], np.zeros((1, 32), np.uint64), "int8"),
     TypeError, "a: expected an integer array"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
