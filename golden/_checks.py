"""Input validation shared by the golden models: bit-pattern arrays and enumerated codes."""

import numpy as np


__all__ = ["bit_patterns", "codes", "int_param", "bool_param"]


def bit_patterns(name, value, width, *, shape_tail=None):
    """Return ``value`` as a uint64 array after checking it holds ``width``-bit patterns.

    Accepts unsigned or non-negative signed integer arrays (and Python ints / lists
    of them).  Floats, bools, negative numbers and patterns >= 2**width are
    rejected with a ``TypeError`` / ``ValueError`` that names the argument.
    """
    arr = np.asarray(value)
    if arr.size == 0 and isinstance(value, (list, tuple)):
        arr = arr.astype(np.uint64)   # an empty list reads as float64
    if arr.dtype == object:
        # Python ints beyond int64 make an object array; anything else in one (Fraction,
        # Decimal, str, bool, float) is not a bit pattern and must not be truncated to one.
        bad = [v for v in arr.flat if isinstance(v, bool) or not isinstance(v, (int, np.integer))]
        if bad:
            raise TypeError(f"{name}: expected integer {width}-bit patterns, got {type(bad[0]).__name__} {bad[0]!r}")
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
    _check_shape(name, arr, shape_tail)
    return arr


def _check_shape(name, arr, shape_tail):
    """With ``shape_tail`` given, ``arr`` must have shape ``(n, *shape_tail)`` (``()``: a 1-D ``(n,)``)."""
    if shape_tail is not None and (arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != tuple(shape_tail)):
        want = ", ".join(map(str, shape_tail))
        raise ValueError(f"{name}: expected shape {f'(n, {want})' if want else '(n,)'}, got {arr.shape}")


def codes(name, value, allowed, *, shape_tail=None):
    """Return ``value`` as an int64 array after checking every element is one of ``allowed``
    (and, with ``shape_tail``, its shape as ``bit_patterns`` does)."""
    arr = np.asarray(value)
    if arr.size == 0 and isinstance(value, (list, tuple)):
        arr = arr.astype(np.int64)    # an empty list reads as float64
    if arr.dtype.kind not in "ui" or arr.dtype == np.bool_:
        raise TypeError(f"{name}: expected an integer array of codes, got dtype {arr.dtype}")
    bad = ~np.isin(arr, list(allowed))
    if bad.any():
        raise ValueError(f"{name}: code {int(arr[bad][0])} is not one of {sorted(allowed)}")
    _check_shape(name, arr, shape_tail)
    return arr.astype(np.int64)


def int_param(name, value, lo, hi=None, *, allowed=None):
    """``value`` as an int after checking it is an integer (not a bool) in ``lo..hi`` (no upper
    bound when ``hi`` is None); a ``ValueError`` names the parameter and its range (``allowed``,
    e.g. ``"in 0..2**128 - 1"``, replaces the spelled-out range in the message)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (
            hi is not None and value > hi):
        allowed = allowed or (f">= {lo}" if hi is None else f"in {lo}..{hi}")
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def bool_param(name, value):
    """``value`` after checking it is a bool (``True``/``False``, numpy's too): a string such as
    ``"no"`` is truthy and must not pass for one."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)
