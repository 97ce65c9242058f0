"""``posit_add``: posit<N, ES> addition and subtraction, rounded once (2022 standard).

Each accepted operation carries ``op`` (ADD = 0, SUB = 1), ``a`` and ``b`` (N-bit
posit patterns) and returns ``result`` = ``a + b`` or ``a - b`` rounded to
nearest, ties to even on the pattern, never to 0 or NaR from a nonzero real;
NaR in gives NaR out, ``x - x`` gives 0.

Datapath: decode both operands -> order them by magnitude (the magnitudes'
patterns compare like unsigned integers) -> shift the smaller significand right
by the scale difference, keeping a guard and a round bit and ORing the rest
into a sticky bit -> add or subtract the M + 3-bit significands (M = fbits + 1)
-> normalize (leading-zero count and left shift) -> encode and round.  Pipeline
cut points in fill order: ``sum`` (after the add), ``decode``, ``normalize``,
``align`` (after the alignment shift), ``operands``.  Latency is ``depth + 1``.
"""

from amaranth import *
from amaranth.lib import enum

from ..common.params import check_int
from ..common.pipeline import PipelinedUnit
from ..common.lzc import LeadingZeroCount
from ..common.shift import ShiftRightSticky
from .codec import PositDecoder, PositEncoder, check_format


__all__ = ["PositAddOp", "PositAdd", "CUT_POINTS", "decoded_operands", "align", "add_significands", "normalize"]


CUT_POINTS = ("sum", "decode", "normalize", "align", "operands")


class PositAddOp(enum.Enum, shape=1):
    ADD = 0
    SUB = 1


class PositAdd(PipelinedUnit):
    """posit<N, ES> adder/subtractor; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..5; latency = depth + 1).
    """

    def __init__(self, *, N=32, ES=2, depth=1):
        fmt = check_format("PositAdd", N, ES)
        check_int("PositAdd", "depth", depth, 0, len(CUT_POINTS))
        self.N, self.ES, self.depth = N, ES, depth
        self.fbits = fmt.fbits
        super().__init__(
            inputs={
                "op": PositAddOp,
                "a": N,
                "b": N,
            },
            outputs={
                "result": N,
            })

    def elaborate(self, platform):
        m = Module()
        n, es, sig_w = self.N, self.ES, self.fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        m.submodules.decode_a = da = PositDecoder(n, es)
        m.submodules.decode_b = db = PositDecoder(n, es)
        m.d.comb += [da.posit.eq(s["a"]), db.posit.eq(s["b"])]
        subtract = Value.cast(s["op"]) == PositAddOp.SUB.value
        s = pipe.cut("decode", **decoded_operands(da, db, subtract))
        s = pipe.cut("align", **align(m, s, sig_w))
        s = pipe.cut("sum", **add_significands(m, s, sig_w))
        s = pipe.cut("normalize", **normalize(m, s, sig_w))

        m.submodules.encode = enc = PositEncoder(n, es, frac_width=sig_w + 3, scale_width=len(s["scale"]))
        m.d.comb += [
            enc.sign.eq(s["sign"]), enc.scale.eq(s["scale"]), enc.frac.eq(s["frac"]),
            enc.sticky.eq(0), enc.zero.eq(s["zero"]), enc.nar.eq(s["nar"]),
        ]
        pipe.output(self.result.eq(enc.posit))
        return m


# The adder's datapath, one function per stage: each takes the previous stage's values (a dict,
# through a pipeline cut) and returns its own.  ``PositAdd`` and ``PositALU`` compose them.

def decoded_operands(da, db, subtract):
    """The decoded operands (``PositDecoder`` outputs), ``b`` negated when ``subtract``."""
    return dict(a_sign=da.sign, a_scale=da.scale, a_sig=da.sig,
                b_sign=db.sign ^ subtract, b_scale=db.scale, b_sig=db.sig,
                a_larger=da.magnitude >= db.magnitude, nar=da.nar | db.nar)


def align(m, s, sig_w):
    """Orders the operands by magnitude and shifts the smaller significand to the larger's scale.

    ``y`` keeps a guard and a round bit and ORs the rest into a sticky LSB.
    """
    # x: the operand of larger magnitude (a zero operand has significand 0 and loses).
    a_larger = s["a_larger"]
    x_sign = Mux(a_larger, s["a_sign"], s["b_sign"])
    x_scale = Mux(a_larger, s["a_scale"], s["b_scale"])
    x_sig = Mux(a_larger, s["a_sig"], s["b_sig"])
    y_sign = Mux(a_larger, s["b_sign"], s["a_sign"])
    y_scale = Mux(a_larger, s["b_scale"], s["a_scale"])
    y_sig = Mux(a_larger, s["b_sig"], s["a_sig"])
    distance = Signal(len(x_scale) + 1, name="scale_distance")
    m.d.comb += distance.eq(x_scale - y_scale)
    m.submodules.align = shifter = ShiftRightSticky(sig_w + 2, len(distance))
    m.d.comb += [shifter.value.eq(Cat(C(0, 2), y_sig)), shifter.amount.eq(distance)]
    return dict(sign=x_sign, scale=x_scale, x=x_sig, y=Cat(shifter.sticky, shifter.result),
                subtract=x_sign ^ y_sign, nar=s["nar"])


def add_significands(m, s, sig_w):
    """``x + y`` or ``x - y = x + ~y + 1``, the carry-in as the LSB of one wider adder."""
    subtract = s["subtract"]
    x = Cat(subtract, C(0, 3), s["x"], C(0, 1))
    y = Cat(subtract, s["y"] ^ subtract.replicate(sig_w + 3), subtract)
    total = Signal(sig_w + 5, name="total")
    m.d.comb += total.eq(x + y)
    return dict(sign=s["sign"], scale=s["scale"], total=total[1:], nar=s["nar"])


def normalize(m, s, sig_w):
    """Shifts the sum's leading one out of the top; ``frac`` (sig_w + 3 bits) is what lies below it."""
    m.submodules.lzc = lzc = LeadingZeroCount(sig_w + 4)
    frac = Signal(sig_w + 3, name="normalized_frac")
    m.d.comb += [lzc.value.eq(s["total"]), frac.eq(s["total"] << lzc.count)]
    scale = s["scale"] + 1 - lzc.count
    return dict(sign=s["sign"], scale=scale, frac=frac, zero=lzc.zero, nar=s["nar"])
