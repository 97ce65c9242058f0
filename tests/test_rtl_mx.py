# amaranth: UnusedElaboratable=no
"""mx_dot: cocotb + Verilator regressions of the generated Verilog against golden.mx.dot."""

import numpy as np
import pytest

from golden import mx
from hdl.registry import RegistryError, get_unit
from sim.runner import simulate


U64 = np.uint64
ELEMS = list(mx.ELEMENTS)
# The default format and int8 at the spec's 32 lanes; the other formats at 8 lanes, which keeps
# their Verilator builds short (every lane is the same logic).
BLOCK = {elem: 32 if elem in ("e4m3", "int8") else 8 for elem in ELEMS}


def run(overrides, seed, **kw):
    unit = get_unit("mx_dot")
    result = simulate(unit, unit.resolve(overrides), seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


@pytest.mark.parametrize("elem", ELEMS)
def test_random_blocks_and_corners_in_all_rounding_modes(elem, seed):
    """10^5 blocks of the default format and of int8, 3 x 10^4 of the others (whose every element
    pair the next test checks)."""
    vectors = 100_000 if BLOCK[elem] == 32 else 30_000
    result = run({"elem": elem, "block": BLOCK[elem]}, seed, vectors=vectors)
    assert result.checked >= vectors
    assert result.measured_latency == result.latency


@pytest.mark.parametrize("elem", ELEMS)
def test_every_element_pair_in_every_lane(elem, seed):
    """All 2**(2w) element pairs, each alone in its block (lane = pair index mod the block), under
    scales that put the product anywhere from FP32's overflow to below its subnormals."""
    w, block = mx.ELEMENTS[elem].width, BLOCK[elem]
    rng = np.random.default_rng(seed)
    pairs = np.arange(1 << (2 * w), dtype=U64)
    n = len(pairs)
    a, b = np.zeros((n, block), dtype=U64), np.zeros((n, block), dtype=U64)
    lanes = np.arange(n) % block
    a[np.arange(n), lanes] = pairs >> U64(w)
    b[np.arange(n), lanes] = pairs & U64((1 << w) - 1)
    scales = lambda: np.where(rng.random(n) < 0.5, 127, rng.integers(0, 255, size=n)).astype(U64)
    inputs = {"a_scale": scales(), "a": a, "b_scale": scales(), "b": b,
              "rm": rng.integers(0, 5, size=n, dtype=U64)}
    result = run({"elem": elem, "block": block}, seed, inputs=inputs)
    assert result.checked == n


@pytest.mark.parametrize("overrides", [
    {"elem": "e2m1", "block": 8, "depth": 0},
    {"elem": "int8", "block": 8, "depth": 8},
    {"elem": "e2m3", "block": 4, "depth": 3},
    {"elem": "e3m2", "block": 1, "depth": 5},
    pytest.param({"elem": "e4m3", "depth": 0}, marks=pytest.mark.slow),
    pytest.param({"elem": "e5m2", "depth": 8}, marks=pytest.mark.slow),
], ids=str)
def test_every_pipeline_depth_and_block_size_under_gaps_and_back_pressure(overrides, seed):
    run(overrides, seed, vectors=20_000, p_gap=0.3, p_stall=0.3)


@pytest.mark.parametrize("overrides,message", [
    ({"elem": "fp8"}, "'elem' must be one of e4m3, e5m2, e3m2, e2m3, e2m1, int8"),
    ({"block": 0}, "'block' must be an integer in 1..64, got 0"),
    ({"depth": 9}, "'depth' must be an integer in 0..8, got 9"),
], ids=str)
def test_bad_parameters_name_themselves(overrides, message):
    with pytest.raises(RegistryError, match=message):
        get_unit("mx_dot").resolve(overrides)


def test_the_component_rejects_what_the_registry_would():
    from hdl.mx_dot import MxDot
    with pytest.raises(ValueError, match="MxDot: elem must be one of e4m3"):
        MxDot(elem="fp4")
    with pytest.raises(ValueError, match="MxDot: block must be an integer in 1..64, got 65"):
        MxDot(block=65)
