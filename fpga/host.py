"""The host side of the board harness: golden vectors over the UART, every response checked.

``board_vectors`` turns the unit's registry vectors into request bytes and the
golden model's outputs into the expected response bytes (the protocol is in
``fpga/harness.py``); ``check_responses`` compares what came back.  The same
bytes go to a real board through ``SerialLink`` (pyserial) or to the harness
in the Amaranth simulator through ``simulate_board``, so the flashed design is
the tested design.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from sim.runner import pack_port
from .harness import REQUEST_BUFFER, UARTHarness, data_ports, frame_bytes
from .uart import uart_frame


__all__ = ["pack_fields", "unpack_fields", "BoardVectors", "board_vectors", "check_responses", "BoardTestResult",
           "batch_size", "SerialLink", "exchange_all", "simulate_board"]


def batch_size(request_bytes):
    """Requests the host may send before reading their responses: as many as the harness' FIFO holds."""
    return max(1, REQUEST_BUFFER // request_bytes)


def pack_fields(values, fields):
    """Request or response bytes of ``values`` (name -> int) for ``fields`` (``(name, width)`` pairs)."""
    out = bytearray()
    for name, width in fields:
        value = int(values[name])
        if not 0 <= value < 1 << width:
            raise ValueError(f"{name}: {value} does not fit in {width} bits")
        out += value.to_bytes((width + 7) // 8, "little")
    return bytes(out)


def unpack_fields(data, fields):
    """Inverse of ``pack_fields``: name -> int."""
    if len(data) != frame_bytes(fields):
        raise ValueError(f"expected {frame_bytes(fields)} bytes, got {len(data)}")
    values, at = {}, 0
    for name, width in fields:
        n = (width + 7) // 8
        values[name] = int.from_bytes(data[at:at + n], "little") & ((1 << width) - 1)
        at += n
    return values


@dataclass
class BoardVectors:
    """Request and expected response bytes, with the inputs they came from (for mismatch reports)."""
    inputs: dict
    requests: list
    expected: list
    response_fields: list
    seed: int


def board_vectors(unit, params, ports, vectors, seed):
    """``vectors`` registry vectors for ``unit`` as harness requests, and the golden responses."""
    inputs_fields, output_fields = data_ports(ports)
    rng = np.random.default_rng(seed)
    inputs = unit.vectors(params, vectors, rng)
    golden = unit.golden(params, inputs)
    n = len(np.asarray(next(iter(inputs.values()))))
    columns = {name: pack_port(inputs[name], width, 1, n) for name, width in inputs_fields}
    outputs = {name: pack_port(golden[name], width, 1, n) for name, width in output_fields}
    requests = [pack_fields({name: columns[name][i] for name, _ in inputs_fields}, inputs_fields) for i in range(n)]
    expected = [pack_fields({name: outputs[name][i] for name, _ in output_fields}, output_fields) for i in range(n)]
    return BoardVectors(inputs, requests, expected, output_fields, seed)


@dataclass
class BoardTestResult:
    unit: str
    params: dict
    seed: int
    checked: int = 0
    seconds: float = 0.0
    mismatch: str = ""
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors and not self.mismatch and self.checked > 0

    def summary(self):
        rate = f", {self.checked / self.seconds:.0f} vectors/s" if self.seconds else ""
        head = (f"{self.unit} ({', '.join(f'{k}={v}' for k, v in self.params.items())}) on the board harness: "
                f"{self.checked} vectors checked{rate}, seed {self.seed}")
        if self.ok:
            return head + " -- PASS"
        return "\n".join([head + " -- FAIL", *self.errors, *([self.mismatch] if self.mismatch else [])])


def check_responses(unit, params, vectors, responses, seconds):
    """A ``BoardTestResult`` for ``responses`` (bytes per request, ``None`` where none came)."""
    result = BoardTestResult(unit.name, params, vectors.seed, seconds=seconds)
    for i, (want, got) in enumerate(zip(vectors.expected, responses)):
        if got is None or len(got) != len(want):
            result.errors.append(f"vector {i}: {0 if got is None else len(got)} of {len(want)} response bytes "
                                 "came back (is the board programmed, the port and baud right?)")
            break
        if got != want:
            w, g = unpack_fields(want, vectors.response_fields), unpack_fields(got, vectors.response_fields)
            result.mismatch = (f"MISMATCH at vector {i}; reproduce with --seed {vectors.seed}\n"
                               + unit.describe(params, vectors.inputs, i, w, g))
            break
        result.checked += 1
    return result


class SerialLink:
    """The harness on a serial port (pyserial): ``exchange(data, n)`` writes requests and reads
    ``n`` response bytes.  ``port`` is a device (``/dev/ttyUSB1``, ``COM3``) or a pyserial URL
    (``rfc2217://host:port`` or ``socket://host:port`` for a board on another machine)."""

    def __init__(self, port, baud, *, timeout=2.0):
        import serial
        self.port = serial.serial_for_url(port, baudrate=baud, timeout=timeout)
        # An incomplete request from an earlier session is dropped after the harness' timeout.
        time.sleep(0.2)
        self.port.reset_input_buffer()

    def exchange(self, data, response_bytes):
        self.port.write(data)
        return self.port.read(response_bytes)

    def close(self):
        self.port.close()


def exchange_all(link, requests, response_bytes):
    """Responses to ``requests``, sent ``batch_size`` at a time; after a batch whose responses did
    not all come back, the missing ones are ``None`` and nothing more is sent."""
    responses, batch = [], batch_size(len(requests[0])) if requests else 1
    for start in range(0, len(requests), batch):
        chunk = requests[start:start + batch]
        data = link.exchange(b"".join(chunk), response_bytes * len(chunk))
        whole = len(data) // response_bytes
        responses += [bytes(data[i * response_bytes:(i + 1) * response_bytes]) for i in range(whole)]
        if whole < len(chunk):
            responses.append(None)
            break
    return responses


def simulate_board(component, ports, requests, *, divisor=4):
    """Run ``requests`` through ``UARTHarness(component)`` in the Amaranth simulator, bit by bit
    on its ``rx`` line, ``batch_size`` at a time as ``exchange_all`` sends them, and return the
    response bytes read off ``tx`` for each (``None`` from the first one missing)."""
    from amaranth.sim import Simulator
    harness = UARTHarness(component, ports, divisor=divisor)
    _, output_fields = data_ports(ports)
    response_bytes = frame_bytes(output_fields)
    received = bytearray()
    batch = batch_size(len(requests[0])) if requests else 1
    finished = []

    async def host(ctx):
        ctx.set(harness.rx, 1)
        await ctx.tick().repeat(4 * divisor)
        for start in range(0, len(requests), batch):
            for byte in b"".join(requests[start:start + batch]):
                for bit in uart_frame(byte):
                    ctx.set(harness.rx, bit)
                    await ctx.tick().repeat(divisor)
            want = min(len(requests), start + batch) * response_bytes
            waited = 0
            while len(received) < want and waited < 10 * divisor * response_bytes * (batch + 2) + 10_000:
                await ctx.tick()
                waited += 1
            if len(received) < want:
                break
        finished.append(True)

    async def line(ctx):
        while True:
            await ctx.tick()
            if ctx.get(harness.tx) == 0:              # a start bit: sample each bit in its middle
                await ctx.tick().repeat(divisor // 2)
                byte = 0
                for i in range(8):
                    await ctx.tick().repeat(divisor)
                    byte |= ctx.get(harness.tx) << i
                await ctx.tick().repeat(divisor)
                received.append(byte)

    sim = Simulator(harness)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.add_testbench(line, background=True)
    sim.run()
    whole = len(received) // response_bytes
    responses = [bytes(received[i * response_bytes:(i + 1) * response_bytes]) for i in range(whole)]
    return responses + ([None] if whole < len(requests) else [])
