# amaranth: UnusedElaboratable=no
"""Exhaustive tests of hdl.common.lzc.LeadingZeroCount against an integer reference."""

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from hdl.common.lzc import LeadingZeroCount


def ref_lzc(value, width):
    return width - value.bit_length()


@pytest.mark.parametrize("width", range(1, 10))
def test_lzc_exhaustive(width):
    dut = LeadingZeroCount(width)
    sim = Simulator(dut)

    async def bench(ctx):
        for value in range(1 << width):
            ctx.set(dut.value, value)
            count, zero = ctx.get(dut.count), ctx.get(dut.zero)
            expected = ref_lzc(value, width)
            assert count == expected, \
                f"width={width} value={value:#0{width + 2}b}: count {count}, expected {expected}"
            assert zero == (value == 0), \
                f"width={width} value={value:#0{width + 2}b}: zero {zero}, expected {int(value == 0)}"

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", [1, 2, 5, 8, 13, 24])
def test_lzc_port_widths(width):
    dut = LeadingZeroCount(width)
    assert len(dut.value) == width
    assert len(dut.count) == width.bit_length()
    assert len(dut.zero) == 1


@pytest.mark.parametrize("width", [1, 7, 16, 53])
def test_lzc_converts_to_verilog(width):
    assert "module" in verilog.convert(LeadingZeroCount(width))


@pytest.mark.parametrize("width", [0, -3, 2.0, "8", True, None])
def test_lzc_rejects_bad_width(width):
    with pytest.raises(ValueError, match=r"LeadingZeroCount: width must be an integer >= 1"):
        LeadingZeroCount(width)
