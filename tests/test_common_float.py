# amaranth: UnusedElaboratable=no
"""hdl.common.float: unpack, float_normalize + FloatRound against golden.fp, exhaustively on small formats."""

from fractions import Fraction

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from golden import fp
from hdl.common.float import FloatRound, exponent_shape, float_normalize, unpack


TINY = fp.FloatFormat(3, 2, name="E3M2")       # bias 3: emin -2, max 14
WIDE = fp.FloatFormat(8, 2, name="E8M2")       # bias 127: emin -126, room for every shift of a wide magnitude
WIDTH = 8                                       # magnitudes 0..255 worth magnitude * 2**exponent


class _CombinationalCuts:
    """A stand-in pipeline for ``float_normalize``: its cut points taken (``registered``), which
    selects the counted form, or not, which selects the form by steps; no register either way."""

    def __init__(self, registered):
        self._registered = registered

    def registered(self, name):
        return self._registered

    def cut(self, name, **values):
        return dict(values)


def _round_all(fmt, exponents, *, counted=False, carry_select=False, width=WIDTH, magnitudes=None):
    """Every (exponent, rm, sign, magnitude) through ``float_normalize`` and FloatRound; ``counted``:
    the form with the cut points taken (leading-zero count, shift in two steps), else the form by
    steps; ``carry_select``: FloatRound's carry-select form."""
    m = Module()
    magnitude, exponent = Signal(width), Signal(exponent_shape(fmt))
    mantissa, exponent_top, _ = float_normalize(m, _CombinationalCuts(counted), ("count", "coarse"), fmt, magnitude,
                                                exponent, width, min(exponents), max(exponents))
    m.submodules.rnd = rnd = FloatRound(fmt, fmt.precision + 3, carry_select=carry_select)
    m.d.comb += [rnd.mantissa.eq(mantissa), rnd.exponent_top.eq(exponent_top)]
    magnitudes = range(1, 1 << width) if magnitudes is None else magnitudes
    got = {}

    async def bench(ctx):
        for e in exponents:
            ctx.set(exponent, e)
            for rm in range(5):
                ctx.set(rnd.rm, rm)
                for sign in (0, 1):
                    ctx.set(rnd.sign, sign)
                    for value in magnitudes:
                        ctx.set(magnitude, value)
                        flags = ((fp.OF | fp.NX) * ctx.get(rnd.overflow) | fp.UF * ctx.get(rnd.underflow)
                                 | fp.NX * ctx.get(rnd.inexact))
                        got[e, rm, sign, value] = (ctx.get(rnd.result), flags)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


def _check(got, fmt=TINY):
    keys = list(got)
    values = [(-1 if s else 1) * Fraction(mag) * Fraction(2) ** e for e, rm, s, mag in keys]
    rms = np.array([rm for _, rm, _, _ in keys])
    expected, flags = fp.round(values, fmt=fmt, rm=rms)
    actual = np.array([got[k][0] for k in keys], dtype=np.uint64)
    actual_flags = np.array([got[k][1] for k in keys], dtype=np.uint64)
    bad = np.flatnonzero((actual != expected) | (actual_flags != flags))
    assert not len(bad), [(keys[i], hex(int(expected[i])), hex(int(actual[i])), int(flags[i]), int(actual_flags[i]))
                          for i in bad[:5]]


@pytest.mark.parametrize("exponents", [range(-9, -3), range(-3, 2), range(2, 8)],
                         ids=["subnormal-results", "around-one", "overflowing"])
@pytest.mark.parametrize("counted", [False, True], ids=["by-steps", "counted"])
@pytest.mark.parametrize("carry_select", [False, True], ids=["word-sum", "carry-select"])
def test_normalize_and_round_match_the_golden_rounding_of_every_magnitude(exponents, counted, carry_select):
    got = _round_all(TINY, list(exponents), counted=counted, carry_select=carry_select)
    _check(got)
    assert len(got) == len(exponents) * 5 * 2 * 255


@pytest.mark.parametrize("where", ["subnormal-results", "limited", "unlimited", "overflowing"])
@pytest.mark.parametrize("width", [20, 70])
@pytest.mark.parametrize("counted", [False, True], ids=["by-steps", "counted"])
def test_both_normalize_forms_of_wide_magnitudes_match_the_golden_rounding(where, width, counted, seed):
    """Wide magnitudes into E8M2, whose exponent range lets them shift by anything up to their width:
    the counted form's shift takes its coarse steps by 8 and more, the form by steps takes its
    steps of 16 and more (three of them at 70 bits) from the magnitude's blocks.  Exponents where
    the shift limit (2**emin at the top) is 0, inside the width, beyond it, and results that
    overflow; every power of two, every run of ones from the top, and random values of random
    lengths (300 at 20 bits, 120 at 70; seed printed by the fixture)."""
    at_limit_zero = WIDE.emin - (width - 1)             # the exponent at which the shift limit is 0
    exponents = {"subnormal-results": range(at_limit_zero - 6, at_limit_zero + 1),
                 "limited": range(at_limit_zero + 1, at_limit_zero + width, max(1, width // 9)),
                 "unlimited": range(at_limit_zero + width, at_limit_zero + width + 4),
                 "overflowing": range(WIDE.emax + 1 - width, WIDE.emax + 4 - width)}[where]
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, width + 1, size=300 if width <= 20 else 120)   # the 70-bit count is slow in pysim
    randoms = {int.from_bytes(rng.bytes(16), "little") % (1 << n) | (1 << (n - 1)) for n in lengths.tolist()}
    magnitudes = sorted({1 << i for i in range(width)} | {(1 << width) - (1 << i) for i in range(width)} | randoms)
    got = _round_all(WIDE, list(exponents), counted=counted, carry_select=True, width=width, magnitudes=magnitudes)
    _check(got, WIDE)
    assert len(got) == len(exponents) * 5 * 2 * len(magnitudes)


@pytest.mark.parametrize("fmt", [TINY, fp.E5M2, fp.E4M3, fp.E4M3FN], ids=lambda f: f.name)
def test_unpack_classifies_and_splits_every_pattern(fmt):
    m = Module()
    pattern = Signal(fmt.width)
    u = unpack(m, pattern, fmt, "x")
    patterns = np.arange(1 << fmt.width, dtype=np.uint64)
    d = fp.decode(patterns, fmt)
    rows = []

    async def bench(ctx):
        for p in range(1 << fmt.width):
            ctx.set(pattern, p)
            rows.append([ctx.get(v) for v in u])

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    sign, zero, inf, nan, snan, significand, exponent = (np.array(c) for c in zip(*rows))
    assert (sign == d.sign).all()
    assert (zero == (d.cls == fp.ZERO)).all()
    assert (inf == (d.cls == fp.INF)).all()
    assert (nan == (d.cls == fp.NAN)).all()
    assert (snan == d.signalling).all()
    finite = d.cls <= fp.NORMAL
    assert (significand[finite] == d.significand[finite]).all()
    assert (exponent[finite] == d.exponent[finite] - fmt.man_bits).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(fmt=fp.E4M3FN, width=7), "ieee flavour"),
    (dict(fmt=TINY, width=5), "width"),
    (dict(fmt=TINY, width=6, carry_select=1), "carry_select"),
], ids=["no-inf-format", "too-narrow", "carry-select-not-bool"])
def test_float_round_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FloatRound(**kwargs)
