# amaranth: UnusedElaboratable=no
"""Exhaustive test of hdl.common.shift.ShiftRightSticky with fill=True against an integer reference."""

import pytest
from amaranth.sim import Simulator

from hdl.common.shift import ShiftRightSticky


def ref_shift_right_sticky_fill(value, amount, fill, width):
    kept = min(amount, width)
    ones = ((1 << kept) - 1) << (width - kept) if fill else 0
    return (value >> amount) | ones, int(value & ((1 << amount) - 1) != 0)


@pytest.mark.parametrize("width,amount_width", [(1, 1), (1, 3), (3, 5), (4, 2), (5, 3), (6, 4), (8, 3)])
def test_shift_right_fills_with_the_fill_bit_and_reports_dropped_ones(width, amount_width):
    dut = ShiftRightSticky(width, amount_width, fill=True)
    sim = Simulator(dut)

    async def bench(ctx):
        for fill in (0, 1):
            ctx.set(dut.fill, fill)
            for value in range(1 << width):
                ctx.set(dut.value, value)
                for amount in range(1 << amount_width):
                    ctx.set(dut.amount, amount)
                    actual = ctx.get(dut.result), ctx.get(dut.sticky)
                    expected = ref_shift_right_sticky_fill(value, amount, fill, width)
                    assert actual == expected, (
                        f"width={width} amount_width={amount_width} fill={fill} value={value:#0{width + 2}b} "
                        f"amount={amount}: (result, sticky) {actual}, expected {expected}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width,amount_width", [(0, 1), (4, 0)])
def test_shift_right_fill_rejects_bad_widths(width, amount_width):
    with pytest.raises(ValueError, match="width"):
        ShiftRightSticky(width, amount_width, fill=True)
