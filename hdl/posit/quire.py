"""The quire of posit<N, ES>: accumulate exact products, round once (2022 standard).

The quire is a ``width = 2**(es+2) * (n-2) + 32``-bit two's-complement register
Q worth ``Q * 2**-frac_bits``, ``frac_bits = 2**(es+1) * (n-2)`` (512 and 240
for posit<32,2>); ``golden.posit.Quire`` is the bit-exact model.  Every product
of two posits is exact in it.  A NaR operand makes the quire NaR until cleared.

Q is held in carry-save form (``hdl/common/carry_save.py``): ``SEGMENT``-bit
segments with a pending carry between each two, so an accumulation is one
``SEGMENT``-bit adder per segment whatever the width.  The stage functions
below take and return dicts of values (keys they do not use pass through), so
a unit can put a pipeline register between any two of them:

- ``term_window``: the exact product of two significands (2M bits, M = fbits
  + 1), negated when it is subtracted, shifted by its offset within a segment
  into ``chunks`` segments' worth of bits; ``base`` is where it lands.
- ``place_term``: each quire segment takes the window segment that lands on
  it, the window's sign above the window, 0 below it.
- ``QuireState``: the register and its update (clear, accumulate, NaR flag).
- readout (``READOUT``, in order): ``resolve`` and ``prefix`` and ``binary``
  (Q in binary: segment + carry, the carries between segments by one addition,
  then an increment per segment), ``sign`` and ``magnitude`` (``|Q|`` by
  segments: ``~Q + 1`` needs the +1 only where every segment below is 0),
  ``find`` and ``select`` (the leading nonzero segment and the one below as
  one 2 * SEGMENT-bit window), ``count`` (its leading zeros) and ``fields``
  (the ``PositEncoder`` inputs: the leading one shifted out, fbits + 1 bits
  below it, the rest ORed into sticky).
"""

import operator
from functools import reduce

from amaranth import *
from amaranth.utils import bits_for, ceil_log2

from golden.posit import PositFormat
from ..common import carry_save
from ..common.lzc import LeadingZeroCount


__all__ = ["SEGMENT", "QuireLayout", "QuireState", "term_window", "place_term", "READOUT", "readout"]


SEGMENT = 32


class QuireLayout:
    """Where things are in the quire of posit<n, es>.

    ``width``, ``frac_bits``, ``bounds`` (segment bit ranges), ``drop`` (2 *
    fbits: product bit j lands on quire bit ``j + scale + frac_bits - drop``),
    ``pad`` (whole segments below the quire, so that position is never
    negative), ``chunks`` (window segments: the product, its sign and the
    largest offset).
    """

    def __init__(self, n, es):
        self.format = fmt = PositFormat.get(n, es)
        self.width = fmt.quire_width
        self.frac_bits = fmt.quire_frac_bits
        self.bounds = carry_save.segment_bounds(self.width, SEGMENT)
        self.sig_w = fmt.fbits + 1
        self.drop = 2 * fmt.fbits
        self.pad = -(-self.drop // SEGMENT) * SEGMENT
        self.chunks = -(-(2 * self.sig_w + SEGMENT) // SEGMENT)
        self.scale_width = bits_for(max(self.frac_bits, self.width - 1 - self.frac_bits)) + 2


def _rest(s, *used):
    return {key: value for key, value in s.items() if key not in used}


def term_window(m, q, s, subtract):
    """``s``: ``product``, ``scale``, ``sign``, ``zero``.  Returns ``window`` and ``base`` (the
    padded segment index of the window's lowest segment)."""
    fmt = q.format
    negate = s["sign"] ^ subtract
    position = Signal(bits_for(4 * fmt.max_scale + q.pad), name="term_position")
    m.d.comb += position.eq(s["scale"] + (2 * fmt.max_scale - q.drop + q.pad))
    product = s["product"]
    signed_product = Signal(signed(len(product) + 1), name="signed_product")
    m.d.comb += signed_product.eq(Mux(negate & ~s["zero"], -product, product))
    offset_bits = ceil_log2(SEGMENT)
    window = Signal(q.chunks * SEGMENT, name="term_window")
    m.d.comb += window.eq(signed_product << position[:offset_bits])
    return dict(_rest(s, "product", "scale", "sign", "zero"), window=window, base=position[offset_bits:])


def place_term(m, q, s):
    """``s``: ``window``, ``base``.  Returns ``addend``, one Value per quire segment."""
    window, base = s["window"], s["base"]
    fill = window[-1]
    pad_segments = q.pad // SEGMENT
    bases = range(1 << len(base))
    addend = []
    for i, (lo, hi) in enumerate(q.bounds):
        w = hi - lo
        slice_i = C(0, w)
        for j in range(q.chunks):
            if i + pad_segments - j in bases:
                chunk = window[j * SEGMENT:j * SEGMENT + w]
                slice_i = slice_i | (chunk & (base == i + pad_segments - j).replicate(w))
        lowest_above = i + pad_segments - q.chunks + 1      # the window lies below segment i
        above = C(0, 1) if lowest_above <= 0 else C(1, 1) if lowest_above >= len(bases) else base < lowest_above
        x = Signal(w, name=f"term_{i}")
        m.d.comb += x.eq(slice_i | (fill & above).replicate(w))
        addend.append(x)
    return dict(_rest(s, "window", "base"), addend=addend)


class QuireState:
    """The quire register: segments, carries and the NaR flag, and its update.

    ``update(m, write, clear, accumulate, addend, nar)``: on ``write``, ``clear``
    empties it; otherwise ``accumulate`` adds ``addend`` (one Value per segment)
    unless the quire or the operand (``nar``) is NaR, which sets the flag.
    ``update`` returns the quire after this op, combinationally (``registered``
    False) or as the register holds it one cycle later (``registered`` True).
    Values: ``segments``, ``carries``, ``nar``.
    """

    def __init__(self, q):
        self.segments = [Signal(hi - lo, name=f"quire_{i}") for i, (lo, hi) in enumerate(q.bounds)]
        self.carries = [Signal(name=f"quire_carry_{i}") for i in range(len(q.bounds))]
        self.nar = Signal(name="quire_nar")

    def update(self, m, *, write, clear, accumulate, addend, nar, registered):
        new_segments, new_carries = carry_save.accumulate(m, self.segments, self.carries, addend)
        state = self.segments + self.carries
        with m.If(write & clear):
            m.d.sync += [x.eq(0) for x in state + [self.nar]]
        with m.Elif(write & accumulate & ~self.nar):
            with m.If(nar):
                m.d.sync += self.nar.eq(1)
            with m.Else():
                m.d.sync += [x.eq(y) for x, y in zip(state, new_segments + new_carries)]
        if registered:
            return dict(segments=self.segments, carries=self.carries, nar=self.nar)
        add = accumulate & ~self.nar & ~nar
        after = [Mux(clear, 0, Mux(add, y, x)) for x, y in zip(state, new_segments + new_carries)]
        k = len(self.segments)
        return dict(segments=after[:k], carries=after[k:], nar=~clear & (self.nar | (accumulate & nar)))


# -- readout ---------------------------------------------------------------------

def resolve(m, q, s):
    t, g, p = carry_save.resolve_carries(m, s["segments"], s["carries"])
    return dict(_rest(s, "segments", "carries"), t=t, g=g, p=p)


def prefix(m, q, s):
    carry_in = carry_save.prefix_carries(m, s["g"], s["p"], name="segment_carry")
    return dict(_rest(s, "g", "p"), carry_in=carry_in)


def binary(m, q, s):
    return dict(_rest(s, "t", "carry_in"), r=carry_save.propagate_carries(m, s["t"], s["carry_in"]))


def sign(m, q, s):
    """The sign of Q; for each segment whether every segment below it is 0 (where the ``+ 1`` of
    ``~Q + 1`` lands); NaR also for the NaR pattern."""
    r = s["r"]
    top = r[-1]
    negative = top[-1]
    zero = Cat(*(ri == 0 for ri in r))
    below_zero = carry_save.prefix_carries(m, C(0, len(r)), zero, carry_in=1, name="below_zero")
    nar_pattern = negative & ~top[:-1].any() & below_zero[len(r) - 1]
    return dict(s, sign=negative, below_zero=below_zero, nar=s["nar"] | nar_pattern)


def magnitude(m, q, s):
    """``|Q|`` by segments: ``(r_i ^ sign) + 1`` where every segment below is 0."""
    negative = s["sign"]
    out = []
    for i, ri in enumerate(s["r"]):
        mi = Signal(len(ri), name=f"magnitude_{i}")
        m.d.comb += mi.eq((ri ^ negative.replicate(len(ri))) + (negative & s["below_zero"][i]))
        out.append(mi)
    return dict(_rest(s, "r", "below_zero"), magnitude=out)


def find(m, q, s):
    """One-hot ``lead``: the leading nonzero segment of the magnitude."""
    nonzero = Cat(*(mi.any() for mi in s["magnitude"]))
    lead = Signal(len(nonzero), name="lead_segment")
    higher = C(0, 1)
    bits = []
    for i in reversed(range(len(nonzero))):
        bits.append(nonzero[i] & ~higher)
        higher = higher | nonzero[i]
    m.d.comb += lead.eq(Cat(*reversed(bits)))
    return dict(s, nonzero=nonzero, lead=lead)


def select(m, q, s):
    """The leading segment and the one below as one ``2 * SEGMENT``-bit ``window``, the leading
    segment's ``index``, and whether any segment below those two is nonzero (``below``)."""
    lead, nonzero, mag = s["lead"], s["nonzero"], s["magnitude"]
    k = len(lead)
    pad = lambda v: Cat(v, C(0, SEGMENT - len(v)))
    window = Signal(2 * SEGMENT, name="lead_window")
    index = Signal(range(max(k, 2)), name="lead_index")
    below = Signal(name="below_window")
    terms, idx, low = [], [], [C(0, 1)]
    for i in range(k):
        pair = Cat(pad(mag[i - 1]) if i else C(0, SEGMENT), pad(mag[i]))
        terms.append(pair & lead[i].replicate(2 * SEGMENT))
        idx.append(Mux(lead[i], i, 0))
        if i >= 2:
            low.append(lead[i] & nonzero[:i - 1].any())
    m.d.comb += [window.eq(reduce(operator.or_, terms)), index.eq(reduce(operator.or_, idx)),
                 below.eq(reduce(operator.or_, low))]
    return dict(_rest(s, "lead", "nonzero", "magnitude"), window=window, index=index, below=below)


def count(m, q, s):
    """The leading zeros of the leading segment; all ``SEGMENT`` of them only when Q is 0."""
    lzc = LeadingZeroCount(SEGMENT)
    m.submodules += lzc
    m.d.comb += lzc.value.eq(s["window"][SEGMENT:])
    offset_bits = ceil_log2(SEGMENT)
    return dict(s, count=lzc.count[:offset_bits], zero=lzc.count[offset_bits])


def fields(m, q, s):
    """The ``PositEncoder`` fields (sign, scale, frac, sticky, zero, nar): the leading one at the top
    of the window, fbits + 1 bits below it (fraction and round bit), the rest into sticky."""
    keep = q.sig_w
    normalized = Signal(2 * SEGMENT, name="normalized_window")
    m.d.comb += normalized.eq(s["window"] << s["count"])
    top = 2 * SEGMENT - 1
    scale = Signal(signed(q.scale_width), name="quire_scale")
    m.d.comb += scale.eq(s["index"] * SEGMENT + (SEGMENT - 1 - q.frac_bits) - s["count"])
    return dict(_rest(s, "window", "index", "below", "count"), scale=scale, frac=normalized[top - keep:top],
                sticky=normalized[:top - keep].any() | s["below"])


READOUT = (("resolve", resolve), ("prefix", prefix), ("binary", binary), ("sign", sign),
           ("magnitude", magnitude), ("find", find), ("select", select), ("count", count), ("fields", fields))


def readout(m, q, s, cut=None):
    """All of ``READOUT`` in order; ``cut(name, values)`` (default: none) goes after each stage."""
    for name, stage in READOUT:
        s = stage(m, q, s)
        if cut is not None:
            s = cut(name, s)
    return s
