"""C++ simulation (cppsim) of streamfold's HLS layers (DESIGN §7.7).

Each HW op with an HLS implementation writes, through its OpDef::emit_hls,
a self-contained layer folder (top_<node>.cpp, params_<node>.h, the .dat
copies of its arrays, hlslib/*.hpp, hls_syn_<node>.tcl, sf_hls_layer.json).
cppsim compiles the top with plain g++ against Xilinx's ap_int.h and
hls_stream.h (from the installed hls4ml package) and a generated harness,
cached by content hash; the streams carry exactly the RTL layers' packed
beats, packed and unpacked by the same code as the Verilator simulation.

    from streamfold import cppsim
    r = cppsim.simulate_node(model, "MVAU_0", [x])
    r.outputs[0]
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass

from .. import _core
from ..core.modelwrapper import ModelWrapper
from ..errors import StreamfoldError
from .build import BUILD_LOG, CppsimError, ap_types_dir, build_layer, harness_source, run_layer

__all__ = ["hls_ops", "emit_node", "load_manifest", "build_layer", "run_layer", "simulate_node", "simulate_layer",
           "CppsimResult", "CppsimError", "BUILD_LOG", "ap_types_dir", "harness_source", "MANIFEST"]

MANIFEST = "sf_hls_layer.json"


def hls_ops():
    """op_types that have an HLS implementation."""
    return sorted(set(_core.hls_ops()))


def _mw(model):
    return model if isinstance(model, ModelWrapper) else ModelWrapper(model)


def emit_node(model, node_name, out_dir, fpga_part="", clk_ns=10.0):
    """Write HW node `node_name`'s HLS layer folder into out_dir; returns out_dir."""
    _core.hls_emit_layer(_mw(model)._model, node_name, os.fspath(out_dir), fpga_part, float(clk_ns))
    return os.fspath(out_dir)


def load_manifest(layer_dir):
    p = os.path.join(layer_dir, MANIFEST)
    if not os.path.isfile(p):
        raise CppsimError(f"{layer_dir} has no {MANIFEST}", hint="emit the layer first (step_hw_codegen with "
                                                                 "preferred_impl_style=hls)")
    with open(p) as f:
        return json.load(f)


@dataclass
class CppsimResult:
    outputs: list
    frames: int
    seconds: float  # wall time of the simulation run (compile excluded)


def simulate_layer(layer_dir, beats_in, frames, beats_out=None):
    """Run an emitted layer folder on packed beats; returns the output beats."""
    man = load_manifest(layer_dir)
    return run_layer(layer_dir, man, beats_in, frames, beats_out)


def simulate_emitted(mw, node, layer_dir, man, inputs):
    """cppsim of an emitted layer on normal-shaped inputs (batch first)."""
    from ..rtlsim import _out_beats, _pack_node_inputs, _unpack_node_outputs

    beats_in, n, ss = _pack_node_inputs(mw, node, man, inputs)
    beats_out, _ = _out_beats(man, ss, n)
    build_layer(layer_dir, man)
    t0 = time.perf_counter()
    raw = run_layer(layer_dir, man, beats_in, n, beats_out)
    dt = time.perf_counter() - t0
    return CppsimResult(_unpack_node_outputs(mw, node, man, raw, n, ss), n, dt)


def simulate_node(model, node_name, inputs, workdir=None, fpga_part="", clk_ns=10.0):
    """cppsim of one HW node of `model` on normal-shaped inputs (leading
    batch axis N, one top call per frame). Returns CppsimResult with the
    outputs in the node's normal output shapes (batch N)."""
    from ..rtlsim.build import cache_dir

    mw = _mw(model)
    node = mw.get_node_from_name(node_name)
    if node is None:
        raise StreamfoldError(f"no node named {node_name!r}", hint="check the node name")
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix=f"sf_cppsim_{node_name}_", dir=os.path.join(cache_dir(), "runs"))
    layer_dir = os.path.join(os.fspath(workdir), f"code_gen_ipgen_{node_name}")
    if not os.path.isfile(os.path.join(layer_dir, MANIFEST)):
        emit_node(mw, node_name, layer_dir, fpga_part, clk_ns)
    return simulate_emitted(mw, node, layer_dir, load_manifest(layer_dir), inputs)
