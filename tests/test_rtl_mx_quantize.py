# amaranth: UnusedElaboratable=no
"""mx_quantize: cocotb + Verilator regressions of the generated Verilog against golden.mx.quantize."""

import numpy as np
import pytest

from golden import mx
from hdl.registry import RegistryError, get_unit
from hdl.units_mx import _source_patterns, _source_values
from sim.runner import simulate


U64 = np.uint64
ELEMS = list(mx.ELEMENTS)


def run(overrides, seed, **kw):
    unit = get_unit("mx_quantize")
    result = simulate(unit, unit.resolve(overrides), seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


@pytest.mark.parametrize("elem,block", [(elem, 8 if elem == "e4m3" else 4) for elem in ELEMS]
                         + [pytest.param("e4m3", 32, marks=pytest.mark.slow)], ids=str)
def test_random_fp32_blocks_and_corners(elem, block, seed):
    """Directed blocks (zeros, specials, FP32's extremes, the saturation edge), ties between
    neighbouring elements, FP32 subnormals at scale 0, raw patterns.  Blocks of 4 or 8 keep the
    Verilator builds short (every lane is the same logic); the spec's 32 lanes are behind
    ``-m slow`` (its build alone takes about 40 s)."""
    result = run({"elem": elem, "block": block}, seed, vectors=20_000)
    assert result.checked >= 20_000
    assert result.measured_latency == result.latency


@pytest.mark.parametrize("elem", ["e2m3", "e2m1"])
def test_random_bf16_blocks_where_lanes_drop_significand_bits(elem, seed):
    """From BF16 the e2m3 and e2m1 lanes keep only the top 6 and 4 of its 8 significand bits above
    a sticky bit (e4m3, e5m2, e3m2 keep all 8): the same directed and random blocks as from FP32."""
    result = run({"elem": elem, "src": "bf16", "block": 4}, seed, vectors=10_000)
    assert result.checked >= 10_000


@pytest.mark.parametrize("elem", ["e4m3", "int8"])
def test_every_bf16_value_in_every_lane_at_many_scales(elem, seed):
    """All 2**16 BF16 patterns, each in a block of 4 (lane = pattern mod 4) beside an anchor value
    2**k times its magnitude (k = 0..12, so the pattern lands in every binade of the element, its
    subnormals and below), and once alone (it sets the scale itself)."""
    rng = np.random.default_rng(seed)
    block = 4
    patterns = np.arange(1 << 16, dtype=U64)
    with np.errstate(over="ignore", invalid="ignore"):
        values = _source_values(patterns, "bf16").astype(np.float64)
        anchors = np.ldexp(np.abs(values), rng.integers(0, 13, size=len(patterns))).astype(np.float32)
    anchors = _source_patterns(anchors, "bf16")
    n = 2 * len(patterns)
    a = np.zeros((n, block), dtype=U64)
    rows = np.arange(len(patterns))
    a[rows, rows % block] = patterns
    a[rows, (rows + 1) % block] = anchors
    a[len(patterns) + rows, rows % block] = patterns
    result = run({"elem": elem, "src": "bf16", "block": block}, seed, inputs={"a": a})
    assert result.checked == n


@pytest.mark.parametrize("overrides", [
    {"elem": "e3m2", "block": 3, "depth": 0},
    {"elem": "int8", "src": "bf16", "block": 5, "depth": 3},
    pytest.param({"elem": "e5m2", "depth": 3}, marks=pytest.mark.slow),
    pytest.param({"elem": "e2m3", "block": 64, "depth": 2}, marks=pytest.mark.slow),
], ids=str)
def test_every_pipeline_depth_and_block_size_under_gaps_and_back_pressure(overrides, seed):
    run(overrides, seed, vectors=10_000, p_gap=0.3, p_stall=0.3)


@pytest.mark.parametrize("overrides,message", [
    ({"elem": "mxfp8"}, "'elem' must be one of e4m3, e5m2, e3m2, e2m3, e2m1, int8"),
    ({"src": "fp16"}, "'src' must be one of fp32, bf16"),
    ({"block": 65}, "'block' must be an integer in 1..64, got 65"),
    ({"depth": 4}, "'depth' must be an integer in 0..3, got 4"),
], ids=str)
def test_bad_parameters_name_themselves(overrides, message):
    with pytest.raises(RegistryError, match=message):
        get_unit("mx_quantize").resolve(overrides)


def test_the_component_rejects_what_the_registry_would():
    from hdl.mx_quantize import MxQuantize
    with pytest.raises(ValueError, match="MxQuantize: elem must be one of e4m3"):
        MxQuantize(elem="fp4")
    with pytest.raises(ValueError, match="MxQuantize: src must be one of fp32, bf16, got 'fp16'"):
        MxQuantize(src="fp16")
    with pytest.raises(ValueError, match="MxQuantize: block must be an integer in 1..64, got 0"):
        MxQuantize(block=0)
