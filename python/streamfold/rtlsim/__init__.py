"""Verilator simulation of streamfold's RTL (DESIGN §7.3).

A design (one layer folder written by the op's RTL emitter, or the stitched
accelerator) is compiled once with streamfold's C++ harness and cached by a
hash of its Verilog, so every layer whose Verilog is identical shares one
binary: memory files are read by relative name from the layer folder, in which
the simulation runs. The harness streams packed beats in and out with seeded
random input gaps and output stalls, counts cycles, and names the stalled
stream when nothing moves.

    from streamfold import rtlsim
    r = rtlsim.simulate_node(model, "MVAU_0", [x], in_gap=0.3, out_stall=0.3, seed=1)
    r.outputs[0], r.cycles, r.latency_cycles, r.interval_cycles
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from ..core.modelwrapper import ModelWrapper
from ..driver.packing import pack, unpack
from ..errors import StreamfoldError
from .build import DeadlockError, SimulationError, build_sim, cache_dir, lint_sources, read_manifest, run_sim
from .synth import synth_layer
from .weights import weight_stream

__all__ = ["weight_stream", "emit_node", "simulate_node", "simulate_layer", "lint_layer", "synth_layer", "rtl_ops", "build_layer",
           "load_manifest", "SimResult", "DeadlockError", "SimulationError", "cache_dir"]


def rtl_ops():
    """op_types that have an RTL implementation."""
    return sorted(set(_core.rtl_ops()))


def _mw(model):
    return model if isinstance(model, ModelWrapper) else ModelWrapper(model)


def emit_node(model, node_name, out_dir):
    """Write HW node `node_name`'s RTL (layer top, library modules, memory files,
    sf_layer.json) into out_dir; returns out_dir."""
    _core.rtl_emit_layer(_mw(model)._model, node_name, os.fspath(out_dir))
    return os.fspath(out_dir)


def load_manifest(layer_dir):
    return read_manifest(layer_dir, "sf_layer.json", "RTL layer", "emit the layer first (step_hw_codegen)",
                         SimulationError)


def _sources(layer_dir, man):
    return [os.path.join(layer_dir, s) for s in man["sources"]]


def build_layer(layer_dir):
    """The cached Verilator simulation binary of a layer folder."""
    man = load_manifest(layer_dir)
    return build_sim(_sources(layer_dir, man), man["top"], man["inputs"], man["outputs"], man["mem_files"])


def lint_layer(layer_dir):
    """Verilator --lint-only -Wall over the layer; returns the warning lines
    (empty when clean); raises SimulationError on errors."""
    man = load_manifest(layer_dir)
    return lint_sources(_sources(layer_dir, man), man["top"])


@dataclass
class SimResult:
    outputs: list
    cycles: int                 # first input beat offered -> last output beat taken
    latency_cycles: int         # first input beat -> first full output frame
    interval_cycles: float      # mean cycles between frame completions (cycles if one frame)
    frames: int
    frame_done: list = field(default_factory=list)  # completion cycle of each frame (output 0)
    stats: dict = field(default_factory=dict)


def _order(x, shape, perm, inverse=False):
    """Apply a stream-order spec (innermost axis reshaped to `shape`, transposed
    by `perm`, flattened) or its inverse."""
    if not shape:
        return x
    lead = x.shape[:-1]
    if not inverse:
        return x.reshape(lead + tuple(shape)).transpose(
            tuple(range(len(lead))) + tuple(len(lead) + p for p in perm)).reshape(x.shape)
    tshape = tuple(shape[p] for p in perm)
    inv = np.argsort(perm)
    return x.reshape(lead + tshape).transpose(
        tuple(range(len(lead))) + tuple(len(lead) + int(p) for p in inv)).reshape(x.shape)


def simulate_layer(layer_dir, beats_in, beats_out, frame_beats, in_gap=0.0, out_stall=0.0, seed=0, timeout=None,
                   rand_reset=False, in_rate=1.0, trace=False):
    """Run a layer folder on packed input beats. beats_in: list of uint8
    arrays (beats, tdata bytes), one per input stream; beats_out: expected
    beats per output stream; frame_beats: beats per frame per output stream.
    Returns (list of uint8 output arrays, stats dict)."""
    man = load_manifest(layer_dir)
    exe = build_layer(layer_dir)
    return run_sim(exe, layer_dir, man["inputs"], man["outputs"], beats_in, beats_out, frame_beats,
                   in_gap, out_stall, seed, timeout, rand_reset, what=man["node"], in_rate=in_rate, trace=trace)


def _stream_inputs(mw, node):
    """Names of a node's streamed inputs: the non-initializer inputs, in order."""
    return [t for t in node.input if t and mw.get_initializer(t) is None]


def simulate_node(model, node_name, inputs, in_gap=0.0, out_stall=0.0, seed=0, workdir=None, timeout=None,
                  rand_reset=False, in_rate=1.0, trace=False):
    """Simulate one HW node of `model` in Verilator on normal-shaped inputs
    (leading batch axis N, the frames going back to back). Returns SimResult
    with the outputs in the node's normal output shapes (batch N). trace:
    stats["trace"] holds every beat's handshake cycles (run_sim)."""
    mw = _mw(model)
    node = mw.get_node_from_name(node_name)
    if node is None:
        raise StreamfoldError(f"no node named {node_name!r}", hint="check the node name")
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix=f"sf_rtlsim_{node_name}_", dir=os.path.join(cache_dir(), "runs"))
    layer_dir = os.path.join(os.fspath(workdir), f"code_gen_ipgen_{node_name}")
    if not os.path.isfile(os.path.join(layer_dir, "sf_layer.json")):
        emit_node(mw, node_name, layer_dir)
    man = load_manifest(layer_dir)
    return _simulate_emitted(mw, node, layer_dir, man, inputs, in_gap, out_stall, seed, timeout, rand_reset,
                             in_rate, trace)


def _out_dtype(mw, node, j):
    dt = mw.get_tensor_datatype(node.output[j])
    if dt.name == "FLOAT32":  # not annotated (hand-built graph): ask the op
        m2 = mw.transform("InferDataTypes")
        dt = m2.get_tensor_datatype(node.output[j])
    return dt


def _pack_node_inputs(mw, node, man, inputs):
    """Normal-shaped input arrays -> packed beats per input stream of the
    manifest `man` (its streams' widths and beat orders). Returns
    (beats_in, frames, stream shapes). Shared with the HLS cppsim, so both
    back ends see identical beats."""
    ss = _core.hw_stream_shapes(mw._model, node.name)
    e_in = int(ss["folded_in"][-1])
    # Weight streams (mem_mode external) are fed here from the node's own
    # weights, after the data streams (the layer top lists them last).
    ins = [s for s in man["inputs"] if not s.get("weights")]
    w_ins = [s for s in man["inputs"] if s.get("weights")]
    if len(inputs) != len(ins):
        raise StreamfoldError(f"{node.name} has {len(ins)} input stream(s), got {len(inputs)} array(s)",
                              hint="pass one array per streamed input, in node input order")
    frame_in = int(np.prod(ss["normal_in"][1:]))
    xs = [np.asarray(x, dtype=np.float32) for x in inputs]
    n = xs[0].size // frame_in if frame_in else 1
    beats_in = []
    for x, s in zip(xs, ins):
        bits = s["width"] // e_in
        x = _order(x.reshape(n, -1, x.shape[-1]) if x.ndim > 1 else x.reshape(n, -1), s["order_shape"],
                   s["order_perm"])
        beats_in.append(pack(x.reshape(-1, e_in), _in_dtype(mw, node, len(beats_in), bits)))
    if w_ins:
        from .weights import weight_stream
        beats_in.append(weight_stream(mw, node.name).frames(n))
    return beats_in, n, ss


def _out_beats(man, ss, n):
    """(beats per output stream for n frames, beats per frame)."""
    e_out = int(ss["folded_out"][-1])
    frame_out = int(np.prod(tuple(int(v) for v in ss["normal_out"])[1:]))
    return [n * frame_out // e_out] * len(man["outputs"]), [frame_out // e_out] * len(man["outputs"])


def _unpack_node_outputs(mw, node, man, raw, n, ss):
    """Output beats (uint8 arrays) -> normal-shaped arrays (batch n)."""
    e_out = int(ss["folded_out"][-1])
    out_normal = tuple(int(v) for v in ss["normal_out"])
    results = []
    for j, (r, s) in enumerate(zip(raw, man["outputs"])):
        dt = _out_dtype(mw, node, j)
        y = unpack(r, dt, e_out).reshape((n,) + out_normal[1:])
        results.append(_order(y, s["order_shape"], s["order_perm"], inverse=True))
    return results


def _simulate_emitted(mw, node, layer_dir, man, inputs, in_gap, out_stall, seed, timeout, rand_reset, in_rate=1.0,
                      trace=False):
    beats_in, n, ss = _pack_node_inputs(mw, node, man, inputs)
    beats_out, frame_beats = _out_beats(man, ss, n)
    if timeout is None:
        est = _core.hw_estimate(mw._model, node.name)["cycles"]
        timeout = max(20000, 4 * int(est))
    raw, stats = simulate_layer(layer_dir, beats_in, beats_out, frame_beats, in_gap, out_stall, seed, timeout,
                                rand_reset, in_rate, trace)
    results = _unpack_node_outputs(mw, node, man, raw, n, ss)
    fd = stats["frame_done"][0] if stats["frame_done"] else []
    first = stats["first_in"]
    last = max((f[-1] for f in stats["frame_done"] if f), default=stats["sim_cycles"])
    cycles = last - first
    latency = (fd[0] - first) if fd else cycles
    interval = (fd[-1] - fd[0]) / (len(fd) - 1) if len(fd) > 1 else float(cycles)
    return SimResult(results, cycles, latency, interval, n, list(fd), stats)


def _in_dtype(mw, node, i, bits):
    """The datatype input stream i is packed with: its annotation, else (hand-
    built graphs) the node's own input datatype attribute."""
    name = mw.get_tensor_datatype(node.input[i]).name
    if name != "FLOAT32":
        return name
    for key in ("inputDataType", "dataType", "InputDataType"):
        if node.has_attr(key):
            v = node.get_attr(key)
            return v.decode() if isinstance(v, bytes) else v
    if node.has_attr("inputDataTypes"):
        v = node.get_attr("inputDataTypes")
        if len(v) > i:
            return v[i].decode() if isinstance(v[i], bytes) else v[i]
    return f"INT{bits}" if bits > 1 else "BINARY"
