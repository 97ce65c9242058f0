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
``align`` (after the alignment shift), ``operands``, ``regime`` (inside the
decoders, after the regime run count), ``layout`` (inside the encoder, before
the rounding adder), ``distance`` (after the ordering and the scale
difference, before the alignment shift), ``count`` (after the sum's
leading-zero count, before its shift).  Latency is ``depth + 1``.
"""

from amaranth import *
from amaranth.lib import enum

from ..common.lzc import LeadingZeroCount
from ..common.shift import ShiftRightSticky
from .codec import decode_pair, encode
from .unit import PositUnit


__all__ = ["PositAddOp", "PositAdd", "CUT_POINTS", "decoded_operands", "order", "shift_smaller", "align",
           "add_significands", "count_leading_zeros", "shift_out_leading_one", "normalize"]


CUT_POINTS = ("sum", "decode", "normalize", "align", "operands", "regime", "layout", "distance", "count")


class PositAddOp(enum.Enum, shape=1):
    ADD = 0
    SUB = 1


class PositAdd(PositUnit):
    """posit<N, ES> adder/subtractor; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..9; latency = depth + 1).
    """

    def __init__(self, *, N=32, ES=2, depth=1):
        super().__init__("PositAdd", N=N, ES=ES, depth=depth, cuts=CUT_POINTS, op=PositAddOp)

    def elaborate(self, platform):
        m = Module()
        n, es, sig_w = self.N, self.ES, self.fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        # Unpipelined, decoding the patterns as they are maps to fewer LUTs; with a register inside
        # the decoders, negating first leaves the second half without its adder (the shorter path).
        decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], negate_pattern=pipe.registered("regime"), op=s["op"])
        subtract = Value.cast(decoded["op"]) == PositAddOp.SUB.value
        s = pipe.cut("decode", **decoded_operands(decoded["a"], decoded["b"], subtract, decoded["a_larger"]))
        s = pipe.cut("distance", **order(m, s, sig_w))
        s = pipe.cut("align", **shift_smaller(m, s, sig_w))
        s = pipe.cut("sum", **add_significands(m, s, sig_w))
        s = pipe.cut("count", **count_leading_zeros(m, s, sig_w))
        s = pipe.cut("normalize", **shift_out_leading_one(m, s, sig_w))
        pipe.output(self.result.eq(encode(m, pipe, n, es, dict(s, sticky=C(0, 1)))))
        return m


# The adder's datapath, one function per stage: each takes the previous stage's values (a dict,
# through a pipeline cut) and returns its own.  ``PositAdd`` and ``PositALU`` compose them.

def decoded_operands(da, db, subtract, a_larger=None):
    """The decoded operands (``PositDecoder`` outputs), ``b`` negated when ``subtract``.

    ``a_larger`` (``|a| >= |b|``) defaults to the decoders' magnitude comparison.
    """
    if a_larger is None:
        a_larger = da.magnitude >= db.magnitude
    return dict(a_sign=da.sign, a_scale=da.scale, a_sig=da.sig,
                b_sign=db.sign ^ subtract, b_scale=db.scale, b_sig=db.sig,
                a_larger=a_larger, nar=da.nar | db.nar)


def order(m, s, sig_w):
    """Orders the operands by magnitude: ``x`` the larger, ``y_sig`` the smaller's significand and
    ``distance`` their scale difference (a zero operand has significand 0 and loses)."""
    a_larger = s["a_larger"]
    x_sign = Mux(a_larger, s["a_sign"], s["b_sign"])
    y_sign = Mux(a_larger, s["b_sign"], s["a_sign"])
    # Both differences at once, then the choice: the subtractors do not wait for the comparison.
    distance = Signal(len(Value.cast(s["a_scale"])) + 1, name="scale_distance")
    m.d.comb += distance.eq(Mux(a_larger, s["a_scale"] - s["b_scale"], s["b_scale"] - s["a_scale"]))
    return dict(sign=x_sign, scale=Mux(a_larger, s["a_scale"], s["b_scale"]),
                x=Mux(a_larger, s["a_sig"], s["b_sig"]), y_sig=Mux(a_larger, s["b_sig"], s["a_sig"]),
                distance=distance, subtract=x_sign ^ y_sign, nar=s["nar"])


def shift_smaller(m, s, sig_w):
    """Shifts the smaller significand to the larger's scale: ``y`` keeps a guard and a round bit
    and ORs the rest into a sticky LSB."""
    m.submodules.align = shifter = ShiftRightSticky(sig_w + 2, len(s["distance"]))
    m.d.comb += [shifter.value.eq(Cat(C(0, 2), s["y_sig"])), shifter.amount.eq(s["distance"])]
    return dict(sign=s["sign"], scale=s["scale"], x=s["x"], y=Cat(shifter.sticky, shifter.result),
                subtract=s["subtract"], nar=s["nar"])


def align(m, s, sig_w):
    """``order`` and ``shift_smaller`` in one stage."""
    return shift_smaller(m, order(m, s, sig_w), sig_w)


def add_significands(m, s, sig_w):
    """``x + y`` or ``x - y = x + ~y + 1``, the carry-in as the LSB of one wider adder."""
    subtract = s["subtract"]
    x = Cat(subtract, C(0, 3), s["x"], C(0, 1))
    y = Cat(subtract, s["y"] ^ subtract.replicate(sig_w + 3), subtract)
    total = Signal(sig_w + 5, name="total")
    m.d.comb += total.eq(x + y)
    return dict(sign=s["sign"], scale=s["scale"], total=total[1:], nar=s["nar"])


def count_leading_zeros(m, s, sig_w):
    """The sum's leading-zero count (``zero`` when the sum is 0)."""
    m.submodules.lzc = lzc = LeadingZeroCount(sig_w + 4)
    m.d.comb += lzc.value.eq(s["total"])
    return dict(s, count=lzc.count, zero=lzc.zero)


def shift_out_leading_one(m, s, sig_w):
    """Shifts the sum's leading one out of the top; ``frac`` (sig_w + 3 bits) is what lies below it."""
    frac = Signal(sig_w + 3, name="normalized_frac")
    m.d.comb += frac.eq(s["total"] << s["count"])
    scale = s["scale"] + 1 - s["count"]
    return dict(sign=s["sign"], scale=scale, frac=frac, zero=s["zero"], nar=s["nar"])


def normalize(m, s, sig_w):
    """``count_leading_zeros`` and ``shift_out_leading_one`` in one stage."""
    return shift_out_leading_one(m, count_leading_zeros(m, s, sig_w), sig_w)
