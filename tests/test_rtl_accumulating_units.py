# amaranth: UnusedElaboratable=no
"""int_dot and vsq_mac: cocotb + Verilator regressions of the generated Verilog against their golden models."""

from pathlib import Path

import numpy as np
import pytest

from golden import integer, vsq
from hdl.registry import get_unit
from sim.runner import simulate


UNIT = get_unit("int_dot")


def run(overrides, seed, unit=UNIT, **kw):
    params = unit.resolve(overrides)
    result = simulate(unit, params, seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


@pytest.mark.parametrize("name,overrides", [
    ("int_dot", {"width": 4}), ("int_dot", {"width": 8}),
    ("vsq_mac", {}), ("vsq_mac", {"scale_width": 8}),
], ids=str)
def test_100k_random_vectors_and_corners(name, overrides, seed):
    result = run(overrides, seed, unit=get_unit(name), vectors=100_000)
    assert result.checked >= 100_000
    assert result.measured_latency == result.latency


@pytest.mark.parametrize("name,overrides", [
    ("int_dot", {"lanes": 4, "width": 8, "depth": 0}),
    ("int_dot", {"lanes": 5, "width": 3, "a_signed": False, "depth": 4}),
    ("int_dot", {"lanes": 3, "width": 16, "a_signed": False, "b_signed": False, "depth": 3}),
    ("int_dot", {"lanes": 8, "width": 5, "b_signed": False, "acc_width": 14, "depth": 2}),   # wraps often
    ("int_dot", {"lanes": 64, "width": 4}),
    ("vsq_mac", {"lanes": 64, "scale_width": 8}),
    ("vsq_mac", {"lanes": 16, "b_signed": False, "depth": 5}),
    ("vsq_mac", {"lanes": 5, "width": 8, "scale_width": 8, "a_signed": False, "b_signed": False, "depth": 3}),
    ("vsq_mac", {"lanes": 8, "reduction": 8, "acc_width": 22, "depth": 0}),                 # wraps often
], ids=str)
def test_parameter_corners(name, overrides, seed):
    run(overrides, seed, unit=get_unit(name), vectors=20_000, p_gap=0.3, p_stall=0.3)


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


def test_vsq_accumulator_holds_its_documented_reduction(seed):
    """ceil(K/V) MACs of the largest scaled products (all -8 x -8, scales 63 x 63) stay in range."""
    unit = get_unit("vsq_mac")
    params = unit.effective(*(lambda p: (p, unit.build(p)))(unit.resolve({"lanes": 16, "reduction": 4096})))
    n = 4096 // 16
    op = np.full(n + 1, integer.OP_MAC, dtype=np.uint64)
    op[0] = integer.OP_CLEAR
    a = np.full((n + 1, 16), 8, dtype=np.uint64)               # -8 in 4-bit two's complement
    inputs = {"op": op, "a": a, "b": a.copy(), "sa": np.full(n + 1, 63, np.uint64), "sb": np.full(n + 1, 63, np.uint64)}
    golden = unit.golden(params, inputs)
    assert golden["overflow"][-1] == 0 and int(golden["result"][-1]) == n * 16 * 64 * 63 * 63
    one_bit_less = vsq.vsq_mac(inputs["op"], a, a, inputs["sa"], inputs["sb"], width=4, scale_width=6,
                               a_signed=True, b_signed=True, acc_width=params["acc_width"] - 1)
    assert one_bit_less[1][-1] == 1
    run({"lanes": 16, "reduction": 4096}, seed, unit=unit, inputs=inputs, copies=1)


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
