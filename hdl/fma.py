"""``fma``: fused multiply-add ``round(+-a*b +- c)``, the RISC-V FMA family, plain or expanding.

``a`` and ``b`` are in the source format, ``c`` and ``result`` in the
destination format ``fmt``; by default the source is ``fmt`` too, and a
narrower source gives the expanding FMA (fp8 * fp8 + fp16 -> fp16) that a core
without ExSdotp chains for dot products.  Ports ``op``, ``a``, ``b``, ``c``, ``rm`` in; ``result``, ``flags`` out (RISC-V
fflags ``NV=16, OF=4, UF=2, NX=1``).  Ops (``FmaOp``), as RISC-V defines them:

    FMADD   a*b + c        FNMSUB  -(a*b) + c
    FMSUB   a*b - c        FNMADD  -(a*b) - c

The fused dot-product datapath of ``hdl/fused_dot.py`` with K = 1; one rounding, subnormals in and
out, canonical NaN, reserved ``rm`` codes 5..7 give the canonical NaN with NV.
Latency ``depth + 1`` cycles.
"""

from amaranth import *
from amaranth.lib import enum

from .common.params import check_float_format, check_int
from .common.pipeline import PipelinedUnit
from .fused_dot import CUT_POINTS, fused_dot


__all__ = ["FmaOp", "Fma"]


class FmaOp(enum.Enum, shape=2):
    FMADD = 0
    FMSUB = 1
    FNMSUB = 2
    FNMADD = 3


class Fma(PipelinedUnit):
    """Fused multiply-add into ``fmt`` (a ``golden.fp.FloatFormat`` with the ieee flavour) from
    ``src`` (default ``fmt``, at most as wide), ``depth`` 0..12 (the cut points of ``hdl/fused_dot.py``)."""

    def __init__(self, *, fmt, src=None, depth=1):
        check_float_format("Fma", "fmt", fmt)
        src = fmt if src is None else src
        check_float_format("Fma", "src", src)
        if fmt.flavour != "ieee":
            raise ValueError(f"Fma: fmt must have the ieee flavour (with Inf), got {fmt!r}")
        if src.width > fmt.width:
            raise ValueError(f"Fma: the source {src!r} must not be wider than the destination {fmt!r}")
        check_int("Fma", "depth", depth, 0, len(CUT_POINTS))
        self.fmt, self.src, self.depth = fmt, src, depth
        super().__init__(
            inputs={
                "op": FmaOp,
                "a": src.width,
                "b": src.width,
                "c": fmt.width,
                "rm": 3,
            },
            outputs={
                "result": fmt.width,
                "flags": 5,
            })

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, CUT_POINTS)
        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b, c=self.c, rm=self.rm)
        op = s["op"]
        result, flags = fused_dot(
            m, pipe, src=self.src, dst=self.fmt, a=[s["a"]], b=[s["b"]], c=s["c"], rm=s["rm"],
            negate_products=(op == FmaOp.FNMSUB) | (op == FmaOp.FNMADD),
            negate_c=(op == FmaOp.FMSUB) | (op == FmaOp.FNMADD))
        pipe.output(self.result.eq(result), self.flags.eq(flags))
        return m
