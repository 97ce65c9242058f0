"""UART receiver and transmitter for the board harness: 8 data bits, no parity, 1 stop bit (8N1).

A frame on the line is a start bit (0), the eight data bits LSB first, and a
stop bit (1); the line idles at 1.  ``divisor`` is the number of clock cycles
per bit (the board clock over the baud rate, rounded): 12 MHz / 115200 baud
gives 104, 0.16% fast, well inside the 8N1 tolerance of about 4%.
"""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


__all__ = ["UARTReceiver", "UARTTransmitter", "MIN_DIVISOR", "check_divisor", "uart_frame"]


MIN_DIVISOR = 4


def uart_frame(byte, stop=1):
    """The line levels of one 8N1 frame of ``byte``: start bit, data LSB first, stop bit."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


def check_divisor(owner, divisor):
    """``divisor`` must be an int >= MIN_DIVISOR: a ValueError naming ``owner`` otherwise."""
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < MIN_DIVISOR:
        raise ValueError(f"{owner}: divisor (clock cycles per bit) must be an integer >= {MIN_DIVISOR}, "
                         f"got {divisor!r}")


class UARTReceiver(wiring.Component):
    """8N1 receiver.

    Ports: ``rx`` In(1), the line (resynchronized here through two flip-flops,
    so it may come straight from a pin); ``bytes`` Out(stream of 8 bits,
    always ready): one ``valid`` cycle per byte received; ``framing_error``
    Out(1): one cycle when a frame's stop bit read 0 (the byte is dropped and
    the receiver waits for the line to idle).  Each bit is sampled in its
    middle, counted from the start bit's falling edge.
    """

    def __init__(self, divisor):
        check_divisor("UARTReceiver", divisor)
        self.divisor = divisor
        super().__init__({
            "rx":            In(1, init=1),
            "bytes":         Out(stream.Signature(8, always_ready=True)),
            "framing_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(self.divisor))
        bit = Signal(range(8))
        shift = Signal(8)
        m.d.comb += self.bytes.payload.eq(shift)
        with m.FSM(name="uart_rx"):
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):
                    m.next = "IDLE"          # a glitch, not a start bit
                with m.Else():
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), timer.eq(self.divisor - 1), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):
                    m.d.comb += self.bytes.valid.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.framing_error.eq(1)
                    m.next = "WAIT_IDLE"
            with m.State("WAIT_IDLE"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """8N1 transmitter.

    Ports: ``bytes`` In(stream of 8 bits): a byte is taken when ``valid`` and
    ``ready`` are both high; ``ready`` is high while the line is idle.  ``tx``
    Out(1): the line, idle high, driven from a register.
    """

    def __init__(self, divisor):
        check_divisor("UARTTransmitter", divisor)
        self.divisor = divisor
        super().__init__({
            "bytes": In(stream.Signature(8)),
            "tx":    Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        frame = Signal(10)            # start bit, data LSB first, stop bit: shifted out from the LSB
        bits_left = Signal(range(11))
        m.d.comb += self.bytes.ready.eq((bits_left == 0) & (timer == 0))
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += [frame.eq(Cat(C(0, 1), self.bytes.payload, C(1, 1))), bits_left.eq(10)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Elif(bits_left != 0):
            m.d.sync += [self.tx.eq(frame[0]), frame.eq(frame >> 1), bits_left.eq(bits_left - 1),
                         timer.eq(self.divisor - 1)]
        return m
