"""``exsdotp``: the expanding sum of dot products of MiniFloat-NN (RISC-V), rounded once.

``a0``, ``b0``, ``a1``, ``b1`` are in the source format, ``c`` and ``result`` in
the destination format of twice the width (fp8 e5m2 / e4m3 -> fp16 or bf16,
fp16 or bf16 -> fp32).  Ops (``ExsdotpOp``)::

    0 SDOTP    a0*b0 + a1*b1 + c            2 EXVSUM   a0 + a1 + c
    1 SDOTPN   c - (a0*b0 + a1*b1)          3 EXVSUMN  c - (a0 + a1)
    4 VSUM     x + y + c                    5 VSUMN    c - (x + y)

VSUM is the non-expanding sum, built with ``vsum=True``: ``x = {a1, a0}`` and
``y = {b1, b0}`` are destination patterns (a0, b0 the low halves), so in a
register ``x`` and ``y`` are the destination-width elements of rs1 and rs2.
Without ``vsum``, codes 4 and 5 (and 6, 7 always) are not built: canonical NaN
and NV, as reserved rounding modes.  One rounding in the RISC-V mode ``rm``
(codes 5..7 reserved: canonical NaN and NV), RISC-V fflags ``NV=16, OF=4, UF=2,
NX=1`` (tininess after rounding), subnormals in and out, canonical NaN.  The
datapath is ``hdl/fused_dot.py`` with K = 2 (EXVSUM multiplies by 1.0); with
``vsum`` it is the three-term datapath for every op.  Latency ``depth + 1`` cycles.
"""

from amaranth import *
from amaranth.lib import enum

from .common.params import check_float_format, check_int, format_name
from .common.pipeline import PipelinedUnit
from .fused_dot import CUT_POINTS, fused_dot


__all__ = ["ExsdotpOp", "Exsdotp", "ExsdotpSimd", "check_formats"]


class ExsdotpOp(enum.Enum, shape=3):
    SDOTP = 0
    SDOTPN = 1
    EXVSUM = 2
    EXVSUMN = 3
    VSUM = 4
    VSUMN = 5


def check_formats(src, dst):
    """Raise ``ValueError`` unless ``src -> dst`` is a pair this unit builds (``TypeError`` unless
    both are ``golden.fp.FloatFormat``)."""
    check_float_format("Exsdotp", "src", src)
    check_float_format("Exsdotp", "dst", dst)
    if dst.flavour != "ieee":
        raise ValueError(f"Exsdotp: destination {format_name(dst)} must have the ieee flavour (with Inf)")
    if dst.width != 2 * src.width:
        raise ValueError(f"Exsdotp: the destination must be twice the source width: src={format_name(src)} "
                         f"({src.width} bits) needs a {2 * src.width}-bit dst, got dst={format_name(dst)} "
                         f"({dst.width} bits)")


def check_vsum(unit, vsum):
    if not isinstance(vsum, bool):
        raise ValueError(f"{unit}: vsum must be a bool (True or False), got {vsum!r}")


class Exsdotp(PipelinedUnit):
    """Expanding two-term dot product plus addend; ``src``/``dst`` are ``golden.fp.FloatFormat``,
    ``depth`` 0..12 (the cut points of ``hdl/fused_dot.py``), ``vsum`` builds the non-expanding VSUM/VSUMN."""

    def __init__(self, *, src, dst, depth=1, vsum=False):
        check_formats(src, dst)
        check_int("Exsdotp", "depth", depth, 0, len(CUT_POINTS))
        check_vsum("Exsdotp", vsum)
        self.src, self.dst, self.depth, self.vsum = src, dst, depth, vsum
        super().__init__(
            inputs={
                "op": ExsdotpOp,
                "a0": src.width,
                "b0": src.width,
                "a1": src.width,
                "b1": src.width,
                "c": dst.width,
                "rm": 3,
            },
            outputs={
                "result": dst.width,
                "flags": 5,
            })

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, CUT_POINTS)
        # EXVSUM multiplies by 1.0: b is picked before the operand register, off the path into the multipliers.
        exvsum = (self.op == ExsdotpOp.EXVSUM) | (self.op == ExsdotpOp.EXVSUMN)
        one = (self.src.bias << self.src.man_bits)
        s = pipe.cut("operands", op=self.op, a0=self.a0, b0=self.b0, a1=self.a1, b1=self.b1, c=self.c, rm=self.rm,
                     factors=[Mux(exvsum, one, self.b0), Mux(exvsum, one, self.b1)])
        op = s["op"]
        vsum = (op == ExsdotpOp.VSUM) | (op == ExsdotpOp.VSUMN)
        built = Cat(*(op == code for code in ExsdotpOp if self.vsum or code not in (ExsdotpOp.VSUM, ExsdotpOp.VSUMN)))
        result, flags = fused_dot(
            m, pipe, src=self.src, dst=self.dst, a=[s["a0"], s["a1"]],
            b=s["factors"], c=s["c"], rm=s["rm"],
            negate_products=(op == ExsdotpOp.SDOTPN) | (op == ExsdotpOp.EXVSUMN) | (op == ExsdotpOp.VSUMN),
            negate_c=C(0, 1),
            addends=(vsum, [Cat(s["a0"], s["a1"]), Cat(s["b0"], s["b1"])]) if self.vsum else None,
            bad_op=~built.any())
        pipe.output(self.result.eq(result), self.flags.eq(flags))
        return m


class ExsdotpSimd(PipelinedUnit):
    """The register-level ExSdotp unit of a RISC-V core with FLEN = ``flen``.

    ``rs1``, ``rs2`` pack ``2 * lanes`` source elements, ``rd`` and ``result``
    pack ``lanes = flen // dst.width`` destination elements, element 0 in the
    least significant bits.  Lane i computes, as MiniFloat-NN's ``vfdotpex``
    (SDOTP), ``vfndotpex`` (SDOTPN) and ``vfsumex`` (EXVSUM, EXVSUMN) do::

        result[i] = op(a0 = rs1[2i], b0 = rs2[2i], a1 = rs1[2i+1], b1 = rs2[2i+1], c = rd[i])

With ``vsum``, VSUM/VSUMN add the destination-width elements ``rs1[i]`` and
``rs2[i]`` (source-width halves 2i, 2i+1) to ``rd[i]``: a three-operand add.

    ``flags`` is the OR of the lanes' fflags.  Each lane is one ``Exsdotp``; the
    lanes run in lockstep behind one handshake.  Latency ``depth + 1`` cycles.
    """

    def __init__(self, *, src, dst, flen=64, depth=1, vsum=False):
        check_formats(src, dst)
        check_vsum("ExsdotpSimd", vsum)
        if flen not in (32, 64):
            raise ValueError(f"ExsdotpSimd: flen must be 32 or 64, got {flen!r}")
        if flen < dst.width:
            raise ValueError(f"ExsdotpSimd: flen={flen} holds no {dst!r} lane")
        check_int("ExsdotpSimd", "depth", depth, 0, len(CUT_POINTS))
        self.src, self.dst, self.flen, self.depth, self.vsum = src, dst, flen, depth, vsum
        self.lanes = flen // dst.width
        super().__init__(
            inputs={
                "op": ExsdotpOp,
                "rs1": flen,
                "rs2": flen,
                "rd": flen,
                "rm": 3,
            },
            outputs={
                "result": flen,
                "flags": 5,
            })

    def elaborate(self, platform):
        m = Module()
        sw, dw = self.src.width, self.dst.width
        lanes = [Exsdotp(src=self.src, dst=self.dst, depth=self.depth, vsum=self.vsum) for _ in range(self.lanes)]
        for i, lane in enumerate(lanes):
            m.submodules[f"lane{i}"] = lane
            m.d.comb += [
                lane.in_valid.eq(self.in_valid), lane.out_ready.eq(self.out_ready),
                lane.op.eq(self.op), lane.rm.eq(self.rm),
                lane.a0.eq(self.rs1[2 * i * sw:(2 * i + 1) * sw]), lane.a1.eq(self.rs1[(2 * i + 1) * sw:(2 * i + 2) * sw]),
                lane.b0.eq(self.rs2[2 * i * sw:(2 * i + 1) * sw]), lane.b1.eq(self.rs2[(2 * i + 1) * sw:(2 * i + 2) * sw]),
                lane.c.eq(self.rd[i * dw:(i + 1) * dw]),
            ]
        # The lanes are identical and see the same handshake, so their handshake outputs agree.
        m.d.comb += [
            self.in_ready.eq(Cat(*(lane.in_ready for lane in lanes)).all()),
            self.out_valid.eq(Cat(*(lane.out_valid for lane in lanes)).all()),
            self.result.eq(Cat(*(lane.result for lane in lanes))),
            self.flags.eq(_or_all([lane.flags for lane in lanes])),
        ]
        return m


def _or_all(values):
    out = values[0]
    for v in values[1:]:
        out = out | v
    return out
