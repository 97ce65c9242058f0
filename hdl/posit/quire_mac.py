"""``posit_quire``: the quire of posit<N, ES> as a pipelined MAC unit (2022 standard).

Each accepted operation carries ``op`` (``PositQuireOp``), ``a`` and ``b``
(N-bit posit patterns) and returns ``result``, the quire rounded to a posit
after the operation: CLR ``q = 0``, MADD ``q += a*b``, MSUB ``q -= a*b``, ADD
``q += a``, SUB ``q -= a``, ROUND (q unchanged).  Codes 6 and 7 are reserved:
they return NaR and leave the quire alone.  Rounding as ``PositEncoder``
(nearest, ties to even on the pattern, never to 0 or NaR); a NaR operand makes
the quire NaR until CLR.  ``golden.posit.Quire`` is the bit-exact model.

The quire (``width`` bits, 512 for posit<32,2>) is kept in carry-save form
(``hdl/posit/quire.py``), so one MAC per cycle needs only a 32-bit adder in
the loop.  Datapath, one cut point after each step: ``operands`` -> decode
both operands (``regime`` inside; ``b`` is 1 for ADD/SUB) -> ``decode`` -> the
exact significand product (``partial``) -> ``product`` -> ``window`` ->
``place`` -> ``accumulate`` (the quire register itself) -> the readout
stages ``resolve``, ``prefix``, ``binary``, ``sign``, ``magnitude``,
``find``, ``select``, ``count``, ``fields`` -> the posit encoder (``layout``
inside).  ``CUT_POINTS`` lists them in fill order.

Divergence from the golden model, documented: the NaR state is a flag set by
a NaR operand.  A quire that reaches the pattern ``10...0`` by wrapping around
(2**31 products of maxpos squared) reads NaR, as in the model, but
the next accumulation continues from it, where the model stays NaR.
"""

from amaranth import *
from amaranth.lib import enum

from . import mul
from .codec import decode_pair, encode
from .quire import QuireLayout, QuireState, place_term, readout, term_window
from .unit import PositUnit


__all__ = ["PositQuireOp", "PositQuireMAC", "CUT_POINTS"]


# Fill order: the most useful register first.
CUT_POINTS = ("accumulate", "product", "place", "binary", "select", "decode", "window", "layout",
              "magnitude", "count", "resolve", "regime", "partial", "find", "fields", "sign", "prefix", "operands")


class PositQuireOp(enum.Enum, shape=3):
    CLR = 0
    MADD = 1
    MSUB = 2
    ADD = 3
    SUB = 4
    ROUND = 5


def _is(op, *ops):
    return Cat(*(op == o.value for o in ops)).any()


class PositQuireMAC(PositUnit):
    """The posit<N, ES> quire as a MAC unit; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..18; latency = depth + 1 for every op, one op per cycle).
    """

    def __init__(self, *, N=32, ES=2, depth=1):
        super().__init__("PositQuireMAC", N=N, ES=ES, depth=depth, cuts=CUT_POINTS, op=PositQuireOp)
        self.quire = QuireLayout(N, ES)

    def elaborate(self, platform):
        m = Module()
        n, es, fbits, q = self.N, self.ES, self.fbits, self.quire
        sig_w = fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        op = Value.cast(s["op"])
        one = _is(op, PositQuireOp.ADD, PositQuireOp.SUB)
        # Negating the patterns first leaves the fields half without an adder (the shorter path).
        decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], negate_pattern=True, op=op, one=one)
        da, db, op, one = decoded["a"], decoded["b"], decoded["op"], decoded["one"]
        # ADD/SUB: a * 1 through the product path.
        s = pipe.cut("decode", op=op, sign=da.sign ^ (db.sign & ~one), scale=da.scale + Mux(one, 0, db.scale),
                     a_sig=da.sig, b_sig=Mux(one, 1 << fbits, db.sig),
                     zero=da.zero | (db.zero & ~one), nar=da.nar | (db.nar & ~one))
        if pipe.registered("partial"):
            s = pipe.cut("partial", op=s["op"], **mul.partial_products(m, s, sig_w))
            s = pipe.cut("product", op=s["op"], **mul.sum_partials(m, s, sig_w))
        else:
            s = pipe.cut("partial", **s)
            s = pipe.cut("product", op=s["op"], **mul.multiply(m, s, sig_w))
        s = pipe.cut("window", **term_window(m, q, s, _is(s["op"], PositQuireOp.MSUB, PositQuireOp.SUB)))
        s = pipe.cut("place", **place_term(m, q, s))

        op = s["op"]
        state = QuireState(q)
        quire = state.update(m, write=pipe.enable & pipe.valid, clear=op == PositQuireOp.CLR.value,
                             accumulate=_is(op, PositQuireOp.MADD, PositQuireOp.MSUB, PositQuireOp.ADD,
                                            PositQuireOp.SUB),
                             addend=s["addend"], nar=s["nar"], registered=pipe.registered("accumulate"))
        s = dict(pipe.cut("accumulate", reserved=~_is(op, *PositQuireOp)), **quire)
        s = readout(m, q, s, cut=lambda name, values: pipe.cut(name, **values))
        pipe.output(self.result.eq(encode(m, pipe, n, es, dict(s, nar=s["nar"] | s["reserved"]))))
        return m
