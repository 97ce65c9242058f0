"""Parameter checks for component constructors: a ``ValueError`` naming the parameter and its range."""

__all__ = ["check_int", "check_bool"]


def check_int(owner, name, value, lo, hi=None):
    """``lo <= value <= hi`` (no upper bound when ``hi`` is None), and an int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{owner}: {name} must be an integer {allowed}, got {value!r}")


def check_bool(owner, name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be a bool, got {value!r}")
