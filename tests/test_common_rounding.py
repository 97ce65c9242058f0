# amaranth: UnusedElaboratable=no
"""Exhaustive tests of hdl.common.rounding (Rounder, round_increment) against an integer reference."""

import itertools

import pytest
from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.sim import Simulator

from hdl.common.rounding import Rounder, RoundingMode, round_increment


def ref_increment(rm, sign, lsb, guard, sticky):
    inexact = guard | sticky
    if rm == 1:
        return 0
    if rm == 2:
        return sign & inexact
    if rm == 3:
        return (1 - sign) & inexact
    if rm == 4:
        return guard
    return guard & (sticky | lsb)  # RNE, and the reserved codes 5-7


def ref_round(rm, sign, mantissa, guard, sticky):
    """Reference from values: round |x| = mantissa + (2*guard + sticky') / 4 to an integer."""
    exact = mantissa + (guard / 2) + (0.25 if sticky else 0)
    if rm == 1:
        rounded = mantissa
    elif rm == 2:
        rounded = mantissa + (1 if sign and exact != mantissa else 0)
    elif rm == 3:
        rounded = mantissa + (1 if not sign and exact != mantissa else 0)
    elif rm == 4:
        rounded = mantissa + (1 if exact - mantissa >= 0.5 else 0)
    else:
        frac = exact - mantissa
        rounded = mantissa + (1 if frac > 0.5 or (frac == 0.5 and mantissa % 2) else 0)
    return rounded, guard | sticky, int(rm >= 5)


def test_rounding_mode_encodings():
    assert {m.name: m.value for m in RoundingMode} == \
        {"RNE": 0, "RTZ": 1, "RDN": 2, "RUP": 3, "RMM": 4}
    assert RoundingMode.as_shape().width == 3


def test_reference_models_agree():
    for rm, sign, mantissa, guard, sticky in itertools.product(range(8), (0, 1), range(8), (0, 1), (0, 1)):
        assert ref_round(rm, sign, mantissa, guard, sticky)[0] == \
            mantissa + ref_increment(rm, sign, mantissa & 1, guard, sticky)


@pytest.mark.parametrize("width", [1, 3])
def test_rounder_exhaustive(width):
    dut = Rounder(width)
    sim = Simulator(dut)

    async def bench(ctx):
        for rm, sign, mantissa, guard, sticky in itertools.product(
                range(8), (0, 1), range(1 << width), (0, 1), (0, 1)):
            ctx.set(dut.rm.as_value(), rm)
            ctx.set(dut.sign, sign)
            ctx.set(dut.mantissa, mantissa)
            ctx.set(dut.guard, guard)
            ctx.set(dut.sticky, sticky)
            actual = ctx.get(dut.result), ctx.get(dut.inexact), ctx.get(dut.invalid_rm)
            expected = ref_round(rm, sign, mantissa, guard, sticky)
            assert actual == expected, (
                f"width={width} rm={rm} sign={sign} mantissa={mantissa:#0{width + 2}b} "
                f"guard={guard} sticky={sticky}: (result, inexact, invalid_rm) {actual}, "
                f"expected {expected}")

    sim.add_testbench(bench)
    sim.run()


def test_round_increment_inline():
    rm = Signal(3)
    sign, lsb, guard, sticky, inc = Signal(), Signal(), Signal(), Signal(), Signal()
    m = Module()
    m.d.comb += inc.eq(round_increment(rm, sign, lsb, guard, sticky))
    sim = Simulator(m)

    async def bench(ctx):
        for values in itertools.product(range(8), (0, 1), (0, 1), (0, 1), (0, 1)):
            for signal, value in zip((rm, sign, lsb, guard, sticky), values):
                ctx.set(signal, value)
            expected = ref_increment(*values)
            assert ctx.get(inc) == expected, \
                f"(rm, sign, lsb, guard, sticky)={values}: increment {ctx.get(inc)}, expected {expected}"

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("mode", list(RoundingMode))
def test_round_increment_constant_mode(mode):
    sign, lsb, guard, sticky, inc = Signal(), Signal(), Signal(), Signal(), Signal()
    m = Module()
    m.d.comb += inc.eq(round_increment(mode, sign, lsb, guard, sticky))
    sim = Simulator(m)

    async def bench(ctx):
        for values in itertools.product((0, 1), repeat=4):
            for signal, value in zip((sign, lsb, guard, sticky), values):
                ctx.set(signal, value)
            expected = ref_increment(mode.value, *values)
            assert ctx.get(inc) == expected, \
                f"rm={mode.name} (sign, lsb, guard, sticky)={values}: increment {ctx.get(inc)}, expected {expected}"

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", [1, 8, 24])
def test_rounder_converts_to_verilog(width):
    assert "module" in verilog.convert(Rounder(width))


@pytest.mark.parametrize("width", [0, -2, 3.0, "3", False, None])
def test_rounder_rejects_bad_width(width):
    with pytest.raises(ValueError, match=r"Rounder: width must be an integer >= 1"):
        Rounder(width)
