"""Products split into DSP-sized partial products, so a pipeline register can go between the
multipliers and their sum.

Operands wider than ``PARTIAL_SPLIT`` bits (one 18x18 DSP multiplier of the
ECP5 and iCE40 families) are split at that bit into a low and a high part
(for a two's-complement operand the low part is unsigned and the high part
signed); ``partial_products`` gives every ``a_i * b_j`` as its own signal and
``sum_partials`` adds them back, shifted, into the exact product.
"""

from amaranth import *


__all__ = ["PARTIAL_SPLIT", "partial_products", "sum_partials", "lut_product"]


PARTIAL_SPLIT = 18


def partial_products(m, a, b):
    """``{"partial_ij": a_i * b_j}`` for the parts ``a_i``, ``b_j`` of ``a`` and ``b``.

    A signed operand's low part is unsigned and its high part signed, so a
    partial product is signed when one of its parts is.
    """
    def parts(x):
        x = Value.cast(x)
        if len(x) <= PARTIAL_SPLIT:
            return [x]
        hi = x[PARTIAL_SPLIT:]
        return [x[:PARTIAL_SPLIT], hi.as_signed() if x.shape().signed else hi]

    partials = {}
    for i, a_part in enumerate(parts(a)):
        for j, b_part in enumerate(parts(b)):
            shape = signed if a_part.shape().signed or b_part.shape().signed else unsigned
            p = Signal(shape(len(a_part) + len(b_part)), name=f"partial_{i}{j}")
            m.d.comb += p.eq(a_part * b_part)
            partials[f"partial_{i}{j}"] = p
    return partials


def sum_partials(m, partials, width):
    """The exact ``width``-bit product from ``partial_products``' dict (other keys are ignored)."""
    product = Signal(width, name="product")
    terms = [partials[key] << (PARTIAL_SPLIT * (int(key[-2]) + int(key[-1])))
             for key in partials if key.startswith("partial_")]
    m.d.comb += product.eq(sum(terms))
    return product


def lut_product(a, b):
    """``a * b`` of two short unsigned operands as the sum of ``b``'s AND rows, which synthesis
    builds from LUTs: a ``*`` of any width goes to a DSP block on ECP5, a waste for the 2x2..4x4
    significand products of fp4/fp6/fp8 elements."""
    a, b = Value.cast(a), Value.cast(b)
    return sum((a & b[j].replicate(len(a))) << j for j in range(len(b)))
