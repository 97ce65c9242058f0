"""Parameter checks for component constructors: a ``ValueError`` naming the parameter and its range."""

__all__ = ["check_int", "check_bool", "check_float_format", "format_name"]


def check_int(owner, name, value, lo, hi=None):
    """``lo <= value <= hi`` (no upper bound when ``hi`` is None), and an int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{owner}: {name} must be an integer {allowed}, got {value!r}")


def check_bool(owner, name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be a bool, got {value!r}")


def check_float_format(owner, name, value):
    """A ``golden.fp.FloatFormat`` (``TypeError`` otherwise: a name such as 'fp16' is the CLI's
    spelling; the API takes ``golden.fp.FP16``)."""
    from golden.fp import FloatFormat
    if not isinstance(value, FloatFormat):
        raise TypeError(f"{owner}: {name} must be a golden.fp.FloatFormat (e.g. golden.fp.FP16), got {value!r}")


def format_name(fmt):
    """A float format's short name for messages: ``fp16``, or the geometry of an unnamed one."""
    return fmt.name.lower() if fmt.name else f"e{fmt.exp_bits}m{fmt.man_bits}"
