"""The quire of posit<N, ES>: accumulate exact products, round once (2022 standard).

The quire is a ``width = 2**(es+2) * (n-2) + 32``-bit two's-complement register
Q worth ``Q * 2**-frac_bits``, ``frac_bits = 2**(es+1) * (n-2)`` (512 and 240
for posit<32,2>); ``golden.posit.Quire`` is the bit-exact model.  Every product
of two posits is exact in it.  The pattern ``1`` followed by zeros is NaR; a
NaR operand makes the quire NaR, and a NaR quire stays NaR until cleared.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from golden.posit import PositFormat
from ..common.shift import Normalize


__all__ = ["QuireAccumulate", "QuireRound"]


class QuireAccumulate(wiring.Component):
    """``quire + (-1)**negate * product``, or 0 on ``clear``; combinational.

    Ports: ``quire`` In(width), the register; ``product`` In(2 * sig_w), the
    exact product of two significands with 2 * fbits fraction bits (the
    multiplier's output, 0 for a zero operand); ``scale`` In(signed) its
    scale (the sum of the operands' scales, at least -2 * max_scale);
    ``negate``, ``nar`` (a NaR operand), ``clear`` In(1); ``result`` Out(width).

    The product goes into the quire by one left shift of ``scale + 2 *
    max_scale`` (0..4 * max_scale) into a field 2 * fbits bits wider than the
    quire, whose low 2 * fbits bits are always zero (only posits near minpos
    have products that small, and they have no fraction bits) and are dropped.
    The negation shares the adder: ``quire + ~term + 1``.
    """

    def __init__(self, n, es, *, scale_width):
        fmt = PositFormat.get(n, es)
        self.fmt = fmt
        self.width = fmt.quire_width
        self.sig_w = fmt.fbits + 1
        super().__init__({
            "quire":   In(self.width),
            "product": In(2 * self.sig_w),
            "scale":   In(signed(scale_width)),
            "negate":  In(1),
            "nar":     In(1),
            "clear":   In(1),
            "result":  Out(self.width),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, width = self.fmt, self.width
        drop = 2 * fmt.fbits
        amount = Signal(bits_for(4 * fmt.max_scale), name="quire_position")
        m.d.comb += amount.eq(self.scale + 2 * fmt.max_scale)
        placed = Signal(width + drop, name="placed_product")
        m.d.comb += placed.eq(self.product << amount)
        term = placed[drop:]
        nar = 1 << (width - 1)
        total = Signal(width, name="quire_sum")
        m.d.comb += total.eq(self.quire + (term ^ self.negate.replicate(width)) + self.negate)
        with m.If(self.clear):
            m.d.comb += self.result.eq(0)
        with m.Elif((self.quire == nar) | self.nar):
            m.d.comb += self.result.eq(nar)
        with m.Else():
            m.d.comb += self.result.eq(total)
        return m


class QuireRound(wiring.Component):
    """Splits a quire value into the ``PositEncoder`` inputs; combinational.

    Ports: ``quire`` In(width); ``sign``, ``zero``, ``nar``, ``sticky``
    Out(1); ``scale`` Out(signed): the weight of the magnitude's leading one;
    ``frac`` Out(fbits + 1), the bits below it (the rest ORed into ``sticky``).
    The magnitude is ``(Q ^ sign) + sign``; one ``Normalize`` brings its
    leading one to the top and keeps ``fbits + 2`` bits, enough for every
    posit fraction bit and the round bit (the top one is 0 only for Q = 0).
    """

    def __init__(self, n, es):
        fmt = PositFormat.get(n, es)
        self.fmt = fmt
        self.width = fmt.quire_width
        self.scale_width = bits_for(max(fmt.quire_frac_bits, self.width - 1 - fmt.quire_frac_bits)) + 1
        super().__init__({
            "quire":  In(self.width),
            "sign":   Out(1),
            "zero":   Out(1),
            "nar":    Out(1),
            "scale":  Out(signed(self.scale_width)),
            "frac":   Out(fmt.fbits + 1),
            "sticky": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, width = self.fmt, self.width
        sign = self.quire[width - 1]
        magnitude = Signal(width, name="quire_magnitude")
        m.d.comb += magnitude.eq((self.quire ^ sign.replicate(width)) + sign)
        keep = fmt.fbits + 2
        m.submodules.normalize = norm = Normalize(width, keep=keep, sticky=True)
        m.d.comb += [
            norm.value.eq(magnitude),
            self.sign.eq(sign),
            self.nar.eq(sign & ~self.quire[:width - 1].any()),
            self.zero.eq(~norm.result[keep - 1]),
            self.scale.eq((width - 1 - fmt.quire_frac_bits) - norm.shift),
            self.frac.eq(norm.result[:keep - 1]),
            self.sticky.eq(norm.sticky),
        ]
        return m
