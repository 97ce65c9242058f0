# amaranth: UnusedElaboratable=no
"""Tests of hdl.common.shift (ShiftRightSticky, place, Normalize, normalize_by_steps) against integer references:
exhaustive at small widths, every shift amount at wide ones."""

import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Fragment
from amaranth import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from hdl.common.lzc import LeadingZeroCount
from hdl.common.shift import PARALLEL_STEP, Normalize, ShiftRightSticky, normalize_by_steps, place


def ref_shift_right_sticky(value, amount):
    return value >> amount, int(value & ((1 << amount) - 1) != 0)


def ref_normalize(value, width, limit=None):
    shift = width - value.bit_length()
    if limit is not None:
        shift = min(shift, limit)
    return (value << shift) & ((1 << width) - 1), shift, int(value == 0)


@pytest.mark.parametrize("width,amount_width", [(6, 4), (1, 1), (1, 3), (4, 2), (5, 2), (8, 3), (3, 5)])
def test_shift_right_sticky_exhaustive(width, amount_width):
    dut = ShiftRightSticky(width, amount_width)
    sim = Simulator(dut)

    async def bench(ctx):
        for value in range(1 << width):
            ctx.set(dut.value, value)
            for amount in range(1 << amount_width):
                ctx.set(dut.amount, amount)
                actual = ctx.get(dut.result), ctx.get(dut.sticky)
                expected = ref_shift_right_sticky(value, amount)
                assert actual == expected, (
                    f"width={width} amount_width={amount_width} value={value:#0{width + 2}b} "
                    f"amount={amount}: (result, sticky) {actual}, expected {expected}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", range(1, 8))
def test_normalize_exhaustive(width):
    dut = Normalize(width)
    sim = Simulator(dut)

    async def bench(ctx):
        for value in range(1 << width):
            ctx.set(dut.value, value)
            actual = ctx.get(dut.result), ctx.get(dut.shift), ctx.get(dut.zero)
            expected = ref_normalize(value, width)
            assert actual == expected, (
                f"width={width} value={value:#0{width + 2}b}: "
                f"(result, shift, zero) {actual}, expected {expected}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", range(1, 8))
def test_normalize_limited_exhaustive(width):
    dut = Normalize(width, limited=True)
    sim = Simulator(dut)
    # Every encodable limit, including those above ``width`` that the port can carry.
    limits = range(1 << len(dut.limit))

    async def bench(ctx):
        for value in range(1 << width):
            ctx.set(dut.value, value)
            for limit in limits:
                ctx.set(dut.limit, limit)
                actual = ctx.get(dut.result), ctx.get(dut.shift), ctx.get(dut.zero)
                expected = ref_normalize(value, width, limit)
                assert actual == expected, (
                    f"width={width} value={value:#0{width + 2}b} limit={limit}: "
                    f"(result, shift, zero) {actual}, expected {expected}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width,keep,limited", [(7, 3, True), (8, 2, False), (80, 8, False), (76, 11, True)])
def test_normalize_sticky_is_the_or_of_the_bits_shifted_below_the_kept_ones(width, keep, limited):
    """Exhaustive at 7 and 8 bits; at 80 and 76 bits every single bit, every pair of bits and
    random values."""
    import random
    dut = Normalize(width, limited=limited, keep=keep, sticky=True)
    if width <= 8:
        values = list(range(1 << width))
    else:
        rng = random.Random(width)
        print(f"seed {width}")
        values = [0] + [1 << i for i in range(width)] + [(1 << i) | (1 << j) for i in range(width) for j in range(i)]
        values += [rng.getrandbits(width) >> rng.randrange(width) for _ in range(2000)]

    async def bench(ctx):
        for value in values:
            ctx.set(dut.value, value)
            for limit in (range(width + 1) if limited and width <= 8 else [width // 3] if limited else [None]):
                if limit is not None:
                    ctx.set(dut.limit, limit)
                result, shift, _ = ref_normalize(value, width, width if limit is None else limit)
                dropped = result & ((1 << (width - keep)) - 1)
                got = (ctx.get(dut.result), ctx.get(dut.sticky))
                assert got == (result >> (width - keep), int(dropped != 0)), (value, limit, got)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


class _Place(Elaboratable):
    def __init__(self, value_width, offset_width, width, fine_bits):
        self.value, self.offset, self.result = Signal(value_width), Signal(offset_width), Signal(width)
        self.width, self.fine_bits = width, fine_bits

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.result.eq(place(m, self.value, self.offset, self.width, fine_bits=self.fine_bits))
        return m


@pytest.mark.parametrize("value_width,offset_width,width,fine_bits", [
    (6, 6, 66, 3), (6, 6, 40, 2), (3, 5, 36, 4), (4, 4, 12, 0), (5, 3, 14, 3), (1, 5, 20, 1)])
def test_place_puts_the_value_at_its_offset_and_cuts_it_to_the_field(value_width, offset_width, width, fine_bits):
    """Every value at every offset, including fields too narrow for the farthest ones and a fine step
    as wide as the whole offset (a plain shift)."""
    dut = _Place(value_width, offset_width, width, fine_bits)

    async def bench(ctx):
        for value in range(1 << value_width):
            ctx.set(dut.value, value)
            for offset in range(1 << offset_width):
                ctx.set(dut.offset, offset)
                expected = (value << offset) & ((1 << width) - 1)
                assert ctx.get(dut.result) == expected, (
                    f"place(value={value}, offset={offset}, width={width}, fine_bits={fine_bits}): "
                    f"{ctx.get(dut.result):#x}, expected {expected:#x}")

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("kwargs,message", [
    (dict(width=0), "place: width must be an integer >= 1, got 0"),
    (dict(width=8, fine_bits=-1), "place: fine_bits must be an integer >= 0, got -1"),
])
def test_place_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        place(Module(), Signal(4), Signal(3), **kwargs)


def ref_normalize_by_steps(value, width, left, keep, copies):
    """(head, sticky, shift) of ``normalize_by_steps``: ``value`` padded below to ``keep`` bits, shifted
    left by its leading zeros (copies of its top bit) but at most ``left``."""
    bits = max(width, keep)
    v = value << (bits - width)
    if copies:
        top, count = v >> (bits - 1), 0
        while count < bits - 1 and (v >> (bits - 2 - count)) & 1 == top:
            count += 1
    else:
        count = bits - v.bit_length()
    shift = min(count, left)
    shifted = (v << shift) & ((1 << bits) - 1)
    return shifted >> (bits - keep), int(shifted & ((1 << (bits - keep)) - 1) != 0), shift


class _NormalizeBySteps(Elaboratable):
    def __init__(self, width, keep, copies, parallel_step):
        self.width, self.keep, self.copies, self.parallel_step = width, keep, copies, parallel_step
        self.value = Signal(width)
        self.left = Signal(range(width - copies + 1))
        self.head, self.sticky, self.shift = Signal(keep), Signal(), Signal(len(self.left))

    def elaborate(self, platform):
        m = Module()
        head, sticky, shift = normalize_by_steps(m, self.value, self.left, self.keep, copies=self.copies,
                                                  parallel_step=self.parallel_step)
        m.d.comb += [self.head.eq(head), self.sticky.eq(sticky), self.shift.eq(shift)]
        return m


@pytest.mark.parametrize("parallel_step", [PARALLEL_STEP, 2])
@pytest.mark.parametrize("copies", [False, True], ids=["zeros", "sign-copies"])
@pytest.mark.parametrize("width,keep", [(6, 3), (7, 7), (5, 8), (40, 12), (40, 40), (70, 13)])
def test_normalize_by_steps_shifts_out_the_leading_bits_up_to_the_limit(width, keep, copies, parallel_step):
    """Every value at up to 7 bits; at 40 and 70 bits, where the steps of PARALLEL_STEP and more
    read the leading bits in blocks, runs of every length ended by random bits, each limit; with
    steps of 2 and more in blocks, as posit_add has them from 4."""
    import random
    assert width <= 8 or width > 2 * PARALLEL_STEP
    dut = _NormalizeBySteps(width, keep, copies, parallel_step)
    limit = width - copies
    if width <= 8:
        values = list(range(1 << width))
    else:
        rng = random.Random(width * 2 + copies)
        print(f"seed {width * 2 + copies}")
        values = [0, (1 << width) - 1]
        for run in range(width):
            for _ in range(3):
                v = rng.getrandbits(width) >> run
                values.append(v ^ ((1 << width) - 1) if copies and rng.getrandbits(1) else v)

    async def bench(ctx):
        for value in values:
            ctx.set(dut.value, value)
            lefts = range(limit + 1) if width <= 8 else {0, limit, rng.randrange(limit + 1),
                                                          width - value.bit_length()}
            for left in lefts:
                if left > limit:
                    continue
                ctx.set(dut.left, left)
                got = ctx.get(dut.head), ctx.get(dut.sticky), ctx.get(dut.shift)
                assert got == ref_normalize_by_steps(value, width, left, keep, copies), (
                    f"width={width} keep={keep} copies={copies} value={value:#x} left={left}: "
                    f"(head, sticky, shift) {got}, expected {ref_normalize_by_steps(value, width, left, keep, copies)}")

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width,keep", [(5, 1), (6, 3), (7, 5)])
def test_normalize_keeps_only_the_top_bits_when_asked(width, keep):
    dut = Normalize(width, limited=True, keep=keep)
    sim = Simulator(dut)

    async def bench(ctx):
        for value in range(1 << width):
            ctx.set(dut.value, value)
            for limit in range(width + 1):
                ctx.set(dut.limit, limit)
                result, shift, zero = ref_normalize(value, width, limit)
                assert (ctx.get(dut.result), ctx.get(dut.shift)) == (result >> (width - keep), shift), (value, limit)

    sim.add_testbench(bench)
    sim.run()


def test_normalize_ports():
    assert not hasattr(Normalize(5), "limit")
    dut = Normalize(5, limited=True)
    assert len(dut.limit) == len(dut.shift) == 3


@pytest.mark.parametrize("limited", [False, True])
def test_normalize_uses_lzc_submodule(limited):
    fragment = Fragment.get(Normalize(6, limited=limited), None)
    assert any(isinstance(origin, LeadingZeroCount)
               for sub, _, _ in fragment.subfragments for origin in sub.origins)


@pytest.mark.parametrize("cls,args,kwargs", [
    (ShiftRightSticky, (24, 5), {}),
    (ShiftRightSticky, (1, 1), {}),
    (ShiftRightSticky, (11, 8), {}),
    (Normalize, (1,), {}),
    (Normalize, (24,), {}),
    (Normalize, (24,), {"limited": True}),
], ids=lambda p: getattr(p, "__name__", None) or repr(p))
def test_shift_converts_to_verilog(cls, args, kwargs):
    assert "module" in verilog.convert(cls(*args, **kwargs))


@pytest.mark.parametrize("kwargs,message", [
    ({"width": 0, "amount_width": 3}, r"ShiftRightSticky: width must be an integer >= 1, got 0"),
    ({"width": 4.0, "amount_width": 3}, r"ShiftRightSticky: width must be an integer >= 1, got 4.0"),
    ({"width": 8, "amount_width": 0}, r"ShiftRightSticky: amount_width must be an integer >= 1, got 0"),
    ({"width": 8, "amount_width": -1}, r"ShiftRightSticky: amount_width must be an integer >= 1, got -1"),
    ({"width": 8, "amount_width": True}, r"ShiftRightSticky: amount_width must be an integer >= 1, got True"),
])
def test_shift_right_sticky_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShiftRightSticky(**kwargs)


@pytest.mark.parametrize("width", [0, -1, 3.5, "4", None])
def test_normalize_rejects_bad_width(width):
    with pytest.raises(ValueError, match=r"Normalize: width must be an integer >= 1"):
        Normalize(width)


@pytest.mark.parametrize("limited", [1, "yes", None])
def test_normalize_rejects_bad_limited(limited):
    with pytest.raises(ValueError, match=r"Normalize: limited must be a bool"):
        Normalize(4, limited=limited)
