"""Right shift with a chosen fill bit that reports the bits it drops (sticky).

``ShiftRightSticky`` fills with zeros; this block shifts in copies of ``fill``,
which a posit encoder needs to lay out a regime of ones (``fill = 1``) or of
zeros (``fill = 0``) in one shifter.  Stage ``i`` shifts by ``2**i`` when
``amount[i]`` is set and ORs the bits it drops into the sticky bit.  Fill bits
reach the dropped positions only when ``amount > width``, so every amount of
``width`` or more takes the overflow path instead: the whole result is fill and
sticky is the OR of the whole input.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int


__all__ = ["ShiftRightStickyFill"]


class ShiftRightStickyFill(wiring.Component):
    """``result = (value >> amount) | (fill ? ones in the top min(amount, width) bits : 0)``.

    Ports: ``value`` In(width); ``amount`` In(amount_width), unsigned and
    allowed to exceed ``width``; ``fill`` In(1); ``result`` Out(width);
    ``sticky`` Out(1) = OR of the ``amount`` low bits of ``value`` (of all of
    them when ``amount >= width``).  Combinational.
    """

    def __init__(self, width, amount_width):
        check_int("ShiftRightStickyFill", "width", width, 1)
        check_int("ShiftRightStickyFill", "amount_width", amount_width, 1)
        self.width = width
        self.amount_width = amount_width
        super().__init__({
            "value":  In(width),
            "amount": In(amount_width),
            "fill":   In(1),
            "result": Out(width),
            "sticky": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        stages = min(self.amount_width, (self.width - 1).bit_length())
        data = self.value
        sticky = C(0, 1)
        for i in range(stages):
            step = 1 << i
            shifted = Signal(self.width, name=f"shifted_{i}")
            dropped = Signal(name=f"sticky_{i}")
            m.d.comb += [
                shifted.eq(Mux(self.amount[i], Cat(data[step:], self.fill.replicate(step)), data)),
                dropped.eq(sticky | (self.amount[i] & data[:step].any())),
            ]
            data, sticky = shifted, dropped
        overflow = self.amount >= self.width
        m.d.comb += [
            self.result.eq(Mux(overflow, self.fill.replicate(self.width), data)),
            self.sticky.eq(Mux(overflow, self.value.any(), sticky)),
        ]
        return m
