"""The stitched accelerator in simulation (FINN's stitched_ip_rtlsim): the
whole dataflow child as one Verilator model, fed frames back to back."""
from __future__ import annotations

import os

import numpy as np

from .. import _core
from ..core.modelwrapper import ModelWrapper
from ..driver.packing import pack, unpack
from ..errors import StreamfoldError
from .build import DeadlockError, build_sim, read_manifest, run_sim

MANIFEST = "sf_design.json"
META_DIR = "vivado_stitch_proj"   # FINN's metadata key for the stitched design's folder


def stitch(model, out_dir, monitors=False):
    """Write the stitched design of a dataflow child into out_dir; returns its manifest."""
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    _core.rtl_stitch(mw._model, os.fspath(out_dir), bool(monitors))
    return load_design(out_dir)


def load_design(d):
    return read_manifest(d, MANIFEST, "stitched design", "run step_create_stitched_ip first")


def weight_streams(man):
    """The design's external weight streams (top-level inputs after the graph
    inputs): manifest entries with node, width, pass_beats, repeat and
    weights_file (one packed pass, uint8 (pass_beats, tdata_width/8))."""
    return [s for s in man["inputs"] if s.get("weights")]


def load_weight_stream(d, s):
    """One pass of weight stream `s` (a manifest entry) of design folder d."""
    p = os.path.join(d, s["weights_file"])
    if not os.path.isfile(p):
        raise StreamfoldError(f"{d}: the weight stream of {s['node']} ({s['weights_file']}) is missing",
                              hint="re-run step_create_stitched_ip; the stitcher writes it")
    b = np.load(p)
    if b.dtype != np.uint8 or b.shape != (int(s["pass_beats"]), int(s["tdata_width"]) // 8):
        raise StreamfoldError(f"{p} is {b.dtype} {b.shape}, expected uint8 "
                              f"({s['pass_beats']}, {int(s['tdata_width']) // 8})",
                              hint="re-run step_create_stitched_ip")
    return b


def build_design(d):
    man = load_design(d)
    return build_sim([os.path.join(d, s) for s in man["sources"]], man["top"], man["inputs"], man["outputs"],
                     man["mem_files"], [{"name": m["name"]} for m in man.get("monitors", [])])


def _order(x, shape, perm, inverse=False):
    from . import _order as o
    return o(x, shape, perm, inverse)


def _bits(dt_name):
    from ..driver.packing import _dtype_info
    return _dtype_info(dt_name)[0]


def idle_timeout(mw):
    """Cycles without a handshake on the design's ports that mean deadlock.
    The first output leaves only after every layer has filled, so the bound is
    the sum of the layers' cycles per frame (twice, for margin), not a constant:
    a folded CNN is silent at its ports for hundreds of thousands of cycles."""
    total = 0
    for n in mw.graph.node:
        try:
            total += int(_core.hw_estimate(mw._model, n.name)["cycles"])
        except Exception:  # noqa: BLE001 - a node without a model adds nothing
            pass
    return 2 * total + 100_000


def simulate_design(model, design_dir, inputs, in_gap=0.0, out_stall=0.0, seed=0, timeout=None, in_rate=1.0):
    """Run the stitched design on normal-shaped graph inputs (dict name ->
    array with leading batch N, or list in graph-input order). Returns
    (dict of outputs, stats) where stats has cycles, latency_cycles,
    interval_cycles, frame_done and the FIFO monitors."""
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    man = load_design(design_dir)
    names = mw._model.runtime_input_names()
    if isinstance(inputs, dict):
        inputs = [inputs[n] for n in names]
    beats_in, n = [], None
    for name, x, s in zip(names, inputs, man["inputs"]):
        x = np.asarray(x, dtype=np.float32)
        dt = mw.get_tensor_datatype(name).name
        e = s["width"] // _bits(dt)
        shape = mw.get_tensor_shape(name)
        frame = int(np.prod(shape[1:])) if shape else x[0].size
        if n is None:
            n = x.size // frame
        x = _order(x.reshape(n, -1) if x.ndim < 2 else x.reshape((n,) + tuple(x.shape[1:])), s["order_shape"],
                   s["order_perm"])
        beats_in.append(pack(x.reshape(-1, e), dt))
    for s in man["inputs"][len(names):]:  # weight streams (mem_mode external): one pass from its file, per pass
        beats_in.append(np.tile(load_weight_stream(design_dir, s), (n * int(s["repeat"]), 1)))
    beats_out, frame_beats, out_info = [], [], []
    for o, s in zip(mw.graph.output, man["outputs"]):
        dt = mw.get_tensor_datatype(o.name).name
        e = s["width"] // _bits(dt)
        shape = mw.get_tensor_shape(o.name)
        frame = int(np.prod(shape[1:]))
        beats_out.append(n * frame // e)
        frame_beats.append(frame // e)
        out_info.append((o.name, dt, e, shape))
    if timeout is None:
        timeout = idle_timeout(mw)
    exe = build_design(design_dir)
    try:
        raw, stats = run_sim(exe, design_dir, man["inputs"], man["outputs"], beats_in, beats_out, frame_beats, in_gap,
                             out_stall, seed, timeout, False, what="the stitched design", in_rate=in_rate)
    except DeadlockError as e:
        raise DeadlockError(e.message + _where_stuck(mw, e), hint=e.hint) from None
    outs = {}
    for r, (name, dt, e, shape), s in zip(raw, out_info, man["outputs"]):
        y = unpack(r, dt, e).reshape((n,) + tuple(shape[1:]))
        outs[name] = _order(y, s["order_shape"], s["order_perm"], inverse=True)
    fd = stats["frame_done"][0] if stats["frame_done"] else []
    first = stats["first_in"]
    last = max((f[-1] for f in stats["frame_done"] if f), default=stats["sim_cycles"])
    stats["cycles"] = last - first
    stats["latency_cycles"] = (fd[0] - first) if fd else stats["cycles"]
    stats["interval_cycles"] = (fd[-1] - fd[0]) / (len(fd) - 1) if len(fd) > 1 else float(stats["cycles"])
    stats["frames"] = n
    return outs, stats


def _where_stuck(mw, err):
    """With FIFO monitors: which FIFOs hold beats at the deadlock, in graph
    order, so the layer that stopped is the one after the last full FIFO."""
    mons = getattr(err, "stats", {}).get("monitors", {})
    if not mons:
        return ""
    parts = []
    for n in mw.graph.node:
        if n.op_type == "StreamingFIFO" and f"mon_{n.name}_count" in mons:
            cons = mw.find_consumer(n.output[0])
            parts.append(f"{n.name}->{cons.name if cons is not None else 'output'}: "
                         f"{mons[f'mon_{n.name}_count']} held (max {mons.get(f'mon_{n.name}_maxcount')})")
    return "\n  FIFO occupancy at the deadlock: " + "; ".join(parts)
