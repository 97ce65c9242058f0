# amaranth: UnusedElaboratable=no
"""hdl.common.three_term_sum at small widths: one rounding of its output is the rounding of the exact sum.

The reference is exact ``Fraction`` arithmetic: for every input the window sum
(``total * 2**exponent``) must round to ``precision`` bits like the exact sum
does, in every direction, and be representable exactly when the sum is; with
its sticky bit 0 clear it must be the sum itself.
"""

from fractions import Fraction

import re

import numpy as np
import pytest
from amaranth import Elaboratable, Module, Shape, Signal, signed
from amaranth.sim import Simulator

from hdl.common.three_term_sum import ThreeTermSum, add_or_subtract


def round_to_precision(x, precision, direction):
    """``x`` rounded to ``precision`` significant bits (unbounded exponent): 'down', 'up' or 'even'."""
    if x == 0:
        return x
    mag = abs(x)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    ulp = Fraction(2) ** (e - precision + 1)
    units = x / ulp
    floor = units.numerator // units.denominator
    if direction == "down":
        n = floor
    elif direction == "up":
        n = floor if floor == units else floor + 1
    else:
        rest = units - floor
        n = floor + (rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1))
    return n * ulp


def cases(q, rng, count):
    """Normalized terms (sign, field, top): random, plus the shapes the datapath treats apart."""
    lo, hi = 1 << (q - 2), (1 << q) - 1
    out = []
    for i in range(count):
        kind = i % 5
        tops = rng.integers(-60, 61, size=3)
        fields = rng.integers(lo, hi + 1, size=3)
        signs = rng.integers(0, 2, size=3)
        if kind == 1:                   # t1 + t2 == 0 exactly, t3 anywhere below
            fields[1], tops[1], signs[1] = fields[0], tops[0], 1 - signs[0]
            tops[2] = tops[0] - rng.integers(0, 80)
        elif kind == 2:                 # two terms far below the first, nearly cancelling each other
            tops[1] = tops[0] - rng.integers(q, 80)
            tops[2] = tops[1] - rng.integers(0, 3)
            fields[2] = np.clip(fields[1] + rng.integers(-2, 3), lo, hi)
            signs[2] = 1 - signs[1]
        elif kind == 3:                 # all within a few bits: deep cancellation
            tops[1:] = tops[0] - rng.integers(0, 3, size=2)
        elif kind == 4:                 # a zero term
            fields[rng.integers(0, 3)] = 0
        tops = np.clip(tops, -60, 60)
        order = rng.permutation(3)
        out.append([(int(signs[j]), int(fields[j]), int(tops[j])) for j in order])
    return out


@pytest.mark.parametrize("q,precision", [(4, 3), (6, 4), (3, 6), (8, 8)])
def test_one_rounding_of_the_window_sum_is_the_rounding_of_the_exact_sum(q, precision, seed):
    dut = ThreeTermSum(q, precision, signed(12), -60, 60)
    rng = np.random.default_rng(seed)
    vectors = cases(q, rng, 1500)
    checked = []

    async def bench(ctx):
        for terms in vectors:
            for i, (sign, field, top) in enumerate(terms):
                ctx.set(getattr(dut, f"sign{i}"), sign)
                ctx.set(getattr(dut, f"field{i}"), field)
                ctx.set(getattr(dut, f"top{i}"), top)
            total, exponent = ctx.get(dut.total), ctx.get(dut.exponent)
            exact = sum(((-1) ** s) * f * Fraction(2) ** (t - q) for s, f, t in terms)
            window = total * Fraction(2) ** exponent
            where = f"terms={terms} total={total} exponent={exponent} exact={exact}"
            if total % 2 == 0:
                assert window == exact, f"sticky bit clear but inexact: {where}"
            for direction in ("down", "up", "even"):
                assert round_to_precision(window, precision, direction) == \
                    round_to_precision(exact, precision, direction), f"{direction}: {where}"
            assert (round_to_precision(window, precision, "down") == window) == \
                (round_to_precision(exact, precision, "down") == exact), f"exactness: {where}"
            checked.append(1)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == len(vectors)


@pytest.mark.parametrize("kwargs,message", [
    ({"q": 0, "precision": 3, "exponent_shape": signed(12), "top_lo": 0, "top_hi": 1}, "q must be"),
    ({"q": 4, "precision": 1, "exponent_shape": signed(12), "top_lo": 0, "top_hi": 1}, "precision must be"),
    ({"q": 4, "precision": 3, "exponent_shape": signed(12), "top_lo": 5, "top_hi": 1}, "top_lo must be at most"),
    ({"q": 24, "precision": 24, "exponent_shape": signed(8), "top_lo": -250, "top_hi": 256}, "cannot hold"),
])
def test_bad_parameters_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeTermSum(**kwargs)


class _AddOrSubtract(Elaboratable):
    def __init__(self, a_shape, b_width, width):
        self.a, self.b, self.subtract = Signal(a_shape), Signal(b_width), Signal()
        self.result = Signal(signed(width))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.result.eq(add_or_subtract(self.a, self.b, self.subtract, len(self.result)))
        return m


@pytest.mark.parametrize("a_shape,b_width,width", [(signed(5), 4, 6), (signed(4), 4, 5), (4, 3, 6), (signed(3), 5, 7)])
def test_add_or_subtract_is_the_exact_sum_or_difference(a_shape, b_width, width):
    """Every a, b and direction, with a signed or unsigned and wider or narrower than b, and a width
    that holds every result or (signed(4), 4, 5) one that wraps some of them."""
    dut = _AddOrSubtract(a_shape, b_width, width)
    a_values = range(-(1 << (a_shape.width - 1)), 1 << (a_shape.width - 1)) if isinstance(a_shape, Shape) \
        and a_shape.signed else range(1 << a_shape)

    async def bench(ctx):
        for a in a_values:
            ctx.set(dut.a, a)
            for b in range(1 << b_width):
                ctx.set(dut.b, b)
                for subtract in (0, 1):
                    ctx.set(dut.subtract, subtract)
                    exact = a - b if subtract else a + b
                    expected = (exact + (1 << (width - 1))) % (1 << width) - (1 << (width - 1))
                    assert ctx.get(dut.result) == expected, (a, b, subtract, ctx.get(dut.result))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_add_or_subtract_rejects_a_width_that_cannot_hold_the_result():
    with pytest.raises(ValueError, match=re.escape("add_or_subtract: width must be at least 5 (a's 4 bits, b's 4 + 1), got 4")):
        add_or_subtract(Signal(signed(4)), Signal(4), Signal(), 4)
