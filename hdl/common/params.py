"""Parameter checks for component constructors: a ``ValueError`` naming the parameter and its range."""

__all__ = ["check_int", "check_bool"]


def check_int(owner, name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{owner}: {name} must be an integer in {lo}..{hi}, got {value!r}")


def check_bool(owner, name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be a bool, got {value!r}")
