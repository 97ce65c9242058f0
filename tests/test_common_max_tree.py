# amaranth: UnusedElaboratable=no
"""hdl.common.max_tree.maximum_tree against Python's max, in the Amaranth simulator."""

import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hdl.common.max_tree import maximum_tree


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 9])
@pytest.mark.parametrize("width", [1, 3, 8])
def test_the_tree_gives_the_largest_value(count, width, seed):
    rng = random.Random(seed)
    m = Module()
    values = [Signal(width, name=f"v{i}") for i in range(count)]
    largest = Signal(width)
    m.d.comb += largest.eq(maximum_tree(values))
    sim = Simulator(m)
    top = (1 << width) - 1
    cases = [[0] * count, [top] * count, [top if i == count - 1 else 0 for i in range(count)]]
    cases += [[rng.randint(0, top) for _ in range(count)] for _ in range(300)]

    async def bench(ctx):
        for case in cases:
            for signal, value in zip(values, case):
                ctx.set(signal, value)
            assert ctx.get(largest) == max(case), f"seed {seed}: {case}"

    sim.add_testbench(bench)
    sim.run()


def test_an_empty_tree_is_refused():
    with pytest.raises(ValueError, match="maximum_tree: needs at least one value"):
        maximum_tree([])
