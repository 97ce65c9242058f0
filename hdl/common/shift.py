"""Shifters of the floating-point datapath: alignment with sticky, and normalization.

``ShiftRightSticky`` is a logarithmic barrel shifter: stage ``i`` shifts by
``2**i`` when ``amount[i]`` is set and ORs the bits it drops into the sticky
bit.  Amount bits worth ``width`` or more are merged into one overflow flag
that clears the result and makes sticky the OR of the whole input.

``place`` puts a short value anywhere in a wide field: a shifter by the
offset's low bits, then an AND-OR over the one-hot decode of the rest.

``Normalize`` shifts left by the leading-zero count of ``LeadingZeroCount``,
optionally clamped to a ``limit`` (the shift that reaches the minimum
exponent, for subnormal results).  ``normalize_by_steps`` does the same without
a count: it decides the shift a power of two at a time, from the largest down.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import check_int

from .lzc import LeadingZeroCount


__all__ = ["ShiftRightSticky", "place", "Normalize", "normalize_by_steps", "PARALLEL_STEP"]



class ShiftRightSticky(wiring.Component):
    """Right shift that reports whether any one was shifted out.

    Ports: ``value`` In(width); ``amount`` In(amount_width), unsigned and
    allowed to exceed ``width``; ``result`` Out(width) = ``value >> amount``;
    ``sticky`` Out(1) = OR of the ``amount`` low bits of ``value`` (of all of
    them when ``amount >= width``).  With ``fill=True`` there is an extra input
    ``fill`` In(1) whose copies are shifted in instead of zeros (a posit
    encoder lays out a regime of ones or zeros this way); every amount of
    ``width`` or more then gives all fill bits.  Combinational.
    """

    def __init__(self, width, amount_width, *, fill=False):
        check_int("ShiftRightSticky", "width", width, 1)
        check_int("ShiftRightSticky", "amount_width", amount_width, 1)
        if not isinstance(fill, bool):
            raise ValueError(f"ShiftRightSticky: fill must be a bool (True or False), got {fill!r}")
        self.width = width
        self.amount_width = amount_width
        self.has_fill = fill
        ports = {
            "value":  In(width),
            "amount": In(amount_width),
            "result": Out(width),
            "sticky": Out(1),
        }
        if fill:
            ports = {"value": ports["value"], "amount": ports["amount"], "fill": In(1),
                     "result": ports["result"], "sticky": ports["sticky"]}
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        stages = min(self.amount_width, (self.width - 1).bit_length())
        data = self.value
        sticky = C(0, 1)
        for i in range(stages):
            step = 1 << i
            shifted = Signal(self.width, name=f"shifted_{i}")
            dropped = Signal(name=f"sticky_{i}")
            moved = Cat(data[step:], self.fill.replicate(step)) if self.has_fill else data >> step
            m.d.comb += [
                shifted.eq(Mux(self.amount[i], moved, data)),
                dropped.eq(sticky | (self.amount[i] & data[:step].any())),
            ]
            data, sticky = shifted, dropped
        if self.has_fill:
            # Fill bits would reach the dropped positions beyond ``width``: take those amounts whole.
            overflow = self.amount >= self.width
            everything = self.fill.replicate(self.width)
        else:
            overflow = self.amount[stages:].any()
            everything = 0
        m.d.comb += [
            self.result.eq(Mux(overflow, everything, data)),
            self.sticky.eq(Mux(overflow, self.value.any(), sticky)),
        ]
        return m


def place(m, value, offset, width, *, fine_bits=3, name="placed"):
    """``value << offset`` cut to ``width`` bits (unsigned), for a value much shorter than the field.

    Two steps: a shifter by ``offset``'s low ``fine_bits`` bits, then ``offset``'s multiple of
    ``2**fine_bits`` as an AND-OR over its one-hot decode, in which each result bit picks one of
    the few fine-shifted bits that can land on it (at most ``ceil((len(value) + 2**fine_bits - 1)
    / 2**fine_bits)``).  Shallower than a logarithmic shifter over the whole field, and smaller
    when the value is short: two 6-bit products placed in the 66-bit frame of the e5m2 -> fp16
    ``exsdotp`` (ECP5-85F, depth 0): 875 LUT4 in all (676 mapped for area) against 971 (719) with
    ``value << offset``; fine steps of 2 or 4 bits: 871 (704) and 873 (692).
    """
    check_int("place", "width", width, 1)
    check_int("place", "fine_bits", fine_bits, 0)
    value, offset = Value.cast(value), Value.cast(offset)
    if fine_bits >= len(offset):
        placed = Signal(width, name=name)
        m.d.comb += placed.eq(value << offset)
        return placed
    step = 1 << fine_bits
    fine = Signal(len(value) + step - 1, name=f"{name}_fine")
    coarse = Signal(1 << (len(offset) - fine_bits), name=f"{name}_coarse")
    m.d.comb += [fine.eq(value << offset[:fine_bits]), coarse.eq(1 << offset[fine_bits:])]
    placed = Signal(width, name=name)
    m.d.comb += placed.eq(Cat(*(Cat(*(coarse[q] & fine[j - q * step] for q in range(len(coarse))
                                      if 0 <= j - q * step < len(fine))).any()
                                for j in range(width))))
    return placed


class Normalize(wiring.Component):
    """Left shift that brings the leading one of ``value`` to the MSB.

    Ports: ``value`` In(width); ``result`` Out(width) = ``value << shift``
    (truncated to ``width``); ``shift`` Out(range(width + 1)) = the leading-zero
    count of ``value`` (``width`` when ``value`` is 0, giving result 0);
    ``zero`` Out(1), high when ``value`` is 0.

    With ``limited=True`` there is an extra input ``limit`` In(range(width + 1))
    and ``shift = min(leading_zeros, limit)``; the MSB of ``result`` is then 1
    only when the limit was not reached.  With ``keep=K`` only the top K bits of
    the shifted value are produced (``result`` Out(K)), and with ``sticky=True``
    also ``sticky`` Out(1), the OR of the bits shifted below them (from the
    unshifted value with a thermometer mask, so only the top bits are shifted).
    Combinational.
    """

    def __init__(self, width, *, limited=False, keep=None, sticky=False):
        check_int("Normalize", "width", width, 1)
        if not isinstance(limited, bool):
            raise ValueError(f"Normalize: limited must be a bool (True or False), got {limited!r}")
        keep = width if keep is None else keep
        check_int("Normalize", "keep", keep, 1, width)
        if not isinstance(sticky, bool):
            raise ValueError(f"Normalize: sticky must be a bool (True or False), got {sticky!r}")
        self.width = width
        self.has_sticky = sticky
        self.limited = limited
        self.keep = keep
        ports = {
            "value":  In(width),
            "result": Out(keep),
            "shift":  Out(range(width + 1)),
            "zero":   Out(1),
        }
        if limited:
            ports["limit"] = In(range(width + 1))
        if sticky:
            ports["sticky"] = Out(1)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        m.submodules.lzc = lzc = LeadingZeroCount(self.width)
        m.d.comb += [
            lzc.value.eq(self.value),
            self.zero.eq(lzc.zero),
        ]
        if self.limited:
            m.d.comb += self.shift.eq(Mux(lzc.count > self.limit, self.limit, lzc.count))
        else:
            m.d.comb += self.shift.eq(lzc.count)
        w, keep = self.width, self.keep
        shifted = self.value << self.shift
        m.d.comb += self.result.eq(shifted[w - keep:w])
        if self.has_sticky:
            # Bits below the kept ones after a shift by s are those below w - keep - s before it.
            below = Signal(range(w + 1), name="sticky_bits")
            m.d.comb += below.eq(Mux(self.shift > w - keep, 0, (w - keep) - self.shift))
            mask = Cat(*(below > i for i in range(w - keep)))
            m.d.comb += self.sticky.eq((self.value[:w - keep] & mask).any())
        return m


PARALLEL_STEP = 16


def normalize_by_steps(m, value, left, keep, *, copies=False, leading=None, parallel_step=PARALLEL_STEP):
    """``(head, sticky, shift)``: the top ``keep`` bits of ``value << shift``, the OR of the bits
    below them, and ``shift``, the number of leading zeros of ``value`` (with ``copies``: of the
    bits below its top bit that repeat it, a two's-complement sign) but at most ``left``.
    ``leading`` is the vector whose leading zeros the shift counts, given when it is not ``value``
    itself (``value << 0`` may differ when ``left`` is 0); by default ``value``, or with
    ``copies`` ``value[:-1] ^ value[1:]``.

    The shift's bits are decided from the largest down: by ``2**b`` when the top ``2**b`` bits of
    the value shifted so far are zero (copies of its top bit) and the shift so far plus ``2**b``
    stays within ``left`` (with the bits above b decided, that is: they are below ``left``'s, or
    equal and ``left``'s bit b is set); ``left`` is at most ``len(value)`` (with ``copies``
    ``len(value) - 1``).  Steps of ``parallel_step`` and more take their test from
    ``leading``'s aligned blocks beside the shifting (the block the steps so far bring to the top,
    picked by them), the rest from the shifted value.  After each step only the bits the smaller
    steps can still bring up are kept; the rest go into the sticky bit.  No count tree and a
    shifter that narrows as it goes: fewer LUT4 than a count and a shift, for a longer path."""
    value, left = Value.cast(value), Value.cast(left)
    pad = max(0, keep - len(value))
    value = Cat(C(0, pad), value)
    if leading is None:
        leading = value[:-1] ^ value[1:] if copies else value
    else:
        leading = Cat(C(0, pad), leading)
    top = len(leading)
    sticky, decided, equal = C(0, 1), [], C(1, 1)
    for b in reversed(range(len(left))):
        step, width = 1 << b, len(value)
        if step >= parallel_step:
            blocks = [leading[max(0, top - (j << (b + 1)) - step):max(0, top - (j << (b + 1)))]
                      for j in range(1 << len(decided))]
            alike = Array(~block.any() for block in blocks)[Cat(*reversed(decided))]
        elif copies:
            window = value[max(0, width - 1 - step):width - 1]
            alike = ~(window ^ value[-1].replicate(len(window))).any()
        else:
            alike = ~value[max(0, width - step):].any()
        take = Signal(name=f"normalize_by_{step}")
        m.d.comb += take.eq(alike & (~equal | left[b]))
        decided.append(take)
        equal = equal & (take == left[b])
        shifted = Signal(width, name=f"normalized_{b}")
        m.d.comb += shifted.eq(Mux(take, value << step, value))
        kept = min(width, keep + step - 1)
        if width > kept:
            sticky = sticky | shifted[:width - kept].any()
        value = shifted[width - kept:]
    return value, sticky, Cat(*reversed(decided))
