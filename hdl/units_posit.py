"""Registry entries of the posit units: ``posit_add``, ``posit_mul``, ``posit_alu`` and ``posit_quire``.

Vectors put the corner cases first (0, NaR, +-1, +-maxpos, +-minpos and their
neighbours, the longest regimes, ``x - x``, exact ties between two posits,
cancellation), then random pairs: uniform bit patterns, log-uniform scales
(every regime length equally likely), and pairs close in scale or in value.
"""

from fractions import Fraction

import numpy as np

from golden import posit
from golden.posit import PositFormat
from .posit import add as posit_add_hdl, alu as posit_alu_hdl, mul as posit_mul_hdl, quire_mac as posit_quire_hdl
from .posit.add import PositAddOp
from .posit.alu import GROUPS, PositOp
from .posit.quire_mac import PositQuireOp
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
        Param("twos_complement", "two's-complement datapath (signed product: fewer LUT4 with DSPs); false: "
              "sign-magnitude (negated patterns, unsigned product: fewer LUT4 without DSPs)", True, kind=bool),
    ),
    component=posit_mul_hdl.PositMul,
    golden=_mul_golden,
    vectors=_mul_vectors,
    describe=_describe,
    notes=_NOTES,
    # Without DSPs the sign-magnitude form (the narrower unsigned product) is the smaller one.
    report_sets=tuple(
        {"N": n, "ES": 2, "depth": 1, "dsp": dsp, "twos_complement": dsp, "targets": ("ecp5-85f",)}
        for n in (32, 16) for dsp in (True, False)
    ) + (
        {"N": 32, "ES": 2, "depth": 0, "targets": ("ecp5-85f",)},
        {"N": 16, "ES": 2, "depth": 1, "dsp": False, "twos_complement": False, "targets": ("ice40-up5k",)},
    ),
    sim_copies=4,
))


# -- posit_alu ----------------------------------------------------------------

_BINARY = {
    PositOp.ADD: posit.add, PositOp.SUB: posit.sub, PositOp.MUL: posit.mul, PositOp.DIV: posit.div,
    PositOp.MIN: posit.minimum, PositOp.MAX: posit.maximum, PositOp.SGNJ: posit.copysign,
    PositOp.EQ: posit.eq, PositOp.LT: posit.lt, PositOp.LE: posit.le,
}
_UNARY = {PositOp.SQRT: posit.sqrt, PositOp.NEG: posit.neg, PositOp.ABS: posit.absolute}
_QUIRE_STEP = {PositOp.QCLR: "clear", PositOp.QMADD: "add_product", PositOp.QMSUB: "sub_product",
               PositOp.QADD: "add", PositOp.QSUB: "sub", PositOp.QROUND: "read"}


def built_ops(params):
    """The ops a ``posit_alu`` configuration builds, in code order."""
    return tuple(sorted((op for name, ops in GROUPS.items() if params.get(name, True) for op in ops),
                        key=lambda op: op.value))


def _alu_golden(params, inputs):
    """The results of an op stream; the quire starts at 0 (after reset) and lives across the stream."""
    n, es = params["N"], params["ES"]
    code = np.asarray(inputs["op"], dtype=_U64)
    a, b = inputs["a"], inputs["b"]
    built = {op.value: op for op in built_ops(params)}
    unknown = sorted(set(code.tolist()) - set(built))
    if unknown:
        names = {op.value: op.name for op in PositOp}
        what = ", ".join(f"{names.get(c, 'reserved')} ({c})" for c in unknown)
        raise ValueError(f"posit_alu: op {what} is not built into this configuration "
                         f"(built: {', '.join(op.name for op in built.values())})")
    result = np.zeros(len(code), dtype=_U64)
    for op, f in list(_BINARY.items()) + list(_UNARY.items()):
        pick = code == op.value
        if pick.any():
            args = (a[pick], b[pick]) if op in _BINARY else (a[pick],)
            result[pick] = np.asarray(f(*args, n=n, es=es)).astype(_U64)
    at = np.nonzero(code >= PositOp.QCLR.value)[0]
    steps = [_QUIRE_STEP[PositOp(c)] for c in code[at].tolist()]
    result[at] = posit.Quire(n, es).run(steps, np.asarray(a)[at], np.asarray(b)[at])
    return {"result": result}


def _quire_runs(fmt, rng, count):
    """(op, a, b) rows of quire sequences: cancellation, products near maxpos**2 and minpos**2, NaR."""
    rows = []
    corners = _corner_patterns(fmt)
    while len(rows) < count:
        kind = rng.integers(5)
        x = [int(p) for p in _random_posits(fmt, rng, 8)]
        y = [int(p) for p in _random_posits(fmt, rng, 8)]
        if kind == 0:            # a dot product, then the same products taken away again in another order
            rows += [(PositOp.QMADD, u, v) for u, v in zip(x, y)]
            rows += [(PositOp.QMSUB, u, v) for u, v in reversed(list(zip(x, y)))]
        elif kind == 1:          # huge and tiny terms: the tiny ones must survive the cancellation of the huge
            big, tiny = fmt.maxpos, fmt.minpos
            rows += [(PositOp.QMADD, big, big), (PositOp.QMADD, tiny, tiny), (PositOp.QADD, x[0], 0),
                     (PositOp.QMSUB, big, big), (PositOp.QMADD, _neg(fmt, tiny), tiny), (PositOp.QSUB, x[0], 0)]
        elif kind == 2:          # corner operands
            rows += [(PositOp(int(rng.choice([17, 18, 19, 20]))), int(rng.choice(corners)), int(rng.choice(corners)))
                     for _ in range(8)]
        elif kind == 3:          # NaR in, NaR stays, clear
            rows += [(PositOp.QMADD, x[0], y[0]), (PositOp.QMADD, fmt.nar, y[1]), (PositOp.QADD, x[2], 0),
                     (PositOp.QROUND, 0, 0), (PositOp.QCLR, 0, 0)]
        else:                    # a random run
            ops = rng.choice([17, 18, 19, 20, 21], size=8, p=[0.4, 0.3, 0.1, 0.1, 0.1])
            rows += [(PositOp(int(o)), u, v) for o, u, v in zip(ops, x, y)]
        if rng.random() < 0.2:
            rows.append((PositOp.QCLR, 0, 0))
    return rows


def _alu_vectors(params, n, rng):
    """Corners of every built op, quire sequences, then random ops with random and nearby operands."""
    fmt = _format(params)
    ops = built_ops(params)
    corners = _corner_patterns(fmt)
    rows = [(PositOp.QCLR if PositOp.QCLR in ops else ops[0], 0, 0)]
    for op in ops:
        if op in _BINARY:
            rows += [(op, x, y) for x in corners for y in corners]
        elif op in _UNARY:
            rows += [(op, x, int(y)) for x, y in zip(corners, rng.choice(corners, size=len(corners)))]
    if PositOp.ADD in ops:
        for a, b in _tie_pairs(fmt, rng, "add", 100):
            rows += [(PositOp.ADD, a, b), (PositOp.SUB, a, _neg(fmt, b))]
    if PositOp.MUL in ops:
        rows += [(PositOp.MUL, a, b) for a, b in _tie_pairs(fmt, rng, "mul", 100)]
    if PositOp.QMADD in ops:
        rows += _quire_runs(fmt, rng, 400)
    rows = rows[:n]
    m = n - len(rows)
    plain = [op for op in ops if op.value < PositOp.QCLR.value]
    quire_share = 0.3 if PositOp.QMADD in ops else 0.0
    tail_quire = _quire_runs(fmt, rng, int(m * quire_share)) if quire_share and plain else (
        _quire_runs(fmt, rng, m) if not plain else [])
    m_plain = max(0, m - len(tail_quire))
    code = rng.choice(np.array([op.value for op in plain], dtype=_U64), size=m_plain) if plain else \
        np.zeros(0, dtype=_U64)
    a = _random_posits(fmt, rng, m_plain)
    subtract = code == PositOp.SUB.value
    b = np.where(rng.random(m_plain) < 0.3, _near(fmt, rng, a, subtract), _random_posits(fmt, rng, m_plain))
    special = np.array(corners[:8], dtype=_U64)
    for x in (a, b):
        pick = rng.random(m_plain) < 0.02
        x[pick] = rng.choice(special, size=int(pick.sum()))
    head = rows + tail_quire
    ops_out = np.concatenate([np.array([r[0].value for r in head], dtype=_U64), code])
    a_out = np.concatenate([np.array([r[1] for r in head], dtype=_U64), a])
    b_out = np.concatenate([np.array([r[2] for r in head], dtype=_U64), b])
    # Interleave the random quire runs with the plain ops: a run goes in as a block, in order.
    order = np.arange(len(ops_out))
    if tail_quire and m_plain:
        start = len(rows)
        blocks = np.split(order[start:start + len(tail_quire)], range(16, len(tail_quire), 16))
        plain_idx = order[start + len(tail_quire):]
        cuts = np.sort(rng.integers(0, m_plain + 1, size=len(blocks)))
        pieces, last = [order[:start]], 0
        for cut, block in zip(cuts, blocks):
            pieces += [plain_idx[last:cut], block]
            last = cut
        pieces.append(plain_idx[last:])
        order = np.concatenate(pieces)
    return {"op": ops_out[order][:n], "a": a_out[order][:n], "b": b_out[order][:n]}


def _describe_op(enum, params, inputs, i, expected, actual, quire_note=None):
    """A mismatch report naming the op (``enum`` member or reserved code), the operands and the results;
    ``quire_note(code)`` is a line on the quire, or None for none."""
    fmt = _format(params)
    code = int(inputs["op"][i])
    name = enum(code).name if code in {op.value for op in enum} else f"reserved {code}"
    note = quire_note(code) if quire_note else None
    return (f"  op={name} ({code})\n  a={_show(fmt, inputs['a'][i])}\n  b={_show(fmt, inputs['b'][i])}\n"
            + (f"  ({note})\n" if note else "") +
            f"  expected result={_show(fmt, expected['result'])}\n"
            f"  actual   result={_show(fmt, actual['result'])}")


def _alu_describe(params, inputs, i, expected, actual):
    return _describe_op(PositOp, params, inputs, i, expected, actual, lambda code: (
        "the quire is the sum of the quire ops since the last QCLR before this vector"
        if code >= PositOp.QCLR.value else None))


def _alu_validate(params):
    if not any(params[name] for name in GROUPS):
        raise ValueError(f"at least one op group must be built ({', '.join(GROUPS)})")


def _alu_latency_note():
    return ("Latency is depth + 1 for every op but DIV and SQRT, which hold the pipeline (in_ready low) for "
            "fbits + 6 and fbits + 3 cycles more (33 and 30 for posit<32,2>: extra_cycles in the manifest).")


register(Unit(
    name="posit_alu",
    description="posit<N,ES> ALU with the quire: add/sub, mul, div/sqrt, min/max/compare/sign, quire MAC (op groups)",
    params=_FORMAT_PARAMS + (
        Param("depth", "pipeline registers (latency = depth + 1 for all but DIV/SQRT)", 1,
              min=0, max=len(posit_alu_hdl.CUT_POINTS)),
    ) + tuple(Param(name, f"build the {name} ops ({', '.join(op.name for op in ops)})", True, kind=bool)
              for name, ops in GROUPS.items()),
    component=posit_alu_hdl.PositALU,
    golden=_alu_golden,
    vectors=_alu_vectors,
    describe=_alu_describe,
    notes=_NOTES + (
        "op codes: " + ", ".join(f"{op.name} = {op.value}" for op in PositOp) +
        "; other codes and ops of groups not built return NaR.",
        "EQ, LT, LE return 1 or 0; MIN/MAX use the two's-complement order of the patterns (NaR lowest).",
        "Quire ops (QCLR, QMADD, QMSUB, QADD, QSUB, QROUND) return the quire rounded to a posit after the op; "
        "the quire is 16N bits for ES = 2 (512 for posit32) and starts at 0 after reset.",
        _alu_latency_note(),
    ),
    # The whole posit32 ALU takes nextpnr about ten minutes; the README quotes a one-off run of it.
    report_sets=(
        {"N": 32, "ES": 2, "depth": 1, "addsub": False, "mul": False, "divsqrt": False, "misc": False,
         "targets": ("ecp5-85f",)},
        {"N": 32, "ES": 2, "depth": 1, "addsub": False, "mul": False, "quire": False, "misc": False,
         "targets": ("ecp5-85f",)},
        {"N": 16, "ES": 2, "depth": 1, "divsqrt": False, "quire": False, "misc": False, "dsp": False,
         "targets": ("ice40-up5k",)},
    ),
    sim_copies=1,
    validate=_alu_validate,
))


# -- posit_quire ----------------------------------------------------------------

_QUIRE_CODES = {PositQuireOp.CLR: PositOp.QCLR, PositQuireOp.MADD: PositOp.QMADD, PositQuireOp.MSUB: PositOp.QMSUB,
                PositQuireOp.ADD: PositOp.QADD, PositQuireOp.SUB: PositOp.QSUB, PositQuireOp.ROUND: PositOp.QROUND}
_ALU_TO_QUIRE = {alu: own for own, alu in _QUIRE_CODES.items()}


def _quire_golden(params, inputs):
    """The results of an op stream; the quire starts at 0 (after reset).  Reserved codes give NaR."""
    fmt = _format(params)
    code = np.asarray(inputs["op"], dtype=_U64)
    a, b = inputs["a"], inputs["b"]
    if code.size and int(code.max()) >= 1 << PositQuireOp.as_shape().width:
        raise ValueError(f"posit_quire: op codes are 0..{(1 << PositQuireOp.as_shape().width) - 1}, "
                         f"got {int(code.max())}")
    known = {op.value: op for op in PositQuireOp}
    result = np.full(len(code), fmt.nar, dtype=_U64)
    at = np.array([i for i, c in enumerate(code.tolist()) if c in known], dtype=np.int64)
    steps = [_QUIRE_STEP[_QUIRE_CODES[known[c]]] for c in code[at].tolist()]
    result[at] = posit.Quire(fmt.n, fmt.es).run(steps, np.asarray(a)[at], np.asarray(b)[at])
    return {"result": result}


def _quire_vectors(params, n, rng):
    """Quire sequences (cancellation, maxpos**2 against minpos**2, corners, NaR, CLR), long random dot
    products, and now and then a reserved code."""
    fmt = _format(params)
    rows = [(PositQuireOp.CLR.value, 0, 0)]
    while len(rows) < n:
        if rng.random() < 0.5:
            rows += [(_ALU_TO_QUIRE[op].value, x, y) for op, x, y in _quire_runs(fmt, rng, 64)]
        else:
            length = int(rng.integers(16, 256))
            x, y = _random_posits(fmt, rng, length), _random_posits(fmt, rng, length)
            ops = rng.choice([PositQuireOp.MADD.value, PositQuireOp.MSUB.value], size=length, p=[0.7, 0.3])
            rows += list(zip(ops.tolist(), x.tolist(), y.tolist()))
            rows.append((PositQuireOp.CLR.value, 0, 0))
        if rng.random() < 0.05:
            rows.append((int(rng.integers(6, 8)), int(_random_posits(fmt, rng, 1)[0]), 0))
    rows = rows[:n]
    return {key: np.array([r[i] for r in rows], dtype=_U64) for i, key in enumerate(("op", "a", "b"))}


def _quire_describe(params, inputs, i, expected, actual):
    return _describe_op(PositQuireOp, params, inputs, i, expected, actual,
                        lambda code: "the quire is the sum of the ops since the last CLR before this vector")


register(Unit(
    name="posit_quire",
    description="posit<N,ES> quire MAC: q += a*b one per cycle in a carry-save quire, rounded to a posit after each op",
    params=_FORMAT_PARAMS + (
        Param("depth", "pipeline registers (latency = depth + 1, one op per cycle)", 1,
              min=0, max=len(posit_quire_hdl.CUT_POINTS)),
    ),
    component=posit_quire_hdl.PositQuireMAC,
    golden=_quire_golden,
    vectors=_quire_vectors,
    describe=_quire_describe,
    notes=_NOTES + (
        "op codes: " + ", ".join(f"{op.name} = {op.value}" for op in PositQuireOp) +
        "; every op returns the quire rounded to a posit after it; codes 6 and 7 are reserved "
        "(NaR, quire unchanged).",
        "The quire is 16N bits for ES = 2 (512 for posit32), in 32-bit carry-save segments, 0 after reset; "
        "a NaR operand makes it NaR until CLR.",
        "Divergence from golden.posit.Quire: a quire that wraps around to the NaR pattern (2**31 "
        "products of maxpos squared) reads NaR but later ops continue from the pattern.",
    ),
    report_sets=(
        {"N": 32, "ES": 2, "depth": 1, "targets": ("ecp5-85f",)},
        {"N": 32, "ES": 2, "depth": len(posit_quire_hdl.CUT_POINTS), "targets": ("ecp5-85f",)},
    ),
    sim_copies=1,
))
