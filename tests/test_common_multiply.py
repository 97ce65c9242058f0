# amaranth: UnusedElaboratable=no
"""hdl.common.multiply: DSP-sized partial products summed back into the exact product, for unsigned
and two's-complement operands, against Python integers."""

import numpy as np
import pytest
from amaranth import Elaboratable, Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hdl.common.multiply import PARTIAL_SPLIT, partial_products, sum_partials


class SplitProduct(Elaboratable):
    def __init__(self, a_shape, b_shape):
        self.a = Signal(a_shape)
        self.b = Signal(b_shape)
        width = len(self.a) + len(self.b) + (a_shape.signed != b_shape.signed)
        self.product = Signal(signed(width) if a_shape.signed or b_shape.signed else unsigned(width))
        self.parts = None

    def elaborate(self, platform):
        m = Module()
        self.parts = partial_products(m, self.a, self.b)
        m.d.comb += self.product.eq(sum_partials(m, self.parts, len(self.product)))
        return m


def operand_values(shape, rng, count):
    lo, hi = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else (0, (1 << shape.width) - 1)
    corners = [lo, hi, 0, 1, lo + 1, hi - 1, (1 << PARTIAL_SPLIT) - 1 if hi >= (1 << PARTIAL_SPLIT) else hi]
    if shape.signed:
        corners += [-1, -(1 << PARTIAL_SPLIT) if lo <= -(1 << PARTIAL_SPLIT) else lo]
    return corners + [int(x) for x in rng.integers(lo, hi, endpoint=True, size=count)]


@pytest.mark.parametrize("a_shape,b_shape", [
    (unsigned(24), unsigned(24)),   # fp32 significands
    (signed(29), signed(29)),       # posit<32,2> signed significands
    (signed(36), signed(36)),       # both parts of both operands 18 bits
    (unsigned(30), signed(20)),     # mixed signedness, unequal splits
    (signed(12), signed(12)),       # narrower than one part: not split
])
def test_partial_products_sum_to_the_exact_product(a_shape, b_shape):
    seed = 20261126
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    dut = SplitProduct(a_shape, b_shape)
    a_values, b_values = operand_values(a_shape, rng, 300), operand_values(b_shape, rng, 300)
    pairs = [(x, y) for x in a_values[:9] for y in b_values[:9]] + list(zip(a_values, b_values[::-1]))
    sim = Simulator(dut)

    async def bench(ctx):
        for x, y in pairs:
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            assert ctx.get(dut.product) == x * y, f"{a_shape} {x} * {b_shape} {y}: got {ctx.get(dut.product)}"

    sim.add_testbench(bench)
    sim.run()
    split = (a_shape.width > PARTIAL_SPLIT) + 1, (b_shape.width > PARTIAL_SPLIT) + 1
    assert len(dut.parts) == split[0] * split[1]
    assert all(len(p) <= 2 * PARTIAL_SPLIT for p in dut.parts.values())
