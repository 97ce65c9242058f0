"""``posit_alu``: a posit<N, ES> arithmetic unit with the quire inside (2022 standard).

Each accepted operation carries ``op`` (``PositOp``), ``a`` and ``b`` (N-bit
posit patterns) and returns one N-bit ``result``:

=========  ====  ==========================================================
group      code  op: result
=========  ====  ==========================================================
addsub     0, 1  ADD ``a + b``, SUB ``a - b``
mul        2     MUL ``a * b``
divsqrt    3, 4  DIV ``a / b`` (NaR for b = 0), SQRT ``sqrt(a)`` (NaR for a < 0)
misc       5-12  MIN, MAX (two's-complement order, NaR lowest), EQ, LT, LE
                 (result 1 or 0), NEG ``-a``, ABS ``|a|``, SGNJ ``|a|`` with
                 b's sign bit
quire      16-21 QCLR ``q = 0``, QMADD ``q += a*b``, QMSUB ``q -= a*b``,
                 QADD ``q += a``, QSUB ``q -= a``, QROUND (q unchanged);
                 each returns q rounded to a posit after the operation
=========  ====  ==========================================================

Arithmetic results are rounded once to nearest, ties to even on the pattern,
never to 0 or NaR from a nonzero real; NaR in gives NaR out.  An op code of a
group that is not built, or a reserved code, returns NaR.  ``golden/posit.py``
is the bit-exact model (``Quire`` for the quire).

Datapath, one stage per cut point: decode both operands (one ``PositDecoder``
pair for every op) -> ``execute``: the adder's alignment, the significand
product (shared by MUL and the quire), DIV/SQRT in ``DivSqrtIterative`` (the
pipeline holds while it steps) -> ``sum``: the adder's sum, the quire update
-> ``normalize``: the adder's normalization, the quire's rounding split, and
one operation's fields selected -> one ``PositEncoder``.  Pipeline cut points
in fill order: ``sum``, ``decode``, ``normalize``, ``execute``, ``operands``.
Latency is ``depth + 1`` cycles; DIV takes ``div_steps(fbits + 1) + 1`` and
SQRT ``sqrt_steps(fbits + 1) + 1`` cycles more, during which ``in_ready`` is low.
"""

from types import SimpleNamespace

from amaranth import *
from amaranth.lib import enum

from ..common.divsqrt import DivSqrtIterative, div_steps, sqrt_steps
from ..common.params import check_bool
from . import add, mul
from .codec import PositDecoder, PositEncoder
from .unit import PositUnit
from .quire import QuireLayout, QuireState, place_term, readout, term_window


__all__ = ["PositOp", "GROUPS", "PositALU", "CUT_POINTS"]


CUT_POINTS = ("sum", "decode", "normalize", "execute", "operands")


class PositOp(enum.Enum, shape=5):
    ADD = 0
    SUB = 1
    MUL = 2
    DIV = 3
    SQRT = 4
    MIN = 5
    MAX = 6
    EQ = 7
    LT = 8
    LE = 9
    NEG = 10
    ABS = 11
    SGNJ = 12
    QCLR = 16
    QMADD = 17
    QMSUB = 18
    QADD = 19
    QSUB = 20
    QROUND = 21


GROUPS = {
    "addsub":  (PositOp.ADD, PositOp.SUB),
    "mul":     (PositOp.MUL,),
    "divsqrt": (PositOp.DIV, PositOp.SQRT),
    "misc":    (PositOp.MIN, PositOp.MAX, PositOp.EQ, PositOp.LT, PositOp.LE,
                PositOp.NEG, PositOp.ABS, PositOp.SGNJ),
    "quire":   (PositOp.QCLR, PositOp.QMADD, PositOp.QMSUB, PositOp.QADD, PositOp.QSUB, PositOp.QROUND),
}

_QUIRE_WRITES = (PositOp.QCLR, PositOp.QMADD, PositOp.QMSUB, PositOp.QADD, PositOp.QSUB)


class PositALU(PositUnit):
    """posit<N, ES> ALU with the quire; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..5; latency = depth + 1), and one bool per op group
    (``addsub``, ``mul``, ``divsqrt``, ``misc``, ``quire``; at least one).
    """

    def __init__(self, *, N=32, ES=2, depth=1, addsub=True, mul=True, divsqrt=True, misc=True, quire=True):
        groups = dict(addsub=addsub, mul=mul, divsqrt=divsqrt, misc=misc, quire=quire)
        for name, value in groups.items():
            check_bool("PositALU", name, value)
        if not any(groups.values()):
            raise ValueError(f"PositALU: at least one op group must be built ({', '.join(GROUPS)})")
        super().__init__("PositALU", N=N, ES=ES, depth=depth, cuts=CUT_POINTS, op=PositOp)
        self.groups = groups
        self.built_ops = tuple(op for name, ops in GROUPS.items() if groups[name] for op in ops)
        self.extra_cycles = {"DIV": div_steps(self.fbits + 1) + 1,
                             "SQRT": sqrt_steps(self.fbits + 1) + 1} if divsqrt else {}
        for name, value in groups.items():
            setattr(self, name, value)

    def elaborate(self, platform):
        m = Module()
        n, es, fbits = self.N, self.ES, self.fbits
        sig_w = fbits + 1
        g = self.groups
        pipe = self.pipeline(m, CUT_POINTS)

        def is_op(op_value, *ops):
            return Cat(*(op_value == op.value for op in ops)).any()

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        op = Value.cast(s["op"])
        m.submodules.decode_a = da = PositDecoder(n, es)
        m.submodules.decode_b = db = PositDecoder(n, es)
        m.d.comb += [da.posit.eq(s["a"]), db.posit.eq(s["b"])]

        # Ops whose result does not go through the encoder: misc, and every code not built (NaR).
        nar_pattern = C(1 << (n - 1), n)
        direct = Signal(n, name="direct_result")
        encoded_ops = [o for o in self.built_ops if o not in GROUPS["misc"]]
        use_direct = ~is_op(op, *encoded_ops) if encoded_ops else C(1, 1)
        if g["misc"]:
            self._misc(m, op, s["a"], s["b"], direct, nar_pattern)
        else:
            m.d.comb += direct.eq(nar_pattern)

        values = dict(op=op, direct=direct, use_direct=use_direct)
        if g["addsub"]:
            subtract = op == PositOp.SUB.value
            values.update(_prefixed("add_", add.decoded_operands(da, db, subtract)))
        if g["mul"] or g["quire"]:
            # QADD/QSUB: a * 1 through the product path.
            one = is_op(op, PositOp.QADD, PositOp.QSUB) if g["quire"] else C(0, 1)
            b_or_one = SimpleNamespace(sign=db.sign & ~one, scale=Mux(one, 0, db.scale),
                                       sig=Mux(one, 1 << fbits, db.sig), zero=db.zero & ~one, nar=db.nar & ~one)
            values.update(_prefixed("mul_", mul.decoded_operands(da, b_or_one)))
        if g["divsqrt"]:
            sqrt = op == PositOp.SQRT.value
            odd = da.scale[0]
            values.update(
                dv_sqrt=sqrt, dv_sign=~sqrt & (da.sign ^ db.sign),
                dv_scale=Mux(sqrt, da.scale >> 1, da.scale - db.scale),
                dv_num=da.sig, dv_den=db.sig, dv_rad=Mux(odd, da.sig << 1, da.sig),
                dv_zero=da.zero,
                dv_nar=da.nar | Mux(sqrt, da.sign, db.nar | db.zero))
        s = pipe.cut("decode", **values)
        op = s["op"]

        values = dict(op=op, direct=s["direct"], use_direct=s["use_direct"])
        if g["addsub"]:
            values.update(_prefixed("add_", add.align(m, _unprefixed("add_", s), sig_w)))
        if g["mul"] or g["quire"]:
            values.update(_prefixed("mul_", mul.multiply(m, _unprefixed("mul_", s), sig_w)))
        if g["divsqrt"]:
            values.update(_prefixed("dv_", self._divsqrt(m, pipe, op, _unprefixed("dv_", s), sig_w)))
        s = pipe.cut("execute", **values)
        op = s["op"]

        # Every result that is ready for the encoder (MUL, DIV, SQRT) goes on in one set of fields.
        values = dict(op=op, direct=s["direct"], use_direct=s["use_direct"])
        ready = []
        if g["mul"]:
            ready.append((PositOp.MUL, mul.normalize_product(_unprefixed("mul_", s), sig_w)))
        if g["divsqrt"]:
            ready.append((None, _unprefixed("dv_", s)))
        if ready:
            values.update(_prefixed("ready_", _select(op, ready)))
        if g["addsub"]:
            values.update(_prefixed("add_", add.add_significands(m, _unprefixed("add_", s), sig_w)))
        quire_view = None
        if g["quire"]:
            quire_layout = QuireLayout(n, es)
            quire_view = self._quire(m, pipe, op, quire_layout, _unprefixed("mul_", s))
        s = pipe.cut("sum", **values)
        op = s["op"]

        values = dict(direct=s["direct"], use_direct=s["use_direct"])
        fields = []
        if g["addsub"]:
            fields.append((PositOp.ADD, add.normalize(m, _unprefixed("add_", s), sig_w)))
        if g["quire"]:
            qr = readout(m, quire_layout, quire_view)
            fields.append((PositOp.QCLR, {key: qr[key] for key in ("sign", "scale", "frac", "sticky", "zero", "nar")}))
        if ready:
            fields.append((None, _unprefixed("ready_", s)))
        if not fields:                                  # misc only: the encoder's output is never used
            fields.append((None, dict(sign=C(0, 1), scale=C(0, 2).as_signed(), frac=C(0, 1),
                                      zero=C(1, 1), nar=C(0, 1))))
        values.update(_select(op, fields))
        s = pipe.cut("normalize", **values)

        m.submodules.encode = enc = PositEncoder(n, es, frac_width=len(s["frac"]), scale_width=len(s["scale"]))
        m.d.comb += [
            enc.sign.eq(s["sign"]), enc.scale.eq(s["scale"]), enc.frac.eq(s["frac"]),
            enc.sticky.eq(s["sticky"]), enc.zero.eq(s["zero"]), enc.nar.eq(s["nar"]),
        ]
        pipe.output(self.result.eq(Mux(s["use_direct"], s["direct"], enc.posit)))
        return m

    def _misc(self, m, op, a, b, direct, otherwise):
        """MIN, MAX, EQ, LT, LE, NEG, ABS, SGNJ straight from the patterns; ``otherwise`` for other codes."""
        n = self.N
        a_s, b_s = a.as_signed(), b.as_signed()
        negated = Signal(n, name="negated")
        magnitude = Signal(n, name="abs_a")
        m.d.comb += [negated.eq(-a_s), magnitude.eq(Mux(a[n - 1], negated, a))]
        with m.Switch(op):
            with m.Case(PositOp.MIN.value):
                m.d.comb += direct.eq(Mux(a_s <= b_s, a, b))
            with m.Case(PositOp.MAX.value):
                m.d.comb += direct.eq(Mux(a_s >= b_s, a, b))
            with m.Case(PositOp.EQ.value):
                m.d.comb += direct.eq(a == b)
            with m.Case(PositOp.LT.value):
                m.d.comb += direct.eq(a_s < b_s)
            with m.Case(PositOp.LE.value):
                m.d.comb += direct.eq(a_s <= b_s)
            with m.Case(PositOp.NEG.value):
                m.d.comb += direct.eq(negated)
            with m.Case(PositOp.ABS.value):
                m.d.comb += direct.eq(magnitude)
            with m.Case(PositOp.SGNJ.value):
                m.d.comb += direct.eq(Mux(b[n - 1], -magnitude, magnitude))
            with m.Default():
                m.d.comb += direct.eq(otherwise)

    def _divsqrt(self, m, pipe, op, s, sig_w):
        """DIV / SQRT: hold the pipeline while ``DivSqrtIterative`` steps, then the encoder fields."""
        m.submodules.divsqrt = engine = DivSqrtIterative(sig_w)
        busy_op = pipe.valid & Cat(op == PositOp.DIV.value, op == PositOp.SQRT.value).any()
        started = Signal(name="divsqrt_started")
        start = busy_op & ~started
        with m.If(pipe.enable):
            m.d.sync += started.eq(0)
        with m.Elif(start):
            m.d.sync += started.eq(1)
        pipe.hold(busy_op & ~(started & engine.done))
        m.d.comb += [
            engine.start.eq(start), engine.sqrt.eq(s["sqrt"]),
            engine.num.eq(s["num"]), engine.den.eq(s["den"]), engine.rad.eq(s["rad"]),
        ]
        q = engine.result
        k = sig_w + 3
        hi = q[k]
        # Division: the quotient's leading one is bit k or k - 1; square root: bit sig_w of the root.
        frac = Mux(s["sqrt"], Cat(C(0, k - sig_w), q[:sig_w]), Mux(hi, q[:k], Cat(C(0, 1), q[:k - 1])))
        scale = Mux(s["sqrt"], s["scale"], s["scale"] - 1 + hi)
        return dict(sign=s["sign"], scale=scale, frac=frac, sticky=engine.sticky, zero=s["zero"], nar=s["nar"])

    def _quire(self, m, pipe, op, q, s):
        """The quire register and its update; returns the quire after this op, as the next stage reads it."""
        subtract = Cat(op == PositOp.QMSUB.value, op == PositOp.QSUB.value).any()
        term = dict(product=s["product"], scale=s["scale"], sign=s["sign"], zero=s["zero"])
        placed = place_term(m, q, term_window(m, q, term, subtract))
        accumulate = Cat(*(op == o.value for o in _QUIRE_WRITES[1:])).any()
        # With the ``sum`` register, the quire register holds exactly this op's result one cycle
        # later (the next op writes at its end).
        return QuireState(q).update(m, write=pipe.enable & pipe.valid, clear=op == PositOp.QCLR.value,
                                    accumulate=accumulate, addend=placed["addend"], nar=s["nar"],
                                    registered=pipe.registered("sum"))


def _prefixed(prefix, values):
    return {prefix + key: value for key, value in values.items()}


def _unprefixed(prefix, values):
    return {key[len(prefix):]: value for key, value in values.items() if key.startswith(prefix)}


def _select(op, candidates):
    """One set of encoder fields (sign, scale, frac, sticky, zero, nar) out of ``candidates``.

    ``candidates`` are (op, fields) pairs: the op's group selects them; the last pair is the
    default.  Fractions are aligned at the top (zeros below); a missing sticky is 0.
    """
    frac_width = max(len(Value.cast(f["frac"])) for _, f in candidates)

    def widen(fields):
        frac = Value.cast(fields["frac"])
        return dict(sign=fields["sign"], scale=fields["scale"], frac=Cat(C(0, frac_width - len(frac)), frac),
                    sticky=fields.get("sticky", C(0, 1)), zero=fields["zero"], nar=fields["nar"])

    *rest, (_, chosen) = candidates
    chosen = widen(chosen)
    for which, fields in reversed(rest):
        group = next(ops for ops in GROUPS.values() if which in ops)
        hit = Cat(*(op == o.value for o in group)).any()
        fields = widen(fields)
        chosen = {key: Mux(hit, fields[key], chosen[key]) for key in chosen}
    return chosen
