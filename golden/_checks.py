"""Input validation shared by the golden models: bit-pattern arrays and enumerated codes."""

import numpy as np


__all__ = ["bit_patterns", "codes"]


def bit_patterns(name, value, width, *, shape_tail=None):
    """Return ``value`` as a uint64 array after checking it holds ``width``-bit patterns.

    Accepts unsigned or non-negative signed integer arrays (and Python ints / lists
    of them).  Floats, bools, negative numbers and patterns >= 2**width are
    rejected with a ``TypeError`` / ``ValueError`` that names the argument.
    """
    arr = np.asarray(value)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.uint64)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(f"{name}: expected {width}-bit patterns (integers in 0..{2**width - 1})") from None
    if arr.dtype.kind not in "ui" or arr.dtype == np.bool_:
        raise TypeError(f"{name}: expected an integer array of {width}-bit patterns, got dtype {arr.dtype}")
    if arr.size and arr.dtype.kind == "i" and arr.min() < 0:
        raise ValueError(f"{name}: bit patterns must be non-negative, got {int(arr.min())}")
    arr = arr.astype(np.uint64)
    if width < 64 and arr.size and int(arr.max()) >> width:
        raise ValueError(
            f"{name}: pattern {int(arr.max()):#x} does not fit in {width} bits (allowed 0..{2**width - 1:#x})")
    if shape_tail is not None and arr.shape[1:] != tuple(shape_tail):
        raise ValueError(f"{name}: expected shape (n, {', '.join(map(str, shape_tail))}), got {arr.shape}")
    return arr


def codes(name, value, allowed):
    """Return ``value`` as an int64 array after checking every element is one of ``allowed``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "ui" or arr.dtype == np.bool_:
        raise TypeError(f"{name}: expected an integer array of codes, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = ~np.isin(arr, list(allowed))
    if bad.any():
        raise ValueError(f"{name}: code {int(arr[bad][0])} is not one of {sorted(allowed)}")
    return arr
