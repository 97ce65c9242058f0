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
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from golden.integer import accumulator_width
from .common.adder_tree import adder_tree, adder_tree_levels
from .common.pipeline import Pipeline


__all__ = ["IntDotOp", "IntDot", "default_acc_width", "cut_points"]


class IntDotOp(enum.Enum, shape=2):
    CLEAR = 0
    MAC   = 1
    READ  = 2


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


def _check_int(owner, name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{owner}: {name} must be an integer in {lo}..{hi}, got {value!r}")


class IntDot(wiring.Component):
    """V-lane integer multiply-accumulate; see the module docstring for the operations.

    Parameters: ``lanes`` (V, 1..64), ``width`` (2..16), ``a_signed``, ``b_signed``,
    ``acc_width`` (None: wide enough for 2**16 MACs; else from one dot product's
    width up to 62), ``depth`` (pipeline registers, 0..len(cut_points(lanes))).
    """

    def __init__(self, *, lanes=16, width=8, a_signed=True, b_signed=True, acc_width=None, depth=1):
        _check_int("IntDot", "lanes", lanes, 1, 64)
        _check_int("IntDot", "width", width, 2, 16)
        for name, flag in (("a_signed", a_signed), ("b_signed", b_signed)):
            if not isinstance(flag, bool):
                raise ValueError(f"IntDot: {name} must be a bool, got {flag!r}")
        min_acc = accumulator_width(lanes, width, a_signed, b_signed, 1)
        if acc_width is None:
            acc_width = default_acc_width(lanes, width, a_signed, b_signed)
        _check_int("IntDot", "acc_width", acc_width, min_acc, MAX_ACC_WIDTH)
        _check_int("IntDot", "depth", depth, 0, len(cut_points(lanes)))
        self.lanes, self.width = lanes, width
        self.a_signed, self.b_signed = a_signed, b_signed
        self.acc_width, self.depth = acc_width, depth
        acc_shape = signed(acc_width) if (a_signed or b_signed) else unsigned(acc_width)
        super().__init__({
            "in_valid":  In(1),
            "in_ready":  Out(1),
            "op":        In(IntDotOp),
            "a":         In(lanes * width),
            "b":         In(lanes * width),
            "out_valid": Out(1),
            "out_ready": In(1),
            "result":    Out(acc_shape),
            "overflow":  Out(1),
        })

    @property
    def latency(self):
        return self.depth + 1

    def _lanes(self, packed, is_signed):
        w = self.width
        lanes = [packed[i * w:(i + 1) * w] for i in range(self.lanes)]
        return [lane.as_signed() if is_signed else lane for lane in lanes]

    def elaborate(self, platform):
        m = Module()
        pipe = Pipeline(m, cuts=cut_points(self.lanes), depth=self.depth,
                        in_valid=self.in_valid, in_ready=self.in_ready,
                        out_valid=self.out_valid, out_ready=self.out_ready)

        s = pipe.cut("operands", op=self.op, a=self.a, b=self.b)
        op = s["op"]
        products = [x * y for x, y in zip(self._lanes(s["a"], self.a_signed),
                                          self._lanes(s["b"], self.b_signed))]
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

        acc, w = self.result, self.acc_width
        total = Signal(signed(w + 1) if acc.shape().signed else unsigned(w + 1))
        m.d.comb += total.eq(acc + s["dot"])
        if self.result.shape().signed:
            wrapped = total[w] != total[w - 1]
        else:
            wrapped = total[w]
        acc_next = Signal.like(acc)
        overflow_next = Signal()
        with m.Switch(s["op"]):
            with m.Case(IntDotOp.CLEAR):
                m.d.comb += [acc_next.eq(0), overflow_next.eq(0)]
            with m.Case(IntDotOp.MAC):
                m.d.comb += [acc_next.eq(total[:w]), overflow_next.eq(self.overflow | wrapped)]
            with m.Default():
                m.d.comb += [acc_next.eq(acc), overflow_next.eq(self.overflow)]
        pipe.output(acc.eq(acc_next), self.overflow.eq(overflow_next))
        return m
