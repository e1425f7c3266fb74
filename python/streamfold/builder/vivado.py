"""The Vivado side of the Zynq system (DESIGN §7.6): a self-contained folder
<output_dir>/bitfile/ with

- hdl/: every source of the stitched finn_design, the IODMA modules of the
  RTL library, and plain-Verilog shells around them (`*_bd.v`);
- make_project.tcl: creates the project, the block design `top`
  (processing system with the board preset, AXI interconnect from the PS
  master port to every DMA's AXI-lite port, smartconnect from every DMA
  master to the PS's high-performance slave port, one clock with a
  proc_sys_reset, the AXI-lite address map), runs synthesis, implementation
  and the bitstream, and copies finn-accel.bit / finn-accel.hwh and the
  utilisation and timing reports next to itself;
- make_bitfile.sh: runs it and files the results where FINN puts them.

Why shells: Vivado takes an RTL module reference only when its top is
Verilog or VHDL, not SystemVerilog (UG994, "Limitations of the Module
Reference Feature"); the shells also carry the X_INTERFACE_* attributes
that make the block design see AXI/AXI-stream interfaces, clock and reset
instead of loose wires. The stitched sources' own .v files are read as
SystemVerilog (they may use SV literals).

Nothing here runs Vivado; bitfile_steps.step_synthesize_bitfile does when
`vivado` is on PATH. tests/python/test_vivado_tcl.py runs the TCL in tclsh
against stub Vivado commands.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET

from ..errors import ConfigError, StreamfoldError

PROJECT_NAME = "finn_zynq_link"   # FINN's name for this project
BD_NAME = "top"
SHELL_SUFFIX = "_bd"               # module-reference shell of module M is M_bd
FINN_CELL = "finn_design_0"

# The two processing systems. Pin and parameter names are Vivado's
# (processing_system7 5.5, zynq_ultra_ps_e 3.x); `window` is the PS master
# port's address aperture the AXI-lite map must fall in.
PS_KINDS = {
    "ps7": {
        "ip": "processing_system7",
        "rule": "xilinx.com:bd_rule:processing_system7",
        "automation": 'make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
        "master": "M_AXI_GP0", "slave": "S_AXI_HP0", "clk": "FCLK_CLK0", "resetn": "FCLK_RESET0_N",
        "master_aclk": "M_AXI_GP0_ACLK", "slave_aclk": "S_AXI_HP0_ACLK",
        "window": (0x4000_0000, 0x8000_0000),
    },
    "ps8": {
        "ip": "zynq_ultra_ps_e",
        "rule": "xilinx.com:bd_rule:zynq_ultra_ps_e",
        "automation": 'apply_board_preset "1"',
        "master": "M_AXI_HPM0_FPD", "slave": "S_AXI_HP0_FPD", "clk": "pl_clk0", "resetn": "pl_resetn0",
        "master_aclk": "maxihpm0_fpd_aclk", "slave_aclk": "saxihp0_fpd_aclk",
        "window": (0xA000_0000, 0xB000_0000),
    },
}


def ps_config(kind, fclk_mhz):
    """CONFIG.* of the processing system on top of the board preset."""
    if kind == "ps7":
        return {"PCW_USE_M_AXI_GP0": "1", "PCW_USE_S_AXI_HP0": "1", "PCW_S_AXI_HP0_DATA_WIDTH": "64",
                "PCW_EN_CLK0_PORT": "1", "PCW_EN_RST0_PORT": "1", "PCW_FPGA0_PERIPHERAL_FREQMHZ": _num(fclk_mhz)}
    # Zynq UltraScale+: GP0 = M_AXI_HPM0_FPD (kept), GP1 = M_AXI_HPM1_FPD and
    # GP2 = M_AXI_HPM0_LPD (off: their clocks would dangle), S_AXI_GP2 =
    # S_AXI_HP0_FPD at 64 bits like the DMAs.
    return {"PSU__USE__M_AXI_GP0": "1", "PSU__USE__M_AXI_GP1": "0", "PSU__USE__M_AXI_GP2": "0",
            "PSU__USE__S_AXI_GP2": "1", "PSU__SAXIGP2__DATA_WIDTH": "64", "PSU__FPGA_PL0_ENABLE": "1",
            "PSU__OVERRIDE__BASIC_CLOCK": "0", "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": _num(fclk_mhz)}


def _num(x):
    x = round(float(x), 3)
    return str(int(x)) if x == int(x) else repr(x)


# ---- Verilog port headers ---------------------------------------------------

def _strip_comments(text):
    """Text without comments and (* attributes *)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"\(\*(?!\)).*?\*\)", " ", text, flags=re.S)   # not @(*)


def _balanced(text, i):
    """Index just past the parenthesis that closes the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced parentheses")


def _split_top(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [x.strip() for x in out if x.strip()]


def parse_module_header(text, module):
    """(params, ports) of an ANSI-style module header: params = [(name,
    default text)], ports = [(name, "input"|"output", range text or "")]."""
    src = _strip_comments(text)
    m = re.search(r"\bmodule\s+" + re.escape(module) + r"\b", src)
    if not m:
        raise StreamfoldError(f"module {module} is not defined in its source",
                              hint="the RTL library and the stitched design must come from the same build")
    i = m.end()
    while src[i].isspace():
        i += 1
    params = []
    if src[i] == "#":
        j = src.index("(", i)
        k = _balanced(src, j)
        for item in _split_top(src[j + 1:k - 1]):
            pm = re.match(r"(?:parameter\s+)?(?:integer\s+|int\s+|logic\s+|bit\s+)?(?:\[[^\]]*\]\s*)?(\w+)\s*=\s*(.+)$",
                          item, flags=re.S)
            if not pm:
                raise StreamfoldError(f"cannot read parameter {item!r} of module {module}")
            params.append((pm.group(1), " ".join(pm.group(2).split())))
        i = k
        while src[i].isspace():
            i += 1
    if src[i] != "(":
        raise StreamfoldError(f"module {module} has no ANSI port list")
    k = _balanced(src, i)
    ports, direction, rng = [], None, ""
    for item in _split_top(src[i + 1:k - 1]):
        pm = re.match(r"(?:(input|output|inout)\s+)?(?:(?:wire|logic|reg|var)\s+)?(?:signed\s+)?(\[[^\]]*\]\s*)?(\w+)$",
                      " ".join(item.split()))
        if not pm:
            raise StreamfoldError(f"cannot read port {item!r} of module {module}")
        if pm.group(1):
            direction, rng = pm.group(1), (pm.group(2) or "").strip()
        elif pm.group(2):
            rng = pm.group(2).strip()
        if direction is None:
            raise StreamfoldError(f"port {pm.group(3)} of module {module} has no direction")
        ports.append((pm.group(3), direction, rng))
    return params, ports


# ---- module-reference shells ------------------------------------------------

_LITERAL = re.compile(r"-?\d+|\d*'[sS]?[bdhoBDHO][0-9a-fA-F_xzXZ]+")

AXI_SIGNALS = {"AWADDR", "AWLEN", "AWSIZE", "AWBURST", "AWCACHE", "AWPROT", "AWVALID", "AWREADY", "AWID", "AWLOCK",
               "AWQOS", "WDATA", "WSTRB", "WLAST", "WVALID", "WREADY", "BRESP", "BVALID", "BREADY", "BID",
               "ARADDR", "ARLEN", "ARSIZE", "ARBURST", "ARCACHE", "ARPROT", "ARVALID", "ARREADY", "ARID", "ARLOCK",
               "ARQOS", "RDATA", "RRESP", "RLAST", "RVALID", "RREADY", "RID"}
AXIS_SIGNALS = {"TDATA", "TVALID", "TREADY", "TLAST", "TKEEP", "TSTRB", "TUSER"}


def _interfaces(ports):
    """{interface: (kind, [(port, signal)])} for AXI (m_axi_*, s_axi_*) and
    AXI-stream ports, by FINN's naming: <interface>_<SIGNAL>."""
    out = {}
    for name, _, _ in ports:
        if "_" not in name:
            continue
        intf, sig = name.rsplit("_", 1)
        sig_u = sig.upper()
        if re.match(r"[ms]_axi_", name) and sig_u in AXI_SIGNALS:
            kind = "aximm"
        elif sig_u in AXIS_SIGNALS and not re.match(r"[ms]_axi_", name):
            kind = "axis"
        else:
            continue
        out.setdefault(intf, (kind, []))[1].append((name, sig_u))
    return out


def make_shell(module, text, shell_name=None, freq_hz=None, max_burst=None):
    """Plain-Verilog shell of `module` (source `text`), same parameters and
    ports, with the bus-interface attributes Vivado's module reference reads
    (freq_hz: the clock's FREQ_HZ; module references get none from their
    neighbours; max_burst: the longest burst of its AXI masters, a hint the
    interconnects size for). Returns (shell module name, Verilog text,
    interfaces)."""
    params, ports = parse_module_header(text, module)
    shell = shell_name or module + SHELL_SUFFIX
    intfs = _interfaces(ports)
    clocks = [p for p, d, _ in ports if d == "input" and p in ("ap_clk", "clk")]
    resets = [p for p, d, _ in ports if d == "input" and p in ("ap_rst_n", "rst_n")]
    if len(clocks) != 1 or len(resets) != 1:
        raise StreamfoldError(f"module {module} needs one clock (ap_clk) and one active-low reset (ap_rst_n) to "
                              f"go into the block design; it has {clocks or 'none'} / {resets or 'none'}")
    where = {p: (i, s) for i, (_, sigs) in intfs.items() for p, s in sigs}
    first = {sigs[0][0]: i for i, (_, sigs) in intfs.items()}
    # Parameters with literal defaults become the module reference's
    # CONFIG.*; those computed from others (e.g. WRAP from REPEAT) stay
    # computed, as localparams: Vivado would freeze them at the value they
    # have when the cell is created.
    free = [(n, v) for n, v in params if _LITERAL.fullmatch(v)]
    derived = [(n, v) for n, v in params if not _LITERAL.fullmatch(v)]
    lines = [f"// Generated by streamfold: plain-Verilog shell around {module} for the Vivado block design",
             "// (a module reference needs a Verilog top; the attributes name its bus interfaces).",
             f"module {shell}" + (" #(" if free else " (")]
    if free:
        lines += [f"  parameter {n} = {v}" + ("," if k + 1 < len(free) else "") for k, (n, v) in enumerate(free)]
        lines.append(") (")
    body = []
    for name, d, rng in ports:
        attrs = []
        if name == clocks[0]:
            attrs.append(f'(* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 {name} CLK" *)')
            attrs.append(f'(* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME {name}, ASSOCIATED_BUSIF '
                         f'{":".join(intfs)}, ASSOCIATED_RESET {resets[0]}'
                         + (f", FREQ_HZ {int(freq_hz)}" if freq_hz else "") + '" *)')
        elif name == resets[0]:
            attrs.append(f'(* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 {name} RST" *)')
            attrs.append(f'(* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME {name}, POLARITY ACTIVE_LOW" *)')
        elif name == "interrupt" and d == "output":
            attrs.append(f'(* X_INTERFACE_INFO = "xilinx.com:signal:interrupt:1.0 {name} INTERRUPT" *)')
            attrs.append(f'(* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME {name}, SENSITIVITY LEVEL_HIGH" *)')
        elif name in where:
            intf, sig = where[name]
            kind = intfs[intf][0]
            vlnv = "xilinx.com:interface:aximm:1.0" if kind == "aximm" else "xilinx.com:interface:axis:1.0"
            attrs.append(f'(* X_INTERFACE_INFO = "{vlnv} {intf} {sig}" *)')
            if first.get(name) == intf and kind == "aximm":
                sigs = {s for _, s in intfs[intf][1]}
                lite = intf.startswith("s_axi_")
                mode = ("READ_WRITE" if {"AWADDR", "ARADDR"} <= sigs else "READ_ONLY" if "ARADDR" in sigs
                        else "WRITE_ONLY")
                extra = ", PROTOCOL AXI4LITE" if lite else ", PROTOCOL AXI4" + (
                    f", MAX_BURST_LENGTH {int(max_burst)}" if max_burst else "")
                attrs.append(f'(* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME {intf}{extra}, READ_WRITE_MODE {mode}" *)')
        for _ in range(len(derived)):   # a width from a derived parameter: its expression
            for dn, dv in derived:
                rng = re.sub(r"\b" + dn + r"\b", f"({dv})", rng)
        decl = f"{d} wire {rng + ' ' if rng else ''}{name}"
        body.append((attrs, decl))
    for k, (attrs, decl) in enumerate(body):
        lines += ["  " + a for a in attrs]
        lines.append("  " + decl + ("," if k + 1 < len(body) else ""))
    lines.append(");")
    lines += [f"  localparam {n} = {v};" for n, v in derived]
    pmap = ", ".join(f".{n}({n})" for n, _ in params)
    lines.append(f"  {module} " + (f"#({pmap}) " if params else "") + "inst (")
    lines += [f"    .{n}({n})" + ("," if k + 1 < len(ports) else "") for k, (n, _, _) in enumerate(ports)]
    lines += ["  );", "endmodule", ""]
    return shell, "\n".join(lines), {i: k for i, (k, _) in intfs.items()}


# ---- the library's IODMA sources ---------------------------------------------

def library_closure(modules):
    """{module: source text} for `modules` and every library module they
    instantiate (RTL library embedded in the extension)."""
    from .. import _core

    known = set(_core.rtl_library_modules())
    out, todo = {}, list(modules)
    while todo:
        m = todo.pop()
        if m in out:
            continue
        if m not in known:
            raise StreamfoldError(f"the RTL library has no module {m}",
                                  hint="rebuild the extension (make dev) so cpp/ops/**/rtl/*.sv are embedded")
        text = _core.rtl_library_source(m)
        out[m] = text
        body = _strip_comments(text)
        for dep in re.findall(r"\b(sf_\w+)\s*(?:#\s*\(|\w+\s*\()", body):
            if dep in known and dep != m and dep not in out:
                todo.append(dep)
    return out


# ---- the plan --------------------------------------------------------------

def check_plan(plan, ps_kind, finn_ports):
    """The DMA plan as the block design will use it: names unique and
    Vivado-safe, AXI-lite windows >= 4 KiB, powers of two, aligned to
    themselves, disjoint, inside the PS master port's aperture (re-based for
    Zynq UltraScale+, whose aperture starts at 0xA0000000), each stream a
    port of finn_design. Returns [(dma, base address)]."""
    if not plan:
        raise StreamfoldError("the DMA plan is empty: the stitched design has no top-level stream",
                              hint="run step_create_stitched_ip on the dataflow child")
    if len(plan) > 64:
        # axi_interconnect has at most 64 master ports, smartconnect 64 slave ports.
        raise StreamfoldError(f"{len(plan)} DMAs: one AXI interconnect / smartconnect takes at most 64",
                              hint="a design with that many top-level streams needs a second interconnect level")
    lo, hi = PS_KINDS[ps_kind]["window"]
    first = min(int(d["addr"]) for d in plan)
    rebase = lo - first if first < lo else 0
    seen, spans, out = set(), [], []
    for d in plan:
        name = d.get("name", "")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name in seen:
            raise StreamfoldError(f"DMA name {name!r} is empty, not a Vivado cell name, or repeated",
                                  hint="dma_plan names them idma<k>/odma<k>")
        seen.add(name)
        if d.get("module") not in ("sf_iodma_rd", "sf_iodma_wr"):
            raise StreamfoldError(f"DMA {name}: module {d.get('module')!r} is not sf_iodma_rd or sf_iodma_wr")
        if (d["module"] == "sf_iodma_rd") != (d.get("kind") in ("input", "weights")):
            raise StreamfoldError(f"DMA {name}: kind {d.get('kind')!r} does not go with module {d['module']}")
        if d.get("stream") not in finn_ports:
            raise StreamfoldError(f"DMA {name}: finn_design has no stream {d.get('stream')!r}",
                                  hint=f"its streams are {', '.join(sorted(finn_ports))}")
        want = "input" if d["module"] == "sf_iodma_rd" else "output"
        if finn_ports[d["stream"]]["dir"] != want:
            raise StreamfoldError(f"DMA {name} ({d['module']}) cannot drive/take finn_design's {d['stream']}")
        if finn_ports[d["stream"]]["width"] != int(d["params"]["SW"]):
            raise StreamfoldError(f"DMA {name}: SW = {d['params']['SW']} but finn_design's {d['stream']} is "
                                  f"{finn_ports[d['stream']]['width']} bits wide",
                                  hint="the DMA plan and the stitched design must come from the same build")
        addr, rng = int(d["addr"]) + rebase, int(d["range"])
        if rng < 4096 or rng & (rng - 1) or addr % rng:
            raise StreamfoldError(f"DMA {name}: AXI-lite window {addr:#x} + {rng:#x} must be a power of two >= 4 KiB "
                                  "aligned to itself")
        if addr < lo or addr + rng > hi:
            raise StreamfoldError(f"DMA {name}: AXI-lite window {addr:#x} + {rng:#x} is outside the PS master port's "
                                  f"aperture {lo:#x}-{hi - 1:#x}")
        for a, r, other in spans:
            if addr < a + r and a < addr + rng:
                raise StreamfoldError(f"DMAs {other} and {name} overlap in the AXI-lite map")
        spans.append((addr, rng, name))
        out.append((d, addr))
    return out


# ---- TCL ------------------------------------------------------------------

def _tcl_list(items):
    return "[list " + " ".join("{" + str(x) + "}" for x in items) + "]"


def _dict(cfg):
    return "[list " + " ".join(f"CONFIG.{k} {{{v}}}" for k, v in cfg.items()) + "]"


def make_project_tcl(board, plan_addr, dma_intfs, sources, sv_sources, clk_ns):
    """The TCL that builds the block design and the bitstream (see the module
    docstring). `sources` are paths relative to the script's folder."""
    ps = PS_KINDS[board.ps]
    fclk = 1000.0 / float(clk_ns)
    n = len(plan_addr)
    L = [f"# Generated by streamfold (step_synthesize_bitfile): the Zynq system around finn_design on {board.name}",
         f"# ({board.part}), block design {BD_NAME} as DESIGN 7.6 describes. Run: vivado -mode batch -source "
         "make_project.tcl",
         "# (or ./make_bitfile.sh). Board files not in your Vivado: set STREAMFOLD_BOARD_REPO to their folder.",
         "set here [file dirname [file normalize [info script]]]",
         "set proj_dir [file join $here vivado_proj]",
         f"create_project -force {PROJECT_NAME} $proj_dir -part {board.part}",
         "if {[info exists ::env(STREAMFOLD_BOARD_REPO)]} {",
         "    set repos [split $::env(STREAMFOLD_BOARD_REPO) :]",
         "    set_param board.repoPaths [concat [get_param board.repoPaths] $repos]",
         "    set_property BOARD_PART_REPO_PATHS [concat [get_property BOARD_PART_REPO_PATHS [current_project]] "
         "$repos] [current_project]",
         "}",
         # The exact board file version first, else the newest installed one.
         f"set board_part [lindex [get_board_parts -quiet {board.board_part}] 0]",
         'if {$board_part eq ""} {',
         f"    set board_part [lindex [lsort -dictionary [get_board_parts -quiet "
         f"{board.board_part.rsplit(':', 1)[0]}:*]] end]",
         "}",
         'if {$board_part eq ""} {',
         f'    error "streamfold: the board files of {board.name} ({board.board_part}) are not installed: '
         f'{board.board_files_hint or "install them from the Vivado Store (Boards)"}"',
         "}",
         "set_property board_part $board_part [current_project]"]
    if board.board_connections:
        L.append(f"set_property board_connections {{{board.board_connections}}} [current_project]")
    L += ["set_property target_language Verilog [current_project]",
          "set srcs {}",
          f"foreach f {_tcl_list(sources)} {{ lappend srcs [file join $here $f] }}",
          "add_files -norecurse $srcs",
          "# The stitched design's .v files may use SystemVerilog literals; only the *_bd.v shells must be Verilog.",
          f"foreach f {_tcl_list(sv_sources)} {{",
          "    set_property file_type SystemVerilog [get_files [file join $here $f]]",
          "}",
          "update_compile_order -fileset sources_1",
          f'create_bd_design "{BD_NAME}"',
          "# The newest installed version of a Xilinx IP (versions differ between Vivado releases).",
          "proc sf_ipdef {name} {",
          "    set v [lindex [lsort -dictionary [get_ipdefs -all xilinx.com:ip:${name}:*]] end]",
          '    if {$v eq ""} { error "streamfold: this Vivado has no IP xilinx.com:ip:${name}" }',
          "    return $v",
          "}",
          f"create_bd_cell -type ip -vlnv [sf_ipdef {ps['ip']}] zynq_ps",
          f"apply_bd_automation -rule {ps['rule']} -config {{{ps['automation']}}} [get_bd_cells zynq_ps]",
          f"set_property -dict {_dict(ps_config(board.ps, fclk))} [get_bd_cells zynq_ps]",
          "create_bd_cell -type ip -vlnv [sf_ipdef proc_sys_reset] rst_fclk0",
          "create_bd_cell -type ip -vlnv [sf_ipdef axi_interconnect] axi_interconnect_0",
          f"set_property -dict {_dict({'NUM_SI': 1, 'NUM_MI': n})} [get_bd_cells axi_interconnect_0]",
          "create_bd_cell -type ip -vlnv [sf_ipdef smartconnect] smartconnect_0",
          f"set_property -dict {_dict({'NUM_SI': n, 'NUM_MI': 1})} [get_bd_cells smartconnect_0]",
          f"create_bd_cell -type module -reference finn_design{SHELL_SUFFIX} {FINN_CELL}"]
    for d, _ in plan_addr:
        L.append(f"create_bd_cell -type module -reference {d['module']}{SHELL_SUFFIX} {d['name']}")
        L.append(f"set_property -dict {_dict(d['params'])} [get_bd_cells {d['name']}]")
    # Module references get no clock frequency from their neighbours: the
    # shells declare the requested one; here they get the one the PS really
    # makes (it rounds to its dividers), so validation sees one clock.
    # (If this Vivado keeps module-reference clock parameters read-only, the
    # shells' value stands: exact for the frequencies the PS divides exactly.)
    L.append(f"set fclk_hz [get_property CONFIG.FREQ_HZ [get_bd_pins zynq_ps/{ps['clk']}]]")
    for cell in [FINN_CELL] + [d["name"] for d, _ in plan_addr]:
        L.append(f"set pin [get_bd_pins {cell}/ap_clk]")
        L.append("if {[catch {set_property CONFIG.FREQ_HZ $fclk_hz $pin} msg]} "
                 "{ puts \"streamfold: FREQ_HZ of $pin left as declared ($msg)\" }")
    L += ["# PS master -> AXI interconnect -> every DMA's AXI-lite port; every DMA master -> smartconnect -> PS slave",
          f"connect_bd_intf_net [get_bd_intf_pins zynq_ps/{ps['master']}] "
          "[get_bd_intf_pins axi_interconnect_0/S00_AXI]",
          f"connect_bd_intf_net [get_bd_intf_pins smartconnect_0/M00_AXI] [get_bd_intf_pins zynq_ps/{ps['slave']}]"]
    for k, (d, _) in enumerate(plan_addr):
        cell, ds = d["name"], dma_intfs[d["module"]]
        L.append(f"connect_bd_intf_net [get_bd_intf_pins axi_interconnect_0/M{k:02d}_AXI] "
                 f"[get_bd_intf_pins {cell}/{d['axilite']}]")
        L.append(f"connect_bd_intf_net [get_bd_intf_pins {cell}/{d['aximm']}] "
                 f"[get_bd_intf_pins smartconnect_0/S{k:02d}_AXI]")
        L.append(f"connect_bd_intf_net [get_bd_intf_pins {cell}/{ds}] [get_bd_intf_pins {FINN_CELL}/{d['stream']}]")
    clk_pins = [f"zynq_ps/{ps['clk']}", f"zynq_ps/{ps['master_aclk']}", f"zynq_ps/{ps['slave_aclk']}",
                "rst_fclk0/slowest_sync_clk", "axi_interconnect_0/ACLK", "axi_interconnect_0/S00_ACLK"]
    clk_pins += [f"axi_interconnect_0/M{k:02d}_ACLK" for k in range(n)]
    clk_pins += ["smartconnect_0/aclk", f"{FINN_CELL}/ap_clk"] + [f"{d['name']}/ap_clk" for d, _ in plan_addr]
    rst_pins = ["rst_fclk0/peripheral_aresetn", "axi_interconnect_0/S00_ARESETN"]
    rst_pins += [f"axi_interconnect_0/M{k:02d}_ARESETN" for k in range(n)]
    rst_pins += ["smartconnect_0/aresetn", f"{FINN_CELL}/ap_rst_n"] + [f"{d['name']}/ap_rst_n" for d, _ in plan_addr]
    L += ["# one clock, FCLK, and its synchronised resets",
          "connect_bd_net " + " ".join(f"[get_bd_pins {p}]" for p in clk_pins),
          f"connect_bd_net [get_bd_pins zynq_ps/{ps['resetn']}] [get_bd_pins rst_fclk0/ext_reset_in]",
          "connect_bd_net [get_bd_pins rst_fclk0/interconnect_aresetn] [get_bd_pins axi_interconnect_0/ARESETN]",
          "connect_bd_net " + " ".join(f"[get_bd_pins {p}]" for p in rst_pins),
          "# AXI-lite map: the DMA plan's windows (pynq finds each DMA by its cell name in the .hwh)"]
    for d, addr in plan_addr:
        L.append(f"assign_bd_address -offset {addr:#010x} -range {int(d['range']):#x} "
                 f"[get_bd_addr_segs {d['name']}/{d['axilite']}/*]")
    L += ["# every DMA master sees DDR through the PS slave port",
          "assign_bd_address",
          "validate_bd_design",
          "save_bd_design",
          f"set_property SYNTH_CHECKPOINT_MODE Hierarchical [get_files {BD_NAME}.bd]",
          f"make_wrapper -files [get_files {BD_NAME}.bd] -import -fileset sources_1 -top",
          "update_compile_order -fileset sources_1",
          "set jobs 4",
          "if {[info exists ::env(STREAMFOLD_VIVADO_JOBS)]} { set jobs $::env(STREAMFOLD_VIVADO_JOBS) }",
          "launch_runs -to_step write_bitstream impl_1 -jobs $jobs",
          "wait_on_run [get_runs impl_1]",
          'if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {',
          f'    error "streamfold: implementation did not finish; see $proj_dir/{PROJECT_NAME}.runs/impl_1/runme.log '
          f'and $proj_dir/{PROJECT_NAME}.runs/synth_1/runme.log"',
          "}",
          "open_run impl_1",
          "report_utilization -hierarchical -hierarchical_depth 5 -format xml -file [file join $here "
          "post_synth_resources.xml]",
          "report_timing_summary -file [file join $here post_route_timing.rpt]",
          f"set bit [glob -nocomplain [file join $proj_dir {PROJECT_NAME}.runs impl_1 {BD_NAME}_wrapper.bit]]",
          "# .gen since Vivado 2020.2, .srcs before",
          f"set hwh [glob -nocomplain [file join $proj_dir {PROJECT_NAME}.gen sources_1 bd {BD_NAME} hw_handoff "
          f"{BD_NAME}.hwh] [file join $proj_dir {PROJECT_NAME}.srcs sources_1 bd {BD_NAME} hw_handoff {BD_NAME}.hwh]]",
          "if {[llength $bit] == 0 || [llength $hwh] == 0} {",
          '    error "streamfold: no bitstream or no .hwh in $proj_dir"',
          "}",
          "file copy -force [lindex $bit 0] [file join $here finn-accel.bit]",
          "file copy -force [lindex $hwh 0] [file join $here finn-accel.hwh]",
          "close_project",
          'puts "streamfold: wrote [file join $here finn-accel.bit] and finn-accel.hwh"',
          ""]
    return "\n".join(L)


def make_bitfile_sh(python_dir):
    """The run script: Vivado on make_project.tcl, then the reports into
    <output_dir>/report in FINN's form (needs streamfold importable; says so
    otherwise)."""
    return f"""#!/usr/bin/env bash
# Generated by streamfold: build finn-accel.bit / finn-accel.hwh with Vivado (make_project.tcl), then put
# report/post_synth_resources.json and report/post_route_timing.rpt next to this folder, as FINN does.
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
if ! command -v vivado >/dev/null 2>&1; then
  echo "make_bitfile.sh: vivado is not on PATH (source <Vivado>/settings64.sh first)" >&2
  exit 2
fi
cd "$here"
vivado -mode batch -notrace -nojournal -log "$here/vivado.log" -source "$here/make_project.tcl"
report="$here/../report"
mkdir -p "$report"
cp "$here/post_route_timing.rpt" "$report/post_route_timing.rpt"
PYTHONPATH="{python_dir}${{PYTHONPATH:+:$PYTHONPATH}}" python3 -m streamfold.builder.vivado resources \\
  "$here/post_synth_resources.xml" "$report/post_synth_resources.json" \\
  || echo "make_bitfile.sh: streamfold is not importable here; post_synth_resources.xml is in $here" >&2
echo "make_bitfile.sh: $here/finn-accel.bit and finn-accel.hwh are ready"
"""


# ---- reports ----------------------------------------------------------------

_RES_COLUMNS = [("LUT", ("Total LUTs",)), ("LUTRAM", ("LUTRAMs",)), ("SRL", ("SRLs",)), ("FF", ("FFs",)),
                ("BRAM_36K", ("RAMB36",)), ("BRAM_18K", ("RAMB18",)), ("URAM", ("URAM",)),
                ("DSP", ("DSP48 Blocks", "DSP Blocks", "DSPs"))]


def parse_utilization_xml(path, strip_suffix="_inst"):
    """FINN's post_synth_resources.json from Vivado's hierarchical
    utilisation report (report_utilization -hierarchical -format xml):
    {instance: {LUT, SRL, FF, BRAM_36K, BRAM_18K, DSP, ...}}; "(top)" is the
    whole design, layer instances (<node>_inst in finn_design) are keyed by
    node name as FINN keys them. DSP48 repeats DSP under FINN's key."""
    root = ET.parse(path).getroot()
    header, out = None, {}
    for row in root.iter("tablerow"):
        heads = [c.attrib.get("contents", "").strip() for c in row.findall("tableheader")]
        if heads:
            header = heads
            continue
        cells = [c.attrib.get("contents", "").strip() for c in row.findall("tablecell")]
        if not cells or header is None:
            continue
        rec = {}
        for key, names in _RES_COLUMNS:
            for nm in names:
                if nm in header and header.index(nm) < len(cells):
                    try:
                        rec[key] = int(float(cells[header.index(nm)]))
                    except ValueError:
                        rec[key] = 0
                    break
        if "DSP" in rec:
            rec["DSP48"] = rec["DSP"]
        inst = cells[0]
        if strip_suffix and inst.endswith(strip_suffix):
            inst = inst[: -len(strip_suffix)]
        out.setdefault(inst, rec)
    if not out:
        raise StreamfoldError(f"{path} holds no utilisation table", hint="it comes from report_utilization -format xml")
    return out


def parse_timing_wns(path):
    """WNS in ns from report_timing_summary's Design Timing Summary (None if absent)."""
    with open(path) as f:
        lines = f.read().splitlines()
    for i, ln in enumerate(lines):
        if ln.strip().startswith("WNS(ns)"):
            for nxt in lines[i + 1:i + 4]:
                parts = nxt.split()
                if parts and re.match(r"-?\d+\.\d+$", parts[0]):
                    return float(parts[0])
    return None


# ---- the folder -------------------------------------------------------------

def write_bitfile_project(out_dir, board, plan, stitched_dir, clk_ns):
    """Fill out_dir (normally <output_dir>/bitfile) with hdl/, make_project.tcl,
    make_bitfile.sh and address_map.json. Returns a summary dict."""
    from ..rtlsim.stitched import load_design

    if board.ps not in PS_KINDS or not board.board_part:
        raise ConfigError(f"board {board.name} has no Zynq processing system in the board database",
                          hint="step_synthesize_bitfile builds the vivado_zynq shell; use a Zynq board "
                               "(Pynq-Z1, Pynq-Z2, Ultra96, ZCU102, ZCU104, KV260)", key="board")
    man = load_design(stitched_dir)
    top_text = None
    for src in man["sources"]:
        with open(os.path.join(stitched_dir, src)) as f:
            t = f.read()
        if re.search(r"\bmodule\s+" + re.escape(man["top"]) + r"\b", t):
            top_text = t
            break
    if top_text is None:
        raise StreamfoldError(f"no source of the stitched design in {stitched_dir} defines {man['top']}",
                              hint="run step_create_stitched_ip again")
    freq_hz = round(1e9 / float(clk_ns))
    shell, shell_text, finn_intfs = make_shell(man["top"], top_text, shell_name="finn_design" + SHELL_SUFFIX,
                                               freq_hz=freq_hz)
    finn_ports = {}
    for s in man["inputs"]:
        finn_ports[s["name"]] = {"dir": "input", "width": int(s["tdata_width"])}
    for s in man["outputs"]:
        finn_ports[s["name"]] = {"dir": "output", "width": int(s["tdata_width"])}
    missing = sorted(p for p in finn_ports if finn_intfs.get(p) != "axis")
    if missing:
        raise StreamfoldError(f"finn_design's streams {missing} are not AXI-stream ports of its Verilog top")
    plan_addr = check_plan(plan, board.ps, finn_ports)

    hdl = os.path.join(out_dir, "hdl")
    shutil.rmtree(hdl, ignore_errors=True)
    os.makedirs(hdl)
    sources, sv_sources, names = [], [], set()

    def put(name, text=None, src=None):
        if name in names:
            return
        names.add(name)
        dst = os.path.join(hdl, name)
        if src is not None:
            shutil.copyfile(src, dst)
        else:
            with open(dst, "w") as f:
                f.write(text)
        sources.append("hdl/" + name)

    # Stitched sources first (their copies of shared modules win: same build).
    for s in man["sources"] + man["mem_files"]:
        put(os.path.basename(s), src=os.path.join(stitched_dir, s))
        if s.endswith(".v"):
            sv_sources.append("hdl/" + os.path.basename(s))
    put(shell + ".v", text=shell_text)
    dma_intfs = {}
    modules = sorted({d["module"] for d in plan})
    lib = library_closure(modules)
    for m, text in sorted(lib.items()):
        put(m + ".sv", text=text)
    for m in modules:
        burst = max(int(d["params"].get("MAX_BURST", 16)) for d in plan if d["module"] == m)
        sname, stext, intfs = make_shell(m, lib[m], freq_hz=freq_hz, max_burst=burst)
        put(sname + ".v", text=stext)
        streams = [i for i, k in intfs.items() if k == "axis"]
        if len(streams) != 1:
            raise StreamfoldError(f"{m} must have exactly one AXI-stream port; it has {streams}")
        for d in plan:
            if d["module"] == m:
                for key in (d["axilite"], d["aximm"]):
                    if intfs.get(key) != "aximm":
                        raise StreamfoldError(f"DMA {d['name']}: {m} has no AXI port {key!r}")
                params = {n for n, v in parse_module_header(lib[m], m)[0] if _LITERAL.fullmatch(v)}
                bad = sorted(set(d["params"]) - params)
                if bad:
                    raise StreamfoldError(f"DMA {d['name']}: {m} has no parameter(s) {bad}",
                                          hint=f"its parameters are {sorted(params)}")
        dma_intfs[m] = streams[0]

    tcl = make_project_tcl(board, plan_addr, dma_intfs, sources, sv_sources, clk_ns)
    with open(os.path.join(out_dir, "make_project.tcl"), "w") as f:
        f.write(tcl)
    py_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sh = os.path.join(out_dir, "make_bitfile.sh")
    with open(sh, "w") as f:
        f.write(make_bitfile_sh(py_dir))
    os.chmod(sh, 0o755)
    amap = {d["name"]: {"addr": addr, "range": int(d["range"]), "module": d["module"], "kind": d["kind"],
                        "params": d["params"]} for d, addr in plan_addr}
    with open(os.path.join(out_dir, "address_map.json"), "w") as f:
        json.dump({"board": board.name, "board_part": board.board_part, "part": board.part,
                   "fclk_mhz": 1000.0 / float(clk_ns), "dmas": amap}, f, indent=2)
    return {"tcl": os.path.join(out_dir, "make_project.tcl"), "script": sh, "dmas": [d["name"] for d in plan],
            "address_map": amap}


def _main(argv):
    if len(argv) == 3 and argv[0] == "resources":
        res = parse_utilization_xml(argv[1])
        with open(argv[2], "w") as f:
            json.dump(res, f, indent=2)
        return 0
    print("usage: python -m streamfold.builder.vivado resources <utilisation.xml> <post_synth_resources.json>")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))


__all__ = ["write_bitfile_project", "make_project_tcl", "make_shell", "parse_module_header", "check_plan",
           "parse_utilization_xml", "parse_timing_wns", "library_closure", "PS_KINDS", "ps_config"]
