"""The board harness: any unit behind a UART, one request and one response at a time.

Protocol (what ``fpga/host.py`` speaks).  A *request* is every data input
port of the unit (the manifest's ports other than ``clk``, ``rst``,
``in_valid`` and ``out_ready``), in manifest order, each as ``ceil(width / 8)``
bytes, least significant byte first.  When the last byte of a request has
arrived the harness holds ``in_valid`` until the unit takes the operands,
holds ``out_ready`` until its ``out_valid``, and sends back the *response*:
every data output port (other than ``in_ready`` and ``out_valid``), packed
the same way.  Received bytes wait in a ``REQUEST_BUFFER``-byte FIFO, so a
host may send as many requests at once as fit in it and then read their
responses, in order (bytes beyond a full FIFO are lost); a request left
incomplete for ``timeout`` byte times with nothing more arriving is
dropped, so the host can resynchronize by pausing.  The unit's state (an accumulator, the
quire) lives from one request to the next, as in simulation.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from sim.harness import HANDSHAKE
from .uart import UARTReceiver, UARTTransmitter, check_divisor


__all__ = ["REQUEST_BUFFER", "data_ports", "frame_bytes", "UARTHarness"]


REQUEST_BUFFER = 512


def data_ports(ports):
    """``(inputs, outputs)``: the manifest's data ports as ``(name, width)`` pairs, in order."""
    inputs = [(p["name"], p["width"]) for p in ports if p["direction"] == "input" and p["name"] not in HANDSHAKE]
    outputs = [(p["name"], p["width"]) for p in ports if p["direction"] == "output" and p["name"] not in HANDSHAKE]
    return inputs, outputs


def frame_bytes(fields):
    """Bytes of a request or a response made of ``fields`` (``(name, width)`` pairs)."""
    return sum((width + 7) // 8 for _, width in fields)


class UARTHarness(wiring.Component):
    """``unit`` behind an 8N1 UART; see the module docstring for the protocol.

    Parameters: ``unit``, a dlarith unit component (its ports follow the
    interface convention); ``ports``, its manifest ports (``hdl.generate.ports_of``);
    ``divisor``, clock cycles per UART bit; ``timeout``, byte times after
    which an incomplete request is dropped (default 1024: 89 ms at 115200
    baud).  Ports: ``rx`` In(1), ``tx`` Out(1), the UART lines; ``done``
    Out(1), one cycle per response sent (a board blinks an LED with it).
    """

    def __init__(self, unit, ports, *, divisor, timeout=1024):
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"UARTHarness: timeout (byte times) must be an integer >= 1, got {timeout!r}")
        check_divisor("UARTHarness", divisor)
        self.unit, self.divisor, self.timeout = unit, divisor, timeout
        self.inputs, self.outputs = data_ports(ports)
        if not self.inputs or not self.outputs:
            raise ValueError("UARTHarness: the unit needs a data input and a data output port")
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.submodules.rx = rx = UARTReceiver(self.divisor)
        m.submodules.tx = tx = UARTTransmitter(self.divisor)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]
        ports = {"__".join(map(str, path)): value for path, _, value in unit.signature.flatten(unit)}

        request_len, response_len = frame_bytes(self.inputs), frame_bytes(self.outputs)
        request = Signal(8 * request_len, name="request")
        response = Signal(8 * response_len, name="response")
        received = Signal(range(request_len + 1))
        sent = Signal(range(response_len + 1))
        idle = Signal(range(self.timeout * 10 * self.divisor + 1), name="idle_cycles")

        offset = 0
        for name, width in self.inputs:
            m.d.comb += Value.cast(ports[name]).eq(request[offset:offset + width])
            offset += 8 * ((width + 7) // 8)
        captured, offset = [], 0
        for name, width in self.outputs:
            captured.append((offset, width, Value.cast(ports[name])))
            offset += 8 * ((width + 7) // 8)
        m.d.comb += tx.bytes.payload.eq(response[:8])

        m.submodules.queue = queue = SyncFIFOBuffered(width=8, depth=REQUEST_BUFFER)
        m.d.comb += [queue.w_data.eq(rx.bytes.payload), queue.w_en.eq(rx.bytes.valid)]

        with m.FSM(name="harness"):
            with m.State("RECEIVE"):
                with m.If(received == request_len):
                    m.next = "ISSUE"
                with m.Elif(queue.r_rdy):
                    m.d.comb += queue.r_en.eq(1)
                    m.d.sync += [request.eq(Cat(request[8:], queue.r_data)), received.eq(received + 1),
                                 idle.eq(0)]
                with m.Elif((received != 0) & (idle == self.timeout * 10 * self.divisor)):
                    m.d.sync += [received.eq(0), idle.eq(0)]
                with m.Elif(received != 0):
                    m.d.sync += idle.eq(idle + 1)
            with m.State("ISSUE"):
                m.d.comb += unit.in_valid.eq(1)
                with m.If(unit.in_ready):
                    m.next = "WAIT"
            with m.State("WAIT"):
                m.d.comb += unit.out_ready.eq(1)
                with m.If(unit.out_valid):
                    m.d.sync += [response.eq(Cat(*(Cat(value, C(0, 8 * ((width + 7) // 8) - width))
                                                   for _, width, value in captured))),
                                 sent.eq(0)]
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += tx.bytes.valid.eq(1)
                with m.If(tx.bytes.ready):
                    m.d.sync += [response.eq(response >> 8), sent.eq(sent + 1)]
                    with m.If(sent == response_len - 1):
                        m.d.comb += self.done.eq(1)
                        m.d.sync += [received.eq(0), idle.eq(0)]
                        m.next = "RECEIVE"
        return m
