# amaranth: UnusedElaboratable=no
"""The unit registry: one entry per unit tells every verb and test what the unit is.

An entry gives the unit's name, one-line description, parameter schema, how to
build its component, its golden model and its vector generator.  ``build.py``
and the tests only ever go through this module, so adding a unit is adding an
entry in ``hdl/units.py``.  A component built here may only be inspected (its
effective parameters) and never elaborated, so the first line keeps Amaranth
from warning about unused elaboratables created here.
"""

from dataclasses import dataclass
from typing import Any, Callable


__all__ = ["RegistryError", "Param", "Unit", "register", "get_unit", "all_units"]


class RegistryError(ValueError):
    """A user-facing error about a unit name or a parameter; its message is one line."""


@dataclass(frozen=True)
class Param:
    """One unit parameter.

    ``default`` and the bounds may be callables of the other (already resolved)
    parameters, for parameters whose range depends on the rest (an accumulator
    that must hold one dot product, a depth limited by the cut points).
    ``default=None`` with ``auto`` text means the component derives it.
    ``choices`` makes it a name parameter (``kind=str``): one of those names;
    ``values`` restricts an integer parameter to those values (its bounds are
    their smallest and largest).
    """
    name: str
    help: str
    default: Any
    kind: type = int
    min: Any = None
    max: Any = None
    auto: str = ""
    choices: tuple = ()
    values: tuple = ()

    def bounds(self, params):
        lo = self.min(params) if callable(self.min) else self.min
        hi = self.max(params) if callable(self.max) else self.max
        return lo, hi

    def range_text(self, params=None):
        if self.kind is bool:
            return "true|false"
        if self.choices:
            return "|".join(self.choices)
        if self.values:
            return "|".join(str(v) for v in self.values)
        lo, hi = (self.bounds(params) if params is not None else
                  (("..." if callable(self.min) else self.min), ("..." if callable(self.max) else self.max)))
        return f"{lo}..{hi}"

    def default_text(self):
        if self.default is None:
            return f"auto ({self.auto})" if self.auto else "auto"
        if callable(self.default):
            return self.auto or "derived"
        return str(self.default).lower() if self.kind is bool else str(self.default)

    def parse(self, unit, text):
        """Convert the command-line text of this parameter to its value."""
        if isinstance(text, str):
            lowered = text.strip().lower()
            if self.choices:
                return lowered
            if self.kind is bool:
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise RegistryError(f"{unit}: parameter '{self.name}' must be true or false, got {text!r}")
            if lowered == "auto" and self.default is None:
                return None
            try:
                return int(lowered, 0)
            except ValueError:
                pass
            try:
                return int(lowered, 10)   # decimal with leading zeros ("08"), which int(x, 0) refuses
            except ValueError:
                raise RegistryError(
                    f"{unit}: parameter '{self.name}' must be an integer, got {text!r}") from None
        return text

    def check(self, unit, value, params):
        if self.choices:
            if value not in self.choices:
                raise RegistryError(f"{unit}: parameter '{self.name}' must be one of {', '.join(self.choices)}, "
                                    f"got {value!r}")
            return
        if self.kind is bool:
            if not isinstance(value, bool):
                raise RegistryError(f"{unit}: parameter '{self.name}' must be true or false, got {value!r}")
            return
        if value is None and self.default is None:
            return
        if self.values:
            if isinstance(value, bool) or value not in self.values:
                raise RegistryError(f"{unit}: parameter '{self.name}' must be one of "
                                    f"{', '.join(str(v) for v in self.values)}, got {value!r}")
            return
        lo, hi = self.bounds(params)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise RegistryError(
                f"{unit}: parameter '{self.name}' must be an integer in {lo}..{hi}"
                f"{self._context(params)}, got {value!r}")

    def _context(self, params):
        if callable(self.min) or callable(self.max):
            others = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items() if k != self.name)
            return f" (with {others})" if others else ""
        return ""


def _fmt(value):
    if value is None:
        return "auto"
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Unit:
    """A registered unit.

    ``component(**params)`` builds the Amaranth component (it must have a
    ``latency`` property); ``golden(params, inputs) -> outputs`` and
    ``vectors(params, n, rng) -> inputs`` work on dicts of numpy arrays keyed by
    port name (2-D arrays are lanes packed into the port, lane 0 in the LSBs);
    ``describe(params, inputs, outputs, i)`` formats vector ``i`` for a
    mismatch report.  ``report_sets`` are the extra parameter sets ``build.py
    report`` synthesizes instead of the defaults, each a dict of parameters
    with optional ``"dsp"`` (default true) and ``"targets"`` (default all) keys.  ``sim_copies`` is how many copies the
    simulation harness puts behind one wide port (units whose copies stay in
    lockstep only).  ``report_summary(rows) -> str`` (optional) renders a
    Markdown comparison from all rows of the area report.  ``validate(params)``
    (optional) checks combinations of parameters and raises ``ValueError``.
    """
    name: str
    description: str
    params: tuple
    component: Callable
    golden: Callable
    vectors: Callable
    describe: Callable
    notes: tuple = ()
    report_sets: tuple = ()
    sim_copies: int = 1
    report_summary: Callable | None = None
    validate: Callable | None = None

    def param(self, name):
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params)
        raise RegistryError(f"{self.name}: unknown parameter '{name}' (known: {known})")

    def resolve(self, overrides=None):
        """All parameters of this unit: defaults, overridden and checked in order.

        ``overrides`` maps names to values or command-line strings.
        """
        overrides = dict(overrides or {})
        for name in overrides:
            self.param(name)
        params = {}
        for p in self.params:
            if p.name in overrides:
                value = p.parse(self.name, overrides[p.name])
            else:
                value = p.default(params) if callable(p.default) else p.default
            p.check(self.name, value, params)
            params[p.name] = value
        if self.validate is not None:
            try:
                self.validate(params)
            except ValueError as exc:
                owner, _, rest = str(exc).partition(": ")
                text = rest if rest and owner.lower() == self.name.replace("_", "") else str(exc)
                raise RegistryError(f"{self.name}: {text}") from None
        return params

    def build(self, params):
        """The component for resolved ``params``; ``None`` (auto) parameters are left to it."""
        return self.component(**{k: v for k, v in params.items() if v is not None})

    def effective(self, params, component):
        """``params`` with every auto parameter replaced by the value the component chose."""
        return {k: (getattr(component, k) if v is None else v) for k, v in params.items()}


_REGISTRY = {}


def register(unit):
    if unit.name in _REGISTRY:
        raise RegistryError(f"unit '{unit.name}' is registered twice")
    _REGISTRY[unit.name] = unit
    return unit


# The modules whose import registers the entries, one per format family.
UNIT_MODULES = ("units", "units_fp", "units_posit", "units_mx")


def _load():
    import importlib
    for module in UNIT_MODULES:
        importlib.import_module(f"{__package__}.{module}")


def all_units():
    _load()
    return dict(_REGISTRY)


def get_unit(name):
    units = all_units()
    if name not in units:
        raise RegistryError(f"unknown unit '{name}' (known units: {', '.join(sorted(units))})")
    return units[name]
