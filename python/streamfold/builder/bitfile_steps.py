"""step_synthesize_bitfile (FINN's shell_flow_type vivado_zynq): the Zynq
system around the stitched accelerator as a Vivado project in
<output_dir>/bitfile/ (builder/vivado.py), run when vivado is on PATH."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from ..errors import ConfigError, StreamfoldError
from .estimates import write_json_atomic

BITFILE_OUTPUTS = {"bitfile", "pynq_driver", "deployment_package"}


def _board(cfg):
    from .boards import get_board

    if cfg is None:
        return get_board("Pynq-Z2")
    b = cfg.resolved_board()
    if b is None:
        raise ConfigError(f"fpga_part {cfg.fpga_part!r} is on no board in the board database, and a Zynq block "
                          "design needs the board's preset", hint="set board (e.g. Pynq-Z2)", key="board")
    shell = cfg.shell_flow_type or b.shell
    if shell != "vivado_zynq":
        raise ConfigError(f"step_synthesize_bitfile builds the vivado_zynq shell; {b.name} uses {shell!r}",
                          hint="the vitis_alveo flow is not available in this version", key="shell_flow_type")
    return b


def step_synthesize_bitfile(model, cfg=None, verify_inputs=None):
    """Write <output_dir>/bitfile/ (hdl/, make_project.tcl, make_bitfile.sh,
    address_map.json) for the board's Zynq block design `top` with one IODMA
    per stream of the DMA plan. With vivado on PATH, run it: bitfile/
    finn-accel.bit and finn-accel.hwh, report/post_synth_resources.json and
    report/post_route_timing.rpt (FINN's places). Without it, say so in one
    line and leave make_bitfile.sh ready to run."""
    from .hw_steps import stitched_dir
    from .system import dma_plan
    from .vivado import parse_timing_wns, parse_utilization_xml, write_bitfile_project

    if cfg is not None and cfg.steps is None and not BITFILE_OUTPUTS & set(cfg.generate_outputs or []):
        model._step_note = "skipped: generate_outputs asks for no bitfile"
        return model
    d = stitched_dir(model)
    if d is None:
        raise StreamfoldError("the model has no stitched design", hint="run step_create_stitched_ip first")
    board = _board(cfg)
    clk_ns = cfg.synth_clk_period_ns if cfg is not None else 10.0
    root = os.path.abspath(os.fspath(cfg.output_dir)) if cfg is not None else tempfile.mkdtemp(prefix="sf_bitfile_")
    out = os.path.join(root, "bitfile")
    os.makedirs(out, exist_ok=True)
    plan = dma_plan(model, d)
    info = write_bitfile_project(out, board, plan, d, clk_ns)
    model.set_metadata_prop("vivado_pynq_proj", os.path.join(out, "vivado_proj"))
    dmas = ", ".join(info["dmas"])
    vivado = shutil.which("vivado")
    if not vivado:   # the build prints the note: the one line that says so
        model._step_note = (f"vivado is not on PATH: {out}/make_bitfile.sh is ready to build the {board.name} "
                            f"bitfile ({dmas})")
        return model
    t0 = time.time()
    log = os.path.join(out, "vivado.log")
    r = subprocess.run([vivado, "-mode", "batch", "-notrace", "-nojournal", "-log", log, "-source",
                        os.path.join(out, "make_project.tcl")], cwd=out, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-15:]
        raise StreamfoldError("vivado could not build the bitfile:\n" + "\n".join(tail),
                              hint=f"see {log}; the project is in {out}/vivado_proj")
    for f in ("finn-accel.bit", "finn-accel.hwh", "post_synth_resources.xml", "post_route_timing.rpt"):
        if not os.path.isfile(os.path.join(out, f)):
            raise StreamfoldError(f"vivado finished but {out}/{f} is missing", hint=f"see {log}")
    rep = os.path.join(root, "report")
    os.makedirs(rep, exist_ok=True)
    shutil.copyfile(os.path.join(out, "post_route_timing.rpt"), os.path.join(rep, "post_route_timing.rpt"))
    res = parse_utilization_xml(os.path.join(out, "post_synth_resources.xml"))
    write_json_atomic(os.path.join(rep, "post_synth_resources.json"), res)
    wns = parse_timing_wns(os.path.join(out, "post_route_timing.rpt"))
    model.set_metadata_prop("bitfile", os.path.join(out, "finn-accel.bit"))
    model.set_metadata_prop("hw_handoff", os.path.join(out, "finn-accel.hwh"))
    model.set_metadata_prop("vivado_synth_rpt", os.path.join(out, "post_synth_resources.xml"))
    top = res.get("(top)", {})
    note = (f"{board.name} bitfile in {time.time() - t0:.0f} s: {top.get('LUT', '?')} LUT, {top.get('FF', '?')} FF, "
            f"{top.get('BRAM_36K', '?')} BRAM36, {top.get('DSP', '?')} DSP")
    if wns is not None:
        note += f", WNS {wns:+.3f} ns" + (" (timing NOT met)" if wns < 0 else "")
    model._step_note = note
    return model


__all__ = ["step_synthesize_bitfile"]
