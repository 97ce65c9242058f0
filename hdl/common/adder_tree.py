"""Balanced adder tree: the sum of n terms in ceil(log2 n) levels of two-input adders.

Each level adds neighbouring pairs (an odd term passes to the next level
unchanged); Amaranth widens every sum by one bit, so the tree never overflows
and keeps the signedness of its terms.  A unit can register between levels by
passing ``stage``, a callback ``stage(level, terms) -> terms`` called after each
level (``level`` counts from 1).
"""

from amaranth import *


__all__ = ["adder_tree", "adder_tree_levels"]


def adder_tree_levels(n):
    """Number of adder levels for ``n`` terms."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"adder_tree: the number of terms must be an integer >= 1, got {n!r}")
    return (n - 1).bit_length()


def adder_tree(terms, *, stage=None):
    """Sum ``terms`` (a non-empty list of Values) through a balanced tree; returns a Value."""
    terms = [Value.cast(t) for t in terms]
    adder_tree_levels(len(terms))
    level = 0
    while len(terms) > 1:
        level += 1
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        terms = pairs + terms[len(pairs) * 2:]
        if stage is not None:
            terms = stage(level, terms)
    return terms[0]
