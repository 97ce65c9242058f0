"""Registry entries: one per unit."""

import numpy as np

from golden import integer
from .common.accumulator import MacOp
from golden import vsq
from . import int_dot, vsq_mac
from .registry import Param, Unit, register


# -- shared by the accumulating units ------------------------------------------

def _lane_extremes(width, is_signed):
    if is_signed:
        return {"min": 1 << (width - 1), "max": (1 << (width - 1)) - 1, "minus1": (1 << width) - 1, "zero": 0}
    return {"min": 0, "max": (1 << width) - 1, "one": 1, "zero": 0}


def _mac_vectors(params, n, rng):
    """op, a, b for a CLEAR/MAC/READ unit: directed corners first, then random; ``n`` in all."""
    v, w = params["lanes"], params["width"]
    ea = _lane_extremes(w, params["a_signed"])
    eb = _lane_extremes(w, params["b_signed"])
    signed_a = params["a_signed"]
    signed_b = params["b_signed"]
    # The lane pairs giving the largest and the smallest product.
    pairs = [(x, y) for x in ea.values() for y in eb.values()]

    def value(p, bits, is_signed):
        return p - (1 << bits) if is_signed and p >> (bits - 1) else p
    prods = [value(x, w, signed_a) * value(y, w, signed_b) for x, y in pairs]
    big, small = pairs[int(np.argmax(prods))], pairs[int(np.argmin(prods))]

    ops, a_rows, b_rows = [], [], []

    def emit(op, a, b, times=1):
        for _ in range(times):
            ops.append(op)
            a_rows.append([a] * v if np.isscalar(a) else a)
            b_rows.append([b] * v if np.isscalar(b) else b)
    C, M, R = integer.OP_CLEAR, integer.OP_MAC, integer.OP_READ
    emit(R, 0, 0)
    emit(M, 0, 0)
    emit(M, ea["max"], eb["max"])
    emit(M, ea["min"], eb["min"])
    emit(R, ea["max"], eb["min"])
    emit(integer.OP_RESERVED, ea["max"], eb["max"])
    emit(C, ea["max"], eb["max"])
    emit(M, big[0], big[1], times=8)
    emit(R, 0, 0)
    emit(C, 0, 0)
    emit(M, small[0], small[1], times=8)
    emit(M, [ea["max"], ea["min"]] * (v // 2) + [ea["max"]] * (v % 2),
         [eb["min"], eb["max"]] * (v // 2) + [eb["min"]] * (v % 2))
    emit(C, 0, 0)
    for x in ea.values():
        for y in eb.values():
            emit(M, x, y)
    emit(C, 0, 0)
    ops, a_rows, b_rows = ops[:n], a_rows[:n], b_rows[:n]

    m = n - len(ops)
    op = rng.choice([M, R, C, integer.OP_RESERVED], size=m, p=[0.86, 0.06, 0.05, 0.03])
    a = rng.integers(0, 1 << w, size=(m, v), dtype=np.uint64)
    b = rng.integers(0, 1 << w, size=(m, v), dtype=np.uint64)
    # One vector in eight draws every lane from the extreme values instead.
    pick = rng.random(m) < 0.125
    a[pick] = rng.choice(np.array(list(ea.values()), dtype=np.uint64), size=(int(pick.sum()), v))
    b[pick] = rng.choice(np.array(list(eb.values()), dtype=np.uint64), size=(int(pick.sum()), v))
    return {
        "op": np.concatenate([np.array(ops, dtype=np.uint64), op.astype(np.uint64)]),
        "a": np.concatenate([np.array(a_rows, dtype=np.uint64).reshape(-1, v), a]),
        "b": np.concatenate([np.array(b_rows, dtype=np.uint64).reshape(-1, v), b]),
    }


def _mac_describe(params, inputs, i, expected, actual):
    w = params["width"]
    acc_signed = params["a_signed"] or params["b_signed"]

    def lanes(name, is_signed):
        vals = np.asarray(inputs[name][i], dtype=np.uint64)
        vals = integer.to_signed(vals, w) if is_signed else vals.astype(np.int64)
        return "[" + " ".join(str(int(x)) for x in vals) + "]"

    def acc(pattern):
        if acc_signed and pattern >> (params["acc_width"] - 1):
            pattern -= 1 << params["acc_width"]
        return pattern
    op = int(inputs["op"][i])
    name = MacOp(op).name if op in (0, 1, 2) else f"RESERVED({op})"
    prev = ""
    if i:
        prev = f"  (accumulator before: see vector {i - 1})\n"
    scales = "".join(f"  {k}={int(inputs[k][i])}\n" for k in ("sa", "sb") if k in inputs)
    return (f"  op={name}\n  a={lanes('a', params['a_signed'])}\n  b={lanes('b', params['b_signed'])}\n{scales}{prev}"
            f"  expected result={acc(expected['result'])} overflow={expected['overflow']}\n"
            f"  actual   result={acc(actual['result'])} overflow={actual['overflow']}")


# -- int_dot -----------------------------------------------------------------

def _int_dot_golden(params, inputs):
    result, overflow = integer.int_dot(
        inputs["op"], inputs["a"], inputs["b"], width=params["width"],
        a_signed=params["a_signed"], b_signed=params["b_signed"], acc_width=params["acc_width"])
    return {"result": result, "overflow": overflow}


register(Unit(
    name="int_dot",
    description="V-lane integer dot product with a wide accumulator (ops clear, mac, read)",
    params=(
        Param("lanes", "vector lanes V (products per operation)", 16, min=1, max=64),
        Param("width", "element width in bits", 8, min=2, max=16),
        Param("a_signed", "lanes of a are two's complement (else unsigned)", True, kind=bool),
        Param("b_signed", "lanes of b are two's complement (else unsigned)", True, kind=bool),
        Param("acc_width", "accumulator width in bits", None,
              min=lambda p: integer.accumulator_width(p["lanes"], p["width"], p["a_signed"], p["b_signed"], 1),
              max=int_dot.MAX_ACC_WIDTH, auto="never wraps within 2**16 MACs"),
        Param("depth", "pipeline registers before the accumulator (latency = depth + 1)", 1,
              min=0, max=lambda p: len(int_dot.cut_points(p["lanes"]))),
    ),
    component=int_dot.IntDot,
    golden=_int_dot_golden,
    vectors=_mac_vectors,
    describe=_mac_describe,
    notes=(
        "a and b pack V lanes of `width` bits, lane 0 in the least significant bits.",
        "Every operation returns the accumulator after it; op 3 is reserved and behaves as READ.",
        "overflow is sticky: high when a MAC since the last CLEAR wrapped the accumulator.",
    ),
    report_sets=(
        {"lanes": 16, "width": 4, "dsp": True}, {"lanes": 16, "width": 4, "dsp": False},
        {"lanes": 16, "width": 8, "dsp": True}, {"lanes": 16, "width": 8, "dsp": False},
        # the INT8 / INT4 baselines of vsq_mac at V = 64
        *({"lanes": 64, "width": w, "dsp": d, "targets": t}
          for w in (4, 8) for t, d in ((("ice40-up5k",), False), (("ecp5-85f",), True), (("ecp5-85f",), False))),
    ),
    sim_copies=4,
))


# -- vsq_mac -----------------------------------------------------------------

def _vsq_mac_golden(params, inputs):
    result, overflow = vsq.vsq_mac(
        inputs["op"], inputs["a"], inputs["b"], inputs["sa"], inputs["sb"], width=params["width"],
        scale_width=params["scale_width"], a_signed=params["a_signed"], b_signed=params["b_signed"],
        acc_width=params["acc_width"])
    return {"result": result, "overflow": overflow}


def _vsq_mac_vectors(params, n, rng):
    """The MAC stream of ``_mac_vectors`` with per-vector scales: the corners at the largest
    scale (some at 0), then random scales with one in eight at 0 or the maximum."""
    inputs = _mac_vectors(params, n, rng)
    smax = (1 << params["scale_width"]) - 1
    corners = min(n, 64)
    for name in ("sa", "sb"):
        scale = rng.integers(0, smax + 1, size=n, dtype=np.uint64)
        pick = rng.random(n) < 0.125
        scale[pick] = rng.choice(np.array([0, smax], dtype=np.uint64), size=int(pick.sum()))
        scale[:corners] = smax
        inputs[name] = scale
    inputs["sa"][1:corners:7] = 0
    inputs["sb"][2:corners:5] = 0
    return inputs


def _vsq_report_summary(rows):
    """INT8 vs INT4 area per lane, and what the per-vector scale multiply adds on top of INT4."""
    def pick(unit, **want):
        return next((r for r in rows if r["unit"] == unit and r["fits"]
                     and all(r.get(k, r["params"].get(k)) == v for k, v in want.items())), None)
    lines = ["### VS-Quant MAC vs integer dot products (LUT4 per lane)", "",
             "| target | DSP | V | INT8 int_dot | INT4 int_dot | INT8 / INT4 | VSQ M=6 | VSQ M=8 "
             "| scale overhead M=6 / M=8 vs INT4 |",
             "|---|---|---|---|---|---|---|---|---|"]
    combos = sorted({(r["target"], r["dsp"], r["params"]["lanes"]) for r in rows if r["unit"] == "vsq_mac"})
    for target, dsp, lanes in combos:
        where = dict(target=target, dsp=dsp, lanes=lanes)
        i8, i4 = pick("int_dot", width=8, **where), pick("int_dot", width=4, **where)
        v6, v8 = pick("vsq_mac", width=4, scale_width=6, **where), pick("vsq_mac", width=4, scale_width=8, **where)

        def per_lane(r):
            return f"{r['lut4'] / lanes:.1f}" if r else "does not fit"

        def cost(r):
            return f"{r['lut4'] - i4['lut4']:+d}" + (f" ({100 * (r['lut4'] - i4['lut4']) / i4['lut4']:+.0f} %)"
                                                     if i4['lut4'] else "") if r and i4 else "-"
        ratio = f"{i8['lut4'] / i4['lut4']:.2f}" if i8 and i4 and i4["lut4"] else "-"
        lines.append(f"| {target} | {'yes' if dsp else 'no'} | {lanes} | {per_lane(i8)} | {per_lane(i4)} | {ratio} "
                     f"| {per_lane(v6)} | {per_lane(v8)} | {cost(v6)} / {cost(v8)} |")
    lines += ["", "With DSPs the multipliers leave the LUT count (ECP5 maps even 4x4 products to MULT18X18D), "
              "so the INT8/INT4 ratio is a logic-only (DSP: no) figure."]
    return "\n".join(lines) + "\n"


register(Unit(
    name="vsq_mac",
    description="VS-Quant MAC: V-lane N-bit dot product times per-vector M-bit scales, accumulated wide",
    params=(
        Param("lanes", "vector lanes V (elements per scale factor)", 16, min=1, max=64),
        Param("width", "element width N in bits", 4, min=2, max=8),
        Param("scale_width", "per-vector integer scale width M in bits", 6, min=2, max=8),
        Param("a_signed", "lanes of a are two's complement (else unsigned)", True, kind=bool),
        Param("b_signed", "lanes of b are two's complement (else unsigned, post-ReLU)", True, kind=bool),
        Param("reduction", "reduction length K the default accumulator holds without wrapping", 4096,
              min=1, max=1 << 20),
        Param("acc_width", "accumulator width in bits", None,
              min=lambda p: vsq_mac.accumulator_width(p["lanes"], p["width"], p["scale_width"],
                                                       p["a_signed"], p["b_signed"], 1),
              max=vsq_mac.MAX_ACC_WIDTH, auto="never wraps within ceil(K/V) MACs"),
        Param("depth", "pipeline registers before the accumulator (latency = depth + 1)", 1,
              min=0, max=lambda p: len(vsq_mac.cut_points(p["lanes"]))),
    ),
    component=vsq_mac.VsqMac,
    golden=_vsq_mac_golden,
    vectors=_vsq_mac_vectors,
    describe=_mac_describe,
    notes=(
        "a and b pack V lanes of `width` bits, lane 0 in the least significant bits; sa, sb are unsigned.",
        "MAC adds dot(a, b) * sa * sb; every operation returns the accumulator after it; op 3 reads.",
        "overflow is sticky: high when a MAC since the last CLEAR wrapped the accumulator.",
        "The floating-point scales gamma_a * gamma_b are applied once per output, outside the unit.",
    ),
    report_sets=tuple(
        {"lanes": v, "width": 4, "scale_width": m, "dsp": d, "targets": t}
        for v in (16, 64) for m in (6, 8)
        for t, d in ((("ice40-up5k",), False), (("ecp5-85f",), True), (("ecp5-85f",), False))),
    sim_copies=4,
    report_summary=_vsq_report_summary,
))
