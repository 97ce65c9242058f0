"""Registry entries: one per unit."""

import numpy as np

from golden import integer
from .int_dot import IntDot, IntDotOp, cut_points, default_acc_width, MAX_ACC_WIDTH
from .registry import Param, Unit, register


# -- int_dot -----------------------------------------------------------------

def _int_dot_golden(params, inputs):
    result, overflow = integer.int_dot(
        inputs["op"], inputs["a"], inputs["b"], width=params["width"],
        a_signed=params["a_signed"], b_signed=params["b_signed"], acc_width=params["acc_width"])
    return {"result": result, "overflow": overflow}


def _lane_extremes(width, is_signed):
    if is_signed:
        return {"min": 1 << (width - 1), "max": (1 << (width - 1)) - 1, "minus1": (1 << width) - 1, "zero": 0}
    return {"min": 0, "max": (1 << width) - 1, "one": 1, "zero": 0}


def _int_dot_vectors(params, n, rng):
    """Directed corners first, then random operations; ``n`` vectors in all."""
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


def _int_dot_describe(params, inputs, i, expected, actual):
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
    name = IntDotOp(op).name if op in (0, 1, 2) else f"RESERVED({op})"
    prev = ""
    if i:
        prev = f"  (accumulator before: see vector {i - 1})\n"
    return (f"  op={name}\n  a={lanes('a', params['a_signed'])}\n  b={lanes('b', params['b_signed'])}\n{prev}"
            f"  expected result={acc(expected['result'])} overflow={expected['overflow']}\n"
            f"  actual   result={acc(actual['result'])} overflow={actual['overflow']}")


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
              max=MAX_ACC_WIDTH, auto="never wraps within 2**16 MACs"),
        Param("depth", "pipeline registers before the accumulator (latency = depth + 1)", 1,
              min=0, max=lambda p: len(cut_points(p["lanes"]))),
    ),
    component=IntDot,
    golden=_int_dot_golden,
    vectors=_int_dot_vectors,
    describe=_int_dot_describe,
    notes=(
        "a and b pack V lanes of `width` bits, lane 0 in the least significant bits.",
        "Every operation returns the accumulator after it; op 3 is reserved and behaves as READ.",
        "overflow is sticky: high when a MAC since the last CLEAR wrapped the accumulator.",
    ),
    report_sets=(
        {"lanes": 16, "width": 4, "dsp": True}, {"lanes": 16, "width": 4, "dsp": False},
        {"lanes": 16, "width": 8, "dsp": True}, {"lanes": 16, "width": 8, "dsp": False},
    ),
    sim_copies=4,
))
