# amaranth: UnusedElaboratable=no
"""fma and exsdotp: cocotb + Verilator regressions of the generated Verilog against golden.fp, all five modes."""

import numpy as np
import pytest

from golden import fp
from hdl.registry import RegistryError, get_unit
from sim.runner import simulate


U64 = np.uint64


def run(name, overrides, seed, **kw):
    unit = get_unit(name)
    result = simulate(unit, unit.resolve(overrides), seed=seed, log=lambda *a: None, **kw)
    print(result.summary())
    assert result.ok, result.summary()
    return result


def on_every_copy(name, inputs):
    """``inputs`` once per lockstep copy of ``name``'s simulation model, and that count: every copy runs
    every directed row, and the test reuses the Verilator model its random regression built."""
    copies = get_unit(name).sim_copies
    return {key: np.tile(np.asarray(value), copies) for key, value in inputs.items()}, copies


@pytest.mark.parametrize("name,overrides", [
    ("exsdotp", {"src": "e5m2", "dst": "fp16"}),
    ("exsdotp", {"src": "e4m3", "dst": "fp16"}),
    ("exsdotp", {"src": "e4m3fn", "dst": "fp16"}),
    ("exsdotp", {"src": "e5m2", "dst": "bf16"}),
    ("exsdotp", {"src": "fp16", "dst": "fp32"}),
    ("exsdotp", {"src": "bf16", "dst": "fp32"}),
    ("exsdotp", {"src": "e5m2", "dst": "fp16", "vsum": True}),
    ("exsdotp", {"src": "bf16", "dst": "fp32", "vsum": True}),
    ("fma", {"fmt": "fp32"}),
    ("fma", {"fmt": "fp16"}),
    ("fma", {"fmt": "bf16"}),
    ("fma", {"fmt": "fp16", "src": "e5m2"}),
    ("fma", {"fmt": "fp32", "src": "fp16"}),
    ("fma", {"fmt": "fp32", "src": "bf16"}),
    ("exsdotp_simd", {"src": "e5m2", "dst": "fp16"}),
    ("exsdotp_simd", {"src": "fp16", "dst": "fp32"}),
], ids=str)
def test_100k_random_vectors_and_corners_in_all_rounding_modes(name, overrides, seed):
    result = run(name, overrides, seed, vectors=100_000)
    assert result.checked >= 100_000
    assert result.measured_latency == result.latency


@pytest.mark.parametrize("name,overrides", [
    ("exsdotp", {"depth": 0}),
    ("exsdotp", {"depth": 11}),
    ("exsdotp", {"src": "fp16", "dst": "fp32", "depth": 11}),
    ("fma", {"fmt": "fp16", "depth": 0}),
    ("fma", {"fmt": "bf16", "src": "e4m3", "depth": 6}),
    ("fma", {"fmt": "fp32", "depth": 11}),
    ("exsdotp_simd", {"src": "e4m3", "dst": "bf16", "flen": 32, "depth": 0}),
    pytest.param("exsdotp_simd", {"src": "bf16", "dst": "fp32", "depth": 9}, marks=pytest.mark.slow),
    pytest.param("exsdotp_simd", {"src": "fp16", "dst": "fp32", "depth": 0, "vsum": True}, marks=pytest.mark.slow),
], ids=str)
def test_every_pipeline_depth_under_gaps_and_back_pressure(name, overrides, seed):
    run(name, overrides, seed, vectors=20_000, p_gap=0.3, p_stall=0.3)


@pytest.mark.parametrize("src", ["e5m2", "e4m3", "e4m3fn"])
def test_every_fp8_product_pair_in_an_expanding_fma(src, seed):
    """All 65536 (a, b) pairs of an fp8 format into fp16, c from fp16 corners, the five modes in turn."""
    rng = np.random.default_rng(seed)
    pairs = np.arange(1 << 16, dtype=U64)
    corners = fp.corner_patterns(fp.FP16)
    inputs = {"op": rng.integers(0, 4, size=1 << 16, dtype=U64), "a": pairs & U64(0xFF), "b": pairs >> U64(8),
              "c": rng.choice(np.concatenate([corners, np.zeros(len(corners), U64)]), size=1 << 16),
              "rm": pairs % U64(5)}
    result = run("fma", {"fmt": "fp16", "src": src}, seed, inputs=inputs)
    assert result.checked == 1 << 16


def test_products_that_cancel_below_c_give_exactly_c_with_nx_clear_in_every_mode(seed):
    """e5m2 -> fp16: a0 = b0 = 0x01, a1 = 0x81, b1 = 0x01, c = 1.0 (0x3C00): exactly 1.0, no flags.

    The open reference design (CVFPU's ExSdotp) rounds this wrongly under RTZ and RDN."""
    n = 5
    inputs = {"op": np.zeros(n, U64), "a0": np.full(n, 0x01, U64), "b0": np.full(n, 0x01, U64),
              "a1": np.full(n, 0x81, U64), "b1": np.full(n, 0x01, U64), "c": np.full(n, 0x3C00, U64),
              "rm": np.arange(5, dtype=U64)}
    expected = get_unit("exsdotp").golden(get_unit("exsdotp").resolve({}), inputs)
    assert (expected["result"] == 0x3C00).all() and (expected["flags"] == 0).all()
    inputs, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {}, seed, inputs=inputs).checked == n * copies


@pytest.mark.parametrize("src", ["e5m2", "e4m3fn"])
def test_sums_beyond_the_clamped_frame_overflow_and_tiny_products_act_as_one_sticky_bit(src, seed):
    """fp8 -> fp16 exsdotp, every mode: the exact frame keeps only the bits from 2**(emin - P - 1) up to
    2**16 (``clamp_frame`` in ``fused_dot``).  Products near the top of the source range that cancel
    partly (sums around 2**16..2**19, and exactly -2**17); products at the bottom (subnormal factors)
    that cancel exactly or not against c = +-0, tiny subnormals, +-max subnormal, +-min normal
    (tininess after rounding) or a random c; and one of each."""
    s = fp.FORMATS[src.upper()]
    rng = np.random.default_rng(seed)
    d = fp.decode(np.arange(256, dtype=U64), s)
    finite = np.flatnonzero((d.cls != fp.NAN) & (d.cls != fp.INF))
    exponent = d.exponent[finite]
    bottom = finite[exponent <= s.emin + 1].astype(U64)
    n = 6000

    def factors_of(target):
        """Normal pattern pairs whose exponents add up to ``target`` (products 2**target..2**(target+2))."""
        ea = rng.integers(np.maximum(s.emin, target - s.emax), np.minimum(s.emax, target - s.emin) + 1)
        a, b = (np.array([rng.choice(finite[exponent == e]) for e in es], U64) for es in (ea, target - ea))
        return a, b

    kind = rng.integers(0, 3, size=n)                                   # 0: both huge, 1: both tiny, 2: one each
    huge = [factors_of(rng.integers(14, min(19, 2 * s.emax) + 1, size=n)) for _ in range(2)]
    pick = lambda: rng.choice(bottom, size=n)
    a0, b0 = np.where(kind == 1, pick(), huge[0][0]), np.where(kind == 1, pick(), huge[0][1])
    a1, b1 = np.where(kind == 0, huge[1][0], pick()), np.where(kind == 0, huge[1][1], pick())
    small_c = rng.choice(np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x0003, 0x8002, 0x03FF, 0x83FF, 0x0400, 0x8400],
                                     U64), size=n)                     # +-0, tiny, +-max subnormal, +-min normal
    c = np.where(rng.random(n) < 0.5, small_c, rng.integers(0, 1 << 16, size=n, dtype=U64))
    # -32768 * 4 = -2**17 with c = 0 and c = 2**-24: the clamped value's most negative end.
    if s is fp.E5M2:
        a0[:2], b0[:2], a1[:2], b1[:2], c[:2] = 0xF8, 0x44, 0, 0, [0, 1]
    inputs = {"op": rng.integers(0, 2, size=n, dtype=U64), "a0": a0, "b0": b0, "a1": a1, "b1": b1, "c": c,
              "rm": np.arange(n, dtype=U64) % U64(5)}
    unit = get_unit("exsdotp")
    params = unit.resolve({"src": src, "dst": "fp16"})
    expected = unit.golden(params, inputs)
    flags = expected["flags"]
    assert ((flags & U64(fp.OF)) != 0).sum() > n // 10
    if 2 * (s.emin - s.man_bits) < fp.FP16.emin - fp.FP16.precision:   # products reach below the frame's cut
        assert ((flags & U64(fp.UF)) != 0).sum() > n // 20
    huge_but_finite = (kind == 0) & ((flags & U64(fp.OF)) == 0) & ((expected["result"] & U64(0x7C00)) != 0x7C00)
    assert huge_but_finite.sum() > n // 100                             # partial cancellations that fit
    copied, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {"src": src, "dst": "fp16"}, seed, inputs=copied).checked == n * copies


@pytest.mark.parametrize("src,dst,depth", [("fp16", "fp32", 0), ("fp16", "fp32", 11), ("e5m2", "bf16", 0)])
def test_the_smaller_product_survives_c_cancelling_the_larger_at_every_exponent_distance(src, dst, depth, seed):
    """exsdotp without c in the products' frame, every mode: the products' exponent sums up to the
    whole source product range apart (either product the larger, subnormal factors included), c =
    minus the larger product exactly, a few ulps off it, +-the smaller one, +-0, or random with an
    exponent from 40 binades below the smaller one's up to it.  The product sum is exact in a frame
    anchored at the larger product's exponent (``order_products`` in ``fused_dot``), so the smaller
    product is the exact result when c cancels the larger.  c's window has no bits below that frame
    (a nonzero sum's leading one lies well above its lsb), and a zero product never anchors it: a
    quarter of the larger products here have a +-0 factor."""
    s, t = fp.FORMATS[src.upper()], fp.FORMATS[dst.upper()]
    rng = np.random.default_rng(seed)
    d = fp.decode(np.arange(1 << s.width, dtype=U64), s)
    finite = np.flatnonzero((d.cls != fp.NAN) & (d.cls != fp.INF))
    exponent = d.exponent[finite]
    finite = finite.astype(U64)
    n = 6000

    def factors_of(target):
        """Finite pattern pairs whose unbiased exponents (emin for subnormals and zero) add up to ``target``."""
        ea = rng.integers(np.maximum(s.emin, target - s.emax), np.minimum(s.emax, target - s.emin) + 1)
        return [np.array([rng.choice(finite[exponent == e]) for e in es], U64) for es in (ea, target - ea)]

    distance = rng.integers(0, 2 * (s.emax - s.emin) + 1, size=n)
    big_sum = rng.integers(2 * s.emin + distance, 2 * s.emax + 1)
    big, small = factors_of(big_sum), factors_of(big_sum - distance)
    big[0] = np.where(rng.random(n) < 0.25, rng.integers(0, 2, size=n, dtype=U64) << U64(s.width - 1), big[0])
    swap = rng.random(n) < 0.5
    a0, b0 = (np.where(swap, y, x) for x, y in zip(big, small))
    a1, b1 = (np.where(swap, x, y) for x, y in zip(big, small))
    zero = np.zeros(n, U64)
    exact = lambda x, y: fp.fused_dot(np.stack([x, zero], 1), np.stack([y, zero], 1), zero, src=s, dst=t, rm=0)[0]
    sign, mask = U64(1 << (t.width - 1)), U64((1 << t.width) - 1)
    minus_big, small_value = exact(*big) ^ sign, exact(*small)
    kind = rng.integers(0, 5, size=n)
    ulps = rng.integers(-3, 4, size=n)
    signs = rng.integers(0, 2, size=n, dtype=U64) * sign
    below_small = np.clip(fp.decode(small_value, t).exponent + t.bias + rng.integers(-40, 1, size=n), 1,
                          2 * t.bias).astype(U64) << U64(t.man_bits)
    c = np.select([kind == 0, kind == 1, kind == 2, kind == 3],
                  [minus_big, (minus_big.astype(np.int64) + ulps).astype(U64) & mask, small_value ^ signs, signs],
                  signs | below_small | rng.integers(0, 1 << t.man_bits, size=n, dtype=U64))
    inputs = {"op": zero, "a0": a0, "b0": b0, "a1": a1, "b1": b1, "c": c, "rm": np.arange(n, dtype=U64) % U64(5)}
    unit = get_unit("exsdotp")
    params = unit.resolve({"src": src, "dst": dst, "depth": depth})
    expected = unit.golden(params, inputs)
    cancelled = (kind == 0) & (small_value != 0) & (minus_big & ~sign != 0)
    assert cancelled.sum() > n // 20 and (expected["result"][cancelled] == small_value[cancelled]).all()
    assert ((expected["flags"] & U64(fp.NX)) != 0).sum() > n // 10      # and inexact sums beside them
    copied, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {"src": src, "dst": dst, "depth": depth}, seed, inputs=copied).checked == n * copies


@pytest.mark.parametrize("fmt,src", [("fp32", "same"), ("bf16", "same"), ("fp32", "bf16")])
def test_tiny_products_with_zero_c_round_into_the_subnormal_range_in_every_mode(fmt, src, seed):
    """c = +-0 and a * b from 2P + 12 binades below 2**emin up to just above it (P, emin of the
    destination): a zero c has the subnormals' exponent, so the window is placed from it (c above the
    product) or holds it, and never lies wholly below 2**emin (``window_lo`` in ``fused_dot``; no
    denormalizing shift is built, at any depth): the product is a sticky bit below the subnormals, or
    reaches them.  At the default depth, so the random regression's simulation model is reused."""
    d = fp.FORMATS[fmt.upper()]
    s = d if src == "same" else fp.FORMATS[src.upper()]
    rng = np.random.default_rng(seed)
    n = 4000
    target = rng.integers(d.emin - 2 * d.precision - 12, d.emin + 3, size=n)
    ea = rng.integers(s.emin, 1, size=n)
    eb = target - ea
    keep = (eb >= s.emin - s.man_bits) & (eb <= s.emax)
    ea, eb = ea[keep], eb[keep]
    mant = lambda size: rng.integers(0, 1 << s.man_bits, size=size, dtype=U64)
    sign = lambda size: rng.integers(0, 2, size=size, dtype=U64) << U64(s.width - 1)
    a = sign(len(ea)) | ((ea + s.bias).astype(U64) << U64(s.man_bits)) | mant(len(ea))
    position = np.clip(eb - s.emin + s.man_bits, 0, s.man_bits - 1).astype(U64)
    subnormal = (U64(1) << position) | (mant(len(eb)) & ((U64(1) << position) - U64(1)))
    normal = (np.clip(eb + s.bias, 1, None).astype(U64) << U64(s.man_bits)) | mant(len(eb))
    b = sign(len(eb)) | np.where(eb >= s.emin, normal, subnormal)
    m = len(a)
    inputs = {"op": np.zeros(m, U64), "a": a, "b": b, "c": rng.integers(0, 2, size=m, dtype=U64) << U64(d.width - 1),
              "rm": np.arange(m, dtype=U64) % U64(5)}
    unit = get_unit("fma")
    expected = unit.golden(unit.resolve({"fmt": fmt, "src": src}), inputs)
    magnitude = expected["result"] & U64((1 << (d.width - 1)) - 1)
    assert (magnitude == 0).any() and (magnitude == 1).any() and (magnitude > 1).any()
    assert ((expected["flags"] & U64(fp.UF)) != 0).sum() > m // 2
    copied, copies = on_every_copy("fma", inputs)
    assert run("fma", {"fmt": fmt, "src": src}, seed, inputs=copied).checked == m * copies


@pytest.mark.parametrize("name,overrides,message", [
    ("exsdotp", {"src": "fp16", "dst": "fp16"}, "twice the source width"),
    ("exsdotp", {"src": "e5m2", "dst": "fp32"}, "twice the source width"),
    ("exsdotp", {"src": "fp32"}, "must be one of e5m2, e4m3, e4m3fn, fp16, bf16"),
    ("exsdotp", {"src": "bf16", "dst": "fp16"}, "twice the source width"),
    ("exsdotp", {"vsum": "maybe"}, "vsum"),
    ("fma", {"fmt": "fp16", "src": "fp32"}, "wider than the destination"),
    ("fma", {"fmt": "e5m2"}, "must be one of fp32, fp16, bf16"),
    ("fma", {"depth": 13}, "integer in 0..12"),
    ("exsdotp_simd", {"flen": 48}, "'flen' must be one of 32, 64, got 48"),
    ("exsdotp_simd", {"src": "e5m2", "dst": "fp32"}, "twice the source width"),
], ids=str)
def test_bad_parameters_name_themselves(name, overrides, message):
    with pytest.raises(RegistryError, match=message):
        get_unit(name).resolve(overrides)


def test_components_take_float_formats_not_their_names():
    from hdl.exsdotp import Exsdotp
    from hdl.fma import Fma
    with pytest.raises(TypeError, match=r"Fma: fmt must be a golden.fp.FloatFormat \(e.g. golden.fp.FP16\), got 'fp32'"):
        Fma(fmt="fp32")
    with pytest.raises(TypeError, match="Fma: src must be a golden.fp.FloatFormat"):
        Fma(fmt=fp.FP32, src="fp16")
    with pytest.raises(TypeError, match="Exsdotp: src must be a golden.fp.FloatFormat, got 'e5m2'".replace(
            ", got", r" \(e.g. golden.fp.FP16\), got")):
        Exsdotp(src="e5m2", dst=fp.FP16)
    with pytest.raises(ValueError, match=r"src=fp16 \(16 bits\) needs a 32-bit dst, got dst=fp16 \(16 bits\)"):
        Exsdotp(src=fp.FP16, dst=fp.FP16)


@pytest.mark.parametrize("kind,src,dst", [
    ("fma", fp.FloatFormat(3, 2), fp.FloatFormat(4, 5)),
    ("fma", fp.FloatFormat(4, 3, bias=3), fp.FloatFormat(6, 4)),
    ("fma", fp.FloatFormat(2, 1), fp.FloatFormat(2, 1)),
    ("exsdotp", fp.FloatFormat(3, 4), fp.FloatFormat(6, 9)),
    ("exsdotp", fp.FloatFormat(4, 3, flavour="fn"), fp.FloatFormat(5, 10, bias=20)),
], ids=str)
def test_formats_outside_the_registry_are_built_bit_exactly(kind, src, dst, seed):
    """The components take any FloatFormat the golden model does (the CLI names only the common ones):
    250 random vectors in the Amaranth simulator, FMADD / SDOTP in every rounding mode."""
    from amaranth.sim import Simulator
    from hdl.exsdotp import Exsdotp
    from hdl.fma import Fma
    from hdl.units_fp import _fused_vectors
    k, n = (1, 250) if kind == "fma" else (2, 250)
    rng = np.random.default_rng(seed)
    a, b, c, rm = _fused_vectors(src, dst, k, n, rng, [])
    expected = np.stack(fp.fused_dot(a, b, c, src=src, dst=dst, rm=rm), axis=1)
    dut = Fma(fmt=dst, src=src, depth=0) if kind == "fma" else Exsdotp(src=src, dst=dst, depth=0)
    operands = {"a": a[:, 0], "b": b[:, 0]} if kind == "fma" else \
        {"a0": a[:, 0], "b0": b[:, 0], "a1": a[:, 1], "b1": b[:, 1]}
    actual = []

    async def bench(ctx):
        ctx.set(dut.out_ready, 1)
        ctx.set(dut.in_valid, 1)
        for i in range(n):
            for port, values in {**operands, "c": c, "rm": rm}.items():
                ctx.set(getattr(dut, port), int(values[i]))
            await ctx.tick().until(dut.out_valid)
            actual.append((ctx.get(dut.result), ctx.get(dut.flags)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    wrong = [i for i in range(n) if actual[i] != tuple(int(v) for v in expected[i])]
    assert not wrong, (f"{len(wrong)} of {n} differ; first: a={a[wrong[0]]} b={b[wrong[0]]} c={c[wrong[0]]} "
                       f"rm={rm[wrong[0]]}: expected {expected[wrong[0]]}, got {actual[wrong[0]]}")


@pytest.mark.parametrize("vsum", [False, True])
def test_ops_not_built_give_the_canonical_nan_with_nv(vsum, seed):
    """Codes 6 and 7 always, VSUM/VSUMN (4, 5) without vsum: canonical NaN and NV whatever the operands."""
    ops = [4, 5, 6, 7] if not vsum else [6, 7]
    n = len(ops)
    inputs = {k: np.array(v, dtype=U64) for k, v in {
        "op": ops, "a0": [0x3C] * n, "b0": [0x3C] * n, "a1": [0] * n, "b1": [0] * n,
        "c": [0x3C00] * n, "rm": [0] * n}.items()}
    copied, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {"src": "e5m2", "dst": "fp16", "vsum": vsum}, seed, inputs=copied).checked == n * copies
    params = get_unit("exsdotp").resolve({"src": "e5m2", "dst": "fp16", "vsum": vsum})
    golden = get_unit("exsdotp").golden(params, inputs)
    assert all(int(r) == fp.FP16.canonical_nan for r in golden["result"])
    assert all(int(f) == fp.NV for f in golden["flags"])


def test_vsum_adds_the_destination_patterns_made_of_the_source_halves(seed):
    """e5m2 -> fp16, VSUM: x = {a1, a0} = 1.5, y = {b1, b0} = -0.25, c = 2.0 gives 3.25; VSUMN gives 0.75."""
    x, y, c = 0x3E00, 0xB400, 0x4000                               # fp16 1.5, -0.25, 2.0
    inputs = {k: np.array(v, dtype=U64) for k, v in {
        "op": [4, 5], "a0": [x & 0xFF] * 2, "a1": [x >> 8] * 2, "b0": [y & 0xFF] * 2, "b1": [y >> 8] * 2,
        "c": [c, c], "rm": [0, 0]}.items()}
    copied, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {"src": "e5m2", "dst": "fp16", "vsum": True}, seed, inputs=copied).checked == 2 * copies
    params = get_unit("exsdotp").resolve({"src": "e5m2", "dst": "fp16", "vsum": True})
    golden = get_unit("exsdotp").golden(params, inputs)
    assert [int(r) for r in golden["result"]] == [0x4280, 0x3A00] and [int(f) for f in golden["flags"]] == [0, 0]


@pytest.mark.parametrize("rm", range(5))
def test_a_bf16_product_far_below_two_cancelling_terms_is_the_exact_result(rm, seed):
    """bf16 -> fp32: 1.0 * 1.0 + 2**-65 * 2**-65 - 1.0 is exactly 2**-130 (an fp32 subnormal), no flags;
    and 1.0 * 1.0 + 2**-65 * 2**-65 - 2**-100 rounds per mode from just below 1.0 + 2**-130."""
    one, tiny = 0x3F80, (127 - 65) << 7                          # bf16 1.0, 2**-65
    inputs = {k: np.array(v, dtype=U64) for k, v in {
        "op": [0, 0], "a0": [one, one], "b0": [one, one], "a1": [tiny, tiny], "b1": [tiny, tiny],
        "c": [0xBF800000, 0x8D800000], "rm": [rm, rm]}.items()}  # fp32 -1.0, -2**-100
    copied, copies = on_every_copy("exsdotp", inputs)
    assert run("exsdotp", {"src": "bf16", "dst": "fp32"}, seed, inputs=copied).checked == 2 * copies
    expected, flags = fp.fused_dot(np.stack([inputs["a0"], inputs["a1"]], 1), np.stack([inputs["b0"], inputs["b1"]], 1),
                                   inputs["c"], src=fp.BF16, dst=fp.FP32, rm=rm)
    assert int(expected[0]) == 1 << (149 - 130) and int(flags[0]) == 0
    assert int(flags[1]) == fp.NX


def test_simd_lanes_take_their_operands_from_the_register_elements_the_isa_names(seed):
    """Lane 1 of fp16 -> fp32: rs1 elements 2, 3 times rs2 elements 2, 3 plus rd element 1; lane 0 gets zeros."""
    one, two, three = 0x3C00, 0x4000, 0x4200                     # fp16 1.0, 2.0, 3.0
    rs1 = (two << 32) | (three << 48)
    rs2 = (three << 32) | (one << 48)
    rd = 0x3F800000 << 32                                        # fp32 1.0 in lane 1
    inputs = {"op": np.zeros(1, U64), "rs1": np.array([rs1], U64), "rs2": np.array([rs2], U64),
              "rd": np.array([rd], U64), "rm": np.zeros(1, U64)}
    unit = get_unit("exsdotp_simd")
    params = unit.resolve({"src": "fp16", "dst": "fp32"})
    expected = unit.golden(params, inputs)
    assert int(expected["result"][0]) == 0x41200000 << 32       # 2*3 + 3*1 + 1 = 10.0 in lane 1, +0 in lane 0
    assert int(expected["flags"][0]) == 0
    copied, copies = on_every_copy("exsdotp_simd", inputs)
    assert run("exsdotp_simd", {"src": "fp16", "dst": "fp32"}, seed, inputs=copied).checked == copies
