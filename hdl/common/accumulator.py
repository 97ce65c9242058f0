"""Wide accumulator with CLEAR / MAC / READ operations and a sticky overflow flag.

    CLEAR  acc <- 0, overflow <- 0
    MAC    acc <- acc + addend (wraps modulo 2**width), overflow |= the add wrapped
    READ   acc unchanged (the reserved code 3 behaves as READ)

The accumulator is the unit's output register: :func:`accumulate` loads it
through :meth:`Pipeline.output`, so every operation returns the accumulator
after it.  Wrapping is detected from the one extra sum bit: for a two's
complement accumulator the sum's top two bits differ, for an unsigned one the
carry is set.
"""

from amaranth import *
from amaranth.lib import enum


__all__ = ["MacOp", "accumulate"]


class MacOp(enum.Enum, shape=2):
    CLEAR = 0
    MAC   = 1
    READ  = 2


def accumulate(m, pipe, op, addend, acc, overflow):
    """Build the accumulate stage: ``acc`` (the result port) and ``overflow`` registers."""
    w = len(acc)
    total = Signal(signed(w + 1) if acc.shape().signed else unsigned(w + 1), name="acc_sum")
    m.d.comb += total.eq(acc + addend)
    wrapped = (total[w] != total[w - 1]) if acc.shape().signed else total[w]
    acc_next = Signal.like(acc, name="acc_next")
    overflow_next = Signal(name="overflow_next")
    with m.Switch(op):
        with m.Case(MacOp.CLEAR):
            m.d.comb += [acc_next.eq(0), overflow_next.eq(0)]
        with m.Case(MacOp.MAC):
            m.d.comb += [acc_next.eq(total[:w]), overflow_next.eq(overflow | wrapped)]
        with m.Default():
            m.d.comb += [acc_next.eq(acc), overflow_next.eq(overflow)]
    pipe.output(acc.eq(acc_next), overflow.eq(overflow_next))
