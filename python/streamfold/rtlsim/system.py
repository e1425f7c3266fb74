"""The whole accelerator system in Verilator, without a board or Vivado.

`write_system` puts next to the stitched design one IODMA per top-level
stream (builder.system.dma_plan, the same list the Vivado block design
instantiates) and a top, `sf_system`, that wires them: each DMA's AXI-lite
slave and AXI4 master become ports of sf_system. The C++ harness
(system_harness.cpp) plays the Zynq around it:
- the ARM's AXI-lite master (M_AXI_GP0): register reads and writes come from
  Python over a pipe, one real AXI-lite transaction each;
- DDR behind the HP0 port: axi_mem.h, one memory with random latencies and
  shared bandwidth, backed by a file that the Python side maps as well, so a
  buffer's flush()/invalidate() are plain memory copies.

What the board adds and this leaves out: the PS7, the interconnect and the
smartconnect (address decoding is done by the harness per DMA), and the
cache (buffers are flushed and invalidated explicitly, as on the board).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile

from .. import _core
from ..errors import StreamfoldError
from .build import (CXXFLAGS, VFLAGS, BUILD_LOG, SimulationError, cache_dir, compile_verilated, read_manifest,
                    verilator_version)
from .stitched import load_design

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = "sf_system.json"
TOP = "sf_system"

_AXIL = [("AWADDR", "in", 6), ("AWVALID", "in", 1), ("AWREADY", "out", 1), ("WDATA", "in", 32), ("WSTRB", "in", 4),
         ("WVALID", "in", 1), ("WREADY", "out", 1), ("BRESP", "out", 2), ("BVALID", "out", 1), ("BREADY", "in", 1),
         ("ARADDR", "in", 6), ("ARVALID", "in", 1), ("ARREADY", "out", 1), ("RDATA", "out", 32),
         ("RRESP", "out", 2), ("RVALID", "out", 1), ("RREADY", "in", 1)]
_AXI_RD = [("ARADDR", "out", 32), ("ARLEN", "out", 8), ("ARSIZE", "out", 3), ("ARBURST", "out", 2),
           ("ARCACHE", "out", 4), ("ARPROT", "out", 3), ("ARVALID", "out", 1), ("ARREADY", "in", 1),
           ("RDATA", "in", 64), ("RRESP", "in", 2), ("RLAST", "in", 1), ("RVALID", "in", 1), ("RREADY", "out", 1)]
_AXI_WR = [("AWADDR", "out", 32), ("AWLEN", "out", 8), ("AWSIZE", "out", 3), ("AWBURST", "out", 2),
           ("AWCACHE", "out", 4), ("AWPROT", "out", 3), ("AWVALID", "out", 1), ("AWREADY", "in", 1),
           ("WDATA", "out", 64), ("WSTRB", "out", 8), ("WLAST", "out", 1), ("WVALID", "out", 1), ("WREADY", "in", 1),
           ("BRESP", "in", 2), ("BVALID", "in", 1), ("BREADY", "out", 1)]


def library_closure(modules):
    """The library modules `modules` need, themselves included: found by
    scanning each module's text for instantiations of other library modules."""
    known = set(_core.rtl_library_modules())
    todo, seen = list(modules), []
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        src = _core.rtl_library_source(m)
        if src is None:
            raise StreamfoldError(f"RTL library module {m} is missing from this build",
                                  hint="rebuild the extension (make dev)")
        seen.append(m)
        body = re.sub(r"//[^\n]*|/\*.*?\*/", "", src, flags=re.S)
        for name in re.findall(r"^\s*(sf_\w+)\s*(?:#|\w)", body, flags=re.M):
            if name in known and name != m and name not in seen:
                todo.append(name)
    return sorted(seen)


def _port_decls(prefix, spec):
    out = []
    for sig, d, w in spec:
        rng = f"[{w - 1}:0] " if w > 1 else ""
        out.append(f"  {'input ' if d == 'in' else 'output'} wire {rng}{prefix}{sig}")
    return out


def system_verilog(plan, design):
    """Text of sf_system: finn_design plus the DMAs of `plan`."""
    ports = ["  input  wire ap_clk", "  input  wire ap_rst_n"]
    body, conns = [], []
    streams = {s["name"]: s for s in design["inputs"] + design["outputs"]}
    for d in plan:
        n = d["name"]
        ports += _port_decls(f"s_axi_{n}_", _AXIL)
        ports += _port_decls(f"m_axi_{n}_", _AXI_RD if d["module"] == "sf_iodma_rd" else _AXI_WR)
        s = streams[d["stream"]]
        tw = s["tdata_width"]
        body.append(f"  wire [{tw - 1}:0] {d['stream']}_tdata;\n  wire {d['stream']}_tvalid, {d['stream']}_tready;")
        conns += [f".{d['stream']}_tdata({d['stream']}_tdata)", f".{d['stream']}_tvalid({d['stream']}_tvalid)",
                  f".{d['stream']}_tready({d['stream']}_tready)"]
        params = ", ".join(f".{k}({v})" for k, v in d["params"].items())
        pc = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"]
        pc += [f".s_axi_control_{sig}(s_axi_{n}_{sig})" for sig, _, _ in _AXIL]
        spec = _AXI_RD if d["module"] == "sf_iodma_rd" else _AXI_WR
        pc += [f".m_axi_gmem0_{sig}(m_axi_{n}_{sig})" for sig, _, _ in spec]
        if d["module"] == "sf_iodma_rd":
            pc += [f".out_V_TDATA({d['stream']}_tdata)", f".out_V_TVALID({d['stream']}_tvalid)",
                   f".out_V_TREADY({d['stream']}_tready)"]
        else:
            pc += [f".in0_V_TDATA({d['stream']}_tdata)", f".in0_V_TVALID({d['stream']}_tvalid)",
                   f".in0_V_TREADY({d['stream']}_tready)"]
        body.append(f"  {d['module']} #({params}) {n} (\n    " + ",\n    ".join(pc) + ");")
    inst = f"  {design['top']} u_design (\n    .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),\n    " + \
        ",\n    ".join(conns) + ");"
    return ("// Generated by streamfold: the accelerator with its IODMAs, for the board-less system\n"
            "// simulation (the Vivado block design wires the same cells; see bitfile/).\n"
            f"module {TOP} (\n" + ",\n".join(ports) + ");\n" + "\n".join(body) + "\n" + inst + "\nendmodule\n")


def write_system(model, stitched_dir, out_dir, clk_ns=10.0, idle_timeout=None):
    """Write everything the system simulation needs into out_dir (a fresh
    folder, swapped in whole): the stitched design's sources and memory files,
    the IODMA modules, sf_system.v and sf_system.json. Returns the manifest."""
    from ..builder.system import dma_plan
    from ..core.modelwrapper import ModelWrapper
    from .stitched import idle_timeout as _idle

    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    design = load_design(stitched_dir)
    plan = dma_plan(mw, stitched_dir)
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".sim.", dir=parent)
    try:
        files = list(design["sources"]) + list(design["mem_files"])
        files += [d["weights_file"] for d in plan if d.get("weights_file")]
        for f in files:
            shutil.copy(os.path.join(stitched_dir, f), tmp)
        mods = library_closure(sorted({d["module"] for d in plan}))
        srcs = [TOP + ".v"] + list(design["sources"])
        for m in mods:
            if m + ".sv" not in srcs:
                with open(os.path.join(tmp, m + ".sv"), "w") as f:
                    f.write(_core.rtl_library_source(m))
                srcs.append(m + ".sv")
        with open(os.path.join(tmp, TOP + ".v"), "w") as f:
            f.write(system_verilog(plan, design))
        man = {"top": TOP, "design_top": design["top"], "sources": srcs, "mem_files": design["mem_files"],
               "clk_ns": float(clk_ns), "idle_timeout": int(idle_timeout or _idle(mw)), "dmas": plan}
        with open(os.path.join(tmp, MANIFEST), "w") as f:
            json.dump(man, f, indent=1)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return man


def load_system(d):
    return read_manifest(d, MANIFEST, "system simulation",
                         "point sim_dir (or STREAMFOLD_SIM_DIR) at the deployment package's sim/ folder")


def _ports_header(plan):
    """sf_sys_ports.h: the DMAs' top-level signals as pointer tables."""
    lines = ["#pragma once", '#include "Vsys.h"', f"static constexpr int SF_NDMA = {len(plan)};",
             "static inline void sf_bind(Vsys* t, AxilPort* l, AxiPins* m) {"]
    for k, d in enumerate(plan):
        n = d["name"]
        for sig, _, _ in _AXIL:
            lines.append(f"  l[{k}].{sig} = &t->s_axi_{n}_{sig};")
        spec = _AXI_RD if d["module"] == "sf_iodma_rd" else _AXI_WR
        lines.append(f"  m[{k}].is_write = {1 if d['module'] == 'sf_iodma_wr' else 0};")
        for sig, _, _ in spec:
            lines.append(f"  m[{k}].{sig} = &t->m_axi_{n}_{sig};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _harness_files():
    out = {}
    for f in ("system_harness.cpp", "axi_mem.h"):
        with open(os.path.join(HERE, f)) as fh:
            out[f] = fh.read()
    return out


def build_system(sim_dir):
    """Path of the system simulator for the design in sim_dir (cached by
    content hash: the Verilog, the harness and the flags, not the weights)."""
    man = load_system(sim_dir)
    h = hashlib.sha256()
    h.update((verilator_version() + " ".join(VFLAGS) + CXXFLAGS).encode())
    harness = _harness_files()
    ports = _ports_header(man["dmas"])
    for name in sorted(harness):
        h.update(harness[name].encode())
    h.update(ports.encode())
    for s in sorted(man["sources"]):
        h.update(s.encode())
        with open(os.path.join(sim_dir, s), "rb") as f:
            h.update(f.read())
    key = "sys-" + h.hexdigest()[:24]
    exe = os.path.join(cache_dir(), "verilator", key, "sim")
    if os.path.isfile(exe):
        return exe
    import time

    t0 = time.perf_counter()
    files = dict(harness, **{"sf_sys_ports.h": ports})
    exe = compile_verilated(key, [os.path.join(sim_dir, s) for s in man["sources"]], TOP, "Vsys", files,
                            ["system_harness.cpp"], "the system simulation")
    BUILD_LOG.append((TOP, time.perf_counter() - t0))
    return exe


__all__ = ["write_system", "load_system", "build_system", "system_verilog", "library_closure", "SimulationError"]
