"""Leading-zero counter.

The input is padded at the LSB end with ones up to the next power of two and
reduced by a balanced tree of two-input priority encoders: each node reports
whether its bits are all zero and, if not, the position of its first one in
``log2(node width)`` bits.  A node's count is ``Cat(Mux(hi_zero, lo_count,
hi_count), hi_zero)``, so the depth is logarithmic in the width and no adders
are needed.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int


__all__ = ["LeadingZeroCount"]



class LeadingZeroCount(wiring.Component):
    """Count of leading zeros of ``value``, from the MSB.

    Ports: ``value`` In(width); ``count`` Out(range(width + 1)), which equals
    ``width`` when ``value`` is 0; ``zero`` Out(1), high when ``value`` is 0.
    Combinational.
    """

    def __init__(self, width):
        check_int("LeadingZeroCount", "width", width, 1)
        self.width = width
        super().__init__({
            "value": In(width),
            "count": Out(range(width + 1)),
            "zero":  Out(1),
        })

    def _encode(self, m, bits, path):
        """Return ``(all_zero, first_one_index)`` for a power-of-two-wide ``bits``."""
        if len(bits) == 1:
            return ~bits[0], C(0, 0)
        if len(bits) == 2:
            return ~(bits[0] | bits[1]), ~bits[1]
        half = len(bits) // 2
        hi_zero, hi_count = self._encode(m, bits[half:], path + "h")
        lo_zero, lo_count = self._encode(m, bits[:half], path + "l")
        zero  = Signal(name=f"zero_{path}")
        count = Signal(len(hi_count) + 1, name=f"count_{path}")
        m.d.comb += [
            zero.eq(hi_zero & lo_zero),
            count.eq(Cat(Mux(hi_zero, lo_count, hi_count), hi_zero)),
        ]
        return zero, count

    def elaborate(self, platform):
        m = Module()
        padded_width = 1 << (self.width - 1).bit_length()
        pad = padded_width - self.width
        padded = Cat(C((1 << pad) - 1, pad), self.value)
        _, count = self._encode(m, padded, "t")
        m.d.comb += self.zero.eq(self.value == 0)
        if pad:
            # The padding ones stop the count at ``width`` when ``value`` is 0.
            m.d.comb += self.count.eq(count)
        else:
            m.d.comb += self.count.eq(Mux(self.zero, self.width, count))
        return m
