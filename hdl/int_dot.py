"""``int_dot``: V-lane integer dot product with a wide accumulator.

Each accepted operation carries ``op``, ``a`` and ``b``; ``a`` and ``b`` pack V
lanes of ``width`` bits, lane 0 in the least significant bits, each lane
two's complement or unsigned as ``a_signed`` / ``b_signed`` say.

    CLEAR  acc <- 0
    MAC    acc <- acc + sum_i a[i] * b[i]        (wraps modulo 2**acc_width)
    READ   acc unchanged                         (reserved code 3 behaves as READ)

Every operation returns one ``result``: the accumulator after it, and
``overflow``: high when a MAC since the last CLEAR wrapped the accumulator.  Datapath:
V exact products -> balanced adder tree -> accumulator.  Pipeline cut points,
filled in this order as ``depth`` grows: ``products`` (after the multipliers),
``sum`` (after the adder tree), ``tree`` (half-way up the tree, V >= 4),
``operands`` (the inputs).  Latency is ``depth + 1`` cycles.
"""

from amaranth import *

from golden.integer import accumulator_width
from .common.accumulator import MacOp, accumulate
from .common.adder_tree import adder_tree, adder_tree_levels
from .common.lanes import lane_products
from .common.params import check_bool, check_int
from .common.pipeline import PipelinedUnit


__all__ = ["IntDot", "default_acc_width", "cut_points"]


DEFAULT_ACCUMULATIONS = 2 ** 16
MAX_ACC_WIDTH = 62


def default_acc_width(lanes, width, a_signed, b_signed):
    """Accumulator width that cannot wrap within 2**16 MACs of extreme operands."""
    return accumulator_width(lanes, width, a_signed, b_signed, DEFAULT_ACCUMULATIONS)


def cut_points(lanes):
    """The pipeline cut points of a ``lanes``-lane unit, in fill order."""
    cuts = ["products", "sum"]
    if adder_tree_levels(lanes) >= 2:
        cuts.append("tree")
    cuts.append("operands")
    return cuts


class IntDot(PipelinedUnit):
    """V-lane integer multiply-accumulate; see the module docstring for the operations.

    Parameters: ``lanes`` (V, 1..64), ``width`` (2..16), ``a_signed``, ``b_signed``,
    ``acc_width`` (None: wide enough for 2**16 MACs; else from one dot product's
    width up to 62), ``depth`` (pipeline registers, 0..len(cut_points(lanes))).
    """

    def __init__(self, *, lanes=16, width=8, a_signed=True, b_signed=True, acc_width=None, depth=1):
        check_int("IntDot", "lanes", lanes, 1, 64)
        check_int("IntDot", "width", width, 2, 16)
        check_bool("IntDot", "a_signed", a_signed)
        check_bool("IntDot", "b_signed", b_signed)
        min_acc = accumulator_width(lanes, width, a_signed, b_signed, 1)
        if acc_width is None:
            acc_width = default_acc_width(lanes, width, a_signed, b_signed)
        check_int("IntDot", "acc_width", acc_width, min_acc, MAX_ACC_WIDTH)
        check_int("IntDot", "depth", depth, 0, len(cut_points(lanes)))
        self.lanes, self.width = lanes, width
        self.a_signed, self.b_signed = a_signed, b_signed
        self.acc_width, self.depth = acc_width, depth
        acc_shape = signed(acc_width) if (a_signed or b_signed) else unsigned(acc_width)
        super().__init__(
            inputs={
                "op": MacOp,
                "a": lanes * width,
                "b": lanes * width,
            },
            outputs={
                "result": acc_shape,
                "overflow": 1,
            })

    def elaborate(self, platform):
        m = Module()
        pipe = self.pipeline(m, cut_points(self.lanes))

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        op = s["op"]
        products = lane_products(s["a"], s["b"], self.lanes, self.width, self.a_signed, self.b_signed)
        s = pipe.cut("products", op=op, products=products)
        op = s["op"]

        half = adder_tree_levels(self.lanes) // 2

        def stage(level, terms):
            nonlocal op
            if level != half:
                return terms
            s = pipe.cut("tree", op=op, terms=terms)
            op = s["op"]
            return s["terms"]

        dot = adder_tree(s["products"], stage=stage)
        s = pipe.cut("sum", op=op, dot=dot)

        accumulate(m, pipe, s["op"], s["dot"], self.result, self.overflow)
        return m
