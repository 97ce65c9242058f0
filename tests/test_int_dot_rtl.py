# amaranth: UnusedElaboratable=no
"""int_dot: cocotb + Verilator regressions of the generated Verilog against golden.integer."""

from pathlib import Path

import numpy as np
import pytest

from golden import integer
from hdl.registry import get_unit
from sim.runner import simulate


UNIT = get_unit("int_dot")


def run(overrides, seed, **kw):
    params = UNIT.resolve(overrides)
    result = simulate(UNIT, params, seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


@pytest.mark.parametrize("width", [4, 8])
def test_100k_random_vectors_and_corners(width, seed):
    result = run({"width": width}, seed, vectors=100_000)
    assert result.checked >= 100_000
    assert result.measured_latency == result.latency


@pytest.mark.parametrize("overrides", [
    {"lanes": 4, "width": 8, "depth": 0},
    {"lanes": 5, "width": 3, "a_signed": False, "depth": 4},
    {"lanes": 3, "width": 16, "a_signed": False, "b_signed": False, "depth": 3},
    {"lanes": 8, "width": 5, "b_signed": False, "acc_width": 14, "depth": 2},   # wraps often
], ids=str)
def test_parameter_corners(overrides, seed):
    run(overrides, seed, vectors=20_000, p_gap=0.3, p_stall=0.3)


def test_exhaustive_two_lane_4_bit_pairs(seed):
    """Every (a, b) operand pair of a 2-lane 4-bit unit, as a running MAC (each step checked)."""
    pairs = np.arange(1 << 16, dtype=np.uint64)
    a = np.stack([pairs & 15, (pairs >> 4) & 15], axis=1)
    b = np.stack([(pairs >> 8) & 15, (pairs >> 12) & 15], axis=1)
    op = np.full(1 << 16, integer.OP_MAC, dtype=np.uint64)
    op[::4096] = integer.OP_CLEAR
    op[1::4096] = integer.OP_MAC
    result = run({"lanes": 2, "width": 4}, seed, inputs={"op": op, "a": a, "b": b}, copies=1)
    assert result.checked == 1 << 16


def test_default_accumulator_at_its_bound(seed):
    """2**16 extreme MACs reach the documented bound without overflow; a narrower accumulator wraps."""
    n = 1 << 16
    lanes, width = 4, 8
    most_negative = 1 << (width - 1)
    op = np.full(n + 2, integer.OP_MAC, dtype=np.uint64)
    op[0] = integer.OP_CLEAR
    a = np.full((n + 2, lanes), most_negative, dtype=np.uint64)
    inputs = {"op": op, "a": a, "b": a.copy()}
    params = UNIT.resolve({"lanes": lanes, "width": width})
    component = UNIT.build(params)
    golden = UNIT.golden(UNIT.effective(params, component), inputs)
    assert golden["overflow"][n] == 0 and int(golden["result"][n]) == n * lanes * (1 << 14)
    run({"lanes": lanes, "width": width}, seed, inputs=inputs, copies=1, p_gap=0.0, p_stall=0.0)


def test_bench_reports_a_wrong_result_with_seed_and_waveform(monkeypatch, tmp_path, seed):
    """The checker is not vacuous: a golden model off by one in a single result is caught."""
    import dataclasses
    real = UNIT.golden

    def off_by_one(params, inputs):
        out = real(params, inputs)
        out["result"] = out["result"].copy()
        if len(out["result"]) > 100:
            out["result"][100] += np.uint64(1)
        return out
    broken = dataclasses.replace(UNIT, golden=off_by_one)
    monkeypatch.setenv("DLARITH_CACHE", str(tmp_path / "cache"))
    result = simulate(broken, broken.resolve({"lanes": 2, "width": 4}), vectors=400, seed=seed,
                      copies=1, log=lambda *a: None)
    assert not result.ok
    assert "MISMATCH at vector 100" in result.mismatch and f"--seed {seed}" in result.mismatch
    assert "op=" in result.mismatch and "expected result=" in result.mismatch
    assert result.waveform and result.waveform.endswith((".vcd", ".fst"))
    assert Path(result.waveform).stat().st_size > 0
