# amaranth: UnusedElaboratable=no
"""posit_quire: the carry-save quire MAC against golden.posit.Quire (checked against SoftPosit's quire32).

Under cocotb + Verilator: op streams where every op returns the quire rounded
after it (so the quire is checked after every step): quire sequences with
cancellation, maxpos**2 against minpos**2, corners, NaR, reserved codes, long
random dot products; gaps and stalls at depth 0 and the maximum depth.  In
the Amaranth simulator: the carry-save blocks against Python integers,
reserved codes, one op per cycle.
"""

import numpy as np
import pytest
from amaranth import Cat, Elaboratable, Module, Signal
from amaranth.sim import Simulator

from golden import posit
from hdl.common import carry_save
from hdl.posit.quire_mac import CUT_POINTS, PositQuireMAC, PositQuireOp
from hdl.registry import RegistryError, get_unit
from test_rtl_posit import run as run_unit
from test_rtl_posit_alu import _one_at_a_time, cancelling_dot_product


QUIRE = get_unit("posit_quire")
MAX_DEPTH = len(CUT_POINTS)


def run(overrides, seed, **kw):
    return run_unit(QUIRE, overrides, seed, **kw)


def _stream(rows):
    return {key: np.array([r[i] for r in rows], dtype=np.uint64) for i, key in enumerate(("op", "a", "b"))}


# -- cocotb + Verilator ----------------------------------------------------------

def test_op_streams_match_the_golden_quire_on_1e5_vectors():
    result = run({"N": 32, "depth": 1}, 51, vectors=100_000)
    assert result.checked == 100_000 and result.measured_latency == 2


@pytest.mark.slow
@pytest.mark.parametrize("n", [16, 32])
def test_op_streams_match_the_golden_quire_on_1e7_vectors(n):
    run({"N": n, "depth": 4}, 1100 + n, vectors=10_000_000)


@pytest.mark.parametrize("overrides", [
    {"N": 32, "depth": MAX_DEPTH}, {"N": 9, "ES": 1, "depth": 5}, {"N": 3, "ES": 0, "depth": 0},
    pytest.param({"N": 16, "ES": 2, "depth": 3}, marks=pytest.mark.slow),
    pytest.param({"N": 12, "ES": 4, "depth": MAX_DEPTH}, marks=pytest.mark.slow),
], ids=lambda v: " ".join(f"{k}={x}" for k, x in v.items()))
def test_other_formats_and_depths_with_gaps_and_stalls(overrides, seed):
    """Odd quire widths (a narrower top segment), depth 0 and the maximum depth."""
    result = run(overrides, seed, vectors=10_000, p_gap=0.3, p_stall=0.3)
    assert result.measured_latency == overrides["depth"] + 1


def test_dot_product_of_4096_terms_with_cancellation_is_checked_after_every_step():
    op = PositQuireOp
    inputs = cancelling_dot_product(53, 2048, op.CLR.value, op.MADD.value, op.MSUB.value, op.ROUND.value)
    expected = QUIRE.golden(QUIRE.resolve({}), inputs)["result"]
    assert expected[-1] == 0 and np.count_nonzero(expected[1:2049]) > 2000
    run({"depth": MAX_DEPTH}, 53, inputs=inputs)


def test_carries_ripple_through_every_segment():
    """-minpos**2 is all ones in every segment; adding minpos**2 or maxpos**2 to it carries from the
    lowest segment to the top, and the readout resolves carries still pending in the register."""
    fmt = posit.PositFormat(32, 2)
    big, tiny = fmt.maxpos, fmt.minpos
    op = PositQuireOp
    rows = [(op.CLR, 0, 0), (op.MSUB, tiny, tiny), (op.MADD, tiny, tiny), (op.MSUB, tiny, tiny),
            (op.MADD, big, big), (op.ROUND, 0, 0), (op.MSUB, big, big), (op.MADD, tiny, tiny),
            (op.MSUB, tiny, tiny), (op.MADD, tiny, tiny), (op.ADD, fmt.one, 0), (op.SUB, fmt.one, 0)]
    inputs = _stream([(o.value, a, b) for o, a, b in rows])
    expected = QUIRE.golden(QUIRE.resolve({}), inputs)["result"].tolist()
    minus_minpos = (-tiny) & fmt.mask
    assert expected == [0, minus_minpos, 0, minus_minpos, big, big, minus_minpos, 0, minus_minpos, 0, fmt.one, 0]
    for depth in (1, MAX_DEPTH):
        run({"depth": depth}, 54, inputs=inputs)


# -- Amaranth simulator ------------------------------------------------------------

def test_reserved_codes_return_nar_and_leave_the_quire_alone():
    dut = PositQuireMAC(N=8, depth=2)
    one, two = 0x40, 0x48
    op = PositQuireOp
    rows = [(op.MADD, one, one), (6, one, one), (op.ROUND, 0, 0), (7, one, one), (op.ADD, one, 0),
            (op.MADD, 0x80, one), (op.ROUND, 0, 0), (op.CLR, 0, 0)]
    results = [r for r, _ in _one_at_a_time(dut, rows)]
    assert results == [one, 0x80, one, 0x80, two, 0x80, 0x80, 0]


def test_one_op_per_cycle_and_results_in_order():
    """Back-to-back MADDs: the n-th result is the n-th partial sum, depth + 1 cycles after its op."""
    dut = PositQuireMAC(N=16, depth=6)
    fmt = posit.PositFormat(16, 2)
    rng = np.random.default_rng(55)
    print("seed 55")
    a = rng.integers(0, 1 << 16, size=40, dtype=np.uint64)
    a[a == fmt.nar] = 0
    quire, want = posit.Quire(16, 2), []
    for x in a.tolist():
        want.append(int(quire.add_product(np.array([x], dtype=np.uint64), np.array([fmt.one], dtype=np.uint64)).to_posit()))
    got = []

    async def bench(ctx):
        ctx.set(dut.out_ready, 1)
        ctx.set(dut.in_valid, 1)
        ctx.set(dut.op.as_value(), PositQuireOp.MADD.value)
        ctx.set(dut.b, fmt.one)
        cycle = 0
        for x in a.tolist() + [None] * (dut.latency + 1):
            if x is None:
                ctx.set(dut.in_valid, 0)
            else:
                ctx.set(dut.a, x)
                assert ctx.get(dut.in_ready)
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.out_valid):
                got.append((cycle, ctx.get(dut.result)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert [r for _, r in got] == want
    assert [c for c, _ in got] == list(range(dut.latency, dut.latency + len(want)))


class _CarrySaveRegister(Elaboratable):
    """A ``width``-bit carry-save register with ``sw``-bit segments: ``add`` each cycle, ``value`` read out."""

    def __init__(self, width, sw):
        self.bounds = carry_save.segment_bounds(width, sw)
        self.add = Signal(width)
        self.value = Signal(width)

    def elaborate(self, platform):
        m = Module()
        segments = [Signal(hi - lo, name=f"s{i}") for i, (lo, hi) in enumerate(self.bounds)]
        carries = [Signal(name=f"c{i}") for i in range(len(self.bounds))]
        addends = [self.add[lo:hi] for lo, hi in self.bounds]
        new_s, new_c = carry_save.accumulate(m, segments, carries, addends)
        m.d.sync += [x.eq(y) for x, y in zip(segments + carries, new_s + new_c)]
        t, g, p = carry_save.resolve_carries(m, segments, carries)
        carry_in = carry_save.prefix_carries(m, g, p)
        m.d.comb += self.value.eq(Cat(*carry_save.propagate_carries(m, t, carry_in)))
        return m


@pytest.mark.parametrize("width,sw", [(10, 4), (12, 3), (7, 7), (9, 2)])
def test_carry_save_register_reads_the_sum_modulo_its_width(width, sw):
    """Random addends with runs of ones and zeros (long carries), read after every cycle."""
    dut = _CarrySaveRegister(width, sw)
    rng = np.random.default_rng(56)
    print("seed 56")
    mask = (1 << width) - 1
    addends = [int(x) for x in rng.integers(0, 1 << width, size=300)]
    addends += [mask] * 20 + [1] * 5 + [1 << (width - 1)] * 4 + [mask >> 1] * 6

    async def bench(ctx):
        total = 0
        for x in addends:
            ctx.set(dut.add, x)
            await ctx.tick()
            total = (total + x) & mask
            assert ctx.get(dut.value) == total, f"after adding {x:#x}: {ctx.get(dut.value):#x}, want {total:#x}"

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_golden_refuses_op_codes_wider_than_the_port():
    inputs = {"op": np.array([1, 8], dtype=np.uint64), "a": np.zeros(2, np.uint64), "b": np.zeros(2, np.uint64)}
    with pytest.raises(ValueError, match=r"posit_quire: op codes are 0..7, got 8"):
        QUIRE.golden(QUIRE.resolve({}), inputs)


@pytest.mark.parametrize("overrides,fragment", [
    ({"depth": MAX_DEPTH + 1}, f"parameter 'depth' must be an integer in 0..{MAX_DEPTH}"),
    ({"N": 33}, "parameter 'N' must be an integer in 2..32"),
    ({"ES": 5}, "parameter 'ES' must be an integer in 0..4"),
])
def test_bad_parameters_are_refused_with_their_range(overrides, fragment):
    with pytest.raises(RegistryError, match=fragment):
        QUIRE.resolve(overrides)


def test_component_refuses_a_depth_out_of_range():
    with pytest.raises(ValueError, match=rf"PositQuireMAC: depth must be an integer in 0..{MAX_DEPTH}, got {MAX_DEPTH + 1}"):
        PositQuireMAC(depth=MAX_DEPTH + 1)


@pytest.mark.parametrize("overrides", [{"N": 2, "ES": 0, "depth": 0}, {"N": 9, "ES": 1, "depth": 5},
                                       {"N": 12, "ES": 4, "depth": MAX_DEPTH}],
                         ids=lambda v: " ".join(f"{k}={x}" for k, x in v.items()))
def test_verilog_of_edge_formats_is_lint_clean_and_latch_free(overrides, tmp_path):
    from test_verilog import test_verilog_is_lint_clean_and_latch_free
    test_verilog_is_lint_clean_and_latch_free("posit_quire", overrides, tmp_path)
