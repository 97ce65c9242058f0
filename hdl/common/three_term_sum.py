"""Sum of three floating terms of any exponents, kept exact enough to be rounded once to ``P`` bits.

A term is ``(-1)**sign * field * 2**(top - q)``: a ``q``-bit unsigned ``field``
whose top weighs ``2**top``.  A zero field is a zero term, whatever its
``top``; every other field must be normalized to its top two bits
(``field >= 2**(q-2)``: a product of two normalized significands, or a
normalized significand).  The terms are sorted by ``top`` (``t1 >= t2 >= t3``;
``F`` is ``t1``'s top) and added in two windows, each a two's complement
integer whose bit 0 is a sticky bit (set when nonzero bits were dropped below
the window)::

    u = t2 + t3   window of W real bits below t2's top; t3 right-shifted, dropped bits -> sticky
    v = t1 + u    window of W + D real bits below F;   u placed at its offset (right-shifted with
                  sticky only when t2's top is more than D below F)

with ``D = 4`` and ``W = max(2q + D + 3, q + P + 4)``.  Why one rounding of
``v`` is the rounding of the exact sum (``P``: precision of the result):

- ``t2`` more than ``D`` below ``t1`` (far): ``|u| < 2**(F-D) <= |t1| / 4``, so
  ``|v| > 2**(F-3)``, and every bit dropped from ``u`` lies more than ``P + 2``
  bits below that: ``u`` is one sticky term, and it never cancels ``t1``.
- ``t2`` within ``D`` of ``t1`` (near): both are exact in ``v``.  If
  ``t1 + t2 != 0`` it is at least one unit of ``t2``'s last place,
  ``2**(F2-q)``, while the bits a cut ``t3`` lost lie below ``2**(F2-W)``, more
  than ``P + 2`` bits below the leading one of the sum.  If ``t1 + t2 == 0``
  and ``t3`` lost bits, ``|v| < 2**(F2-W+q)``, below ``2**(F-D-q-1)``, which
  the other case never reaches: then ``total`` is ``t3`` alone (``bypass``), exact.
- Two sticky terms never meet: a ``t3`` cut in ``u`` is below a quarter of an
  ulp of ``t2``, so ``u``'s sign is that of the exact ``t2 + t3``.

Outputs: ``total`` worth ``total * 2**exponent`` (bit 0 sticky as above) and
``exponent``.  ``exponent_shape`` must hold every top and their differences.
Combinational.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int
from .shift import ShiftRightSticky


__all__ = ["ThreeTermSum", "negate_if", "add_or_subtract"]


def negate_if(negate, value):
    """``-value`` when ``negate`` else ``value``, as ``(value ^ negate...) + negate`` (one adder, no mux)."""
    return (Cat(value, C(0, 1)) ^ negate.replicate(len(value) + 1)).as_signed() + negate


def add_or_subtract(a, b, subtract, width):
    """``a + b``, or ``a - b`` when ``subtract``, modulo ``2**width`` as a signed value (``a`` as its
    signedness says, of at most ``width`` bits; ``b`` unsigned and narrower), in one carry chain:
    ``b``'s ones' complement, and the +1 as a carry entering below the lsb (both operands get
    ``subtract`` as an extra lowest bit)."""
    a, b = Value.cast(a), Value.cast(b)
    if len(a) > width or len(b) >= width:
        raise ValueError(f"add_or_subtract: width must be at least {max(len(a), len(b) + 1)} (a's {len(a)} bits, "
                         f"b's {len(b)} + 1), got {width}")
    fill = a[-1] if a.shape().signed else C(0, 1)
    wide_a = Cat(a, fill.replicate(width - len(a)))
    wide_b = Cat(b, C(0, width - len(b))) ^ subtract.replicate(width)
    return (Cat(subtract, wide_a) + Cat(subtract, wide_b))[1:width + 1].as_signed()


class ThreeTermSum(wiring.Component):
    """Adds three normalized ``q``-bit terms with tops in ``top_lo..top_hi`` for a ``precision``-bit rounding (see the module)."""

    def __init__(self, q, precision, exponent_shape, top_lo, top_hi):
        check_int("ThreeTermSum", "q", q, 1)
        check_int("ThreeTermSum", "precision", precision, 2)
        if top_lo > top_hi:
            raise ValueError(f"ThreeTermSum: top_lo must be at most top_hi, got {top_lo} > {top_hi}")
        self.q, self.precision = q, precision
        self.near = 4
        self.u_bits = max(2 * q + self.near + 3, q + precision + 4)
        self.v_bits = self.u_bits + self.near
        self.top_lo, self.top_hi = top_lo, top_hi
        # A zero term sorts below every real one, far enough that shifting it out drops nothing.
        self.absent = top_lo - (self.v_bits + 8)
        shape = Shape.cast(exponent_shape)
        if not (shape.signed and -(1 << (shape.width - 1)) <= self.absent - self.v_bits - 1
                and top_hi - self.absent < (1 << (shape.width - 1))):
            raise ValueError(f"ThreeTermSum: exponent_shape {shape!r} cannot hold tops {top_lo}..{top_hi} "
                             f"and their distances")
        self.exponent_lo = top_lo - self.v_bits - 1
        self.exponent_hi = top_hi - self.v_bits - 1
        ports = {}
        for i in range(3):
            ports |= {f"sign{i}": In(1), f"field{i}": In(q), f"top{i}": In(shape)}
        super().__init__(ports | {
            "total":    Out(signed(self.v_bits + 4)),
            "exponent": Out(shape),
        })

    def elaborate(self, platform):
        m = Module()
        q, wu, wv, near = self.q, self.u_bits, self.v_bits, self.near
        signs = [getattr(self, f"sign{i}") for i in range(3)]
        fields = [getattr(self, f"field{i}") for i in range(3)]
        tops = []
        for i, field in enumerate(fields):
            top = Signal.like(self.exponent, name=f"sort_top{i}")
            m.d.comb += top.eq(Mux(field.any(), getattr(self, f"top{i}"), self.absent))
            tops.append(top)

        # Sort by top, ties by index: rank 0 is t1.
        g01, g02, g12 = tops[0] >= tops[1], tops[0] >= tops[2], tops[1] >= tops[2]
        ranks = [~g01 + ~g02, g01 + ~g12, g02 + g12]

        def pick(values, rank, name, like):
            out = Signal.like(like, name=name)
            m.d.comb += out.eq(Mux(ranks[0] == rank, values[0], Mux(ranks[1] == rank, values[1], values[2])))
            return out

        sign = [pick(signs, r, f"t{r + 1}_sign", signs[0]) for r in range(3)]
        field = [pick(fields, r, f"t{r + 1}_field", fields[0]) for r in range(3)]
        top = [pick(tops, r, f"t{r + 1}_top", tops[0]) for r in range(3)]
        distance = range(self.top_hi - self.absent + 1)
        d12, d23 = Signal(distance, name="distance12"), Signal(distance, name="distance23")
        m.d.comb += [d12.eq(top[0] - top[1]), d23.eq(top[1] - top[2])]

        # u = t2 + t3 below t2's top.
        m.submodules.align3 = align3 = ShiftRightSticky(wu, len(d23))
        m.d.comb += [align3.value.eq(field[2] << (wu - q)), align3.amount.eq(d23)]
        u = Signal(signed(wu + 3), name="pair_sum")
        m.d.comb += u.eq(negate_if(sign[1], field[1] << (wu - q + 1))
                         + negate_if(sign[2], Cat(align3.sticky, align3.result)))

        # v = t1 + u below F; u's real bits move down by d12 - near (up when negative: exact).
        m.submodules.place = place = ShiftRightSticky(wv + 2, len(d12), fill=True)
        m.d.comb += [place.value.eq(Cat(C(0, near), u[1:])), place.amount.eq(d12), place.fill.eq(u[-1])]
        v = Signal(signed(wv + 4), name="window_sum")
        m.d.comb += v.eq(negate_if(sign[0], field[0] << (wv - q + 1))
                         + Cat(place.sticky | u[0], place.result).as_signed())

        # t1 + t2 == 0 with t3 cut: v is below 2**(F-D-q-1), i.e. |v| < 2**(wu - q) in window units.
        high = v[wu - q:]
        bypass = Signal(name="t3_alone")
        m.d.comb += bypass.eq((d12 <= near) & align3.sticky & ((high == 0) | (high == (1 << len(high)) - 1)))
        alone = negate_if(sign[2], field[2] << (wv - q + 1))
        m.d.comb += [
            self.total.eq(Mux(bypass, alone, v)),
            self.exponent.eq(Mux(bypass, top[2], top[0]) - (wv + 1)),
        ]
        return m
