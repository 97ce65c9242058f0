"""Registry entries of the posit units: ``posit_add`` and ``posit_mul``.

Vectors put the corner cases first (0, NaR, +-1, +-maxpos, +-minpos and their
neighbours, the longest regimes, ``x - x``, exact ties between two posits,
cancellation), then random pairs: uniform bit patterns, log-uniform scales
(every regime length equally likely), and pairs close in scale or in value.
"""

from fractions import Fraction

import numpy as np

from golden import posit
from golden.posit import PositFormat
from .posit import add as posit_add_hdl, mul as posit_mul_hdl
from .posit.add import PositAddOp
from .registry import Param, Unit, register


_U64 = np.uint64


def _format(params):
    return PositFormat.get(params["N"], params["ES"])


def _neg(fmt, p):
    return (-int(p)) & fmt.mask


def exact_value(pattern, nbits, es):
    """Exact value of an ``nbits``-bit posit pattern as a Fraction (None for NaR); any nbits >= 2.

    Independent of ``golden.posit`` (which stops at 32 bits): the midpoint between two
    adjacent N-bit posits is the (N+1)-bit posit between them.
    """
    mask = (1 << nbits) - 1
    if pattern == 0:
        return Fraction(0)
    if pattern == 1 << (nbits - 1):
        return None
    negative = pattern >> (nbits - 1)
    bits = format((-pattern) & mask if negative else pattern, f"0{nbits}b")[1:]
    run = len(bits) - len(bits.lstrip(bits[0]))
    k = run - 1 if bits[0] == "1" else -run
    rest = bits[run + 1:]
    e = int(rest[:es].ljust(es, "0"), 2) if es else 0
    frac = rest[es:]
    value = (1 + (Fraction(int(frac, 2), 1 << len(frac)) if frac else 0)) * Fraction(2) ** ((k << es) + e)
    return -value if negative else value


def _representable(fmt, x):
    """The pattern of ``x`` if ``x`` is exactly an N-bit posit, else None."""
    p = fmt.from_fraction(x)
    return p if exact_value(p, fmt.n, fmt.es) == x else None


def _corner_patterns(fmt):
    """0, NaR, +-1 and neighbours, +-maxpos, +-minpos and neighbours, the longest regimes."""
    positive = {fmt.one, fmt.one - 1, fmt.one + 1, fmt.maxpos, fmt.maxpos - 1, fmt.minpos, fmt.minpos + 1,
                2, 3, fmt.maxpos >> 1, (fmt.maxpos >> 1) + 1}
    positive = {p & fmt.maxpos for p in positive} - {0}
    values = [0, fmt.nar] + sorted(positive) + [_neg(fmt, p) for p in sorted(positive)]
    return list(dict.fromkeys(values))


def _midpoints(fmt, rng, count):
    """Values exactly halfway (in the posit string sense) between adjacent positive N-bit posits."""
    lo, hi = 1, fmt.maxpos                       # maxpos has no successor
    patterns = rng.integers(lo, max(hi, lo + 1), size=count).tolist()
    out = []
    for p in patterns:
        if p < hi:
            out.append((p, exact_value((p << 1) | 1, fmt.n + 1, fmt.es)))
    return out


def _tie_pairs(fmt, rng, op, count):
    """Operand pairs whose exact sum / product lies halfway between two posits (``count`` tries)."""
    pairs = []
    if fmt.n < 3:
        return pairs
    for p, mid in _midpoints(fmt, rng, count):
        if op == "mul":
            # a power of two (times 3 now and then) that moves the midpoint to a scale near 1,
            # where the quotient has room for the midpoint's extra bit
            near_one = int(rng.integers(-(1 << fmt.es), (1 << fmt.es) + 1))
            t = mid.numerator.bit_length() - mid.denominator.bit_length() - near_one
            factor = Fraction(2) ** t * (3 if rng.random() < 0.3 else 1)
            a, b = _representable(fmt, factor), _representable(fmt, mid / factor)
        else:
            q = max(1, p - int(rng.integers(0, 4)))
            a = q
            b = _representable(fmt, mid - exact_value(q, fmt.n, fmt.es))
        if a is None or b is None or b == 0:
            continue
        if rng.random() < 0.5:
            a, b = b, a
        if rng.random() < 0.5:                    # -(x op y) is the same tie, mirrored
            a = _neg(fmt, a)
            b = _neg(fmt, b) if op != "mul" else b
        pairs.append((a, b))
    return pairs


def _random_posits(fmt, rng, size):
    """Random patterns: half uniform bit patterns, half log-uniform in scale with random fractions."""
    uniform = rng.integers(0, 1 << fmt.n, size=size, dtype=_U64)
    scale = rng.integers(-fmt.max_scale, fmt.max_scale + 1, size=size)
    sig = rng.integers(0, 1 << 62, size=size, dtype=_U64) | (_U64(1) << _U64(62))
    spread = fmt.encode(rng.random(size) < 0.5, scale, sig, 62)
    return np.where(rng.random(size) < 0.5, uniform, spread)


def _near(fmt, rng, a, subtract):
    """For each ``a``, an operand of nearby scale or nearby value; the nearby values cancel:
    ``b = a + d`` where the op subtracts, ``b = -(a + d)`` where it adds (``d`` in -3..3)."""
    size = len(a)
    d = fmt.decode(a)
    scale = np.clip(d.scale + rng.integers(-3, 4, size=size), -fmt.max_scale, fmt.max_scale)
    sig = rng.integers(0, 1 << 62, size=size, dtype=_U64) | (_U64(1) << _U64(62))
    close_scale = fmt.encode(rng.random(size) < 0.5, scale, sig, 62)
    delta = rng.integers(-3, 4, size=size).astype(np.int64)
    close = (a.astype(np.int64) + delta).astype(_U64) & _U64(fmt.mask)
    close = np.where(subtract, close, (~close + _U64(1)) & _U64(fmt.mask))
    return np.where(rng.random(size) < 0.5, close_scale, close)


def _pair_vectors(params, n, rng, unit):
    """(op, a, b) arrays for ``unit`` "add" (ops ADD/SUB) or "mul": corners first, then random; ``n`` rows."""
    fmt = _format(params)
    ops = ("add", "sub") if unit == "add" else ("mul",)
    corners = _corner_patterns(fmt)
    rows = [(o, x, y) for o in ops for x in corners for y in corners]
    for a, b in _tie_pairs(fmt, rng, unit, 200):
        rows += [("add", a, b), ("sub", a, _neg(fmt, b))] if unit == "add" else [("mul", a, b)]
    if unit == "add":
        some = rng.integers(0, 1 << fmt.n, size=16).tolist()
        rows += [("sub", x, x) for x in some] + [("add", x, _neg(fmt, x)) for x in some]
        rows += [("sub", x, (x + 1) & fmt.mask) for x in some] + [("add", x, _neg(fmt, x - 1)) for x in some]
    rows = rows[:n]
    m = n - len(rows)
    random_ops = (rng.random(m) < 0.5) if unit == "add" else np.zeros(m, dtype=bool)
    a = _random_posits(fmt, rng, m)
    b = np.where(rng.random(m) < 0.4, _near(fmt, rng, a, random_ops), _random_posits(fmt, rng, m))
    special = np.array(corners[:8], dtype=_U64)
    for x in (a, b):
        pick = rng.random(m) < 0.02
        x[pick] = rng.choice(special, size=int(pick.sum()))
    code = {"add": PositAddOp.ADD.value, "sub": PositAddOp.SUB.value, "mul": 0}
    return (np.concatenate([np.array([code[r[0]] for r in rows], dtype=_U64), random_ops.astype(_U64)]),
            np.concatenate([np.array([r[1] for r in rows], dtype=_U64), a]),
            np.concatenate([np.array([r[2] for r in rows], dtype=_U64), b]))


def _show(fmt, p):
    p = int(p)
    value = fmt.value(p)
    text = "NaR" if value is None else f"{float(value):.17g}"
    return f"{p:#0{(fmt.n + 3) // 4 + 2}x} ({text})"


def _describe(params, inputs, i, expected, actual):
    fmt = _format(params)
    op = f"  op={PositAddOp(int(inputs['op'][i])).name}\n" if "op" in inputs else ""
    return (f"{op}  a={_show(fmt, inputs['a'][i])}\n  b={_show(fmt, inputs['b'][i])}\n"
            f"  expected result={_show(fmt, expected['result'])}\n"
            f"  actual   result={_show(fmt, actual['result'])}")


_FORMAT_PARAMS = (
    Param("N", "posit width in bits", 32, min=posit.N_RANGE[0], max=posit.N_RANGE[1]),
    Param("ES", "exponent field width (2 is the 2022 standard)", 2, min=posit.ES_RANGE[0], max=posit.ES_RANGE[1]),
)

_NOTES = (
    "a, b and result are N-bit posit patterns (2022 standard; ES = 2 is standard, other ES the same construction).",
    "Rounding: to nearest, ties to even on the bit pattern; never rounds a nonzero real to 0 or NaR "
    "(saturates at maxpos / minpos); NaR in gives NaR out.",
)


# -- posit_add ----------------------------------------------------------------

def _add_golden(params, inputs):
    n, es = params["N"], params["ES"]
    a, b, op = inputs["a"], inputs["b"], np.asarray(inputs["op"], dtype=_U64)
    result = np.where(op == PositAddOp.SUB.value, posit.sub(a, b, n=n, es=es), posit.add(a, b, n=n, es=es))
    return {"result": result}


def _add_vectors(params, n, rng):
    ops, a, b = _pair_vectors(params, n, rng, "add")
    return {"op": ops, "a": a, "b": b}


register(Unit(
    name="posit_add",
    description="posit<N,ES> adder/subtractor, correctly rounded (ops add, sub)",
    params=_FORMAT_PARAMS + (
        Param("depth", "pipeline registers (latency = depth + 1)", 1, min=0, max=len(posit_add_hdl.CUT_POINTS)),
    ),
    component=posit_add_hdl.PositAdd,
    golden=_add_golden,
    vectors=_add_vectors,
    describe=_describe,
    notes=_NOTES + ("op: ADD = 0 gives a + b, SUB = 1 gives a - b.",),
    report_sets=(
        {"N": 32, "ES": 2, "depth": 0, "targets": ("ecp5-85f",)},
        {"N": 32, "ES": 2, "depth": 1, "targets": ("ecp5-85f",)},
        {"N": 16, "ES": 2, "depth": 1, "targets": ("ecp5-85f",)},
        {"N": 16, "ES": 2, "depth": 1, "dsp": False, "targets": ("ice40-up5k",)},
    ),
    sim_copies=4,
))


# -- posit_mul ----------------------------------------------------------------

def _mul_golden(params, inputs):
    return {"result": posit.mul(inputs["a"], inputs["b"], n=params["N"], es=params["ES"])}


def _mul_vectors(params, n, rng):
    _, a, b = _pair_vectors(params, n, rng, "mul")
    return {"a": a, "b": b}


register(Unit(
    name="posit_mul",
    description="posit<N,ES> multiplier, correctly rounded",
    params=_FORMAT_PARAMS + (
        Param("depth", "pipeline registers (latency = depth + 1)", 1, min=0, max=len(posit_mul_hdl.CUT_POINTS)),
    ),
    component=posit_mul_hdl.PositMul,
    golden=_mul_golden,
    vectors=_mul_vectors,
    describe=_describe,
    notes=_NOTES,
    report_sets=tuple(
        {"N": n, "ES": 2, "depth": 1, "dsp": dsp, "targets": ("ecp5-85f",)} for n in (32, 16) for dsp in (True, False)
    ) + ({"N": 32, "ES": 2, "depth": 0, "targets": ("ecp5-85f",)},) + ({"N": 16, "ES": 2, "depth": 1, "dsp": False, "targets": ("ice40-up5k",)},),
    sim_copies=4,
))
