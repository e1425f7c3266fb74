"""step_synthesize_bitfile's Vivado project (builder/vivado.py), checked
without Vivado: the generated make_project.tcl runs in tclsh against stub
Vivado commands (vivado_stub/stub.tcl) that check command names, arguments
and that every cell, pin, interface and address the script names exists
when named; the block design the stub ends with is compared with the DMA
plan. Boards: Pynq-Z2 (processing_system7) and ZCU104 (zynq_ultra_ps_e),
each for TFC-w1a1 and for TFC-w1a1 with MVAU_1's weights streamed from DDR
(a "weights" DMA). The module-reference shells are linted with Verilator
against the real IODMA RTL and parsed by Yosys as plain Verilog."""
import dataclasses
import json
import os
import shutil
import subprocess

import pytest

import rtl_zoo
from streamfold.builder import steps
from streamfold.builder.bitfile_steps import step_synthesize_bitfile
from streamfold.builder.boards import BOARDS, get_board
from streamfold.builder.system import dma_plan
from streamfold.builder.vivado import (check_plan, make_shell, parse_timing_wns, parse_utilization_xml,
                                       write_bitfile_project)
from streamfold.errors import ConfigError, StreamfoldError

STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vivado_stub")
TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh is missing: `make setup` installs the tcl package")

_designs = {}


def _design(kind):
    """(cfg, model, stitched dir) of TFC-w1a1, plain or with MVAU_1 external."""
    if kind in _designs:
        return _designs[kind]
    fps = 1000 if kind == "plain" else 1001   # separate rtl_zoo cache entries
    cfg, _, m = rtl_zoo.folded("tfc_w1a1", fps, auto_fifo_depths=False)
    m = m.copy()
    if kind == "external":
        next(n for n in m.graph.node if n.name == "MVAU_1").set_string("mem_mode", "external")
    for s in ("step_hw_codegen", "step_create_stitched_ip"):
        m = getattr(steps, s)(m, cfg)
    d = m.get_metadata_prop("vivado_stitch_proj")
    _designs[kind] = (cfg, m, d)
    return _designs[kind]


def _run_stub(tcl, env_extra=None):
    env = dict(os.environ)
    state = tcl + ".state.json"
    env["SF_STUB_STATE"] = state
    env.update(env_extra or {})
    r = subprocess.run([TCLSH, os.path.join(STUB, "main.tcl"), tcl], capture_output=True, text=True, env=env)
    st = None
    if r.returncode == 0:
        with open(state) as f:
            st = json.load(f)
    return r, st


@needs_tclsh
@pytest.mark.parametrize("board,kind,clk_ns", [("Pynq-Z2", "plain", 10.0), ("Pynq-Z2", "external", 8.0),
                                               ("ZCU104", "plain", 5.0), ("ZCU104", "external", 10.0)])
def test_stub_builds_the_planned_block_design(tmp_path, board, kind, clk_ns):
    _, m, d = _design(kind)
    plan = dma_plan(m, d)
    assert [p["kind"] for p in plan] == (["input", "output"] if kind == "plain" else ["input", "weights", "output"])
    b = get_board(board)
    info = write_bitfile_project(str(tmp_path), b, plan, d, clk_ns)
    r, st = _run_stub(info["tcl"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert st["project"]["part"] == b.part and st["props"]["board_part"] == b.board_part
    assert st["bd"] == "top" and st["validated"] == 1 and st["runs_done"] == 1
    cells = st["cells"]
    ps = cells["zynq_ps"]
    fclk = 1000.0 / clk_ns
    if b.ps == "ps7":
        assert ps["what"].startswith("xilinx.com:ip:processing_system7:")
        assert ps["config"]["PCW_USE_S_AXI_HP0"] == "1"
        assert float(ps["config"]["PCW_FPGA0_PERIPHERAL_FREQMHZ"]) == pytest.approx(fclk, abs=1e-3)
        master, slave, clk, base = "M_AXI_GP0", "S_AXI_HP0", "FCLK_CLK0", 0x4000_0000
    else:
        assert ps["what"].startswith("xilinx.com:ip:zynq_ultra_ps_e:")
        assert ps["config"]["PSU__USE__S_AXI_GP2"] == "1"
        assert float(ps["config"]["PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"]) == pytest.approx(fclk, abs=1e-3)
        master, slave, clk, base = "M_AXI_HPM0_FPD", "S_AXI_HP0_FPD", "pl_clk0", 0xA000_0000
    nets = st["intf_nets"]
    assert nets[f"zynq_ps/{master}"] == "axi_interconnect_0/S00_AXI"
    assert nets["smartconnect_0/M00_AXI"] == f"zynq_ps/{slave}"
    assert cells["axi_interconnect_0"]["config"]["NUM_MI"] == str(len(plan))
    assert cells["smartconnect_0"]["config"]["NUM_SI"] == str(len(plan))
    addrs = {a[0]: (a[1], a[2]) for a in st["addrs"]}
    clock_net = next(n for n in st["nets"] if f"zynq_ps/{clk}" in n)
    for k, p in enumerate(plan):
        c = cells[p["name"]]   # named exactly as in the plan: pynq finds the DMA by it
        assert c["kind"] == "module" and c["what"] == p["module"] + "_bd"
        for key, v in p["params"].items():
            assert c["config"][key] == str(v)
        assert nets[f"{p['name']}/{p['axilite']}"] == f"axi_interconnect_0/M{k:02d}_AXI"
        assert nets[f"{p['name']}/{p['aximm']}"] == f"smartconnect_0/S{k:02d}_AXI"
        stream = "out_V" if p["module"] == "sf_iodma_rd" else "in0_V"
        assert nets[f"{p['name']}/{stream}"] == f"finn_design_0/{p['stream']}"
        assert addrs[f"{p['name']}/s_axi_control/reg0"] == (p["addr"] - 0x4000_0000 + base, p["range"])
        assert f"{p['name']}/ap_clk" in clock_net
        assert float(st["pin_freq"][f"{p['name']}/ap_clk"]) == pytest.approx(fclk * 1e6, rel=1e-6)
    if kind == "external":
        w = next(p for p in plan if p["kind"] == "weights")
        assert w["name"] == "idma1" and w["stream"] == "s_axis_1" and w["node"] == "MVAU_1"
    assert "finn_design_0/ap_clk" in clock_net
    for f in ("finn-accel.bit", "finn-accel.hwh", "post_synth_resources.xml", "post_route_timing.rpt"):
        assert os.path.isfile(tmp_path / f)
    amap = json.load(open(tmp_path / "address_map.json"))
    assert sorted(amap["dmas"]) == sorted(p["name"] for p in plan) and amap["board_part"] == b.board_part


def _mutated(tmp_path, board, kind, old, new, clk_ns=10.0):
    _, m, d = _design(kind)
    info = write_bitfile_project(str(tmp_path), get_board(board), dma_plan(m, d), d, clk_ns)
    text = open(info["tcl"]).read()
    assert old in text, old
    with open(info["tcl"], "w") as f:
        f.write(text.replace(old, new, 1))
    return info["tcl"]


@needs_tclsh
@pytest.mark.parametrize("board,old,new,err", [
    ("Pynq-Z2", "create_bd_cell -type module -reference sf_iodma_wr_bd odma0\n", "", "no cell odma0"),
    ("Pynq-Z2", "-offset 0x40010000", "-offset 0x40018000", "not aligned"),
    ("Pynq-Z2", "-range 0x10000 [get_bd_addr_segs odma0", "-range 0x800 [get_bd_addr_segs odma0", ">= 4 KiB"),
    ("Pynq-Z2", "[get_bd_intf_pins idma0/out_V]", "[get_bd_intf_pins idma0/m_axis_0]", "has no interface m_axis_0"),
    ("Pynq-Z2", " CONFIG.PCW_USE_S_AXI_HP0 {1}", "", "has no interface S_AXI_HP0"),
    ("Pynq-Z2", "-reference sf_iodma_rd_bd idma0", "-reference sf_iodma_rd idma0", "needs a Verilog top"),
    ("Pynq-Z2", "validate_bd_design\n", "validate_bd\n", "unknown command validate_bd"),
    ("Pynq-Z2", " [get_bd_pins odma0/ap_rst_n]", "", "odma0/ap_rst_n is not connected"),
    ("Pynq-Z2", "set fclk_hz [get_property CONFIG.FREQ_HZ [get_bd_pins zynq_ps/FCLK_CLK0]]",
     "set fclk_hz 100000000", "FREQ_HZ of finn_design_0/ap_clk is 100000000, the clock runs at 125000000"),
    ("Pynq-Z2", "[get_bd_pins zynq_ps/FCLK_RESET0_N] [get_bd_pins rst_fclk0/ext_reset_in]",
     "[get_bd_pins zynq_ps/FCLK_RESET0_N] [get_bd_pins zynq_ps/FCLK_CLK0]", "is on a net already"),
    ("Pynq-Z2", "connect_bd_intf_net [get_bd_intf_pins idma0/m_axi_gmem0] [get_bd_intf_pins smartconnect_0/S00_AXI]",
     "connect_bd_intf_net [get_bd_intf_pins idma0/m_axi_gmem0] [get_bd_intf_pins odma0/m_axi_gmem0]",
     "need a master and a slave"),
    ("Pynq-Z2", "CONFIG.SW {8}", "CONFIG.SWW {8}", "has no parameter SWW"),
    ("Pynq-Z2", "assign_bd_address\n", "\n", "address spaces are not assigned"),
    ("ZCU104", " CONFIG.PSU__USE__M_AXI_GP1 {0}", "", "maxihpm1_fpd_aclk is not connected"),
    ("ZCU104", "-offset 0xa0000000", "-offset 0x40000000", "outside the PS window"),
])
def test_stub_rejects_broken_scripts(tmp_path, board, old, new, err):
    """The stub is not a rubber stamp: each break of a good script fails it with the reason."""
    r, _ = _run_stub(_mutated(tmp_path, board, "plain", old, new, clk_ns=8.0))
    assert r.returncode != 0 and err in r.stderr + r.stdout, r.stderr[-2000:]


@needs_tclsh
def test_stub_missing_board_files_named(tmp_path):
    _, m, d = _design("plain")
    info = write_bitfile_project(str(tmp_path), get_board("Pynq-Z1"), dma_plan(m, d), d, 10.0)
    r, _ = _run_stub(info["tcl"], {"SF_STUB_BOARD_PARTS": "xilinx.com:zcu104:part0:1.1"})
    assert r.returncode != 0 and "board files of Pynq-Z1 (www.digilentinc.com:pynq-z1:part0:1.0)" in r.stderr
    # another version of the board file is taken when the pinned one is absent
    r, st = _run_stub(info["tcl"], {"SF_STUB_BOARD_PARTS": "www.digilentinc.com:pynq-z1:part0:1.1"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert st["props"]["board_part"] == "www.digilentinc.com:pynq-z1:part0:1.1"


def test_shells_match_the_rtl(tmp_path):
    """The shells instantiate the real modules port for port (Verilator lint,
    -Wall, non-default parameters) and are plain Verilog (Yosys without -sv)."""
    _, m, d = _design("external")
    info = write_bitfile_project(str(tmp_path), get_board("Pynq-Z2"), dma_plan(m, d), d, 10.0)
    hdl = tmp_path / "hdl"
    svs = sorted(str(p) for p in hdl.glob("*.sv"))
    vs = sorted(str(p) for p in hdl.glob("*.v") if not p.name.endswith("_bd.v"))
    for top, params in (("sf_iodma_rd_bd", ["-GSW=24", "-GFRAME_BEATS=7", "-GREPEAT=3"]),
                        ("sf_iodma_wr_bd", ["-GSW=16", "-GFRAME_BEATS=5"]), ("finn_design_bd", [])):
        r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-UNUSEDSIGNAL",
                            "-Wno-PINCONNECTEMPTY", "-Wno-UNUSEDPARAM", "-Wno-WIDTH", "--top-module", top, *params,
                            str(hdl / (top + ".v")), *svs, *vs], capture_output=True, text=True, cwd=hdl)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    from streamfold.rtlsim.synth import yosys_exe
    shells = [str(hdl / f) for f in ("sf_iodma_rd_bd.v", "sf_iodma_wr_bd.v", "finn_design_bd.v")]
    r = subprocess.run([yosys_exe(), "-q", "-p", "; ".join(f"read_verilog {s}" for s in shells)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    text = open(hdl / "sf_iodma_rd_bd.v").read()
    # the shell's parameters are the RTL's (those with literal defaults: Vivado
    # would freeze a computed one at cell creation; make_shell keeps those local)
    from streamfold.builder.vivado import parse_module_header
    rtl = parse_module_header(open(hdl / "sf_iodma_rd.sv").read(), "sf_iodma_rd")[0]
    shell = parse_module_header(text, "sf_iodma_rd_bd")[0]
    assert [n for n, _ in shell] == [n for n, v in rtl if v.lstrip("-").isdigit()] and "WRAP" in dict(shell)
    assert "X_INTERFACE_INFO = \"xilinx.com:interface:axis:1.0 out_V TDATA\"" in text
    assert 'ASSOCIATED_BUSIF s_axi_control:m_axi_gmem0:out_V, ASSOCIATED_RESET ap_rst_n, FREQ_HZ 100000000' in text


def test_step_without_vivado_leaves_a_ready_script(tmp_path, monkeypatch, capsys):
    cfg, m, d = _design("external")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shutil.which("vivado") is None
    cfg2 = dataclasses.replace(cfg, output_dir=str(tmp_path))
    m = step_synthesize_bitfile(m.copy(), cfg2)
    assert capsys.readouterr().out == ""   # the build prints the step's note, once
    note = m._step_note
    assert "\n" not in note and "vivado is not on PATH" in note and "make_bitfile.sh is ready" in note
    sh = tmp_path / "bitfile" / "make_bitfile.sh"
    assert os.access(sh, os.X_OK) and (tmp_path / "bitfile" / "make_project.tcl").is_file()
    r = subprocess.run(["bash", str(sh)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "vivado is not on PATH" in r.stderr


@needs_tclsh
def test_step_with_vivado_files_finn_outputs(tmp_path, monkeypatch):
    """With a `vivado` on PATH (the stub here) the step runs the script and
    puts the bitfile and FINN's reports in place; make_bitfile.sh does too."""
    cfg, m, d = _design("plain")
    monkeypatch.setenv("PATH", STUB + os.pathsep + os.environ["PATH"])
    cfg2 = dataclasses.replace(cfg, output_dir=str(tmp_path))
    m = step_synthesize_bitfile(m.copy(), cfg2)
    for f in ("bitfile/finn-accel.bit", "bitfile/finn-accel.hwh", "report/post_route_timing.rpt"):
        assert (tmp_path / f).is_file(), f
    res = json.load(open(tmp_path / "report" / "post_synth_resources.json"))
    assert {"(top)", "top_i", "idma0", "odma0", "finn_design_0", "zynq_ps"} <= set(res)
    assert set(res["idma0"]) >= {"LUT", "SRL", "FF", "BRAM_36K", "BRAM_18K", "DSP", "DSP48"}
    assert m.get_metadata_prop("bitfile").endswith("bitfile/finn-accel.bit")
    assert "WNS +1.234 ns" in m._step_note
    os.remove(tmp_path / "report" / "post_synth_resources.json")
    r = subprocess.run(["bash", str(tmp_path / "bitfile" / "make_bitfile.sh")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.load(open(tmp_path / "report" / "post_synth_resources.json")) == res


def test_plan_errors_are_named(tmp_path):
    _, m, d = _design("plain")
    plan = dma_plan(m, d)
    ports = {"s_axis_0": {"dir": "input", "width": plan[0]["params"]["SW"]},
             "m_axis_0": {"dir": "output", "width": plan[-1]["params"]["SW"]}}
    check_plan(plan, "ps7", ports)

    def bad(**kw):
        p = [dict(x) for x in plan]
        p[-1].update(kw)
        return p
    for p, msg in ((bad(addr=0x4000_8000), "aligned"), (bad(range=0x800), ">= 4 KiB"), (bad(name="idma0"), "repeated"),
                   (bad(stream="m_axis_7"), "no stream 'm_axis_7'"), (bad(addr=0x8000_0000), "aperture"),
                   (bad(module="sf_iodma_rd"), "does not go with"), (bad(addr=0x4000_0000), None)):
        with pytest.raises(StreamfoldError) as e:
            check_plan(p, "ps7", ports)
        assert msg is None or msg in str(e.value)
    p = [dict(x) for x in plan]
    p[0] = {**p[0], "params": {**p[0]["params"], "SW": 16}}
    with pytest.raises(StreamfoldError, match="SW = 16"):
        check_plan(p, "ps7", ports)
    p = [dict(x) for x in plan]
    p[0] = {**p[0], "params": {**p[0]["params"], "BURSTS": 4}}
    with pytest.raises(StreamfoldError, match="no parameter"):
        write_bitfile_project(str(tmp_path), get_board("Pynq-Z2"), p, d, 10.0)
    with pytest.raises(ConfigError, match="no Zynq processing system"):
        write_bitfile_project(str(tmp_path), get_board("U250"), plan, d, 10.0)


def test_utilisation_and_timing_reports(tmp_path):
    """Vivado's hierarchical XML (header row of tableheader, rows of
    tablecell, indented instance names) into FINN's per-instance dict."""
    x = tmp_path / "u.xml"
    x.write_text('<?xml version="1.0"?><RptDoc><section><table><tablerow>'
                 + "".join(f'<tableheader contents="{h}"/>' for h in ("Instance", "Module", "Total LUTs", "Logic LUTs",
                                                                     "LUTRAMs", "SRLs", "FFs", "RAMB36", "RAMB18",
                                                                     "DSP48 Blocks"))
                 + "</tablerow>"
                 + "".join("<tablerow>" + "".join(f'<tablecell contents="{c}"/>' for c in row) + "</tablerow>"
                           for row in (("(top)", "top_wrapper", 9000, 8000, 700, 300, 12000, 10, 3, 4),
                                       ("    MVAU_0_inst", "MVAU_0", 1200, 1100, 60, 40, 800, 2, 1, 0)))
                 + "</table></section></RptDoc>")
    r = parse_utilization_xml(str(x))
    assert r["(top)"] == {"LUT": 9000, "LUTRAM": 700, "SRL": 300, "FF": 12000, "BRAM_36K": 10, "BRAM_18K": 3,
                          "DSP": 4, "DSP48": 4}
    assert r["MVAU_0"]["LUT"] == 1200 and r["MVAU_0"]["SRL"] == 40
    t = tmp_path / "t.rpt"
    t.write_text("| Design Timing Summary\n\n    WNS(ns)      TNS(ns)\n    -------      -------\n     -0.412    -3.2\n")
    assert parse_timing_wns(str(t)) == pytest.approx(-0.412)


def test_board_database_for_zynq():
    assert BOARDS["Pynq-Z2"].board_part == "tul.com.tw:pynq-z2:part0:1.0"
    assert BOARDS["Pynq-Z1"].board_part == "www.digilentinc.com:pynq-z1:part0:1.0"
    for b in BOARDS.values():
        if b.shell == "vivado_zynq":
            assert b.ps in ("ps7", "ps8") and b.board_part and b.board_part.count(":") == 3, b.name
    assert BOARDS["ZCU104"].ps == "ps8" and BOARDS["Pynq-Z2"].ps == "ps7"


def test_shell_of_a_header_with_odd_ports():
    """Ports sharing a declaration, comments and a parameterised width."""
    text = """module m #(parameter integer W = 8, parameter integer D = W * 2) (
      input wire ap_clk, ap_rst_n, // two in one
      /* c */ input wire [W-1:0] s_axis_0_tdata, input wire s_axis_0_tvalid, output wire s_axis_0_tready,
      output logic [D-1:0] m_axis_0_tdata, output logic m_axis_0_tvalid, input wire m_axis_0_tready);
    endmodule"""
    name, v, intfs = make_shell("m", text)
    assert name == "m_bd" and intfs == {"s_axis_0": "axis", "m_axis_0": "axis"}
    assert "parameter W = 8" in v and "localparam D = W * 2;" in v and "input wire ap_rst_n" in v
    with pytest.raises(StreamfoldError, match="one clock"):
        make_shell("m", text.replace("ap_clk, ap_rst_n", "clk2, ap_rst_n"))


@needs_tclsh
def test_stub_many_streams_hand_made_plan(tmp_path):
    """A stitched design with 3 inputs, 5 weight streams and 3 outputs (a
    hand-written finn_design and plan in dma_plan's schema): 11 DMAs, two-digit
    interconnect ports, on every Zynq board but ZCU104 (tested above)."""
    ins = [(f"s_axis_{k}", w) for k, w in enumerate((8, 24, 64, 8, 16, 32, 40, 8))]
    outs = [(f"m_axis_{k}", w) for k, w in enumerate((16, 8, 72))]
    d = tmp_path / "stitched"
    d.mkdir()
    ports = ["input wire ap_clk", "input wire ap_rst_n"]
    body = []
    for n, w in ins:
        ports += [f"input wire [{w - 1}:0] {n}_tdata", f"input wire {n}_tvalid", f"output wire {n}_tready"]
        body.append(f"assign {n}_tready = 1'b1;")
    for n, w in outs:
        ports += [f"output wire [{w - 1}:0] {n}_tdata", f"output wire {n}_tvalid", f"input wire {n}_tready"]
        body += [f"assign {n}_tdata = {w}'d0;", f"assign {n}_tvalid = 1'b0;"]
    (d / "finn_design.v").write_text("module finn_design (\n  " + ",\n  ".join(ports) + "\n);\n" + "\n".join(body)
                                     + "\nendmodule\n")
    man = {"top": "finn_design", "sources": ["finn_design.v"], "mem_files": [],
           "inputs": [{"name": n, "width": w, "tdata_width": w} for n, w in ins],
           "outputs": [{"name": n, "width": w, "tdata_width": w} for n, w in outs]}
    (d / "sf_design.json").write_text(json.dumps(man))
    plan = []
    for k, (n, w) in enumerate(ins + outs):
        rd = k < len(ins)
        kind = "output" if not rd else ("input" if k < 3 else "weights")
        params = {"SW": w, "FRAME_BEATS": 3 + k, "MAX_BURST": 16}
        if rd:
            params["REPEAT"] = 1 if kind == "input" else 4
        plan.append({"name": f"idma{k}" if rd else f"odma{k - len(ins)}", "kind": kind,
                     "module": "sf_iodma_rd" if rd else "sf_iodma_wr", "stream": n, "sw": w, "params": params,
                     "axilite": "s_axi_control", "aximm": "m_axi_gmem0", "addr": 0x4000_0000 + k * 0x1_0000,
                     "range": 0x1_0000})
    for board in ("Pynq-Z2", "Ultra96", "ZCU102", "KV260", "Pynq-Z1"):
        out = tmp_path / board
        out.mkdir()
        info = write_bitfile_project(str(out), get_board(board), plan, str(d), 10.0)
        r, st = _run_stub(info["tcl"])
        assert r.returncode == 0, r.stderr[-2000:]
        assert st["intf_nets"]["odma2/s_axi_control"] == "axi_interconnect_0/M10_AXI"
        assert st["intf_nets"]["odma2/in0_V"] == "finn_design_0/m_axis_2"
        assert st["cells"]["idma7"]["config"]["REPEAT"] == "4" and len(st["addrs"]) == 11
        b = get_board(board)
        # ZCU102's pinned board file (3.3) is not installed in the stub: the newest one (3.4) is taken
        assert st["props"]["board_part"] == (b.board_part if board != "ZCU102" else "xilinx.com:zcu102:part0:3.4")
        assert st["props"]["board_connections"] == (b.board_connections or "")


@needs_tclsh
def test_stub_fails_on_caught_violations(tmp_path):
    """A violation inside the script's own catch still fails the run."""
    r, _ = _run_stub(_mutated(tmp_path, "Pynq-Z2", "plain", "set pin [get_bd_pins idma0/ap_clk]\n",
                              "set pin [get_bd_pins idma0/ap_rst_n]\n"))
    assert r.returncode != 0 and "caught violation(s): set_property: FREQ_HZ on non-clock idma0/ap_rst_n" in r.stderr
