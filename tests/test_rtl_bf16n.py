# amaranth: UnusedElaboratable=no
"""bf16n_fma: cocotb + Verilator regressions of the generated Verilog against golden.bf16n, all five modes."""

import numpy as np
import pytest

from golden import bf16n, fp
from hdl.bf16n_fma import Bf16nFma, cut_points
from hdl.registry import RegistryError, get_unit
from sim.runner import simulate


U64 = np.uint64


def run(overrides, seed, **kw):
    unit = get_unit("bf16n_fma")
    result = simulate(unit, unit.resolve(overrides), seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


@pytest.mark.parametrize("overrides,vectors", [
    ({"N": 2}, 100_000),
    ({"N": 3}, 30_000),
    ({"N": 1, "depth": 0}, 30_000),
], ids=str)
def test_random_vectors_and_corners_in_all_rounding_modes(overrides, vectors, seed):
    result = run(overrides, seed, vectors=vectors)
    assert result.checked >= vectors
    assert result.measured_latency == result.latency


@pytest.mark.slow
@pytest.mark.parametrize("overrides,vectors", [
    ({"N": 3}, 300_000),
    ({"N": 2, "full": True, "depth": 0}, 50_000),
    ({"N": 3, "full": True}, 50_000),
    ({"N": 2, "depth": 34}, 50_000),
    ({"N": 3, "depth": 13}, 50_000),
], ids=str)
def test_long_streams_other_product_sets_and_depths(overrides, vectors, seed):
    result = run(overrides, seed, vectors=vectors)
    assert result.checked >= vectors


def test_split_fp32_operands_with_every_term_corner(seed):
    """Directed rows through the N = 2 model: the FP32 corners split into terms against each other,
    with c zero, one, minus the exact product and the largest finite value."""
    unit = get_unit("bf16n_fma")
    params = unit.resolve({"N": 2})
    corners = fp.corner_patterns(fp.FP32)
    x, y = (v.ravel() for v in np.meshgrid(corners, corners))
    a, b = bf16n.split(x, 2), bf16n.split(y, 2)
    whole, _ = bf16n.fma(a, b, np.zeros(len(x), U64), rm=fp.RNE)
    rows = len(x)
    cs = [np.zeros(rows, U64), np.full(rows, 0x3F800000, U64), whole ^ U64(1 << 31), np.full(rows, 0x7F7FFFFF, U64)]
    pack = lambda t: t[:, 0] | (t[:, 1] << U64(16))
    inputs = {"a": np.tile(pack(a), 4 * 5), "b": np.tile(pack(b), 4 * 5),
              "c": np.tile(np.concatenate(cs), 5), "rm": np.repeat(np.arange(5, dtype=U64), 4 * rows)}
    copies = unit.sim_copies
    inputs = {k: np.tile(v, copies) for k, v in inputs.items()}
    result = simulate(unit, params, seed=seed, inputs=inputs, copies=copies, log=lambda *a: None)
    print(result.summary())
    assert result.ok, result.summary()
    assert result.checked == 20 * rows * copies


def test_cut_points_fill_one_kind_across_all_steps_before_the_next():
    cuts = cut_points(3)
    assert cuts[:6] == ("sum0", "sum1", "sum2", "products0", "products1", "products2")
    assert cuts.count("operands") == 1 and len(cuts) == 3 * 11 + 1


@pytest.mark.parametrize("kwargs,match", [
    ({"N": 4}, r"Bf16nFma: N must be .*1\.\.3.*4"),
    ({"N": 2, "full": "yes"}, r"Bf16nFma: full must be"),
    ({"N": 2, "depth": 35}, r"Bf16nFma: depth must be .*0\.\.34.*35"),
])
def test_bad_parameters_are_named_with_their_range(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Bf16nFma(**kwargs)


def test_registry_rejects_a_depth_beyond_the_product_steps():
    unit = get_unit("bf16n_fma")
    with pytest.raises(RegistryError, match=r"'depth' must be an integer in 0\.\.12 \(with N=1, full=false\)"):
        unit.resolve({"N": 1, "depth": 13})
