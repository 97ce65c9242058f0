"""Serial-I/O synthesis wrapper around a generated core.

The wrapper has three pins (``clk``, ``sin``, ``sout``) whatever the core's
port list.  Every core input except the clock is driven from one long input
shift register loaded from ``sin`` (a reset is an input like any other, and a
core need not have one); every core output is captured into an output register
every clock, and the output registers are folded into ``sout`` by a pipelined
XOR tree (one 4-input XOR, i.e. one LUT4, per stage).  All wrapper paths are
therefore one LUT deep at most, so register-to-register timing through the
core sets Fmax, and wide cores fit on small packages.  A core without a clock
(``clock=None``: purely combinational) sits between the input shift register
and the output register, so Fmax is the core's input-to-output delay.
"""

import re

__all__ = ["wrapper_verilog"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_XOR_FANIN = 4


def _ident(name):
    """``name`` as a Verilog identifier, escaped if it is not a simple one."""
    return name if _IDENT.match(name) else f"\\{name} "


def _check_ports(top, ports, wrapper_name, clock):
    """Validate the port list; return (inputs, outputs) without the clock."""
    if top == wrapper_name:
        raise ValueError(f"core module name {top!r} clashes with the wrapper name")
    names = [p["name"] for p in ports]
    if clock is not None and clock not in names:
        raise ValueError(f"port list of {top!r} has no {clock!r} port")
    if len(set(names)) != len(names):
        raise ValueError(f"port list of {top!r} has duplicate names")
    for p in ports:
        if p["direction"] not in ("input", "output"):
            raise ValueError(f"port {p['name']!r} has direction {p['direction']!r}, "
                             "expected 'input' or 'output'")
        if int(p["width"]) < 1:
            raise ValueError(f"port {p['name']!r} has width {p['width']}, expected >= 1")
    if clock is not None:
        clk = next(p for p in ports if p["name"] == clock)
        if clk["direction"] != "input" or int(clk["width"]) != 1:
            raise ValueError(f"port {clock!r} must be a 1-bit input")
    inputs = [p for p in ports if p["direction"] == "input" and p["name"] != clock]
    outputs = [p for p in ports if p["direction"] == "output"]
    if not inputs:
        raise ValueError(f"core {top!r} has no input port besides its clock")
    return inputs, outputs


def _slice(vector, lo, width):
    """Verilog part-select ``vector[lo+width-1:lo]`` (a bit-select for width 1)."""
    return f"{vector}[{lo}]" if width == 1 else f"{vector}[{lo + width - 1}:{lo}]"


def _decl(kind, name, width):
    """A ``reg``/``wire`` declaration of ``width`` bits, ranged even at width 1."""
    return f"    {kind} [{width - 1}:0] {name};"


def wrapper_verilog(top, ports, wrapper_name="dlarith_synth_top", clock="clk"):
    """Verilog-2005 text of module ``wrapper_name`` wrapping core ``top`` with pins clk, sin, sout.

    ``ports`` is the core's port list (dicts with name, direction, width, signed).
    ``clock`` names the core's 1-bit clock input, driven by the wrapper's ``clk``;
    ``None`` means the core has no clock (combinational).  Every other input,
    a reset included, comes from the input registers, which form one shift chain
    from ``sin`` (bit 0, next to ``sin``, drives the first listed input's LSB);
    outputs are registered and XOR-reduced through a registered tree into ``sout``.
    """
    inputs, outputs = _check_ports(top, ports, wrapper_name, clock)
    n_in = sum(int(p["width"]) for p in inputs)
    n_out = sum(int(p["width"]) for p in outputs)

    lines = [f"// Synthesis wrapper for {top}: {n_in} shifted-in input bits, "
             f"{n_out} XOR-reduced output bits.",
             f"module {wrapper_name} (",
             "    input  wire clk,",
             "    input  wire sin,",
             "    output wire sout",
             ");",
             _decl("reg", "in_q", n_in)]
    if n_out:
        lines.append(_decl("wire", "core_out", n_out))
        lines.append(_decl("reg", "out_q", n_out))

    connections = [] if clock is None else [f"        .{_ident(clock)}(clk)"]
    offset = 0
    for p in inputs:
        width = int(p["width"])
        connections.append(f"        .{_ident(p['name'])}({_slice('in_q', offset, width)})")
        offset += width
    offset = 0
    for p in outputs:
        width = int(p["width"])
        connections.append(f"        .{_ident(p['name'])}({_slice('core_out', offset, width)})")
        offset += width

    lines.append("")
    if n_in == 1:
        lines.append("    always @(posedge clk) in_q[0] <= sin;")
    else:
        lines.append(f"    always @(posedge clk) in_q <= {{in_q[{n_in - 2}:0], sin}};")
    lines.append("")
    lines.append(f"    {_ident(top)} core (")
    lines.append(",\n".join(connections))
    lines.append("    );")
    lines.append("")

    if n_out:
        lines.append("    always @(posedge clk) out_q <= core_out;")
        lines.extend(_xor_tree("out_q", n_out))
    else:
        lines.append("    reg sout_q;")
        lines.append(f"    always @(posedge clk) sout_q <= in_q[{n_in - 1}];")
        lines.append("    assign sout = sout_q;")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _xor_tree(source, width):
    """Lines of a registered XOR-reduction tree of ``source`` down to ``sout``."""
    lines = []
    level = 0
    while True:
        level += 1
        groups = -(-width // _XOR_FANIN)
        name = f"xor_q{level}"
        lines.append(_decl("reg", name, groups))
        terms = []
        for g in range(groups):
            lo = g * _XOR_FANIN
            n = min(_XOR_FANIN, width - lo)
            bits = " ^ ".join(f"{source}[{lo + i}]" for i in range(n))
            terms.append(f"        {name}[{g}] <= {bits};")
        lines.append("    always @(posedge clk) begin")
        lines.extend(terms)
        lines.append("    end")
        source, width = name, groups
        if width == 1:
            break
    lines.append(f"    assign sout = {source}[0];")
    return lines
