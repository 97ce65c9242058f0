"""Registry entries of the floating-point family: ``fma``, ``exsdotp``, ``exsdotp_simd`` and ``bf16n_fma``."""

import numpy as np

from golden import bf16n, fp
from . import bf16n_fma, exsdotp, fma
from .fused_dot import CUT_POINTS
from .registry import Param, Unit, register


FORMATS = {"fp32": fp.FP32, "fp16": fp.FP16, "bf16": fp.BF16, "e5m2": fp.E5M2, "e4m3": fp.E4M3,
           "e4m3fn": fp.E4M3FN}
DST_NAMES = ("fp32", "fp16", "bf16")
RM_NOTE = "rm: 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM; 5..7 are reserved and give the canonical NaN with NV."
FLAGS_NOTE = "flags: RISC-V fflags NV=16, OF=4, UF=2, NX=1 (tininess after rounding; DZ never set)."
U64 = np.uint64


# -- vectors -------------------------------------------------------------------

def _moderate(fmt, shape, rng, spread):
    """Finite patterns with exponent fields within ``spread`` of the bias (clipped to the finite range)."""
    top = (1 << fmt.exp_bits) - (2 if fmt.has_inf else 1)
    field = np.clip(fmt.bias + rng.integers(-spread, spread + 1, size=shape), 0, top).astype(U64)
    mant = rng.integers(0, 1 << fmt.man_bits, size=shape, dtype=U64)
    sign = rng.integers(0, 2, size=shape, dtype=U64)
    out = (sign << U64(fmt.width - 1)) | (field << U64(fmt.man_bits)) | mant
    if not fmt.has_inf:
        out = np.where(out & U64((1 << (fmt.width - 1)) - 1) == U64(fmt.canonical_nan), out - U64(1), out)
    return out


def _fused_vectors(src, dst, k, n, rng, directed=()):
    """a, b: (n, k) src patterns; c: dst patterns; rm: 0..7 (2 % reserved).  Directed rows first, then
    corner-value mixes, then random rows of several kinds: uniform bits, moderate exponents,
    subnormal-range operands, products cancelling each other (k = 2), c cancelling the products,
    c placed at every offset around the product sum and around the lowest product exponent,
    where the alignment window of the datapath ends, and (k = 2) c cancelling one product exactly
    or nearly cancelling a product far below the other, which the three-term datapath of wide
    sources must keep exact."""
    rows = list(directed)[:n]
    m = n - len(rows)
    cs, cd = fp.corner_patterns(src), fp.corner_patterns(dst)
    kind = rng.choice(11, size=m, p=[0.1, 0.1, 0.1, 0.1, 0.15, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05])
    spread_s = min(src.bias, 2 * src.man_bits + 4)
    a = _moderate(src, (m, k), rng, spread_s)
    b = _moderate(src, (m, k), rng, spread_s)
    c = _moderate(dst, (m,), rng, min(dst.bias, 4 * src.man_bits + 8))
    # 0: corner values everywhere
    pick = kind == 0
    a[pick] = rng.choice(cs, size=(pick.sum(), k))
    b[pick] = rng.choice(cs, size=(pick.sum(), k))
    c[pick] = rng.choice(cd, size=pick.sum())
    # 1: uniform random bit patterns
    pick = kind == 1
    a[pick] = rng.integers(0, 1 << src.width, size=(pick.sum(), k), dtype=U64)
    b[pick] = rng.integers(0, 1 << src.width, size=(pick.sum(), k), dtype=U64)
    c[pick] = rng.integers(0, 1 << dst.width, size=pick.sum(), dtype=U64)
    # 3: subnormal range: exponent fields 0 and 1
    pick = kind == 3
    low = (U64(1) << U64(src.man_bits + 1)) - U64(1)
    a[pick] &= low | U64(1 << (src.width - 1))
    b[pick] = np.where(rng.random((pick.sum(), k)) < 0.5, b[pick] & (low | U64(1 << (src.width - 1))), b[pick])
    c[pick] &= (U64(1) << U64(dst.man_bits + 1)) - U64(1) | U64(1 << (dst.width - 1))
    # 4: the second product cancels (most of) the first
    if k >= 2:
        pick = np.flatnonzero(kind == 4)
        a[pick, 1] = a[pick, 0] ^ U64(1 << (src.width - 1))
        b[pick, 1] = b[pick, 0] ^ rng.integers(0, 2, size=len(pick), dtype=U64)
    # 5 (and 4): c cancels the rounded product sum, leaving what rounding dropped
    pick = np.flatnonzero((kind == 5) | (kind == 4))
    if len(pick):
        rounded, _ = fp.fused_dot(a[pick], b[pick], np.zeros(len(pick), U64), src=src, dst=dst, rm=fp.RTZ)
        c[pick] = rounded ^ U64(1 << (dst.width - 1))
    # 6: c's exponent field at an offset from the rounded product sum's; 7: from the lowest product exponent
    c_top = (1 << dst.exp_bits) - 2
    reach = 2 * dst.precision + 8
    pick = np.flatnonzero(kind == 6)
    if len(pick):
        rounded, _ = fp.fused_dot(a[pick], b[pick], np.zeros(len(pick), U64), src=src, dst=dst, rm=fp.RTZ)
        base = ((rounded >> U64(dst.man_bits)) & U64(c_top + 1)).astype(np.int64)
        field = np.clip(base + rng.integers(-reach, reach + 1, size=len(pick)), 0, c_top).astype(U64)
        c[pick] = (c[pick] & ~(U64(c_top + 1) << U64(dst.man_bits))) | (field << U64(dst.man_bits))
    pick = np.flatnonzero(kind == 7)
    if len(pick):
        tiny = U64(3) | U64(1 << (src.width - 1))
        a[pick] &= np.where(rng.random((len(pick), k)) < 0.5, tiny, low | U64(1 << (src.width - 1)))
        b[pick] &= np.where(rng.random((len(pick), k)) < 0.5, tiny, low | U64(1 << (src.width - 1)))
        lowest = 2 * (src.emin - src.man_bits) + dst.bias + dst.man_bits
        field = np.clip(lowest + rng.integers(-reach, reach + 1, size=len(pick)), 0, c_top).astype(U64)
        c[pick] = (c[pick] & ~(U64(c_top + 1) << U64(dst.man_bits))) | (field << U64(dst.man_bits))
        # half of them: c is minus the product sum with its low mantissa bits scrambled
        near = pick[rng.random(len(pick)) < 0.5]
        rounded, _ = fp.fused_dot(a[near], b[near], np.zeros(len(near), U64), src=src, dst=dst, rm=fp.RTZ)
        noise = rng.integers(0, 1 << min(8, dst.man_bits), size=len(near), dtype=U64)
        c[near] = (rounded ^ U64(1 << (dst.width - 1))) ^ noise
    # 10: a normal factor (a quarter of them powers of two) times a subnormal one (mostly of a few bits),
    # c's exponent field at or below the rounded product's: the product's leading one lies as low in its
    # significand as it can, and c reaches below it
    pick = np.flatnonzero(kind == 10)
    if len(pick):
        sign_bit = U64(1 << (src.width - 1))
        field = rng.integers(src.bias, (1 << src.exp_bits) - 1, size=(len(pick), k), dtype=U64)
        a_mant = np.where(rng.random((len(pick), k)) < 0.25, U64(0), a[pick] & U64((1 << src.man_bits) - 1))
        a[pick] = (a[pick] & sign_bit) | (field << U64(src.man_bits)) | a_mant
        mant = rng.integers(1, 1 << src.man_bits, size=(len(pick), k), dtype=U64)
        mant = np.maximum(mant >> rng.integers(0, src.man_bits, size=(len(pick), k), dtype=U64), U64(1))
        b[pick] = (b[pick] & sign_bit) | mant
        rounded, _ = fp.fused_dot(a[pick], b[pick], np.zeros(len(pick), U64), src=src, dst=dst, rm=fp.RTZ)
        base = ((rounded >> U64(dst.man_bits)) & U64(c_top + 1)).astype(np.int64)
        field = np.clip(base - rng.integers(0, reach + 1, size=len(pick)), 0, c_top).astype(U64)
        c[pick] = (c[pick] & ~(U64(c_top + 1) << U64(dst.man_bits))) | (field << U64(dst.man_bits))
    if k >= 2:
        # 8: c is minus the first product exactly (when it fits), the second product anywhere, mostly tiny:
        # the sum is that product alone, however far below the other terms it lies
        pick = np.flatnonzero(kind == 8)
        first, _ = fp.fused_dot(a[pick, :1], b[pick, :1], np.zeros(len(pick), U64), src=src, dst=dst, rm=fp.RTZ)
        c[pick] = first ^ U64(1 << (dst.width - 1))
        tiny = rng.random(len(pick)) < 0.7
        a[pick[tiny], 1] &= low | U64(1 << (src.width - 1))
        # 9: a large first product; the second and c far below it and nearly cancelling each other
        pick = np.flatnonzero(kind == 9)
        a[pick, 1] &= low | U64(1 << (src.width - 1))
        second, _ = fp.fused_dot(a[pick, 1:], b[pick, 1:], np.zeros(len(pick), U64), src=src, dst=dst, rm=fp.RTZ)
        c[pick] = (second ^ U64(1 << (dst.width - 1))) ^ rng.integers(0, 4, size=len(pick), dtype=U64)
    rm = rng.integers(0, 5, size=m, dtype=U64)
    reserved = rng.random(m) < 0.02
    rm[reserved] = rng.integers(5, 8, size=reserved.sum(), dtype=U64)
    if rows:
        da = np.array([r[0] for r in rows], dtype=U64).reshape(-1, k)
        db = np.array([r[1] for r in rows], dtype=U64).reshape(-1, k)
        dc = np.array([r[2] for r in rows], dtype=U64)
        drm = np.array([r[3] for r in rows], dtype=U64)
        a, b, c, rm = np.concatenate([da, a]), np.concatenate([db, b]), np.concatenate([dc, c]), np.concatenate([drm, rm])
    return a, b, c, rm


def _describe_value(pattern, fmt):
    pattern = int(pattern)
    d = fp.decode(np.array([pattern], dtype=U64), fmt)
    if d.cls[0] == fp.NAN:
        text = "sNaN" if d.signalling[0] else "NaN"
    elif d.cls[0] == fp.INF:
        text = "-Inf" if d.sign[0] else "+Inf"
    else:
        text = repr(float(fp.to_fraction(np.array([pattern], dtype=U64), fmt)[0]))
    return f"0x{pattern:0{(fmt.width + 3) // 4}x} ({text})"


def _flag_text(flags):
    names = [n for n, bit in (("NV", fp.NV), ("OF", fp.OF), ("UF", fp.UF), ("NX", fp.NX)) if flags & bit]
    return "|".join(names) or "-"


def _op_name(op_enum, value):
    try:
        return op_enum(value).name
    except ValueError:
        return f"{value} (not built: canonical NaN, NV)"


def _describe(names, formats, op_enum):
    def describe(params, inputs, i, expected, actual):
        dst = FORMATS[params["fmt"] if "fmt" in params else params["dst"]]
        op = int(inputs["op"][i])
        lines = [f"  op={_op_name(op_enum, op)}  rm={int(inputs['rm'][i])}"]
        for name, fmt_key in zip(names, formats):
            lines.append(f"  {name}={_describe_value(inputs[name][i], FORMATS[_fmt(params, fmt_key)])}")
        if op_enum is exsdotp.ExsdotpOp and op in _VSUM_OPS:
            x, y = _vsum_addends(FORMATS[params["src"]], {k: inputs[k][i:i + 1] for k in ("a0", "a1", "b0", "b1")})
            lines.append(f"  VSUM addends x={_describe_value(x[0], dst)} y={_describe_value(y[0], dst)}")
        for what, out in (("expected", expected), ("actual  ", actual)):
            lines.append(f"  {what} result={_describe_value(out['result'], dst)} flags={_flag_text(out['flags'])}")
        return "\n".join(lines)
    return describe


def _fmt(params, key):
    if key == "src" and params.get("src") == "same":
        return params["fmt"]
    return params[key]


# -- fma -------------------------------------------------------------------------

def _fma_formats(params):
    dst = FORMATS[params["fmt"]]
    src = dst if params["src"] == "same" else FORMATS[params["src"]]
    return src, dst


def _fma_golden(params, inputs):
    src, dst = _fma_formats(params)
    op = inputs["op"].astype(U64)
    neg_p = (op == fma.FmaOp.FNMSUB.value) | (op == fma.FmaOp.FNMADD.value)
    neg_c = (op == fma.FmaOp.FMSUB.value) | (op == fma.FmaOp.FNMADD.value)
    a = inputs["a"] ^ np.where(neg_p, U64(1 << (src.width - 1)), U64(0))
    c = inputs["c"] ^ np.where(neg_c, U64(1 << (dst.width - 1)), U64(0))
    result, flags = fp.fused_dot(a[:, None], inputs["b"][:, None], c, src=src, dst=dst, rm=inputs["rm"])
    return {"result": result, "flags": flags}


def _fma_vectors(params, n, rng):
    src, dst = _fma_formats(params)
    one_d = dst.bias << dst.man_bits
    directed = [(src.min_subnormal(), src.min_subnormal(), one_d, rm) for rm in range(5)]
    directed += [(src.max_finite(), src.max_finite(), dst.max_finite(1), rm) for rm in range(8)]
    a, b, c, rm = _fused_vectors(src, dst, 1, n, rng, directed)
    return {"op": rng.integers(0, 4, size=n, dtype=U64), "a": a[:, 0], "b": b[:, 0], "c": c, "rm": rm}


def _fma_validate(params):
    src, dst = _fma_formats(params)
    if src.width > dst.width:
        raise ValueError(f"source {params['src']} is wider than the destination {params['fmt']}")


register(Unit(
    name="fma",
    description="fused multiply-add round(+-a*b +- c), RISC-V modes and fflags; plain or expanding (narrow a, b)",
    params=(
        Param("fmt", "destination format of c and the result", "fp32", kind=str, choices=DST_NAMES),
        Param("src", "format of a and b (same: fmt; narrower: the expanding FMA)", "same", kind=str,
              choices=("same", *FORMATS)),
        Param("depth", f"pipeline registers at the cut points {', '.join(CUT_POINTS)} (latency = depth + 1)",
              1, min=0, max=len(CUT_POINTS)),
    ),
    component=lambda fmt, src, depth: fma.Fma(fmt=FORMATS[fmt], src=None if src == "same" else FORMATS[src],
                                              depth=depth),
    golden=_fma_golden,
    vectors=_fma_vectors,
    describe=_describe(("a", "b", "c"), ("src", "src", "fmt"), fma.FmaOp),
    validate=_fma_validate,
    notes=(
        "op: 0 FMADD a*b+c, 1 FMSUB a*b-c, 2 FNMSUB -(a*b)+c, 3 FNMADD -(a*b)-c.",
        RM_NOTE, FLAGS_NOTE,
        "NaN results are the canonical NaN; subnormals in and out, no flush.",
    ),
    report_sets=tuple({**cfg, "depth": 0, "targets": ("ecp5-85f",)} for cfg in (
        {"fmt": "fp32", "dsp": True}, {"fmt": "fp32", "dsp": False}, {"fmt": "fp16"}, {"fmt": "bf16"},
        {"fmt": "fp16", "src": "e5m2"}, {"fmt": "fp32", "src": "fp16"}, {"fmt": "fp32", "src": "bf16"},
    )) + ({"fmt": "fp16", "src": "e5m2", "depth": 0, "dsp": False, "targets": ("ice40-up5k",)},),
    sim_copies=4,
))


# -- exsdotp ---------------------------------------------------------------------

def _exsdotp_formats(params):
    return FORMATS[params["src"]], FORMATS[params["dst"]]


_VSUM_OPS = (exsdotp.ExsdotpOp.VSUM.value, exsdotp.ExsdotpOp.VSUMN.value)


def _vsum_addends(src, inputs):
    """VSUM's destination-format addends x = {a1, a0}, y = {b1, b0}."""
    w = U64(src.width)
    return inputs["a0"] | (inputs["a1"] << w), inputs["b0"] | (inputs["b1"] << w)


def _exsdotp_golden(params, inputs):
    src, dst = _exsdotp_formats(params)
    op = inputs["op"].astype(U64)
    Op = exsdotp.ExsdotpOp
    exvsum = (op == Op.EXVSUM.value) | (op == Op.EXVSUMN.value)
    negate = (op == Op.SDOTPN.value) | (op == Op.EXVSUMN.value) | (op == Op.VSUMN.value)
    sign = U64(1 << (src.width - 1))
    a = np.stack([inputs["a0"], inputs["a1"]], axis=1) ^ np.where(negate, sign, U64(0))[:, None]
    one = U64(src.bias << src.man_bits)
    b = np.where(exvsum[:, None], one, np.stack([inputs["b0"], inputs["b1"]], axis=1))
    result, flags = fp.fused_dot(a, b, inputs["c"], src=src, dst=dst, rm=inputs["rm"])
    vsum = np.isin(op, _VSUM_OPS)
    if params.get("vsum") and vsum.any():
        x, y = _vsum_addends(src, inputs)
        terms = np.stack([x, y], axis=1) ^ np.where(negate, U64(1 << (dst.width - 1)), U64(0))[:, None]
        one_d = np.full(terms.shape, dst.bias << dst.man_bits, dtype=U64)
        r, f = fp.fused_dot(terms, one_d, inputs["c"], src=dst, dst=dst, rm=inputs["rm"])
        result, flags = np.where(vsum, r, result), np.where(vsum, f, flags)
    not_built = (op > max(_VSUM_OPS)) | (vsum & ~bool(params.get("vsum")))
    result = np.where(not_built, U64(dst.canonical_nan), result)
    flags = np.where(not_built, U64(fp.NV), flags)
    return {"result": result.astype(U64), "flags": flags.astype(U64)}


def _vsum_rows(dst, n, rng):
    """x, y, c: dst patterns for VSUM: corners, uniform bits, moderate values, x = -y exactly,
    x cancelling c exactly with y far below, and subnormals."""
    cd = fp.corner_patterns(dst)
    x, y, c = (_moderate(dst, (n,), rng, min(dst.bias, 3 * dst.precision)) for _ in range(3))
    kind = rng.choice(6, size=n)
    neg = U64(1 << (dst.width - 1))
    pick = kind == 0
    x[pick], y[pick], c[pick] = (rng.choice(cd, size=pick.sum()) for _ in range(3))
    pick = kind == 1
    x[pick], y[pick], c[pick] = (rng.integers(0, 1 << dst.width, size=pick.sum(), dtype=U64) for _ in range(3))
    pick = kind == 2
    y[pick] = x[pick] ^ neg
    pick = kind == 3
    c[pick] = x[pick] ^ neg
    low = (U64(1) << U64(dst.man_bits + 1)) - U64(1)
    y[pick] &= low | neg
    pick = kind == 5
    x[pick] &= low | neg
    y[pick] &= low | neg
    return x, y, c


def _exsdotp_vectors(params, n, rng):
    src, dst = _exsdotp_formats(params)
    sub, neg = src.min_subnormal(), 1 << (src.width - 1)
    one_d = dst.bias << dst.man_bits
    # a0*b0 + a1*b1 cancels exactly below c = 1.0: exactly 1.0, NX clear, in every mode.
    directed = [((sub, sub | neg), (sub, sub), one_d, rm) for rm in range(5)]
    directed += [((sub, sub), (sub, sub), 0, rm) for rm in range(5)]
    directed += [((src.max_finite(), src.max_finite()), (src.max_finite(), src.max_finite()), dst.max_finite(), rm)
                 for rm in range(5)]
    a, b, c, rm = _fused_vectors(src, dst, 2, n, rng, directed)
    weights = [0.3, 0.1, 0.1, 0.1, 0.18, 0.18, 0.02, 0.02] if params.get("vsum") else \
        [0.45, 0.2, 0.15, 0.15, 0.02, 0.01, 0.01, 0.01]
    op = rng.choice(8, size=n, p=weights).astype(U64)
    op[:len(directed)] = exsdotp.ExsdotpOp.SDOTP.value
    rows = np.flatnonzero(np.isin(op, _VSUM_OPS))
    if params.get("vsum") and len(rows):
        x, y, c[rows] = _vsum_rows(dst, len(rows), rng)
        mask = U64((1 << src.width) - 1)
        w = U64(src.width)
        a[rows, 0], a[rows, 1], b[rows, 0], b[rows, 1] = x & mask, x >> w, y & mask, y >> w
    return {"op": op, "a0": a[:, 0], "b0": b[:, 0], "a1": a[:, 1], "b1": b[:, 1], "c": c, "rm": rm}


# Anchors measured with this flow (ECP5-85F, one register stage in and out), from issue 4.
ANCHORS = {("e5m2", "fp16"): ("CVFPU ExSdotp", 1103, 2, 17.0), ("fp16", "fp32"): ("CVFPU ExSdotp", 2654, None, 13.8),
           ("fp32", "fp32"): ("CVFPU FMA", 2235, 4, 17.8)}


def _exsdotp_report_summary(rows):
    """exsdotp next to two cascaded expanding FMAs of the same formats, and next to the anchors."""
    def pick(unit, target, dsp, **want):
        return next((r for r in rows if r["unit"] == unit and r["target"] == target and r["dsp"] == dsp
                     and r["fits"] and all(r["params"].get(k) == v for k, v in want.items())), None)
    lines = ["### ExSdotp vs two cascaded expanding FMAs (latency 1)", "",
             "Two products per cycle either way: one `exsdotp`, or two `fma` units with a narrow source "
             "chained through the wide accumulator (what a core without ExSdotp needs).", "",
             "| target | DSP | formats | exsdotp LUT4 / DSP / MHz | 2 x fma LUT4 / DSP / MHz (chain) "
             "| area ratio | path ratio | products per cycle per kLUT4 (exsdotp / 2 x fma) | anchor |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["unit"] != "exsdotp" or not r["fits"]:
            continue
        src, dst, target, dsp = r["params"]["src"], r["params"]["dst"], r["target"], r["dsp"]
        formats = f"{src} -> {dst}{', with VSUM' if r['params'].get('vsum') else ''}"
        f = pick("fma", target, dsp, fmt=dst, src=src, depth=r["params"]["depth"])
        anchor = ANCHORS.get((src, dst))
        anchor_text = (f"{anchor[0]}: {anchor[1]} LUT4{f' + {anchor[2]} DSP' if anchor[2] else ''} at "
                       f"{anchor[3]} MHz (ours {r['lut4'] / anchor[1]:.2f}x)" if anchor and target == "ecp5-85f" else "-")
        if f:
            # Two cascaded FMAs: twice the area, and the second waits for the first: half the clock per dot step.
            chain_mhz = f["fmax_mhz"] / 2
            lines.append(
                f"| {target} | {'yes' if dsp else 'no'} | {formats} | {r['lut4']} / {r['dsp_blocks']} / "
                f"{r['fmax_mhz']:.1f} | {2 * f['lut4']} / {2 * f['dsp_blocks']} / {chain_mhz:.1f} "
                f"| {r['lut4'] / (2 * f['lut4']):.2f} | {f['fmax_mhz'] / r['fmax_mhz'] / 2:.2f} "
                f"| {2000 / r['lut4']:.2f} / {2000 / (2 * f['lut4']):.2f} | {anchor_text} |")
        else:
            lines.append(f"| {target} | {'yes' if dsp else 'no'} | {formats} | {r['lut4']} / {r['dsp_blocks']} / "
                         f"{r['fmax_mhz']:.1f} | not in this report | - | - | - | {anchor_text} |")
    f32 = pick("fma", "ecp5-85f", True, fmt="fp32", src="same", depth=0)
    if f32:
        a = ANCHORS["fp32", "fp32"]
        lines += ["", f"fp32 `fma` on ECP5-85F: {f32['lut4']} LUT4 + {f32['dsp_blocks']} DSP at "
                  f"{f32['fmax_mhz']:.1f} MHz; {a[0]}: {a[1]} LUT4 + {a[2]} DSP at {a[3]} MHz "
                  f"(ours {f32['lut4'] / a[1]:.2f}x).  CVFPU's ExSdotp is not correctly rounded in RTZ/RDN/RUP; "
                  "ours is bit-exact in all five modes."]
    lines += ["", "Path ratio: the exsdotp critical path over the two-FMA chain's (two FMA delays per step); "
              "below 1 means ExSdotp finishes a two-product step sooner."]
    return "\n".join(lines) + "\n"


def _exsdotp_validate(params):
    exsdotp.check_formats(*_exsdotp_formats(params))


register(Unit(
    name="exsdotp",
    description="expanding fused dot product a0*b0 + a1*b1 + c (MiniFloat-NN ExSdotp), one rounding",
    params=(
        Param("src", "format of a0, b0, a1, b1", "e5m2", kind=str, choices=("e5m2", "e4m3", "e4m3fn", "fp16", "bf16")),
        Param("dst", "format of c and the result (twice the source width)", "fp16", kind=str, choices=DST_NAMES),
        Param("depth", f"pipeline registers at the cut points {', '.join(CUT_POINTS)} (latency = depth + 1)",
              1, min=0, max=len(CUT_POINTS)),
        Param("vsum", "build the non-expanding VSUM/VSUMN (ops 4, 5; takes the three-term datapath)", False,
              kind=bool),
    ),
    component=lambda src, dst, depth, vsum: exsdotp.Exsdotp(src=FORMATS[src], dst=FORMATS[dst], depth=depth,
                                                            vsum=vsum),
    golden=_exsdotp_golden,
    vectors=_exsdotp_vectors,
    describe=_describe(("a0", "b0", "a1", "b1", "c"), ("src", "src", "src", "src", "dst"), exsdotp.ExsdotpOp),
    validate=_exsdotp_validate,
    notes=(
        "op: 0 SDOTP a0*b0+a1*b1+c, 1 SDOTPN c-(a0*b0+a1*b1), 2 EXVSUM a0+a1+c, 3 EXVSUMN c-(a0+a1), "
        "4 VSUM x+y+c, 5 VSUMN c-(x+y) with x = {a1, a0}, y = {b1, b0} destination patterns (vsum=true only); "
        "ops not built and 6, 7 give the canonical NaN with NV.",
        RM_NOTE, FLAGS_NOTE,
        "e4m3 is the IEEE-style FP8alt (max 240, has Inf); e4m3fn is OCP's (max 448, no Inf).",
        "NaN results are the canonical NaN; subnormals in and out, no flush.",
    ),
    report_sets=(
        {"src": "e5m2", "dst": "fp16", "depth": 0, "targets": ("ecp5-85f",)},
        {"src": "e4m3", "dst": "fp16", "depth": 0, "targets": ("ecp5-85f",)},
        {"src": "fp16", "dst": "fp32", "depth": 0, "targets": ("ecp5-85f",)},
        {"src": "bf16", "dst": "fp32", "depth": 0, "targets": ("ecp5-85f",)},
        {"src": "e5m2", "dst": "fp16", "depth": 0, "vsum": True, "targets": ("ecp5-85f",)},
        {"src": "fp16", "dst": "fp32", "depth": 0, "vsum": True, "targets": ("ecp5-85f",)},
        {"src": "e5m2", "dst": "fp16", "depth": 0, "dsp": False, "targets": ("ice40-up5k",)},
    ),
    report_summary=_exsdotp_report_summary,
    sim_copies=4,
))


# -- exsdotp_simd ----------------------------------------------------------------

def _simd_lanes(params):
    return params["flen"] // FORMATS[params["dst"]].width


def _split(words, count, width):
    return [(words >> U64(i * width)) & U64((1 << width) - 1) for i in range(count)]


def _exsdotp_simd_golden(params, inputs):
    src, dst = _exsdotp_formats(params)
    lanes = _simd_lanes(params)
    rs1, rs2 = _split(inputs["rs1"], 2 * lanes, src.width), _split(inputs["rs2"], 2 * lanes, src.width)
    rd = _split(inputs["rd"], lanes, dst.width)
    result, flags = np.zeros(len(inputs["op"]), U64), np.zeros(len(inputs["op"]), U64)
    for i in range(lanes):
        out = _exsdotp_golden(params, {"op": inputs["op"], "rm": inputs["rm"], "a0": rs1[2 * i], "a1": rs1[2 * i + 1],
                                       "b0": rs2[2 * i], "b1": rs2[2 * i + 1], "c": rd[i]})
        result |= out["result"] << U64(i * dst.width)
        flags |= out["flags"]
    return {"result": result, "flags": flags}


def _exsdotp_simd_vectors(params, n, rng):
    """Lane 0 gets the exsdotp stream (directed rows first); every other lane an independent one;
    op and rm are per instruction, lane 0's."""
    src, dst = _exsdotp_formats(params)
    lanes = _simd_lanes(params)
    streams = [_exsdotp_vectors(params, n, rng) for _ in range(lanes)]
    rs1, rs2, rd = (np.zeros(n, U64) for _ in range(3))
    for i, v in enumerate(streams):
        rs1 |= (v["a0"] << U64(2 * i * src.width)) | (v["a1"] << U64((2 * i + 1) * src.width))
        rs2 |= (v["b0"] << U64(2 * i * src.width)) | (v["b1"] << U64((2 * i + 1) * src.width))
        rd |= v["c"] << U64(i * dst.width)
    return {"op": streams[0]["op"], "rs1": rs1, "rs2": rs2, "rd": rd, "rm": streams[0]["rm"]}


def _exsdotp_simd_describe(params, inputs, i, expected, actual):
    src, dst = _exsdotp_formats(params)
    lanes = _simd_lanes(params)
    lines = [f"  op={_op_name(exsdotp.ExsdotpOp, int(inputs['op'][i]))}  rm={int(inputs['rm'][i])}"]
    for lane in range(lanes):
        a0, a1 = (int(inputs["rs1"][i]) >> ((2 * lane + j) * src.width) & ((1 << src.width) - 1) for j in (0, 1))
        b0, b1 = (int(inputs["rs2"][i]) >> ((2 * lane + j) * src.width) & ((1 << src.width) - 1) for j in (0, 1))
        c = int(inputs["rd"][i]) >> (lane * dst.width) & ((1 << dst.width) - 1)
        exp_l, act_l = ((int(o["result"]) >> (lane * dst.width)) & ((1 << dst.width) - 1) for o in (expected, actual))
        lines.append(f"  lane {lane}: a0={_describe_value(a0, src)} b0={_describe_value(b0, src)} "
                     f"a1={_describe_value(a1, src)} b1={_describe_value(b1, src)} c={_describe_value(c, dst)}")
        lines.append(f"          expected {_describe_value(exp_l, dst)}  actual {_describe_value(act_l, dst)}")
    lines.append(f"  flags expected {_flag_text(int(expected['flags']))} actual {_flag_text(int(actual['flags']))}")
    return "\n".join(lines)


def _exsdotp_simd_validate(params):
    exsdotp.check_formats(*_exsdotp_formats(params))
    if params["flen"] not in (32, 64) or params["flen"] < FORMATS[params["dst"]].width:
        raise ValueError(f"flen must be 32 or 64 and hold at least one {params['dst']} lane, got {params['flen']}")


register(Unit(
    name="exsdotp_simd",
    description="register-level ExSdotp of a RISC-V core: FLEN-bit rs1/rs2/rd, one exsdotp per destination lane",
    params=(
        Param("src", "format of the rs1/rs2 elements", "e5m2", kind=str, choices=("e5m2", "e4m3", "e4m3fn", "fp16", "bf16")),
        Param("dst", "format of the rd/result elements (twice the source width)", "fp16", kind=str,
              choices=DST_NAMES),
        Param("flen", "register width FLEN", 64, values=(32, 64)),
        Param("depth", f"pipeline registers at the cut points {', '.join(CUT_POINTS)} (latency = depth + 1)",
              1, min=0, max=len(CUT_POINTS)),
        Param("vsum", "build the non-expanding VSUM/VSUMN: rd[i] +- (rs1[i] + rs2[i]) on destination elements",
              False, kind=bool),
    ),
    component=lambda src, dst, flen, depth, vsum: exsdotp.ExsdotpSimd(src=FORMATS[src], dst=FORMATS[dst],
                                                                      flen=flen, depth=depth, vsum=vsum),
    golden=_exsdotp_simd_golden,
    vectors=_exsdotp_simd_vectors,
    describe=_exsdotp_simd_describe,
    validate=_exsdotp_simd_validate,
    notes=(
        "Lane i: a0 = rs1[2i], b0 = rs2[2i], a1 = rs1[2i+1], b1 = rs2[2i+1], c = rd[i]; element 0 in the LSBs.",
        "op: 0 SDOTP (vfdotpex), 1 SDOTPN (vfndotpex), 2 EXVSUM (vfsumex), 3 EXVSUMN, as exsdotp; with "
        "vsum=true 4 VSUM rd[i] + rs1[i] + rs2[i] and 5 VSUMN rd[i] - (rs1[i] + rs2[i]) on destination-width "
        "elements; ops not built give the canonical NaN with NV.",
        RM_NOTE, "flags: the OR of the lanes' RISC-V fflags (NV=16, OF=4, UF=2, NX=1).",
    ),
    report_sets=({"src": "e5m2", "dst": "fp16", "depth": 0, "targets": ("ecp5-85f",)},),
    sim_copies=2,
))


# -- bf16n_fma -------------------------------------------------------------------

def _bf16n_pairs(params):
    return bf16n.products(params["N"], params["full"])


def _unpack_terms(words, n):
    return np.stack(_split(words, n, 16), axis=1)


def _pack_terms(terms):
    return sum((terms[:, k] << U64(16 * k) for k in range(terms.shape[1])), U64(0))


def _bf16n_golden(params, inputs):
    n = params["N"]
    result, flags = bf16n.fma(_unpack_terms(inputs["a"], n), _unpack_terms(inputs["b"], n), inputs["c"],
                              rm=inputs["rm"], full=params["full"])
    return {"result": result, "flags": flags}


def _bf16n_vectors(params, n, rng):
    """Half the rows from the fused-dot generator (corners, uniform bits, subnormals, c cancelling the
    term products), half FP32 operands split into their bf16 terms with c at, near or cancelling the
    rounded a0 * b0 or the whole product; a term's corner value here and there."""
    terms = params["N"]
    fused = n // 2
    a, b, c, rm = _fused_vectors(fp.BF16, fp.FP32, terms, fused, rng, directed=[
        ((0x0001,) * terms, (0x0001,) * terms, fp.FP32.bias << fp.FP32.man_bits, r) for r in range(5)])
    m = n - fused
    field = np.clip(127 + rng.integers(-30, 31, size=(2, m)), 1, 254).astype(U64)
    x = (rng.integers(0, 2, size=(2, m), dtype=U64) << U64(31)) | (field << U64(23)) | \
        rng.integers(0, 1 << 23, size=(2, m), dtype=U64)
    sa, sb = bf16n.split(x[0], terms), bf16n.split(x[1], terms)
    corner = rng.random((m, terms)) < 0.02
    sa[corner] = rng.choice(fp.corner_patterns(fp.BF16), size=corner.sum())
    sc = _moderate(fp.FP32, (m,), rng, 40)
    kind = rng.choice(3, size=m)
    lead, _ = fp.fused_dot(sa[:, :1], sb[:, :1], np.zeros(m, U64), src=fp.BF16, dst=fp.FP32, rm=fp.RNE)
    whole, _ = bf16n.fma(sa, sb, np.zeros(m, U64), rm=fp.RNE, full=params["full"])
    noise = rng.integers(0, 16, size=m, dtype=U64)
    sc = np.where(kind == 1, (lead ^ U64(1 << 31)) ^ noise, sc)
    sc = np.where(kind == 2, (whole ^ U64(1 << 31)) ^ (noise & U64(1)), sc)
    s_rm = rng.integers(0, 5, size=m, dtype=U64)
    s_rm[rng.random(m) < 0.01] = 5
    return {"a": _pack_terms(np.concatenate([a, sa])), "b": _pack_terms(np.concatenate([b, sb])),
            "c": np.concatenate([c, sc]), "rm": np.concatenate([rm, s_rm])}


def _bf16n_describe(params, inputs, i, expected, actual):
    n = params["N"]
    a, b = (_unpack_terms(inputs[k][i:i + 1], n)[0] for k in ("a", "b"))
    lines = [f"  rm={int(inputs['rm'][i])}  products (smallest first): "
             + " ".join(f"a{x}*b{y}" for x, y in _bf16n_pairs(params))]
    for name, t in (("a", a), ("b", b)):
        lines.append(f"  {name} terms: " + ", ".join(_describe_value(v, fp.BF16) for v in t))
    lines.append(f"  c={_describe_value(inputs['c'][i], fp.FP32)}")
    for what, out in (("expected", expected), ("actual  ", actual)):
        lines.append(f"  {what} result={_describe_value(out['result'], fp.FP32)} flags={_flag_text(out['flags'])}")
    return "\n".join(lines)


def _bf16n_report_summary(rows):
    """bf16n_fma next to the FP32 FMA: the seed's multiplier area (significand bits squared: 8 x 8 = 64
    per bf16 product, 24 x 24 = 576 for FP32) beside what the whole unit takes."""
    def pick(unit, dsp, **want):
        return next((r for r in rows if r["unit"] == unit and r["target"] == "ecp5-85f" and r["dsp"] == dsp
                     and r["fits"] and all(r["params"].get(k) == v for k, v in want.items())), None)
    lines = ["### BF16-N FMA vs the FP32 FMA (ECP5-85F, latency 1)", "",
             "The seed counts multiplier area as significand bits squared: a bf16 product 8 x 8 = 64, FP32's "
             "24 x 24 = 576.  `bf16n_fma` holds one bf16 -> FP32 FMA per term product, chained through FP32.", "",
             "| DSP | unit | term products | multiplier area (seed's units) | LUT4 / DSP / MHz | LUT4 vs fp32 `fma` |",
             "|---|---|---|---|---|---|"]
    for dsp in (True, False):
        base = pick("fma", dsp, fmt="fp32", src="same", depth=0)
        if base:
            lines.append(f"| {'yes' if dsp else 'no'} | `fma` fp32 | 1 | 576 | {base['lut4']} / {base['dsp_blocks']} / "
                         f"{base['fmax_mhz']:.1f} | 1.00 |")
        for r in rows:
            if r["unit"] != "bf16n_fma" or r["target"] != "ecp5-85f" or r["dsp"] != dsp or not r["fits"]:
                continue
            count = len(bf16n.products(r["params"]["N"], r["params"]["full"]))
            ratio = f"{r['lut4'] / base['lut4']:.2f}" if base else "-"
            lines.append(f"| {'yes' if dsp else 'no'} | `bf16n_fma` N={r['params']['N']}"
                         f"{' full' if r['params']['full'] else ''} | {count} | {64 * count} | {r['lut4']} / "
                         f"{r['dsp_blocks']} / {r['fmax_mhz']:.1f} | {ratio} |")
    return "\n".join(lines) + "\n"


register(Unit(
    name="bf16n_fma",
    description="BF16-N FMA: a*b + c with a, b held as N bf16 terms each, FP32 accumulation, one FMA per term product",
    params=(
        Param("N", "bf16 terms per operand (a = a0 + a1 + ..., packed a0 in the low 16 bits)", 2, min=1, max=3),
        Param("full", "all N*N term products (default: the triangle i + j < N, N(N+1)/2 of them)", False,
              kind=bool),
        Param("depth", "pipeline registers at each product step's cut points (fused_dot's, numbered by step; "
              "latency = depth + 1)", lambda p: len(_bf16n_pairs(p)), auto="one per product step", min=0,
              max=lambda p: len(bf16n_fma.cut_points(len(_bf16n_pairs(p))))),
    ),
    component=lambda N, full, depth: bf16n_fma.Bf16nFma(N=N, full=full, depth=depth),
    golden=_bf16n_golden,
    vectors=_bf16n_vectors,
    describe=_bf16n_describe,
    notes=(
        "a, b: N bf16 terms each, a0 (the leading term, golden.bf16n.split) in bits 15:0, a1 in 31:16, a2 in 47:32.",
        "acc = c; acc = round_fp32(a_i*b_j + acc) for each term product, smallest first (i + j descending, "
        "then i descending): N=2 a1*b0, a0*b1, a0*b0; N=3 a2*b0, a1*b1, a0*b2, a1*b0, a0*b1, a0*b0.",
        RM_NOTE, "flags: the OR of every step's RISC-V fflags (NV=16, OF=4, UF=2, NX=1).",
        "NaN results are the canonical NaN; subnormals in and out, no flush.",
    ),
    report_sets=tuple({"N": n, "depth": 0, "targets": ("ecp5-85f",)} for n in (1, 2, 3)) + (
        {"N": 2, "depth": 0, "dsp": False, "targets": ("ecp5-85f",)},),
    report_summary=_bf16n_report_summary,
    sim_copies=2,
))
