# amaranth: UnusedElaboratable=no
"""posit_alu: every op against golden/posit.py (itself checked against SoftPosit and universal-dtypes).

Under cocotb + Verilator: mixed op streams with quire sequences (every quire op
returns the quire rounded after it, so the quire is checked after every step),
DIV on every posit<8,2> pair, SQRT on every posit<8,2> and posit<16,2> pattern,
10^5 random + corner vectors per op group for <16,2> and <32,2>.  In the
Amaranth simulator: the cycles DIV and SQRT take, NaR for ops not built, the
shared iterative divider on every operand of small widths.
"""

import math

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden import posit
from hdl.common.divsqrt import DivSqrtIterative, div_steps, sqrt_steps
from hdl.posit.alu import GROUPS, PositALU, PositOp
from hdl.registry import RegistryError, get_unit
from test_rtl_posit import all_pairs, run as run_unit


ALU = get_unit("posit_alu")
ONLY = {name: {other: other == name for other in GROUPS} for name in GROUPS}


def run(overrides, seed, **kw):
    return run_unit(ALU, overrides, seed, **kw)


# -- cocotb + Verilator ----------------------------------------------------------

@pytest.mark.parametrize("n,depth,seed", [
    pytest.param(16, 1, 11, marks=pytest.mark.slow), (32, 1, 12), (16, 0, 13),
    pytest.param(16, 5, 14, marks=pytest.mark.slow), (8, 3, 15)])
def test_mixed_op_streams_match_the_golden_model(n, depth, seed):
    """All groups built; corners of every op, quire sequences and random ops, interleaved."""
    vectors = 100_000 if depth == 1 else 20_000
    result = run({"N": n, "depth": depth}, seed, vectors=vectors)
    assert result.checked == vectors


# DIV and SQRT hold the pipeline, some 33 cycles each at <32,2>: 3 x 10^4 of them are 10^6 cycles.
@pytest.mark.parametrize("group,vectors", [("divsqrt", 30_000), ("quire", 100_000), ("misc", 100_000)])
@pytest.mark.parametrize("n,seed", [(16, 21), (32, 22)])
def test_each_op_group_alone_matches_on_a_long_random_stream(group, vectors, n, seed):
    result = run({"N": n, **ONLY[group]}, seed, vectors=vectors)
    assert result.checked == vectors


@pytest.mark.slow
@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("n", [16, 32])
def test_each_op_group_alone_matches_on_1e7_vectors(group, n):
    run({"N": n, **ONLY[group]}, 1000 + n, vectors=10_000_000)


def test_division_of_every_posit8_pair():
    a, b = all_pairs(8)
    run({"N": 8, **ONLY["divsqrt"]}, 31,
        inputs={"op": np.full(a.size, PositOp.DIV.value, dtype=np.uint64), "a": a, "b": b})


@pytest.mark.parametrize("n", [8, pytest.param(16, marks=pytest.mark.slow)])
def test_square_root_of_every_pattern(n):
    a = np.arange(1 << n, dtype=np.uint64)
    run({"N": n, **ONLY["divsqrt"]}, 32,
        inputs={"op": np.full(a.size, PositOp.SQRT.value, dtype=np.uint64), "a": a, "b": np.zeros_like(a)})


@pytest.mark.parametrize("op", [op for op in GROUPS["misc"]])
def test_misc_op_on_every_posit8_pair(op):
    a, b = all_pairs(8)
    run({"N": 8, **ONLY["misc"]}, 33, inputs={"op": np.full(a.size, op.value, dtype=np.uint64), "a": a, "b": b})


def cancelling_dot_product(seed, terms, clear, madd, msub, rnd):
    """(op, a, b) arrays: clear, q += x_i * y_i for ``terms`` random posit32 pairs, q -= the same in
    reverse, round: the quire ends at exactly 0 with every step checked on the way."""
    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    fmt = posit.PositFormat(32, 2)
    x, y = (rng.integers(0, 1 << 32, size=terms, dtype=np.uint64) for _ in range(2))
    x[x == fmt.nar] = 0
    y[y == fmt.nar] = 0
    ops = np.concatenate([[clear], np.full(terms, madd), np.full(terms, msub), [rnd]]).astype(np.uint64)
    a = np.concatenate([[0], x, x[::-1], [0]]).astype(np.uint64)
    b = np.concatenate([[0], y, y[::-1], [0]]).astype(np.uint64)
    return {"op": ops, "a": a, "b": b}


def test_quire_dot_product_of_4096_terms_with_cancellation_is_checked_after_every_step():
    inputs = cancelling_dot_product(41, 2048, PositOp.QCLR.value, PositOp.QMADD.value, PositOp.QMSUB.value,
                                    PositOp.QROUND.value)
    expected = ALU.golden(ALU.resolve({}), inputs)["result"]
    assert expected[-1] == 0 and np.count_nonzero(expected[1:2049]) > 2000
    run({}, 41, inputs=inputs)


# -- Amaranth simulator ------------------------------------------------------------

def _one_at_a_time(dut, rows):
    """Each of ``rows`` (op, a, b) alone through ``dut``: [(result, cycles from presenting it to its result)]."""
    out = []

    async def bench(ctx):
        ctx.set(dut.out_ready, 1)
        for op, a, b in rows:
            ctx.set(dut.in_valid, 1)
            ctx.set(dut.op.as_value(), int(getattr(op, "value", op)))
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            cycles = 0
            while not ctx.get(dut.in_ready):
                await ctx.tick()
                cycles += 1
            await ctx.tick()
            cycles += 1
            ctx.set(dut.in_valid, 0)
            while not ctx.get(dut.out_valid):
                await ctx.tick()
                cycles += 1
            out.append((ctx.get(dut.result), cycles))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


@pytest.mark.parametrize("depth", [0, 2, 5])
def test_div_and_sqrt_take_the_documented_extra_cycles(depth):
    dut = PositALU(N=16, depth=depth)
    one, two = 0x4000, 0x4800
    got = _one_at_a_time(dut, [(PositOp.ADD, one, one), (PositOp.DIV, one, two), (PositOp.SQRT, two, 0),
                        (PositOp.MUL, two, two)])
    latency = dut.latency
    cycles = [c for _, c in got]
    assert cycles == [latency, latency + dut.extra_cycles["DIV"], latency + dut.extra_cycles["SQRT"], latency]
    assert dut.extra_cycles == {"DIV": div_steps(12) + 1, "SQRT": sqrt_steps(12) + 1}
    results = [r for r, _ in got]
    assert results == [int(posit.add(one, one, n=16)), int(posit.div(one, two, n=16)),
                       int(posit.sqrt(two, n=16)), int(posit.mul(two, two, n=16))]


def test_ops_of_groups_not_built_and_reserved_codes_return_nar():
    dut = PositALU(N=8, depth=1, **ONLY["addsub"])
    one = 0x40
    rows = [(PositOp.MUL, one, one), (PositOp.DIV, one, one), (PositOp.QMADD, one, one), (PositOp.MIN, one, one),
            (13, one, one), (31, one, one), (PositOp.ADD, one, one)]
    results = [r for r, _ in _one_at_a_time(dut, rows)]
    assert results == [0x80] * 6 + [int(posit.add(one, one, n=8))]


def test_golden_refuses_ops_not_built_with_their_names():
    params = ALU.resolve(ONLY["addsub"])
    inputs = {"op": np.array([0, 3, 17], dtype=np.uint64), "a": np.zeros(3, np.uint64), "b": np.zeros(3, np.uint64)}
    with pytest.raises(ValueError, match=r"op DIV \(3\), QMADD \(17\) is not built into this configuration "
                                         r"\(built: ADD, SUB\)"):
        ALU.golden(params, inputs)
    with pytest.raises(ValueError, match=r"op reserved \(14\)"):
        ALU.golden(ALU.resolve({}), dict(inputs, op=np.array([14, 0, 0], dtype=np.uint64)))


@pytest.mark.parametrize("overrides,fragment", [
    ({**{g: False for g in GROUPS}}, "at least one op group must be built"),
    ({"depth": 6}, "parameter 'depth' must be an integer in 0..5"),
    ({"N": 33}, "parameter 'N' must be an integer in 2..32"),
    ({"quire": "maybe"}, "parameter 'quire' must be true or false"),
])
def test_bad_parameters_are_refused_with_their_range(overrides, fragment):
    with pytest.raises(RegistryError, match=fragment):
        ALU.resolve(overrides)


def test_component_refuses_non_bool_groups():
    with pytest.raises(ValueError, match="PositALU: quire must be a bool"):
        PositALU(quire=1)


@pytest.mark.parametrize("w", [1, 2, 3, 5, 7])
def test_iterative_divider_and_square_root_on_every_operand(w):
    dut = DivSqrtIterative(w)
    lo = 1 << (w - 1)
    cases = [(0, x, y) for x in range(lo, 2 * lo) for y in range(lo, 2 * lo)]
    cases += [(1, r, 0) for r in range(lo, 4 * lo)]

    async def bench(ctx):
        for sqrt, x, y in cases:
            ctx.set(dut.start, 1)
            ctx.set(dut.sqrt, sqrt)
            ctx.set(dut.num if not sqrt else dut.rad, x)
            ctx.set(dut.den, y)
            await ctx.tick()
            ctx.set(dut.start, 0)
            steps = 0
            while not ctx.get(dut.done):
                await ctx.tick()
                steps += 1
            assert steps == (sqrt_steps(w) if sqrt else div_steps(w))
            if sqrt:
                arg = x << (w + 1)
                want = math.isqrt(arg)
                exact = want * want == arg
            else:
                want, rem = divmod(x << (w + 3), y)
                exact = rem == 0
            got = (ctx.get(dut.result), ctx.get(dut.sticky))
            assert got == (want, int(not exact)), f"w={w} sqrt={sqrt} x={x} y={y}: {got}, expected {want}"

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_gemm_through_the_rtl_quire_matches_the_accuracy_study_bit_for_bit(distribution):
    """The accuracy study's n = 16 GEMM (same seed, same float32 inputs) in posit32 through the RTL:
    per output QCLR then 16 QMADDs; the last QMADD returns the quire rounded, C[i, j]."""
    import zlib
    from golden import posit_gemm_study as study
    size = 16
    rng = np.random.default_rng((study.SEED, zlib.crc32(f"{distribution}/{size}".encode())))
    a = posit.from_float32(study.draw_float32(rng, distribution, (size, size)).view(np.uint32))
    b = posit.from_float32(study.draw_float32(rng, distribution, (size, size)).view(np.uint32))
    ops, x, y = [], [], []
    for i in range(size):
        for j in range(size):
            ops += [PositOp.QCLR.value] + [PositOp.QMADD.value] * size
            x += [0] + a[i, :].tolist()
            y += [0] + b[:, j].tolist()
    inputs = {"op": np.array(ops, dtype=np.uint64), "a": np.array(x, dtype=np.uint64),
              "b": np.array(y, dtype=np.uint64)}
    want = study.posit_gemm_quire(a, b)
    result = run({"N": 32, **ONLY["quire"]}, study.SEED, inputs=inputs)
    assert result.checked == len(ops)
    # The runner compared every step with the golden model; check the C entries against the study too.
    golden = ALU.golden(ALU.resolve({"N": 32, **ONLY["quire"]}), inputs)["result"]
    c = golden.reshape(size, size, size + 1)[:, :, -1]
    assert np.array_equal(c, want), "the quire op stream and posit_gemm_quire disagree"
    assert len(np.unique(c)) > size * size // 2
