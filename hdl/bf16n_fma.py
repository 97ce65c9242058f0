"""``bf16n_fma``: the BF16-N FMA, ``a * b + c`` with ``a`` and ``b`` held as N bf16 terms each.

Ports: ``a``, ``b`` In(16 * N), the terms packed ``t0`` in the low 16 bits (``t0``
the leading term, as ``golden.bf16n.split`` gives them); ``c`` In(32), FP32;
``rm`` In(3); ``result`` Out(32), FP32; ``flags`` Out(5), RISC-V fflags (``NV=16,
OF=4, UF=2, NX=1``).

``golden.bf16n.fma``: ``acc = c``, then ``acc = round_fp32(a_i * b_j + acc)``
for each term product of ``golden.bf16n.products(N, full)`` (the triangle ``i + j
< N``, or all N**2 with ``full``), smallest first; the flags are the OR of every
step's.  Each step is the expanding bf16 -> FP32 FMA of ``hdl/fused_dot.py`` (an
8 x 8 significand product, K = 1), so the unit holds one bf16 multiplier per
product: 3 for BF16x2, 6 for BF16x3, against FP32's one 24 x 24.

Pipeline: the steps one after another, each with the cut points of
``hdl/fused_dot.py`` numbered by step (``sum0``, ``sum1``, ...), filled cut
point by cut point across the steps: depth = number of products puts one
register after every step's add.  Later steps' operands and the flags travel
with the registers.  Latency ``depth + 1`` cycles, one operation per cycle.
"""

from amaranth import *

from golden import fp
from golden.bf16n import N_RANGE, products
from .common.params import check_bool, check_int
from .common.pipeline import PipelinedUnit
from .fused_dot import CUT_POINTS, fused_dot


__all__ = ["Bf16nFma", "cut_points"]


def cut_points(count):
    """The unit's cut points in fill order for ``count`` steps: each of ``fused_dot``'s in every step,
    then the next; ``operands`` (the inputs) once, in its place."""
    return tuple(name for cut in CUT_POINTS for name in (("operands",) if cut == "operands" else
                                                         (f"{cut}{i}" for i in range(count))))


class _StepPipeline:
    """One step's view of the unit's pipeline: its cut points carry the step's suffix, and the values
    later steps need (``carried``) pass every one of them beside the step's own."""

    def __init__(self, pipe, step, carried):
        self.pipe, self.suffix, self.carried = pipe, str(step), carried

    def registered(self, what):
        return self.pipe.registered(what + self.suffix)

    def cut(self, what, **values):
        out = self.pipe.cut(what + self.suffix, **values, carried=self.carried)
        self.carried = out.pop("carried")
        return out


class _StepModule:
    """The unit's module as one step's datapath sees it: the same module (so no signal crosses a
    module boundary, where a partly read register would stay whole), its submodules named with the
    step's suffix."""

    def __init__(self, m, suffix):
        self._m = m
        self.submodules = _SuffixedSubmodules(m.submodules, suffix)

    def __getattr__(self, name):
        return getattr(self._m, name)


class _SuffixedSubmodules:
    def __init__(self, submodules, suffix):
        object.__setattr__(self, "_submodules", submodules)
        object.__setattr__(self, "_suffix", suffix)

    def __setattr__(self, name, value):
        self._submodules[name + self._suffix] = value

    __setitem__ = __setattr__

    def __getattr__(self, name):
        return self._submodules[name + self._suffix]

    __getitem__ = __getattr__


class Bf16nFma(PipelinedUnit):
    """BF16-N FMA into FP32; see the module docstring.

    Parameters: ``N`` (terms per operand, 1..3), ``full`` (all N**2 term products instead of the
    N (N + 1) / 2 of the triangle), ``depth`` (0..the number of cut points; default: one register
    per product step).
    """

    def __init__(self, *, N=2, full=False, depth=None):
        check_int("Bf16nFma", "N", N, *N_RANGE)
        check_bool("Bf16nFma", "full", full)
        self.N, self.full = N, full
        self.pairs = products(N, full)
        self.cuts = cut_points(len(self.pairs))
        if depth is None:
            depth = len(self.pairs)
        check_int("Bf16nFma", "depth", depth, 0, len(self.cuts))
        self.depth = depth
        super().__init__(
            inputs={"a": 16 * N, "b": 16 * N, "c": 32, "rm": 3},
            outputs={"result": 32, "flags": 5})

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, self.cuts)
        s = pipe.cut("operands", a=self.a, b=self.b, c=self.c, rm=self.rm)
        carried = dict(a=s["a"], b=s["b"], rm=s["rm"], flags=C(0, 5))
        acc = s["c"]
        for step, (i, j) in enumerate(self.pairs):
            body = _StepModule(m, f"_{step}")
            view = _StepPipeline(pipe, step, carried)
            a, b = Value.cast(carried["a"]), Value.cast(carried["b"])
            acc, flags = fused_dot(body, view, src=fp.BF16, dst=fp.FP32, a=[a[16 * i:16 * (i + 1)]],
                                   b=[b[16 * j:16 * (j + 1)]], c=acc, rm=carried["rm"],
                                   negate_products=C(0, 1), negate_c=C(0, 1))
            carried = dict(view.carried, flags=Value.cast(view.carried["flags"]) | flags)
        pipe.output(self.result.eq(acc), self.flags.eq(carried["flags"]))
        return m
