"""Rounding of a sign-magnitude value under the RISC-V ``frm`` rounding modes.

The kept bits ``mantissa`` are incremented by one unit in the last place when
the rounding rule asks for it; ``guard`` is the first dropped bit and
``sticky`` the OR of all further dropped bits.  With ``inexact = guard | sticky``:

====  ===================  ============================
code  mode                 increment
====  ===================  ============================
0     RNE, nearest/even    ``guard & (sticky | lsb)``
1     RTZ, toward zero     ``0``
2     RDN, toward -inf     ``sign & inexact``
3     RUP, toward +inf     ``~sign & inexact``
4     RMM, nearest/away    ``guard``
5-7   reserved             as RNE
====  ===================  ============================
"""

from amaranth import *
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from .params import check_int


__all__ = ["RoundingMode", "round_increment", "Rounder"]


class RoundingMode(enum.Enum, shape=3):
    """RISC-V ``frm`` encodings; codes 5, 6 and 7 are reserved."""
    RNE = 0
    RTZ = 1
    RDN = 2
    RUP = 3
    RMM = 4


def round_increment(rm, sign, lsb, guard, sticky):
    """Return the 1-bit expression that is high when the kept bits must be incremented.

    ``rm`` is a ``RoundingMode`` value (enum view, 3-bit value or member);
    the other arguments are 1-bit values.  Reserved ``rm`` codes round as RNE.
    """
    rm = Value.cast(rm)
    sign, lsb, guard, sticky = (Value.cast(v) for v in (sign, lsb, guard, sticky))
    inexact = guard | sticky
    return Mux(rm == RoundingMode.RTZ.value, 0,
           Mux(rm == RoundingMode.RDN.value, sign & inexact,
           Mux(rm == RoundingMode.RUP.value, ~sign & inexact,
           Mux(rm == RoundingMode.RMM.value, guard,
               guard & (sticky | lsb)))))


class Rounder(wiring.Component):
    """Rounds the kept bits of a sign-magnitude value.

    Ports: ``sign`` In(1); ``mantissa`` In(width), the kept bits; ``guard``
    In(1); ``sticky`` In(1); ``rm`` In(RoundingMode).  ``result``
    Out(width + 1) = ``mantissa + increment``, the carry-out in the top bit;
    ``inexact`` Out(1) = ``guard | sticky``; ``invalid_rm`` Out(1), high for
    the reserved codes 5-7, which round as RNE.  Combinational.
    """

    def __init__(self, width):
        check_int("Rounder", "width", width, 1)
        self.width = width
        super().__init__({
            "sign":       In(1),
            "mantissa":   In(width),
            "guard":      In(1),
            "sticky":     In(1),
            "rm":         In(RoundingMode),
            "result":     Out(width + 1),
            "inexact":    Out(1),
            "invalid_rm": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        increment = Signal()
        m.d.comb += [
            increment.eq(round_increment(self.rm, self.sign, self.mantissa[0],
                                         self.guard, self.sticky)),
            self.result.eq(self.mantissa + increment),
            self.inexact.eq(self.guard | self.sticky),
            self.invalid_rm.eq(self.rm.as_value() > RoundingMode.RMM.value),
        ]
        return m
