"""Iterative significand divider and square root: one restoring step per clock, one shared subtractor.

Division: for significands ``num`` and ``den`` in [2**(w-1), 2**w) (``w``-bit,
hidden bit on top) it produces ``q = floor(num * 2**(w+3) / den)``, ``w + 4``
bits with ``2**(w+2) < q < 2**(w+4)``, in ``w + 4`` steps: remainder ``r = num``;
each step takes ``r >= den`` as the next quotient bit, subtracts ``den`` if so,
and doubles ``r``.  Square root: for a radicand ``rad`` in [2**(w-1), 2**(w+1))
(``w + 1`` bits: the significand, doubled when the exponent is odd) it produces
``floor(sqrt(rad * 2**(w+1)))``, ``w + 1`` bits in [2**w, 2**(w+1)), in ``w + 1``
steps of the digit-by-digit method: bring down the radicand's next two bits,
``r = 4r + bits``; trial ``t = 4 * root + 1``; if ``r >= t`` subtract it and
append a 1, else append a 0.  ``sticky`` is high when the final remainder is
nonzero (the exact result has more ones below).  Both use the same
``w + 4``-bit remainder register and subtractor.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int


__all__ = ["DivSqrtIterative", "div_steps", "sqrt_steps"]


def div_steps(w):
    """Clock steps of a division of ``w``-bit significands (one quotient bit each)."""
    return w + 4


def sqrt_steps(w):
    """Clock steps of a square root of a ``w``-bit significand (one root bit each)."""
    return w + 1


class DivSqrtIterative(wiring.Component):
    """Restoring divider / square root over ``w``-bit significands; see the module docstring.

    Ports: ``start`` In(1) loads the operands (``sqrt`` In(1) selects the
    operation, ``num``/``den`` In(w), ``rad`` In(w + 1)); ``done`` Out(1) is high
    from the last step until the next ``start``; ``result`` Out(w + 4) holds
    the quotient, or the root in its low ``w + 1`` bits; ``sticky`` Out(1).
    A ``start`` while busy restarts.  The operation takes ``div_steps(w)`` or
    ``sqrt_steps(w)`` clocks after the one that saw ``start``.
    """

    def __init__(self, w):
        check_int("DivSqrtIterative", "w", w, 1)
        self.w = w
        super().__init__({
            "start":  In(1),
            "sqrt":   In(1),
            "num":    In(w),
            "den":    In(w),
            "rad":    In(w + 1),
            "done":   Out(1),
            "result": Out(w + 4),
            "sticky": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        w = self.w
        rw = w + 4
        remainder = Signal(rw, name="remainder")
        quotient = Signal(w + 4, name="quotient")
        divisor = Signal(w, name="divisor")
        # The radicand's bits still to bring down, two per step, MSB first: rad * 2**(w+1) has
        # 2 * (w + 1) bits, rad on top, zeros below (shifted in).
        pending = Signal(w + 1, name="radicand_bits")
        is_sqrt = Signal(name="is_sqrt")
        steps = Signal(range(max(div_steps(w), sqrt_steps(w)) + 1), name="steps_left")

        # One subtractor: r - den (division) or (4r + next bits) - (4 root + 1) (square root).
        partial = Mux(is_sqrt, Cat(pending[w - 1:w + 1], remainder[:rw - 2]), remainder)
        trial = Mux(is_sqrt, Cat(C(1, 2), quotient[:rw - 2]), divisor)
        difference = Signal(rw + 1, name="difference")
        m.d.comb += difference.eq(partial - trial)
        fits = ~difference[rw]
        kept = Mux(fits, difference[:rw], partial)

        with m.If(self.start):
            m.d.sync += [
                is_sqrt.eq(self.sqrt),
                remainder.eq(Mux(self.sqrt, 0, self.num)),
                divisor.eq(self.den),
                pending.eq(self.rad),
                quotient.eq(0),
                steps.eq(Mux(self.sqrt, sqrt_steps(w), div_steps(w))),
            ]
        with m.Elif(steps != 0):
            m.d.sync += [
                steps.eq(steps - 1),
                quotient.eq(Cat(fits, quotient[:-1])),
                remainder.eq(Mux(is_sqrt, kept, kept << 1)),
                pending.eq(pending << 2),
            ]
        m.d.comb += [
            self.done.eq(steps == 0),
            self.result.eq(quotient),
            self.sticky.eq(remainder.any()),
        ]
        return m
