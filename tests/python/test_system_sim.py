"""The board-less system simulation (sf_system: IODMAs + stitched design +
DDR model) driven register by register the way FINN's driver does it, so
that the simulation itself is checked independently of the generated
driver (test_driver_system.py runs the packaged driver on top of it)."""
import os

import numpy as np
import pytest

import rtl_zoo
import streamfold as sf
from streamfold.builder import hw_steps
from streamfold.builder.system import dma_plan
from streamfold.driver import pack, unpack
from streamfold.driver.sim import Overlay, allocate
from streamfold.rtlsim.system import load_system, write_system
from streamfold.rtlsim.weights import weight_stream


def stitched_child(name, target_fps=100_000, **kw):
    cfg, parent, child = rtl_zoo.folded(name, target_fps=target_fps, **kw)
    for s in ("step_set_fifo_depths", "step_create_stitched_ip"):
        child = getattr(hw_steps, s)(child, cfg)
    return cfg, parent, child


def reference_io(parent, child, x):
    """The dataflow child's inputs and outputs for a batch, image by image
    on the reference executor (the exported models have batch 1)."""
    full = rtl_zoo.with_child(parent, child)
    ins = child._model.runtime_input_names()
    outs = [o.name for o in child.graph.output]
    ctxs = [sf.execute_onnx(full, {parent.graph.input[0].name: x[i:i + 1]}, return_full_exec_context=True)
            for i in range(len(x))]
    return ({t: np.concatenate([c[t] for c in ctxs]) for t in ins},
            {t: np.concatenate([c[t] for c in ctxs]) for t in outs})


def run_system(ov, plan, child, x, batch):
    """FINN driver order: weights, outputs, inputs; poll the first output
    DMA's done bit. Returns the normal-shaped outputs and the cycles taken."""
    bufs = {}
    for d in plan:
        if d["kind"] == "weights":
            ws = weight_stream(child, d["node"]).beats
            b = allocate(ws.shape, np.uint8)
            b[:] = ws
            b.flush()
        elif d["kind"] == "input":
            xin = x[d["tensor"]]
            folded = xin.reshape([batch] + d["shape_folded"][1:])
            p = pack(folded, d["dtype"])
            b = allocate(p.shape, np.uint8)
            b[:] = p
            b.flush()
        else:
            b = allocate([batch] + d["shape_packed"][1:], np.uint8)
        bufs[d["name"]] = b
    order = [d for d in plan if d["kind"] == "weights"] + [d for d in plan if d["kind"] == "output"] + \
        [d for d in plan if d["kind"] == "input"]
    odma = getattr(ov, next(d["name"] for d in plan if d["kind"] == "output"))
    assert odma.read(0x00) & 0x4, "output DMA not idle before start"
    c0 = ov.cycles
    for d in order:
        dma = getattr(ov, d["name"])
        dma.write(0x10, bufs[d["name"]].device_address)
        dma.write(0x14, 0)
        dma.write(0x1C, batch)
        dma.write(0x00, 1)
    while not odma.read(0x00) & 0x2:
        pass
    cycles = ov.cycles - c0
    outs = {}
    for d in plan:
        if d["kind"] == "output":
            b = bufs[d["name"]]
            b.invalidate()
            e = d["shape_folded"][-1]
            outs[d["tensor"]] = unpack(np.asarray(b), d["dtype"], e).reshape([batch] + d["shape_normal"][1:])
    for b in bufs.values():
        b.freebuffer()
    return outs, cycles


@pytest.mark.parametrize("name", ["tfc_w1a1"])
def test_system_matches_stitched_rtlsim(name, tmp_path):
    cfg, parent, child = stitched_child(name)
    d = hw_steps.stitched_dir(child)
    man = write_system(child, d, tmp_path / "sim")
    assert load_system(tmp_path / "sim")["dmas"] == man["dmas"]
    plan = dma_plan(child, d)
    n = 4
    x = rtl_zoo.inputs(name, n)
    xin, want = reference_io(parent, child, x)
    ov = Overlay(sim_dir=tmp_path / "sim", seed=3, p_ready=0.7, p_valid=0.6)
    try:
        outs, cycles = run_system(ov, plan, child, xin, n)
    finally:
        ov.close()
    for o in child.graph.output:
        np.testing.assert_array_equal(outs[o.name], want[o.name].reshape(outs[o.name].shape))
