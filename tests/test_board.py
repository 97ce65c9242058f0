# amaranth: UnusedElaboratable=no
"""The board flow: the UART, the harness in simulation with the host's own bytes, the bitstreams,
and `build.py flash`'s checks of its arguments."""

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpga.board import BOARDS, BoardError, build_bitstream, program
from fpga.harness import UARTHarness, data_ports, frame_bytes
from fpga.host import (board_vectors, check_responses, pack_fields, simulate_board, unpack_fields)
from fpga.uart import UARTReceiver, UARTTransmitter, uart_frame
from hdl.generate import ports_of
from hdl.registry import get_unit

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, env=env)


def built(name, overrides):
    unit = get_unit(name)
    params = unit.resolve(overrides)
    component = unit.build(params)
    return unit, unit.effective(params, component), component, ports_of(component)


# --- the UART ---------------------------------------------------------------------------------

@pytest.mark.parametrize("divisor", [4, 5, 13])
def test_uart_transmitter_to_receiver_delivers_every_byte_in_order(divisor):
    seed = 7 + divisor
    print("seed", seed)
    data = [0x00, 0xFF, 0x55, 0xAA, 0x01, 0x80] + np.random.default_rng(seed).integers(0, 256, 20).tolist()
    tx, rx = UARTTransmitter(divisor), UARTReceiver(divisor)
    from amaranth import Module
    m = Module()
    m.submodules.tx, m.submodules.rx = tx, rx
    m.d.comb += rx.rx.eq(tx.tx)
    got, errors = [], []

    async def send(ctx):
        for byte in data:
            ctx.set(tx.bytes.payload, byte)
            ctx.set(tx.bytes.valid, 1)
            await ctx.tick().until(tx.bytes.ready)
        ctx.set(tx.bytes.valid, 0)

    async def receive(ctx):
        for _ in range(12 * divisor * (len(data) + 2)):
            await ctx.tick()
            if ctx.get(rx.bytes.valid):
                got.append(ctx.get(rx.bytes.payload))
            if ctx.get(rx.framing_error):
                errors.append(len(got))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(send)
    sim.add_testbench(receive, background=True)
    sim.run_until(12 * divisor * (len(data) + 2) * 1e-6)
    assert got == data
    assert errors == []


def test_uart_receiver_drops_a_frame_whose_stop_bit_is_zero():
    divisor = 6
    rx = UARTReceiver(divisor)
    events = []

    async def line(ctx):
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(3 * divisor)
        for byte, stop in ((0x3C, 0), (0xA7, 1)):
            for bit in uart_frame(byte, stop):
                ctx.set(rx.rx, bit)
                await ctx.tick().repeat(divisor)
            ctx.set(rx.rx, 1)
            await ctx.tick().repeat(2 * divisor)

    async def watch(ctx):
        while True:
            await ctx.tick()
            if ctx.get(rx.bytes.valid):
                events.append(("byte", ctx.get(rx.bytes.payload)))
            if ctx.get(rx.framing_error):
                events.append(("framing_error",))

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(line)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert events == [("framing_error",), ("byte", 0xA7)]


@pytest.mark.parametrize("cls", [UARTReceiver, UARTTransmitter])
@pytest.mark.parametrize("divisor", [3, 0, True, 4.0, "8"])
def test_uart_rejects_a_divisor_below_four_or_not_an_int(cls, divisor):
    with pytest.raises(ValueError, match=r"divisor \(clock cycles per bit\) must be an integer >= 4"):
        cls(divisor)


# --- the harness in simulation, fed the host's own request bytes -------------------------------

HARNESS_CASES = [
    ("posit_add", {"N": "8", "depth": "0"}),
    ("posit_add", {"N": "16", "depth": "2"}),
    ("posit_mul", {"N": "8"}),
    ("posit_alu", {"N": "8"}),          # the quire's state and the iterative divider's stall
    ("posit_quire", {"N": "8"}),
    ("int_dot", {"lanes": "2", "width": "4"}),   # an accumulator across requests, lanes packed in a port
    ("vsq_mac", {"lanes": "2"}),
    ("fma", {"fmt": "fp16", "src": "e5m2"}),
    ("exsdotp", {}),
    ("mx_quantize", {"elem": "e2m1", "block": "3"}),   # an output port of packed lanes
]


@pytest.mark.parametrize("name,overrides", HARNESS_CASES, ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items())}"
                                                              for n, o in HARNESS_CASES])
def test_harness_answers_every_request_with_the_golden_response(name, overrides):
    seed = 20261127
    print("seed", seed)
    unit, params, component, ports = built(name, overrides)
    vectors = board_vectors(unit, params, ports, 24, seed)
    responses = simulate_board(component, ports, vectors.requests)
    result = check_responses(unit, params, vectors, responses, 1.0)
    assert result.ok, result.summary()
    assert result.checked == len(vectors.requests) >= 24


def test_harness_drops_an_incomplete_request_after_its_timeout():
    unit, params, component, ports = built("posit_add", {"N": "8", "depth": "0"})
    vectors = board_vectors(unit, params, ports, 4, 3)
    divisor, timeout = 4, 2
    harness = UARTHarness(component, ports, divisor=divisor, timeout=timeout)
    got = []

    async def host(ctx):
        async def send(byte):
            for bit in uart_frame(byte):
                ctx.set(harness.rx, bit)
                await ctx.tick().repeat(divisor)
        ctx.set(harness.rx, 1)
        await ctx.tick().repeat(8)
        await send(0x5A)                                   # a stray byte, then silence
        await ctx.tick().repeat(2 * timeout * 10 * divisor)
        for byte in vectors.requests[0]:
            await send(byte)
        for _ in range(40 * divisor):
            await ctx.tick()
            if ctx.get(harness.done):
                got.append(True)

    sim = Simulator(harness)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.run()
    assert got == [True]
    # and the answer is the golden one: the same request through the normal path
    assert simulate_board(component, ports, vectors.requests[:1]) == vectors.expected[:1]


def test_harness_refuses_a_bad_divisor_or_timeout():
    _, _, component, ports = built("posit_add", {"N": "8"})
    with pytest.raises(ValueError, match="divisor"):
        UARTHarness(component, ports, divisor=2)
    with pytest.raises(ValueError, match=r"timeout \(byte times\) must be an integer >= 1"):
        UARTHarness(component, ports, divisor=8, timeout=0)


def test_frames_pack_each_port_little_endian_in_whole_bytes():
    fields = [("op", 2), ("a", 12), ("b", 16)]
    data = pack_fields({"op": 3, "a": 0xABC, "b": 0x1234}, fields)
    assert data == bytes([0x03, 0xBC, 0x0A, 0x34, 0x12])
    assert frame_bytes(fields) == 5
    assert unpack_fields(data, fields) == {"op": 3, "a": 0xABC, "b": 0x1234}
    with pytest.raises(ValueError, match="does not fit in 12 bits"):
        pack_fields({"op": 0, "a": 1 << 12, "b": 0}, fields)
    with pytest.raises(ValueError, match="expected 5 bytes, got 4"):
        unpack_fields(data[:4], fields)
    _, _, _, ports = built("posit_alu", {"N": "8"})
    inputs, outputs = data_ports(ports)
    assert [n for n, _ in inputs][:3] == ["op", "a", "b"] and "in_valid" not in dict(inputs)
    assert "result" in dict(outputs) and "in_ready" not in dict(outputs)


def test_check_responses_reports_a_wrong_or_missing_response():
    unit, params, component, ports = built("posit_add", {"N": "8"})
    vectors = board_vectors(unit, params, ports, 6, 11)
    good = list(vectors.expected)
    assert check_responses(unit, params, vectors, good, 1.0).ok
    bad = good[:3] + [bytes([good[3][0] ^ 1])] + good[4:]
    result = check_responses(unit, params, vectors, bad, 1.0)
    assert not result.ok and result.checked == 3
    assert "MISMATCH at vector 3" in result.mismatch and "--seed 11" in result.mismatch
    missing = check_responses(unit, params, vectors, good[:2] + [None], 1.0)
    assert not missing.ok and "vector 2: 0 of 1 response bytes came back" in missing.errors[0]


# --- bitstreams ---------------------------------------------------------------------------------

@pytest.mark.synth
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_bitstream_builds_and_meets_the_board_clock(board, tmp_path):
    unit = get_unit("posit_add")
    params = unit.resolve({"N": "8"})
    info = build_bitstream(unit, params, BOARDS[board], tmp_path, log=lambda *a: None)
    bitstream = tmp_path / info["bitstream"]
    assert bitstream.is_file() and bitstream.stat().st_size > 10_000
    assert info["fmax_mhz"] >= info["clock_mhz"] == {"icebreaker": 12.0, "ulx3s-85f": 25.0}[board]
    assert info["request_bytes"] == 3 and info["response_bytes"] == 1
    assert info["cycles_per_bit"] == round(info["clock_mhz"] * 1e6 / 115200)
    assert any(v["used"] > 100 for v in info["utilization"].values())


@pytest.mark.synth
def test_bitstream_of_a_unit_too_slow_for_the_board_clock_names_its_fmax(tmp_path):
    unit = get_unit("posit_add")
    params = unit.resolve({"N": "32", "depth": "0"})      # about 21 MHz on ECP5-85F, the ULX3S runs at 25
    with pytest.raises(BoardError, match=r"posit_add reaches \d+\.\d MHz on the ulx3s-85f, below its 25 MHz "
                                         r"clock: use a deeper pipeline \(-p depth=\.\.\.\) or --clock-divide 2 "
                                         r"\(12\.5 MHz\)"):
        build_bitstream(unit, params, BOARDS["ulx3s-85f"], tmp_path, log=lambda *a: None)


def test_program_without_a_programmer_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENFPGALOADER", str(tmp_path / "no-such-loader"))
    with pytest.raises(BoardError, match="openFPGALoader not found"):
        program(tmp_path / "top.bin", BOARDS["icebreaker"], log=lambda *a: None)


# --- build.py flash -----------------------------------------------------------------------------

def test_flash_simulate_checks_the_harness_against_the_golden_model():
    proc = cli("flash", "posit_add", "-p", "N=8", "--simulate", "--vectors", "20", "--seed", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "20 vectors checked" in proc.stdout and "seed 5" in proc.stdout and "PASS" in proc.stdout


def _assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("args,fragments", [
    (["posit_add"], ["give --board (icebreaker, ulx3s-85f) or --simulate"]),
    (["posit_add", "--board", "arty"], ["unknown board 'arty' (known boards: icebreaker, ulx3s-85f)"]),
    (["posit_add", "--simulate", "--board", "icebreaker"], ["--board does not go with it"]),
    (["posit_add", "--simulate", "--port", "/dev/ttyUSB1"], ["--port does not go with it"]),
    (["posit_add", "--board", "icebreaker", "--bitstream-only", "--port", "x"], ["--bitstream-only stops"]),
    (["posit_add", "--board", "icebreaker", "--no-program"], ["--no-program tests a board programmed earlier"]),
    (["posit_add", "--simulate", "--vectors", "0"], ["--vectors must be in 1..1000000, got 0"]),
    (["posit_add", "--board", "icebreaker", "--baud", "50"], ["--baud must be in 300..3000000, got 50"]),
    (["posit_add", "--simulate", "--seed", "-1"], ["--seed must be an integer in 0..2**63-1"]),
    (["posit_add", "--simulate", "-p", "N=40"], ["'N'", "2..32"]),
    (["no_such_unit", "--simulate"], ["unknown unit 'no_such_unit'"]),
    (["posit_add", "--simulate", "--baud", "9600"], ["--simulate", "--baud does not go with it"]),
    (["posit_add", "--simulate", "--force"], ["--simulate", "--force does not go with it"]),
    (["posit_add", "--simulate", "--no-program"], ["--simulate", "--no-program does not go with it"]),
    (["posit_add", "--simulate", "--write-flash"], ["--simulate", "--write-flash does not go with it"]),
    (["posit_add", "--simulate", "--bitstream-only"], ["--simulate", "--bitstream-only does not go with it"]),
    (["posit_add", "--simulate", "-o", ""], ["--simulate", "-o does not go with it"]),
    (["posit_add", "--board", "icebreaker", "-o", ""], ["output path is empty"]),
    (["posit_add", "--board", "icebreaker", "-o", "/proc"], ["output path /proc: cannot write files in it"]),
    (["posit_add", "--board", "icebreaker", "--no-program", "--port", "x", "-o", "d"],
     ["--no-program builds nothing: -o", "does not go with it"]),
])
def test_flash_argument_mistakes_give_one_line(args, fragments):
    _assert_one_line_error(cli("flash", *args), *fragments)


def test_flash_will_not_build_into_a_directory_of_someone_elses_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    proc = cli("flash", "posit_add", "-p", "N=8", "--board", "icebreaker", "--bitstream-only", "-o", str(tmp_path))
    _assert_one_line_error(proc, "holds files dlarith did not write", "--force")
    assert (tmp_path / "notes.txt").read_text() == "mine"


class FakeBoard:
    """A TCP socket that answers requests like the harness, from the golden model (a pyserial
    ``socket://`` URL reaches it): it checks the host's serial path, not the hardware."""

    def __init__(self, name, overrides, corrupt_at=None):
        self.unit, self.params, _, ports = built(name, overrides)
        self.inputs, self.outputs = data_ports(ports)
        self.corrupt_at = corrupt_at
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.server.accept()
        need, buffer, index = frame_bytes(self.inputs), b"", 0
        with conn:
            while chunk := conn.recv(4096):
                buffer += chunk
                while len(buffer) >= need:
                    request, buffer = unpack_fields(buffer[:need], self.inputs), buffer[need:]
                    golden = self.unit.golden(self.params, {k: np.array([v], dtype=np.uint64)
                                                            for k, v in request.items()})
                    response = pack_fields({k: int(np.asarray(golden[k])[0]) for k, _ in self.outputs},
                                           self.outputs)
                    if index == self.corrupt_at:
                        response = bytes([response[0] ^ 1]) + response[1:]
                    conn.sendall(response)
                    index += 1


@pytest.mark.parametrize("corrupt_at", [None, 5])
def test_flash_checks_a_board_over_its_serial_port(corrupt_at):
    board = FakeBoard("posit_add", {"N": "8"}, corrupt_at)
    proc = cli("flash", "posit_add", "-p", "N=8", "--board", "icebreaker", "--no-program", "--port", board.url,
               "--vectors", "50", "--seed", "9")
    if corrupt_at is None:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "50 vectors checked" in proc.stdout and "PASS" in proc.stdout
    else:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "5 vectors checked" in proc.stdout and "MISMATCH at vector 5" in proc.stdout


def test_flash_names_a_port_it_cannot_open():
    proc = cli("flash", "posit_add", "-p", "N=8", "--board", "icebreaker", "--no-program", "--port",
               "/dev/no-such-tty")
    assert proc.returncode == 1 and "cannot open /dev/no-such-tty" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.synth
def test_flash_rebuilds_in_its_own_directory_after_a_failed_build(tmp_path):
    # A build that stopped leaves the tool's JSON (status "building") beside the flow's files.
    (tmp_path / "posit_add-icebreaker.board.json").write_text(json.dumps(
        {"generator": "dlarith 0.1.0", "unit": "posit_add", "board": "icebreaker", "status": "building"}))
    (tmp_path / "top.il").write_text("left by the flow")
    proc = cli("flash", "posit_add", "-p", "N=8", "--board", "icebreaker", "--bitstream-only", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = json.loads((tmp_path / "posit_add-icebreaker.board.json").read_text())
    assert info["bitstream"] == "top.bin" and (tmp_path / "top.bin").is_file()
    assert info["parameters"] == {"N": 8, "ES": 2, "depth": 1}


@pytest.mark.synth
def test_bitstream_with_a_divided_clock_is_checked_against_that_clock(tmp_path):
    unit = get_unit("posit_add")
    params = unit.resolve({"N": "8"})
    info = build_bitstream(unit, params, BOARDS["icebreaker"], tmp_path, clock_divide=4, log=lambda *a: None)
    assert info["clock_mhz"] == 3.0 and info["clock_divide"] == 4
    assert info["cycles_per_bit"] == round(3e6 / 115200)
    log = (tmp_path / "top.tim").read_text()
    assert "PASS at 3.00 MHz" in log and "does not exist in design" not in log


def test_flash_refuses_a_clock_divide_that_is_not_a_small_power_of_two():
    _assert_one_line_error(cli("flash", "posit_add", "--board", "icebreaker", "--clock-divide", "3"),
                           "--clock-divide must be one of 1, 2, 4, 8, 16, got 3")


def test_host_sends_requests_in_batches_that_fit_the_harness_buffer(monkeypatch):
    import fpga.host
    monkeypatch.setattr(fpga.host, "REQUEST_BUFFER", 16)      # 5 three-byte requests per batch
    assert fpga.host.batch_size(3) == 5 and fpga.host.batch_size(40) == 1
    unit, params, component, ports = built("posit_add", {"N": "8", "depth": "2"})
    vectors = board_vectors(unit, params, ports, 23, 4)
    responses = simulate_board(component, ports, vectors.requests)
    assert check_responses(unit, params, vectors, responses, 1.0).ok

    sent = []

    class ShortLink:                  # answers the first batch, then loses a byte
        def exchange(self, data, n):
            sent.append(len(data))
            done = 5 * (len(sent) - 1)
            return b"".join(vectors.expected[done:done + n])[:n - (len(sent) > 1)]

    got = fpga.host.exchange_all(ShortLink(), vectors.requests, 1)
    assert sent == [15, 15] and got[:9] == vectors.expected[:9] and got[9] is None and len(got) == 10
