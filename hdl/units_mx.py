"""Registry entries of the OCP MX family: ``mx_dot`` and ``mx_quantize``."""

import numpy as np

from golden import fp, mx
from . import mx_dot, mx_quantize
from .registry import Param, Unit, register
from .units_fp import FLAGS_NOTE, RM_NOTE, _describe_value, _flag_text


U64 = np.uint64
ELEM_PARAM = Param("elem", "MX element format (OCP MX v1.0: FP8 e4m3/e5m2, FP6 e3m2/e2m3, FP4 e2m1, INT8)", "e4m3",
                   kind=str, choices=tuple(mx.ELEMENTS))


def _golden(params, inputs):
    result, flags = mx.dot(inputs["a_scale"], inputs["a"], inputs["b_scale"], inputs["b"], params["elem"],
                           rm=inputs["rm"], block=params["block"])
    return {"result": result, "flags": flags}


def _float32_blocks(rng, n, block):
    """Blocks of float32 values of several kinds: normal, a wide dynamic range inside the block,
    pairs that cancel, two-bit values (exact products), and a few zero blocks."""
    kind = rng.integers(0, 4, size=n)
    values = rng.standard_normal((n, block))
    values[kind == 1] *= np.exp2(rng.integers(-24, 24, size=((kind == 1).sum(), block)))
    half = block // 2
    cancel = np.flatnonzero(kind == 2)
    values[cancel[:, None], np.arange(half, 2 * half)] = -values[cancel[:, None], np.arange(half)]
    values[kind == 3] = rng.choice([0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3], size=((kind == 3).sum(), block)) * \
        rng.choice([-1, 1], size=((kind == 3).sum(), block))
    values[rng.random(n) < 0.02] = 0
    return values.astype(np.float32)


def _vectors(params, n, rng):
    """a_scale, a, b_scale, b, rm: directed rows (overflow at the largest scales, the subnormal range
    at the smallest, NaN scales, exact cancellation, reserved rm), then blocks quantized from
    float32 values, raw element patterns (specials included) and corner elements, with scales
    random, extreme, near 127 (the products' range reaches FP32's subnormals and its overflow)."""
    elem, block = mx.ELEMENTS[params["elem"]], params["block"]
    width = elem.width
    top = U64(((1 << (width - 1)) - 1) if elem.float is None else elem.float.max_finite())
    one_lsb = U64(1)
    directed = [
        (254, [top] * block, 254, [top] * block, fp.RNE),         # overflow
        (254, [top] * block, 254, [top] * block, fp.RTZ),         # ... to max finite
        (0, [one_lsb] * block, 0, [one_lsb] * block, fp.RNE),     # far below FP32's subnormals
        (100, [one_lsb] * block, 0, [one_lsb] * block, fp.RUP),   # in FP32's subnormal range, rounded up
        (mx.SCALE_NAN, [top] * block, 127, [top] * block, fp.RNE),
        (127, [top] * block, 127, [0] * block, fp.RDN),           # zero products
        (127, [top, top | U64(1 << (width - 1))] * (block // 2) + [0] * (block % 2), 127, [top] * block, fp.RDN),
        (127, [top] * block, 127, [top] * block, 5),               # reserved rm
    ][:n]
    rows = len(directed)
    m = n - rows
    scales = lambda: np.where(rng.random(m) < 0.7, rng.integers(112, 143, size=m),
                              rng.choice([0, 1, 60, 127, 200, 253, 254, 255], size=m)).astype(U64)
    sa, sb = scales(), scales()
    q = m // 2
    _, qa = mx.quantize(_float32_blocks(rng, q, block), params["elem"], block=block)
    _, qb = mx.quantize(_float32_blocks(rng, q, block), params["elem"], block=block)
    raw = lambda: rng.integers(0, 1 << width, size=(m - q, block), dtype=U64)
    a, b = np.concatenate([qa, raw()]), np.concatenate([qb, raw()])
    if elem.float is not None:
        corners = fp.corner_patterns(elem.float)
        pick = rng.random((m, block)) < 0.05
        a[pick] = rng.choice(corners, size=pick.sum())
        b[pick] = rng.choice(corners, size=pick.sum())
    rm = rng.integers(0, 5, size=m, dtype=U64)
    rm[rng.random(m) < 0.02] = 7
    if rows:
        sa = np.concatenate([np.array([d[0] for d in directed], dtype=U64), sa])
        a = np.concatenate([np.array([d[1] for d in directed], dtype=U64), a])
        sb = np.concatenate([np.array([d[2] for d in directed], dtype=U64), sb])
        b = np.concatenate([np.array([d[3] for d in directed], dtype=U64), b])
        rm = np.concatenate([np.array([d[4] for d in directed], dtype=U64), rm])
    return {"a_scale": sa, "a": a, "b_scale": sb, "b": b, "rm": rm}


def _element_text(pattern, elem):
    if elem.float is not None:
        return _describe_value(pattern, elem.float)
    value = int(pattern) - 256 if int(pattern) >= 128 else int(pattern)
    return f"0x{int(pattern):02x} ({value}/64)"


def _scale_text(pattern):
    pattern = int(pattern)
    return f"0x{pattern:02x} ({'NaN' if pattern == mx.SCALE_NAN else f'2**{pattern - mx.SCALE_BIAS}'})"


def _describe(params, inputs, i, expected, actual):
    elem = mx.ELEMENTS[params["elem"]]
    lines = [f"  rm={int(inputs['rm'][i])}  a_scale={_scale_text(inputs['a_scale'][i])}  "
             f"b_scale={_scale_text(inputs['b_scale'][i])}"]
    for j in range(params["block"]):
        lines.append(f"  [{j:2}] a={_element_text(inputs['a'][i][j], elem)}  b={_element_text(inputs['b'][i][j], elem)}")
    for what, out in (("expected", expected), ("actual  ", actual)):
        lines.append(f"  {what} result={_describe_value(out['result'], fp.FP32)} flags={_flag_text(out['flags'])}")
    return "\n".join(lines)


register(Unit(
    name="mx_dot",
    description="OCP MX block dot product 2**(Xa+Xb-254) * sum a_i*b_i, exact, rounded once to FP32",
    params=(
        ELEM_PARAM,
        Param("block", "elements per block (OCP MX v1.0: 32)", 32, min=1, max=64),
        Param("depth", f"pipeline registers at the cut points {', '.join(mx_dot.CUT_POINTS)} (latency = depth + 1)",
              1, min=0, max=len(mx_dot.CUT_POINTS)),
    ),
    component=lambda elem, block, depth: mx_dot.MxDot(elem=elem, block=block, depth=depth),
    golden=_golden,
    vectors=_vectors,
    describe=_describe,
    notes=(
        "a_scale, b_scale: E8M0 (2**(X-127); 255 is NaN, giving the canonical NaN without flags).",
        "a, b: block elements packed, element i in bits [i*w, (i+1)*w).",
        RM_NOTE, FLAGS_NOTE,
    ),
    report_sets=tuple({"elem": elem, "depth": 0, "targets": ("ecp5-85f",)} for elem in ("e4m3", "e2m1", "int8")),
))


# mx_quantize: FP32 / BF16 blocks -> MX blocks (golden.mx.quantize).

def _source_values(patterns, src):
    """Source patterns (FP32 or BF16) as the float32 values they are (BF16 is FP32's top half)."""
    bits = np.asarray(patterns, dtype=U64)
    if src == "bf16":
        bits = bits << U64(16)
    return bits.astype(np.uint32).view(np.float32)


def _source_patterns(values, src):
    """float32 values as source patterns; BF16 keeps the top half (truncation: still a BF16 value)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(U64)
    return bits >> U64(16) if src == "bf16" else bits


def _quantize_golden(params, inputs):
    scale, result = mx.quantize(_source_values(inputs["a"], params["src"]), params["elem"], block=params["block"])
    return {"scale": scale, "result": result}


def _element_grid(elem):
    """Every non-negative finite element value, ascending (int8: k/64 for k = 0..127)."""
    if elem.float is None:
        return np.arange(128) / 64.0
    patterns = np.arange(1 << (elem.width - 1), dtype=U64)
    values = np.array([float(v) for v in mx.element_values(patterns, elem)])
    return np.sort(values[np.isfinite(values)])


def _quantize_vectors(params, n, rng):
    """Directed blocks (all zeros and -0, an Inf or a NaN among normal values, FP32's largest and
    subnormal values, the element's saturation edge, exact ties between neighbouring elements), then
    blocks of several kinds: normal values, a wide range inside the block, ties, values in FP32's
    subnormal range (scale 0, where a subnormal source can make a normal element), and raw patterns
    with a few Infs and NaNs."""
    elem, block, src = mx.ELEMENTS[params["elem"]], params["block"], params["src"]
    f32 = np.float32
    grid = _element_grid(elem)
    top = grid[-1]
    largest = np.float32(np.finfo(np.float32).max)
    directed = [
        np.zeros(block), -np.zeros(block), np.full(block, largest), np.full(block, -largest),
        np.full(block, np.float32(2.0 ** -149)),                                 # the smallest subnormal
        np.linspace(2.0 ** -149, 2.0 ** -126, block),                             # the subnormal range
        np.full(block, top * 1.0), np.full(block, np.nextafter(f32(2.0 ** (elem.emax + 1)), f32(0))),
        np.where(np.arange(block) == block - 1, np.inf, 1.0), np.where(np.arange(block) == 0, -np.inf, 1.0),
        np.where(np.arange(block) == block // 2, np.nan, 1.0),
    ]
    directed = np.array(directed[:n]).astype(f32)
    m = n - len(directed)
    kind = rng.integers(0, 5, size=m)
    values = _float32_blocks(rng, m, block).astype(np.float64)
    ties = np.flatnonzero(kind == 1)
    # Midpoints of neighbouring elements, lane 0 at the largest element (so the shared exponent
    # is 0), the block scaled by a power of two: exact in float32 and BF16 for the float elements.
    pick = rng.integers(0, len(grid) - 1, size=(len(ties), block))
    mid = (grid[pick] + grid[pick + 1]) / 2 * rng.choice([-1, 1], size=pick.shape)
    mid[:, 0] = top
    values[ties] = mid * np.exp2(rng.integers(-100, 100, size=len(ties)))[:, None]
    tiny = np.flatnonzero(kind == 2)
    values[tiny] = rng.standard_normal((len(tiny), block)) * np.exp2(rng.integers(-149, -118, size=(len(tiny), 1)))
    values = values.astype(f32)
    patterns = _source_patterns(values, src)
    raw = np.flatnonzero(kind == 3)
    width = 32 if src == "fp32" else 16
    patterns[raw] = rng.integers(0, 1 << width, size=(len(raw), block), dtype=U64)
    return {"a": np.concatenate([_source_patterns(directed, src), patterns])}


def _quantize_describe(params, inputs, i, expected, actual):
    elem = mx.ELEMENTS[params["elem"]]
    src = mx_quantize.SOURCES[params["src"]]
    lines = [f"  expected scale={_scale_text(expected['scale'])}  actual scale={_scale_text(actual['scale'])}"]
    mask = (1 << elem.width) - 1
    for j in range(params["block"]):
        e, a = (int(out["result"]) >> (j * elem.width) & mask for out in (expected, actual))
        mark = "" if e == a else "   <-- differs"
        lines.append(f"  [{j:2}] a={_describe_value(inputs['a'][i][j], src)}  expected "
                     f"{_element_text(e, elem)}  actual {_element_text(a, elem)}{mark}")
    return "\n".join(lines)


register(Unit(
    name="mx_quantize",
    description="OCP MX v1.0 conversion: a block of FP32 or BF16 values -> E8M0 scale + elements",
    params=(
        ELEM_PARAM,
        Param("src", "source values: fp32 or bf16", "fp32", kind=str, choices=tuple(mx_quantize.SOURCES)),
        Param("block", "values per block (OCP MX v1.0: 32)", 32, min=1, max=64),
        Param("depth", f"pipeline registers at the cut points {', '.join(mx_quantize.CUT_POINTS)} "
              "(latency = depth + 1)", 1, min=0, max=len(mx_quantize.CUT_POINTS)),
    ),
    component=lambda elem, src, block, depth: mx_quantize.MxQuantize(elem=elem, src=src, block=block, depth=depth),
    golden=_quantize_golden,
    vectors=_quantize_vectors,
    describe=_quantize_describe,
    notes=(
        "a: the block's source values packed, value i in bits [i*s, (i+1)*s) (s = 32 or 16).",
        "scale: E8M0, floor(log2 max|a_i|) - emax + 127, at least 0; 255 (NaN) when the block holds an Inf "
        "or a NaN, with zero elements.",
        "result: the elements packed, element i in bits [i*w, (i+1)*w); each a_i / 2**(scale - 127) rounded "
        "to nearest even, saturating at the element's largest magnitude (int8: -128..127).",
    ),
    report_sets=tuple({"elem": elem, "depth": 0, "targets": ("ecp5-85f",)} for elem in ("e4m3", "int8")),
))
