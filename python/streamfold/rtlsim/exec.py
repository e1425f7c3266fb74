"""Node-by-node RTL simulation (FINN's node_by_node_rtlsim): every HW node of
a dataflow child runs in its own Verilator simulation, every other node on the
reference executor, each consuming the previous nodes' actual outputs. On a
partitioned parent, the host nodes run on the reference executor and each
StreamingDataflowPartition runs its child this way.

With backend="cppsim" (execute_onnx(..., backend="cppsim")) the HW nodes are
dispatched on their preferred_impl_style: "hls" nodes run in the C++
simulation of their HLS layer (streamfold.cppsim), "rtl" nodes in Verilator,
and nodes without a style in cppsim when their op has an HLS layer, else in
Verilator. Both simulations read and write the same packed beats, so a mixed
network runs node by node exactly as it would in hardware."""
from __future__ import annotations

import os

import numpy as np

from .. import _core
from ..core.modelwrapper import ModelWrapper
from ..errors import UnsupportedOpError

SDP = "StreamingDataflowPartition"


def _attr_str(node, key):
    if not node.has_attr(key):
        return None
    v = node.get_attr(key)
    return v.decode() if isinstance(v, bytes) else v


def layer_dir_of(mw, node, fallback_root=None, hls=False):
    """The node's emitted layer folder (RTL, or HLS with hls=True):
    code_gen_dir_ipgen (after step_hw_codegen), else emitted now under
    fallback_root."""
    from . import emit_node

    manifest = "sf_hls_layer.json" if hls else "sf_layer.json"
    d = _attr_str(node, "code_gen_dir_ipgen")
    if d and os.path.isfile(os.path.join(d, manifest)):
        return d
    if fallback_root is None:
        from .build import cache_dir
        import tempfile

        fallback_root = tempfile.mkdtemp(prefix="sf_nbn_", dir=os.path.join(cache_dir(), "runs"))
    d = os.path.join(fallback_root, f"code_gen_ipgen_{node.name}")
    if hls:
        from ..cppsim import emit_node as emit_hls

        emit_hls(mw, node.name, d)
    else:
        emit_node(mw, node.name, d)
    return d


def impl_style(node):
    """The node's preferred_impl_style ("rtl", "hls"), or None."""
    return _attr_str(node, "preferred_impl_style") or None


def runs_in_cppsim(node, hls_ops):
    """Whether backend="cppsim" simulates this HW node in cppsim (else Verilator)."""
    style = impl_style(node)
    if style == "hls":
        return True
    return style is None and node.op_type in hls_ops


def execute_node_by_node(model, input_dict, return_full_exec_context=False, in_gap=0.0, out_stall=0.0, seed=0,
                         workdir=None, sim_stats=None, backend="rtlsim"):
    """sim_stats: a list that receives the stats dict (cycles, latency,
    interval, FIFO monitors) of every stitched simulation run. backend
    "cppsim": HLS nodes in cppsim, the others in Verilator (module docstring)."""
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    from . import _simulate_emitted, load_manifest, rtl_ops
    from .stitched import simulate_design

    d = mw.get_metadata_prop("vivado_stitch_proj")
    if backend == "rtlsim" and d and os.path.isfile(os.path.join(d, "sf_design.json")) and \
            mw.get_metadata_prop("exec_mode") != "node_by_node":
        # A stitched child runs as one design (FINN's stitched_ip_rtlsim).
        outs, st = simulate_design(mw, d, {k: np.asarray(v, np.float32) for k, v in input_dict.items()},
                                   in_gap, out_stall, seed)
        if sim_stats is not None:
            sim_stats.append(st)
        if return_full_exec_context:
            outs = dict(outs, **input_dict)
        return outs

    rtl = set(rtl_ops())
    hls = set()
    if backend == "cppsim":
        from .. import cppsim

        hls = set(cppsim.hls_ops())
    ctx = {k: np.asarray(v, dtype=np.float32) for k, v in input_dict.items()}
    order = _core.topological_order(mw._model)
    nodes = mw.graph.node
    for idx in order:
        node = nodes[idx]
        ins = {t: ctx[t] for t in node.input if t and t in ctx}
        if node.op_type == SDP:
            child = ModelWrapper(node.get_attr("model"))
            cin = {ci.name: ins[pi] for ci, pi in zip(child.graph.input, node.input)}
            cout = execute_node_by_node(child, cin, False, in_gap, out_stall, seed, workdir, sim_stats, backend)
            outs = {po: cout[co.name] for co, po in zip(child.graph.output, node.output)}
        elif _core.is_hw_node(node):
            streamed = [t for t in node.input if t and mw.get_initializer(t) is None]
            if backend == "cppsim" and runs_in_cppsim(node, hls):
                from .. import cppsim

                if node.op_type not in hls:
                    raise UnsupportedOpError(f"{node.name} ({node.op_type}): preferred_impl_style is hls, but the op "
                                             "has no HLS implementation in this version",
                                             hint="set preferred_impl_style=rtl on this node (step_specialize_layers "
                                                  "does so with a warning)")
                d = layer_dir_of(mw, node, workdir, hls=True)
                res = cppsim.simulate_emitted(mw, node, d, cppsim.load_manifest(d), [ctx[t] for t in streamed])
            else:
                if node.op_type not in rtl:
                    raise UnsupportedOpError(f"{node.name} ({node.op_type}): no RTL implementation in this version",
                                             hint="run this model with backend='reference' or 'fast'" +
                                                  (", or 'cppsim' with preferred_impl_style=hls"
                                                   if backend == "rtlsim" else ""))
                d = layer_dir_of(mw, node, workdir)
                res = _simulate_emitted(mw, node, d, load_manifest(d), [ctx[t] for t in streamed], in_gap, out_stall,
                                        seed, None, False)
            outs = {}
            for t, y in zip(node.output, res.outputs):
                shape = mw.get_tensor_shape(t)
                if shape:
                    y = y.reshape((y.shape[0],) + tuple(shape[1:])) if y.size != np.prod(shape) else y.reshape(shape)
                outs[t] = y
        else:
            outs = _host_node(mw, node, ins)
        ctx.update(outs)
    if return_full_exec_context:
        return ctx
    return {o.name: ctx[o.name] for o in mw.graph.output}


def _host_node(mw, node, ins):
    """A non-HW node on the reference executor. A model exported with batch 1
    (a Reshape to (1, 784), say) still runs a batch of N: frame by frame."""
    n = None
    for t, v in ins.items():
        shape = mw.get_tensor_shape(t)
        if mw.get_initializer(t) is None and shape and shape[0] == 1 and v.ndim and v.shape[0] > 1:
            n = v.shape[0]
            break
    if n is None:
        return _core.execute_node(mw._model, node.name, ins)
    parts = []
    for i in range(n):
        one = {t: (v[i:i + 1] if mw.get_initializer(t) is None and v.ndim and v.shape[0] == n else v)
               for t, v in ins.items()}
        parts.append(_core.execute_node(mw._model, node.name, one))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
