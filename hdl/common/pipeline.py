"""Pipeline registers at named cut points, with valid/ready handshake and whole-pipeline stall.

A unit lists its cut points in the order they should be filled as the pipeline
deepens (the most useful cut first).  ``depth`` of them get registers; the rest
pass their values through combinationally.  Registers are named
``s{n}_{what}`` in datapath order so waveforms and timing reports read well.

Handshake (DESIGN.md interface convention): the unit's output register holds a
result while ``out_valid`` is high; when ``out_ready`` is low at the same time the
whole pipeline stalls (``enable`` low) and ``in_ready`` drops.  Bubbles are not
squeezed out, which keeps the pipeline free of per-stage ready logic.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["Pipeline", "Combinational", "PipelinedUnit"]


class Pipeline:
    """Builds the stall logic and the cut-point registers of one unit.

    Parameters
    ----------
    m : Module
        The unit's module; registers go into ``m.d.sync``.
    cuts : sequence of str
        Cut-point names in fill order.
    depth : int
        How many of ``cuts`` get registers (``0 <= depth <= len(cuts)``).
    in_valid, in_ready, out_valid, out_ready : Signal
        The unit's handshake ports.  ``out_valid`` is driven by :meth:`output`.

    Attributes
    ----------
    enable : Signal
        High when the pipeline advances this cycle (the unit's ``in_ready``).
    valid : Value
        Valid bit of the data at the current point of the datapath.
    """

    def __init__(self, m, *, cuts, depth, in_valid, in_ready, out_valid, out_ready):
        cuts = list(cuts)
        if len(set(cuts)) != len(cuts):
            raise ValueError(f"Pipeline: cut names must be unique, got {cuts}")
        if not isinstance(depth, int) or not 0 <= depth <= len(cuts):
            raise ValueError(f"Pipeline: depth must be an integer in 0..{len(cuts)}, got {depth!r}")
        self._m = m
        self._active = set(cuts[:depth])
        self._unused = set(cuts)
        self._stage = 0
        self._out_valid = out_valid
        self._out_ready = out_ready
        self._hold = None
        self.depth = depth
        self.enable = in_ready
        self.valid = in_valid

    @property
    def latency(self):
        """Cycles from an accepted input to its result: the cut registers plus the output register."""
        return self.depth + 1

    def registered(self, what):
        """Whether cut point ``what`` has registers at this depth."""
        if what not in self._unused and what not in self._active:
            raise ValueError(f"Pipeline: cut point {what!r} is unknown")
        return what in self._active

    def hold(self, condition):
        """Stall the whole pipeline while ``condition`` is high (an iterative step at the current point).

        The stages stay frozen; a result waiting in the output register can still leave.
        """
        if self._hold is not None:
            raise ValueError("Pipeline: hold() may be called once")
        self._hold = Signal(name="hold")
        self._m.d.comb += self._hold.eq(condition)

    def cut(self, what, **values):
        """Pass ``values`` (Values, or lists or dicts of them) through cut point ``what``.

        Returns a dict with the same keys: registered copies if the cut is active,
        the values themselves otherwise.
        """
        if what not in self._unused:
            raise ValueError(f"Pipeline: cut point {what!r} is unknown or used twice")
        self._unused.discard(what)
        if what not in self._active:
            return dict(values)
        self._stage += 1
        prefix = f"s{self._stage}_"
        valid = Signal(name=f"{prefix}valid")
        with self._m.If(self.enable):
            self._m.d.sync += valid.eq(self.valid)
        self.valid = valid
        return {key: self._register(f"{prefix}{key}", value) for key, value in values.items()}

    def _register(self, name, value):
        if isinstance(value, (list, tuple)):
            return [self._register(f"{name}_{i}", v) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {key: self._register(f"{name}_{key}", v) for key, v in value.items()}
        value = Value.cast(value)
        reg = Signal(value.shape(), name=name)
        with self._m.If(self.enable):
            self._m.d.sync += reg.eq(value)
        return reg

    def output(self, *statements):
        """Load the unit's output registers with ``statements`` (``target.eq(value)``).

        Drives ``out_valid``; the statements take effect when a valid operation
        leaves the pipeline.  Every declared cut point must have been placed.
        """
        if self._unused:
            raise ValueError(f"Pipeline: cut points {sorted(self._unused)} were declared but never placed")
        m = self._m
        if self._hold is None:
            m.d.comb += self.enable.eq(~self._out_valid | self._out_ready)
        else:
            m.d.comb += self.enable.eq((~self._out_valid | self._out_ready) & ~self._hold)
        with m.If(self.enable):
            m.d.sync += self._out_valid.eq(self.valid)
            with m.If(self.valid):
                m.d.sync += statements
        if self._hold is not None:
            with m.Elif(self._out_ready):
                m.d.sync += self._out_valid.eq(0)


class Combinational:
    """A stand-in for ``Pipeline`` with no registers: every cut point passes its values through.

    For a block that takes a pipeline (``float_normalize``) used once per lane inside one stage
    of a unit, whose own ``Pipeline`` cuts around all the lanes at once.
    """

    def registered(self, what):
        return False

    def cut(self, what, **values):
        return dict(values)


class PipelinedUnit(wiring.Component):
    """Base of the streaming units: the interface convention around named ports.

    The signature is ``in_valid``, ``in_ready``, the ``inputs``, ``out_valid``,
    ``out_ready``, the ``outputs`` (name -> shape, in that order).  The subclass
    sets ``self.depth`` before calling ``__init__``; ``latency`` is ``depth + 1``
    (the cut registers plus the output register) and ``pipeline(m, cuts)`` builds
    the unit's ``Pipeline``.
    """

    def __init__(self, *, inputs, outputs):
        super().__init__({
            "in_valid":  In(1),
            "in_ready":  Out(1),
            **{name: In(shape) for name, shape in inputs.items()},
            "out_valid": Out(1),
            "out_ready": In(1),
            **{name: Out(shape) for name, shape in outputs.items()},
        })

    @property
    def latency(self):
        return self.depth + 1

    def pipeline(self, m, cuts):
        return Pipeline(m, cuts=cuts, depth=self.depth, in_valid=self.in_valid, in_ready=self.in_ready,
                        out_valid=self.out_valid, out_ready=self.out_ready)
