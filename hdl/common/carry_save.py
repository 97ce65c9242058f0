"""A wide accumulator in carry-save form: segments of ``sw`` bits and one pending carry between each two.

A ``width``-bit two's-complement register Q is held as segments ``S_i`` (bits
``i * sw`` up, the top one possibly narrower) and carry bits ``c_i`` (the
carry out of segment i, not yet added into segment i + 1):
``Q = sum S_i * 2**(i*sw) + sum c_i * 2**((i+1)*sw)  mod 2**width``.
Adding a ``width``-bit term X adds each segment's slice of X and the carry
from the segment below: ``{c_i', S_i'} = S_i + X_i + c_(i-1)``, so no carry
crosses a segment boundary in one cycle and the loop is one ``sw``-bit adder
whatever the width.  Reading Q in binary resolves the carries in two steps,
each an ``sw``-bit adder, with one adder as wide as the number of segments
between them (``resolve_carries``, ``prefix_carries``, ``propagate_carries``).
"""

from amaranth import *


__all__ = ["segment_bounds", "accumulate", "resolve_carries", "propagate_carries", "prefix_carries"]


def segment_bounds(width, sw):
    """``(lo, hi)`` bit ranges of the segments of a ``width``-bit register cut every ``sw`` bits."""
    return [(lo, min(lo + sw, width)) for lo in range(0, width, sw)]


def accumulate(m, segments, carries, addends, name="acc"):
    """Next state of ``S + X``: lists of new segments and carries (carry i leaves segment i).

    ``segments`` and ``addends`` are lists of equal-width Values per segment,
    ``carries`` one bit per segment (the top one is never read: Q wraps).
    """
    new_segments, new_carries = [], []
    for i, (s, x) in enumerate(zip(segments, addends)):
        w = len(s)
        total = Signal(w + 1, name=f"{name}_sum_{i}")
        m.d.comb += total.eq(s + x + (carries[i - 1] if i else 0))
        new_segments.append(total[:w])
        new_carries.append(total[w])
    return new_segments, new_carries


def resolve_carries(m, segments, carries, name="resolve"):
    """First readout step: ``T_i = S_i + c_(i-1)``, with generate ``g_i`` (its carry out) and
    propagate ``p_i`` (``T_i`` all ones).  Returns ``(t, g, p)``: a list and two Values of
    one bit per segment."""
    t, g, p = [], [], []
    for i, s in enumerate(segments):
        w = len(s)
        total = Signal(w + 1, name=f"{name}_{i}")
        m.d.comb += total.eq(s + (carries[i - 1] if i else 0))
        t.append(total[:w])
        g.append(total[w])
        p.append(total[:w].all())
    return t, Cat(*g), Cat(*p)


def prefix_carries(m, generate, propagate, carry_in=0, name="prefix"):
    """Carries into each position of a ripple with ``generate``/``propagate`` bits (never both set),
    computed by one binary addition (``x = g | p``, ``y = g``) so it maps to a carry chain."""
    n = len(generate)
    x = generate | propagate
    total = Signal(n + 1, name=f"{name}_sum")
    m.d.comb += total.eq(x + generate + carry_in)
    return (total[:n] ^ x ^ generate)


def propagate_carries(m, t, carry_in, name="binary"):
    """Second readout step: the segments of Q in binary, ``T_i`` plus ``carry_in[i]``, the carry into
    segment i (``prefix_carries`` of the first step's generate and propagate bits)."""
    out = []
    for i, ti in enumerate(t):
        r = Signal(len(ti), name=f"{name}_{i}")
        m.d.comb += r.eq(ti + carry_in[i])
        out.append(r)
    return out
