"""``posit_add``: posit<N, ES> addition and subtraction, rounded once (2022 standard).

Each accepted operation carries ``op`` (ADD = 0, SUB = 1), ``a`` and ``b`` (N-bit
posit patterns) and returns ``result`` = ``a + b`` or ``a - b`` rounded to
nearest, ties to even on the pattern, never to 0 or NaR from a nonzero real;
NaR in gives NaR out, ``x - x`` gives 0.

Datapath, in two's complement throughout (nothing is negated outside the
adder): decode both operands into ``2**scale * sig`` with ``sig = 1 + f``
or ``-2 + f`` (``PositFields.signed_sig``, no negation) -> order them by scale
-> shift the one of the smaller scale right, arithmetically, keeping a guard
and a round bit and ORing the rest into a sticky bit (the remainder of a
two's-complement truncation is never negative) -> add, for SUB with ``b``
(whichever side it is on) as its ones' complement and a carry-in (a shifted
``b`` with its sticky bit as the LSB negates the same way, as an integer)
-> normalize (shift out
the copies of the sign bit) -> encode and round in two's
complement (``PositEncoder(twos_complement=True)``).  Pipeline cut points in
fill order: ``sum`` (after the add), ``decode``, ``normalize``, ``align``
(after the alignment shift), ``operands``, ``regime`` (inside the decoders,
after the regime run count), ``layout`` (inside the encoder, before the
rounding adder), ``distance`` (after the ordering and the scale difference,
before the alignment shift), ``count`` (after the sum's sign-bit count,
before its shift).  At depth 0 the normalization decides its shift step by
step (``normalize_by_steps``) rather than counting the copies and then
shifting by the count, and so do the decoders for the regime runs
(``PositFields(regime_by_steps=True)``).  Latency is ``depth + 1``.

The sign-magnitude datapath below the two's-complement one is ``posit_alu``'s:
its encoder is shared with the product, quotient, root and quire, all in
sign-magnitude form.
"""

from amaranth import *
from amaranth.lib import enum

from ..common.lzc import LeadingZeroCount
from ..common.shift import ShiftRightSticky, normalize_by_steps
from .codec import decode_pair, encode
from .unit import PositUnit


__all__ = ["PositAddOp", "PositAdd", "CUT_POINTS",
           "signed_operands", "order_by_scale", "shift_smaller_scale", "add_signed", "count_sign_copies",
           "shift_out_sign_copies", "shift_out_sign_copies_by_steps",
           "decoded_operands", "order", "shift_smaller", "align", "add_significands", "count_leading_zeros",
           "shift_out_leading_one", "normalize"]


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
        n, es, w = self.N, self.ES, self.fbits + 2
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], signed_form=True, regime_by_steps=not self.depth,
                              subtract=Value.cast(s["op"]) == PositAddOp.SUB.value)
        s = pipe.cut("decode", **signed_operands(decoded["a"], decoded["b"], decoded["subtract"]))
        s = pipe.cut("distance", **order_by_scale(m, s))
        s = pipe.cut("align", **shift_smaller_scale(m, s, w))
        s = pipe.cut("sum", **add_signed(m, s, w))
        # Depth 0, all in one stage, takes the forms with fewer LUT4: the sum's sign copies and the
        # regime runs shifted out by steps, the layout's sticky bit stage by stage (ECP5-85F, best
        # delay, seed 1: 1678 LUT4 at 22.5 MHz all counted with the sticky mask, 1532 at 21.0 with
        # the sum by steps, 1515 at 20.6 with the runs too, 1454 at 20.7 without the mask; b negated
        # in the adder rather than as a pattern before its decoder: 1383, 59 carry cells instead
        # of 73, 21.4 MHz median of 3 seeds).
        # Pipelined, the counts are faster: by steps the sum's normalization cost Fmax at every
        # depth from 2 on (depth 2: 39.2 MHz against 50.1, depth 8: 74.3 against 104.2).
        # Each depth-0 count is one draw: abc9's best-delay count moves 5-10% between equivalent
        # forms (README, "How far the best-delay count is from the logic").  100 forms (runs and sum
        # counted or by steps, blocks from 2..32 bits, mask or not, operands ordered by scale or
        # from the patterns on two carry chains): 1358..1935 LUT4, mean 1586.  By steps lowers the
        # mean by 190 (sum) and 93 (runs), the mask by 38; the ordering and the step sizes by less
        # than the spread.
        if self.depth:
            s = pipe.cut("count", **count_sign_copies(m, s, w))
            s = pipe.cut("normalize", **shift_out_sign_copies(m, s, w))
        else:
            s = pipe.cut("normalize", **pipe.cut("count", **shift_out_sign_copies_by_steps(m, s, w)))
        # Without a register after the layout (depths 1..6) its sticky bit from a mask, beside the
        # shift, maps to fewer LUTs and a shorter path (at depth 0 with the counts: 1678 LUT4 against
        # 1741).
        mask_sticky = bool(self.depth) and not pipe.registered("layout")
        pipe.output(self.result.eq(encode(m, pipe, n, es, dict(s, sticky=C(0, 1)), twos_complement=True,
                                          mask_sticky=mask_sticky)))
        return m


# posit_add's datapath in two's complement, one function per stage: each takes the previous
# stage's values (a dict, through a pipeline cut) and returns its own.  ``w`` = fbits + 2 is the
# width of a signed significand.

def signed_operands(da, db, subtract):
    """The operands' two's-complement forms (``PositFields.signed_scale`` and ``signed_sig``)."""
    return dict(a_scale=da.signed_scale, a_sig=da.signed_sig, b_scale=db.signed_scale, b_sig=db.signed_sig,
                subtract=subtract, nar=da.nar | db.nar)


def order_by_scale(m, s):
    """``x`` the significand of the larger scale (``a``'s on a tie), ``y`` the other one and
    ``distance`` the scale difference; 0 has the lowest scale of all and loses.  For SUB,
    ``x_negate`` or ``y_negate`` says which of them is ``b``, for the adder to negate."""
    a_first = Signal(name="a_first")
    distance = Signal(len(Value.cast(s["a_scale"])) + 1, name="scale_distance")
    m.d.comb += [
        a_first.eq(s["a_scale"] >= s["b_scale"]),
        distance.eq(Mux(a_first, s["a_scale"] - s["b_scale"], s["b_scale"] - s["a_scale"])),
    ]
    return dict(x=Mux(a_first, s["a_sig"], s["b_sig"]), y=Mux(a_first, s["b_sig"], s["a_sig"]),
                scale=Mux(a_first, s["a_scale"], s["b_scale"]), distance=distance,
                x_negate=s["subtract"] & ~a_first, y_negate=s["subtract"] & a_first, nar=s["nar"])


def shift_smaller_scale(m, s, w):
    """``y`` shifted right by ``distance``, copies of its sign shifted in, with a guard and a round
    bit and the OR of the rest as a sticky LSB (w + 3 bits)."""
    y = Value.cast(s["y"])
    m.submodules.align = shifter = ShiftRightSticky(w + 2, len(Value.cast(s["distance"])), fill=True)
    m.d.comb += [shifter.value.eq(Cat(C(0, 2), y)), shifter.amount.eq(s["distance"]), shifter.fill.eq(y[-1])]
    return dict(x=s["x"], y=Cat(shifter.sticky, shifter.result), scale=s["scale"],
                x_negate=s["x_negate"], y_negate=s["y_negate"], nar=s["nar"])


def add_signed(m, s, w):
    """``x + y`` in w + 4 bits (one more than either, so nothing overflows), with ``x`` or ``y``
    negated as ``~v + 1``: its ones' complement and a carry-in, entering below the LSB as an extra
    lowest bit of both addends.  ``-(-2) = 2`` fits: the extra top bit holds it."""
    x_negate, y_negate = Value.cast(s["x_negate"]), Value.cast(s["y_negate"])
    x = Cat(C(0, 3), s["x"]).as_signed()
    y = Value.cast(s["y"]).as_signed()
    x = Cat(x, x[-1]) ^ x_negate.replicate(w + 4)
    y = Cat(y, y[-1]) ^ y_negate.replicate(w + 4)
    carry = x_negate | y_negate
    wide = Signal(w + 5, name="total_with_carry_in")
    m.d.comb += wide.eq(Cat(carry, x) + Cat(carry, y))
    total = Signal(signed(w + 4), name="total")
    m.d.comb += total.eq(wide[1:])
    return dict(total=total, scale=s["scale"], nar=s["nar"])


def count_sign_copies(m, s, w):
    """How many bits below the sign bit of the sum repeat it (leading-zero count of bit i XOR
    bit i + 1)."""
    total = Value.cast(s["total"])
    m.submodules.lzc = lzc = LeadingZeroCount(w + 3)
    m.d.comb += lzc.value.eq(total[:-1] ^ total[1:])
    return dict(total=total, count=lzc.count, scale=s["scale"], nar=s["nar"])


def shift_out_sign_copies(m, s, w):
    """The sum normalized to ``01.frac`` or ``10.frac``: its sign, scale and the w + 2 bits ``frac``.

    Beyond a scale difference of 1 at most two copies are shifted out, so the sticky bit stays
    below the round bit; a longer shift comes from a cancellation, which leaves no sticky bit.
    """
    total = Value.cast(s["total"])
    frac = Signal(w + 2, name="normalized_frac")
    m.d.comb += frac.eq(total << s["count"])
    return dict(sign=total[-1], scale=s["scale"] + 1 - s["count"], frac=frac, zero=total == 0, nar=s["nar"])


def shift_out_sign_copies_by_steps(m, s, w):
    """``count_sign_copies`` and ``shift_out_sign_copies`` in one, the shift decided a power of two
    at a time (``normalize_by_steps``), at most w + 3 copies (all of them: a zero sum).  Steps of
    4 and more read the copies in blocks of the sum: posit<32,2> at depth 0 on ECP5-85F with the
    regime runs counted, 1532 LUT4 at 21.0 MHz (1101 at 18.2 mapped for area) against 1595 at 20.2
    (1096 at 15.7) with steps of 16 and more, as the floating-point units have them (medians of 3
    seeds)."""
    total = Value.cast(s["total"])
    head, _, count = normalize_by_steps(m, total, C(len(total) - 1), len(total), copies=True, parallel_step=4)
    return dict(sign=head[-1], scale=s["scale"] + 1 - count, frac=head[:w + 2], zero=head == 0, nar=s["nar"])


# posit_alu's adder in sign-magnitude form, one function per stage as above.

def decoded_operands(da, db, subtract):
    """The decoded operands (``PositDecoder`` outputs), ``b`` negated when ``subtract``, and
    ``a_larger`` (``|a| >= |b|``, from the magnitudes' patterns)."""
    return dict(a_sign=da.sign, a_scale=da.scale, a_sig=da.sig,
                b_sign=db.sign ^ subtract, b_scale=db.scale, b_sig=db.sig,
                a_larger=da.magnitude >= db.magnitude, nar=da.nar | db.nar)


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
