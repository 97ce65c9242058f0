"""Integer dot products with a wide accumulator, on raw two's-complement bit patterns.

``int_dot`` is the golden model of the ``int_dot`` unit: for each operation in
order, ``CLEAR`` sets the accumulator to 0, ``MAC`` adds ``sum_i a[i] * b[i]``
over the V lanes, ``READ`` (and the reserved code 3) leaves it unchanged; the result of every operation is
the accumulator after it, as an ``acc_width``-bit pattern (two's complement when
either operand is signed).  The accumulator wraps modulo ``2**acc_width``;
``accumulator_width`` gives the width at which a stated number of
accumulations can never wrap.
"""

import numpy as np

from ._checks import bit_patterns, bool_param, codes, int_param


__all__ = ["OP_CLEAR", "OP_MAC", "OP_READ", "OP_RESERVED", "product_range", "accumulator_width",
           "to_signed", "int_dot", "accumulate"]

OP_CLEAR, OP_MAC, OP_READ, OP_RESERVED = 0, 1, 2, 3


def product_range(width, a_signed, b_signed):
    """Smallest and largest product of two ``width``-bit integers of the given signedness."""
    width = int_param("width", width, 1, 64)
    a_signed, b_signed = bool_param("a_signed", a_signed), bool_param("b_signed", b_signed)
    def span(signed):
        return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    corners = [x * y for x in span(a_signed) for y in span(b_signed)]
    return min(corners), max(corners)


def accumulator_width(lanes, width, a_signed, b_signed, accumulations):
    """Bits an accumulator needs to hold ``accumulations`` V-lane dot products without wrapping."""
    lanes = int_param("lanes", lanes, 1)
    accumulations = int_param("accumulations", accumulations, 1)
    lo, hi = product_range(width, a_signed, b_signed)
    lo, hi = lo * lanes * accumulations, hi * lanes * accumulations
    if a_signed or b_signed:
        return max(hi.bit_length(), (-lo - 1).bit_length()) + 1
    return hi.bit_length()


def to_signed(patterns, width):
    """Interpret ``width``-bit patterns (uint64) as two's-complement int64 values."""
    width = int_param("width", width, 1, 64)
    patterns = bit_patterns("patterns", patterns, width)
    if width == 64:
        return patterns.view(np.int64)
    sign = np.uint64(1 << (width - 1))
    return (patterns ^ sign).astype(np.int64) - np.int64(1 << (width - 1))


def int_dot(op, a, b, *, width, a_signed, b_signed, acc_width):
    """Run a stream of ``int_dot`` operations; returns ``(result, overflow)`` after each one.

    op : (n,) integer codes (``OP_CLEAR``, ``OP_MAC``, ``OP_READ``; 3 is reserved and reads)
    a, b : (n, V) ``width``-bit lane patterns
    result : (n,) uint64 ``acc_width``-bit patterns of the accumulator after each
        operation; it starts at 0 (the unit's reset value) and wraps.
    overflow : (n,) uint64 0/1, high when a MAC since the last CLEAR wrapped.
    """
    width = int_param("int_dot: width", width, 2, 16)
    a_signed, b_signed = bool_param("int_dot: a_signed", a_signed), bool_param("int_dot: b_signed", b_signed)
    if isinstance(acc_width, bool) or not isinstance(acc_width, (int, np.integer)):
        raise ValueError(f"int_dot: acc_width must be an integer, got {acc_width!r}")
    op = codes("op", op, (OP_CLEAR, OP_MAC, OP_READ, OP_RESERVED), shape_tail=())
    a = bit_patterns("a", a, width)
    b = bit_patterns("b", b, width)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] != op.shape[0] or a.shape[1] == 0:
        raise ValueError(f"int_dot: expected op (n,), a and b (n, V) with V >= 1; got {op.shape}, {a.shape}, "
                         f"{b.shape}")
    lanes = a.shape[1]
    is_signed = a_signed or b_signed
    min_width = accumulator_width(lanes, width, a_signed, b_signed, 1)
    if not min_width <= acc_width <= 62:
        raise ValueError(f"int_dot: acc_width must be in {min_width}..62 for {lanes} lanes, got {acc_width}")
    av = to_signed(a, width) if a_signed else a.astype(np.int64)
    bv = to_signed(b, width) if b_signed else b.astype(np.int64)
    dots = (av * bv).sum(axis=1)                       # |dot| < 2**39: exact in int64
    return accumulate(op, dots, acc_width=acc_width, is_signed=a_signed or b_signed)


def accumulate(op, step, *, acc_width, is_signed):
    """The accumulator of a CLEAR / MAC / READ stream: ``(result, overflow)`` after each op.

    ``step`` (int64) is what a MAC adds; the accumulator starts at 0, wraps
    modulo ``2**acc_width`` (two's complement when ``is_signed``) and
    ``overflow`` is high from a wrapping MAC until the next CLEAR.  Exact as
    long as ``|step| < 2**62`` and ``acc_width <= 62``.
    """
    acc_width = int_param("accumulate: acc_width", acc_width, 1, 62)
    is_signed = bool_param("accumulate: is_signed", is_signed)
    op = codes("op", op, (OP_CLEAR, OP_MAC, OP_READ, OP_RESERVED), shape_tail=())
    step = np.asarray(step)
    if step.dtype.kind not in "ui" or step.dtype == np.bool_:
        raise TypeError(f"accumulate: step must be an integer array, got dtype {step.dtype}")
    if step.shape != op.shape:
        raise ValueError(f"accumulate: step must have op's shape {op.shape}, got {step.shape}")
    step = np.where(op == OP_MAC, step.astype(np.int64), 0)
    # Sums wrap modulo 2**64, consistent with the final wrap modulo 2**acc_width.
    total = np.cumsum(step.view(np.uint64), dtype=np.uint64)
    idx = np.arange(op.shape[0])
    last_clear = np.maximum.accumulate(np.where(op == OP_CLEAR, idx, -1))
    base = np.where(last_clear >= 0, total[np.maximum(last_clear, 0)], np.uint64(0))
    result = (total - base) & np.uint64((1 << acc_width) - 1)

    value = to_signed(result, acc_width) if is_signed else result.astype(np.int64)
    before = np.concatenate([[0], value[:-1]])
    exact = before + step                              # |.| < 2**63: exact in int64
    lo, hi = (-(1 << (acc_width - 1)), (1 << (acc_width - 1)) - 1) if is_signed else (0, (1 << acc_width) - 1)
    wrapped = ((exact < lo) | (exact > hi)) & (op == OP_MAC)
    events = np.cumsum(wrapped)
    events_at_clear = np.where(last_clear >= 0, events[np.maximum(last_clear, 0)], 0)
    overflow = (events > events_at_clear).astype(np.uint64)
    return result, overflow
