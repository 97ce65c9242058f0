"""``vsq_mac``: the VS-Quant multiply-accumulate, V lanes of N-bit products with per-vector scales.

Each accepted operation carries ``op``, ``a`` and ``b`` (V lanes of ``width``
bits, lane 0 in the least significant bits) and the two vectors' unsigned
``scale_width``-bit integer scales ``sa`` and ``sb``:

    CLEAR  acc <- 0
    MAC    acc <- acc + (sum_i a[i] * b[i]) * (sa * sb)     (wraps modulo 2**acc_width)
    READ   acc unchanged                                    (reserved code 3 reads)

Every operation returns the accumulator after it (``result``) and the sticky
``overflow``.  The floating-point scales (gamma) are applied outside, once
per output.  Datapath: V exact products and the scale product ``sa * sb`` in
parallel -> adder tree -> one multiply by the scale product -> accumulator.
Cut points in fill order: ``products``, ``scaled`` (after the scale
multiply), ``sum`` (after the tree), ``tree`` (half-way up, V >= 4),
``operands``.  Latency is ``depth + 1`` cycles.
"""

from amaranth import *

from golden.integer import product_range
from .common.accumulator import MacOp, accumulate
from .common.adder_tree import adder_tree, adder_tree_levels
from .common.lanes import lane_products
from .common.params import check_bool, check_int
from .common.pipeline import PipelinedUnit


__all__ = ["VsqMac", "cut_points", "accumulator_width", "MAX_ACC_WIDTH"]

MAX_ACC_WIDTH = 62


def cut_points(lanes):
    cuts = ["products", "scaled", "sum"]
    if adder_tree_levels(lanes) >= 2:
        cuts.append("tree")
    cuts.append("operands")
    return cuts


def accumulator_width(lanes, width, scale_width, a_signed, b_signed, vectors):
    """Bits that hold ``vectors`` scaled V-lane dot products of extreme operands without wrapping."""
    lo, hi = product_range(width, a_signed, b_signed)
    smax = ((1 << scale_width) - 1) ** 2
    lo, hi = lo * lanes * smax * vectors, hi * lanes * smax * vectors
    if a_signed or b_signed:
        return max(hi.bit_length(), (-lo - 1).bit_length()) + 1
    return hi.bit_length()


class VsqMac(PipelinedUnit):
    """VS-Quant MAC; see the module docstring.

    Parameters: ``lanes`` V (1..64), ``width`` N (2..8), ``scale_width`` M
    (2..8), ``a_signed``/``b_signed``, ``reduction`` K (the accumulator is
    sized for ceil(K/V) MACs of extreme operands; 1..2**20), ``acc_width``
    (None: from ``reduction``; else at least one scaled dot product's width, at
    most 62), ``depth`` (0..len(cut_points(lanes))).
    """

    def __init__(self, *, lanes=16, width=4, scale_width=6, a_signed=True, b_signed=True,
                 reduction=4096, acc_width=None, depth=1):
        check_int("VsqMac", "lanes", lanes, 1, 64)
        check_int("VsqMac", "width", width, 2, 8)
        check_int("VsqMac", "scale_width", scale_width, 2, 8)
        check_bool("VsqMac", "a_signed", a_signed)
        check_bool("VsqMac", "b_signed", b_signed)
        check_int("VsqMac", "reduction", reduction, 1, 1 << 20)
        vectors = -(-reduction // lanes)
        if acc_width is None:
            acc_width = accumulator_width(lanes, width, scale_width, a_signed, b_signed, vectors)
        minimum = accumulator_width(lanes, width, scale_width, a_signed, b_signed, 1)
        check_int("VsqMac", "acc_width", acc_width, minimum, MAX_ACC_WIDTH)
        check_int("VsqMac", "depth", depth, 0, len(cut_points(lanes)))
        self.lanes, self.width, self.scale_width = lanes, width, scale_width
        self.a_signed, self.b_signed = a_signed, b_signed
        self.reduction, self.acc_width, self.depth = reduction, acc_width, depth
        acc_shape = signed(acc_width) if (a_signed or b_signed) else unsigned(acc_width)
        super().__init__(
            inputs={
                "op": MacOp,
                "a": lanes * width,
                "b": lanes * width,
                "sa": scale_width,
                "sb": scale_width,
            },
            outputs={
                "result": acc_shape,
                "overflow": 1,
            })

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, cut_points(self.lanes))

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b, sa=self.sa, sb=self.sb)
        products = lane_products(s["a"], s["b"], self.lanes, self.width, self.a_signed, self.b_signed)
        s = pipe.cut("products", op=s["op"], products=products, scale=s["sa"] * s["sb"])
        op, scale = s["op"], s["scale"]

        half = adder_tree_levels(self.lanes) // 2

        def stage(level, terms):
            nonlocal op, scale
            if level != half:
                return terms
            t = pipe.cut("tree", op=op, scale=scale, terms=terms)
            op, scale = t["op"], t["scale"]
            return t["terms"]

        dot = adder_tree(s["products"], stage=stage)
        s = pipe.cut("sum", op=op, scale=scale, dot=dot)
        s = pipe.cut("scaled", op=s["op"], scaled=s["dot"] * s["scale"])
        accumulate(m, pipe, s["op"], s["scaled"], self.result, self.overflow)
        return m
