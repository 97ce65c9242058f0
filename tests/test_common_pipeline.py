# amaranth: UnusedElaboratable=no
"""Pipeline helper and adder tree, in the Amaranth simulator."""

import itertools
import random

import pytest
from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hdl.common.adder_tree import adder_tree, adder_tree_levels
from hdl.common.pipeline import Pipeline


class TreeSum(wiring.Component):
    def __init__(self, n, width, is_signed):
        self.n, self.width, self.is_signed = n, width, is_signed
        shape = signed(width) if is_signed else unsigned(width)
        super().__init__({"terms": In(shape).array(n), "total": Out(width + adder_tree_levels(n) + 1)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.total.eq(adder_tree(list(self.terms)))
        return m


@pytest.mark.parametrize("n,width,is_signed", [(1, 3, True), (2, 3, True), (3, 3, True), (4, 2, False),
                                               (5, 2, True), (3, 3, False)])
def test_adder_tree_sums_every_combination(n, width, is_signed):
    dut = TreeSum(n, width, is_signed)
    values = range(-(1 << (width - 1)), 1 << (width - 1)) if is_signed else range(1 << width)
    out_width = len(dut.total)

    async def bench(ctx):
        for combo in itertools.product(values, repeat=n):
            for port, v in zip(dut.terms, combo):
                ctx.set(port, v)
            got = ctx.get(dut.total)
            assert got == sum(combo) % (1 << out_width), f"terms {combo}: got {got}"

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_adder_tree_levels():
    assert [adder_tree_levels(n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 64)] == [0, 1, 2, 2, 3, 3, 4, 4, 6]
    with pytest.raises(ValueError, match="number of terms"):
        adder_tree_levels(0)


class Chain(wiring.Component):
    """x -> (+1) -> cut a -> (*3) -> cut b -> (+2) -> cut c -> output register."""

    def __init__(self, depth):
        self.depth = depth
        super().__init__({"in_valid": In(1), "in_ready": Out(1), "x": In(8),
                          "out_valid": Out(1), "out_ready": In(1), "y": Out(12)})

    def elaborate(self, platform):
        m = Module()
        pipe = Pipeline(m, cuts=["b", "a", "c"], depth=self.depth, in_valid=self.in_valid,
                        in_ready=self.in_ready, out_valid=self.out_valid, out_ready=self.out_ready)
        self.latency = pipe.latency
        v = pipe.cut("a", v=self.x + 1)["v"]
        v = pipe.cut("b", v=v * 3)["v"]
        v = pipe.cut("c", v=v + 2)["v"]
        pipe.output(self.y.eq(v))
        return m


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_pipeline_keeps_order_and_latency_under_stalls(depth, seed):
    dut = Chain(depth)
    rng = random.Random(seed)
    xs = [rng.randrange(256) for _ in range(300)]

    async def bench(ctx):
        sent = received = cycle = 0
        first_in = first_out = None
        while received < len(xs) and cycle < 5000:
            valid = sent < len(xs) and (cycle < 6 or rng.random() < 0.7)
            ready = cycle < 6 or rng.random() < 0.7
            ctx.set(dut.in_valid, valid)
            if valid:
                ctx.set(dut.x, xs[sent])
            ctx.set(dut.out_ready, ready)
            if ctx.get(dut.out_valid) and ready:
                first_out = cycle if first_out is None else first_out
                assert ctx.get(dut.y) == (xs[received] + 1) * 3 + 2, f"result {received} wrong"
                received += 1
            if valid and ctx.get(dut.in_ready):
                first_in = cycle if first_in is None else first_in
                sent += 1
            await ctx.tick()
            cycle += 1
        assert received == len(xs)
        assert first_out - first_in == depth + 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_pipeline_rejects_bad_depth_and_unplaced_cuts():
    m = Module()
    sig = dict(in_valid=Signal(), in_ready=Signal(), out_valid=Signal(), out_ready=Signal())
    with pytest.raises(ValueError, match=r"depth must be an integer in 0..2, got 3"):
        Pipeline(m, cuts=["a", "b"], depth=3, **sig)
    pipe = Pipeline(Module(), cuts=["a", "b"], depth=1, **sig)
    pipe.cut("a", v=C(1))
    with pytest.raises(ValueError, match=r"declared but never placed"):
        pipe.output()
    with pytest.raises(ValueError, match="unknown or used twice"):
        pipe.cut("a", v=C(1))
