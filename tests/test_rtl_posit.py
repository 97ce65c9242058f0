# amaranth: UnusedElaboratable=no
"""Posit hardware: decode/encode blocks in the Amaranth simulator, posit_add / posit_mul under cocotb + Verilator.

The golden model is ``golden/posit.py`` (itself tested against SoftPosit and
universal-dtypes in tests/test_golden_posit.py).
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden import posit
from golden.posit import PositFormat
from hdl.posit.add import PositAdd, PositAddOp
from hdl.posit.codec import PositDecoder, PositEncoder
from hdl.posit.mul import PositMul
from hdl.registry import get_unit
from sim.runner import simulate


ADD, MUL = get_unit("posit_add"), get_unit("posit_mul")


def run(unit, overrides, seed, **kw):
    params = unit.resolve(overrides)
    result = simulate(unit, params, seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


def all_pairs(n):
    patterns = np.arange(1 << n, dtype=np.uint64)
    a, b = np.meshgrid(patterns, patterns, indexing="ij")
    return a.ravel(), b.ravel()


# -- decode / encode blocks (Amaranth simulator) --------------------------------

@pytest.mark.parametrize("regime_by_steps", [False, True], ids=["counted", "by-steps"])
@pytest.mark.parametrize("negate_pattern", [False, True])
@pytest.mark.parametrize("n,es", [(n, es) for n in range(2, 11) for es in range(5) if n <= 8 or es in (0, 2)])
def test_decoder_splits_every_pattern_like_the_golden_model(n, es, negate_pattern, regime_by_steps):
    fmt = PositFormat(n, es)
    want = fmt.decode(np.arange(1 << n, dtype=np.uint64))
    dut = PositDecoder(n, es, negate_pattern=negate_pattern, regime_by_steps=regime_by_steps)

    async def bench(ctx):
        for p in range(1 << n):
            ctx.set(dut.posit, p)
            got = dict(zero=ctx.get(dut.zero), nar=ctx.get(dut.nar), sign=ctx.get(dut.sign),
                       scale=ctx.get(dut.scale), sig=ctx.get(dut.sig), magnitude=ctx.get(dut.magnitude))
            special = bool(want.zero[p] or want.nar[p])
            expected = dict(zero=int(want.zero[p]), nar=int(want.nar[p]), sign=p >> (n - 1),
                            scale=got["scale"] if special else int(want.scale[p]),
                            sig=0 if special else int(want.sig[p]),
                            magnitude=((-p if p >> (n - 1) else p) & fmt.mask) & fmt.maxpos)
            assert got == expected, f"posit<{n},{es}> pattern {p:#x}: {got}, expected {expected}"

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("regime_by_steps", [False, True], ids=["counted", "by-steps"])
@pytest.mark.parametrize("n,es", [(n, es) for n in range(2, 11) for es in range(5) if n <= 8 or es in (0, 2)])
def test_decoder_signed_form_is_the_value_in_twos_complement(n, es, regime_by_steps):
    """``2**signed_scale * signed_sig`` is the value, ``signed_sig`` is 1 + f or -2 + f (0 for 0 and
    NaR), and 0 has a scale below every real one."""
    fmt = PositFormat(n, es)
    want = fmt.decode(np.arange(1 << n, dtype=np.uint64))
    dut = PositDecoder(n, es, signed_form=True, regime_by_steps=regime_by_steps)
    one = 1 << fmt.fbits

    async def bench(ctx):
        for p in range(1 << n):
            ctx.set(dut.posit, p)
            scale, sig = ctx.get(dut.signed_scale), ctx.get(dut.signed_sig)
            if want.zero[p] or want.nar[p]:
                assert sig == 0, f"posit<{n},{es}> pattern {p:#x}: signed_sig {sig}, expected 0"
                if want.zero[p]:
                    assert scale == -(n - 1) << es
                continue
            assert one <= sig < 2 * one or -2 * one <= sig < -one, f"posit<{n},{es}> {p:#x}: signed_sig {sig}"
            value = Fraction(-int(want.sig[p]) if want.sign[p] else int(want.sig[p])) * Fraction(2) ** int(want.scale[p])
            assert Fraction(sig) * Fraction(2) ** scale == value, \
                f"posit<{n},{es}> pattern {p:#x}: {sig} * 2**{scale}, expected {value} * 2**{fmt.fbits}"

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


ENCODER_CASES = [(2, 0, 2), (2, 3, 1), (3, 0, 3), (3, 1, 2), (4, 2, 3), (5, 0, 4), (5, 1, 4), (6, 2, 5),
                 (6, 4, 3), (7, 1, 5), (8, 0, 6), (8, 2, 0), (8, 3, 4), (9, 2, 5)]


def _magnitude_form(sign, scale, frac, sticky, frac_width, extra):
    """Golden encoder inputs (scale, significand with frac_width + extra bits below its hidden bit,
    sticky) of two's-complement fields: a negative value is 2**scale * (-2 + 0.frac + t) with t > 0
    below every rounding position when sticky, so its magnitude is 2 - 0.frac - t: one last bit
    (extra bits further down, below every rounding position too) less, and sticky."""
    fine = np.uint64(1) << np.uint64(frac_width + extra)
    f = frac.astype(np.uint64) << np.uint64(extra)
    negative, t = sign.astype(bool), sticky.astype(np.uint64)
    power_of_two = negative & (f == 0) & (t == 0)               # -2 * 2**scale: one binade up
    sig = np.where(negative, np.where(power_of_two, fine, np.uint64(2) * fine - f - t), fine | f)
    return np.where(power_of_two, scale + 1, scale), sig, sticky.astype(bool)


@pytest.mark.parametrize("mask_sticky,early_specials", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("twos_complement", [False, True])
@pytest.mark.parametrize("n,es,frac_width", ENCODER_CASES)
def test_encoder_rounds_every_input_like_the_golden_model(n, es, frac_width, twos_complement, mask_sticky,
                                                          early_specials):
    """Every sign, scale (two beyond each end of the range), fraction and sticky bit, and each of
    them again with ``zero`` (0) and with ``nar`` (NaR); with ``twos_complement`` a negative input
    is -2 + 0.frac, rounded as its magnitude is; both forms of the layout's sticky bit and of the
    specials' override."""
    fmt = PositFormat(n, es)
    scale_width = (fmt.max_scale + 2).bit_length() + 1
    dut = PositEncoder(n, es, frac_width=frac_width, scale_width=scale_width, twos_complement=twos_complement,
                       mask_sticky=mask_sticky, early_specials=early_specials)
    cases = list(itertools.product((0, 1), range(-fmt.max_scale - 2, fmt.max_scale + 3),
                                   range(1 << frac_width), (0, 1)))
    sign, scale, frac, sticky = (np.array(c) for c in zip(*cases))
    if twos_complement:
        extra = n + 2
        g_scale, g_sig, g_sticky = _magnitude_form(sign, scale, frac, sticky, frac_width, extra)
        want = fmt.encode(sign.astype(bool), g_scale, g_sig, frac_width + extra, g_sticky)
    else:
        want = fmt.encode(sign.astype(bool), scale, (np.uint64(1) << np.uint64(frac_width)) | frac.astype(np.uint64),
                          frac_width, sticky.astype(bool))

    async def bench(ctx):
        for case, expected in zip(cases, want.tolist()):
            for port, value in zip((dut.sign, dut.scale, dut.frac, dut.sticky), case):
                ctx.set(port, value)
            got = ctx.get(dut.posit)
            assert got == expected, (f"posit<{n},{es}> (sign, scale, frac, sticky) = {case}: "
                                     f"{got:#x}, expected {expected:#x}")
            for special, pattern in ((dut.zero, 0), (dut.nar, fmt.nar)):
                ctx.set(special, 1)
                got = ctx.get(dut.posit)
                assert got == pattern, (f"posit<{n},{es}> (sign, scale, frac, sticky) = {case} with "
                                        f"{special.name}: {got:#x}, expected {pattern:#x}")
                ctx.set(special, 0)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("n,es", [(n, es) for n in (2, 3, 4, 5) for es in range(5)])
def test_units_compute_every_pair_of_tiny_formats(n, es):
    """Every operand pair of posit<n, es>, n <= 5, through both units (the multiplier in both forms) at
    depth 0 (Amaranth simulator)."""
    a, b = all_pairs(n)
    for dut, ops in ((PositAdd(N=n, ES=es, depth=0), (PositAddOp.ADD, PositAddOp.SUB)),
                     (PositMul(N=n, ES=es, depth=0), (None,)),
                     (PositMul(N=n, ES=es, depth=0, twos_complement=False), (None,))):
        for op in ops:
            golden = {PositAddOp.ADD: posit.add, PositAddOp.SUB: posit.sub, None: posit.mul}[op]
            want = golden(a, b, n=n, es=es).tolist()

            async def bench(ctx):
                ctx.set(dut.in_valid, 1)
                ctx.set(dut.out_ready, 1)
                if op is not None:
                    ctx.set(dut.op, op)
                for x, y, expected in zip(a.tolist(), b.tolist(), want):
                    ctx.set(dut.a, x)
                    ctx.set(dut.b, y)
                    await ctx.tick()
                    got = ctx.get(dut.result)
                    assert got == expected, f"posit<{n},{es}> {op} {x:#x} {y:#x}: {got:#x}, expected {expected:#x}"

            sim = Simulator(dut)
            sim.add_clock(1e-6)
            sim.add_testbench(bench)
            sim.run()


@pytest.mark.parametrize("component,kwargs,fragment", [
    (PositAdd, {"N": 33}, "N must be an integer in 2..32"),
    (PositAdd, {"N": 1}, "N must be an integer in 2..32"),
    (PositAdd, {"ES": 5}, "ES must be an integer in 0..4"),
    (PositAdd, {"depth": 10}, "depth must be an integer in 0..9"),
    (PositMul, {"depth": 8}, "depth must be an integer in 0..7"),
    (PositMul, {"ES": -1}, "ES must be an integer in 0..4"),
    (PositMul, {"N": 16.0}, "N must be an integer"),
    (PositMul, {"twos_complement": 1}, "twos_complement must be a bool"),
    (PositDecoder, {"n": 40}, "N must be an integer in 2..32"),
    (PositDecoder, {"n": 8, "negate_pattern": 1}, "negate_pattern must be a bool"),
    (PositDecoder, {"n": 8, "signed_form": "yes"}, "signed_form must be a bool"),
    (PositDecoder, {"n": 8, "regime_by_steps": 0}, "regime_by_steps must be a bool"),
    (PositDecoder, {"n": 8, "negate_pattern": True, "signed_form": True}, "signed_form needs the pattern as it is"),
    (PositEncoder, {"n": 8, "frac_width": 4, "scale_width": 8, "twos_complement": 1}, "twos_complement must be a bool"),
    (PositEncoder, {"n": 8, "frac_width": 4, "scale_width": 8, "mask_sticky": None}, "mask_sticky must be a bool"),
    (PositEncoder, {"n": 8, "frac_width": 4, "scale_width": 8, "early_specials": 1}, "early_specials must be a bool"),
])
def test_parameters_out_of_range_are_refused_with_their_range(component, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        component(**kwargs)


@pytest.mark.parametrize("unit,overrides", [
    (u, o) for u in (ADD, MUL) for o in ({"N": 2, "ES": 0, "depth": 0}, {"N": 3, "ES": 4, "depth": 1},
                                         {"N": 5, "ES": 1, "depth": 3},
                                         {"N": 32, "ES": 4, "depth": 0}, {"N": 32, "ES": 0, "depth": 2})
] + [(MUL, {"N": 2, "ES": 0, "depth": 0, "twos_complement": False}),
     (MUL, {"N": 32, "ES": 4, "depth": 7, "twos_complement": False})], ids=lambda v: getattr(v, "name", None) or " ".join(f"{k}={x}" for k, x in v.items()))
def test_verilog_of_edge_formats_is_lint_clean_and_latch_free(unit, overrides, tmp_path):
    from test_verilog import test_verilog_is_lint_clean_and_latch_free
    test_verilog_is_lint_clean_and_latch_free(unit.name, overrides, tmp_path)


# -- vector generator and mismatch report ----------------------------------------

@pytest.mark.parametrize("unit", [ADD, MUL], ids=lambda u: u.name)
@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (32, 2), (12, 1)])
def test_vectors_start_with_corners_and_contain_exact_ties(unit, n, es, seed):
    from hdl.units_posit import exact_value
    fmt = PositFormat(n, es)
    params = unit.resolve({"N": n, "ES": es})
    inputs = unit.vectors(params, 20_000, np.random.default_rng(seed))
    a, b = inputs["a"].tolist(), inputs["b"].tolist()
    specials = {0, fmt.nar, fmt.one, fmt.maxpos, fmt.minpos, (-fmt.one) & fmt.mask, (-fmt.maxpos) & fmt.mask,
                fmt.mask}
    assert specials <= set(a[:400]) and specials <= set(b[:400])
    ops = inputs["op"].tolist() if "op" in inputs else [None] * len(a)
    ties = 0
    for op, x, y in list(zip(ops, a, b))[:2000]:
        vx, vy = exact_value(x, n, es), exact_value(y, n, es)
        if vx is None or vy is None:
            continue
        exact = vx * vy if op is None else (vx + vy if op == PositAddOp.ADD.value else vx - vy)
        if exact == 0:
            continue
        lower = fmt.from_fraction(abs(exact))
        lower -= exact_value(lower, n, es) > abs(exact)
        ties += lower < fmt.maxpos and exact_value((lower << 1) | 1, n + 1, es) == abs(exact)
    assert ties >= 50, f"only {ties} ties among the first 2000 vectors"


def test_a_mismatch_report_decodes_the_operands():
    params = ADD.resolve({"N": 16})
    inputs = {"op": np.array([1], np.uint64), "a": np.array([0x4000], np.uint64), "b": np.array([0x8000], np.uint64)}
    text = ADD.describe(params, inputs, 0, {"result": 0x8000}, {"result": 0x4000})
    assert "op=SUB" in text and "a=0x4000 (1)" in text and "b=0x8000 (NaR)" in text
    assert "expected result=0x8000 (NaR)" in text and "actual   result=0x4000 (1)" in text


# -- generated Verilog under cocotb + Verilator ---------------------------------

# Depth 0 has its own datapath (the regime runs and the sum's sign copies shifted out by steps), so
# the exhaustive and the random runs cover it beside the default depth.
DEPTHS = pytest.mark.parametrize("depth", [1, 0], ids=["depth1", "depth0"])


@DEPTHS
def test_add_and_sub_of_every_posit8_pair(depth, seed):
    a, b = all_pairs(8)
    op = np.concatenate([np.full(a.size, PositAddOp.ADD.value), np.full(a.size, PositAddOp.SUB.value)]).astype(np.uint64)
    result = run(ADD, {"N": 8, "ES": 2, "depth": depth}, seed,
                 inputs={"op": op, "a": np.tile(a, 2), "b": np.tile(b, 2)}, copies=8)
    assert result.checked == 2 << 16


@DEPTHS
@pytest.mark.parametrize("twos_complement", [True, False])
def test_mul_of_every_posit8_pair(twos_complement, depth, seed):
    a, b = all_pairs(8)
    result = run(MUL, {"N": 8, "ES": 2, "twos_complement": twos_complement, "depth": depth}, seed,
                 inputs={"a": a, "b": b}, copies=8)
    assert result.checked == 1 << 16


@DEPTHS
@pytest.mark.parametrize("unit,n,vectors", [(ADD, 16, 200_000), (ADD, 32, 200_000), (MUL, 16, 100_000),
                                            (MUL, 32, 100_000)], ids=lambda v: getattr(v, "name", v))
def test_1e5_random_vectors_and_corners_per_op(unit, n, vectors, depth, seed):
    """posit_add draws ADD and SUB with equal odds, so each op gets about 10^5 vectors."""
    result = run(unit, {"N": n, "ES": 2, "depth": depth}, seed, vectors=vectors)
    assert result.checked >= vectors and result.measured_latency == result.latency


@pytest.mark.parametrize("unit,overrides", [
    (ADD, {"N": 8, "ES": 0, "depth": 0}), (ADD, {"N": 12, "ES": 1, "depth": 9}), (ADD, {"N": 32, "ES": 3, "depth": 2}),
    (ADD, {"N": 32, "ES": 2, "depth": 9}),
    (MUL, {"N": 8, "ES": 0, "depth": 3}), (MUL, {"N": 12, "ES": 1, "depth": 0}), (MUL, {"N": 32, "ES": 3, "depth": 2}),
    (MUL, {"N": 32, "ES": 2, "depth": 7}), (MUL, {"N": 32, "ES": 2, "depth": 7, "twos_complement": False}),
    (MUL, {"N": 16, "ES": 2, "depth": 1, "twos_complement": False}),
], ids=lambda v: getattr(v, "name", None) or " ".join(f"{k}={x}" for k, x in v.items()))
def test_other_formats_and_depths_with_gaps_and_stalls(unit, overrides, seed):
    """Non-standard ES, an odd width, depth 0 and the maximum depth of each unit."""
    result = run(unit, overrides, seed, vectors=30_000, p_gap=0.3, p_stall=0.3)
    assert result.measured_latency == overrides["depth"] + 1


@pytest.mark.slow
@pytest.mark.parametrize("unit,n,es", [(u, n, es) for u in (ADD, MUL) for n, es in ((16, 2), (32, 2))],
                         ids=lambda v: getattr(v, "name", v))
def test_1e7_random_vectors(unit, n, es, seed):
    run(unit, {"N": n, "ES": es}, seed, vectors=10_000_000)


@pytest.mark.slow
@pytest.mark.parametrize("n,es", [(n, es) for n in range(6, 11) for es in range(5)])
def test_every_pair_of_small_formats(n, es, seed):
    a, b = all_pairs(n)
    op = np.concatenate([np.zeros(a.size), np.ones(a.size)]).astype(np.uint64)
    run(ADD, {"N": n, "ES": es, "depth": 0}, seed, inputs={"op": op, "a": np.tile(a, 2), "b": np.tile(b, 2)}, copies=8)
    run(MUL, {"N": n, "ES": es, "depth": 0}, seed, inputs={"a": a, "b": b}, copies=8)
