"""Balanced maximum tree: the largest of n unsigned values in ceil(log2 n) levels of comparators.

Each level keeps the larger of neighbouring pairs (an odd value passes to the
next level unchanged).
"""

from amaranth import *


__all__ = ["maximum_tree"]


def maximum_tree(values):
    """The largest of ``values`` (a non-empty list of unsigned Values) as a Value."""
    values = [Value.cast(v) for v in values]
    if not values:
        raise ValueError("maximum_tree: needs at least one value")
    while len(values) > 1:
        pairs = [Mux(values[i] >= values[i + 1], values[i], values[i + 1])
                 for i in range(0, len(values) - 1, 2)]
        values = pairs + values[len(pairs) * 2:]
    return values[0]
