"""execute_onnx, with qonnx's calling convention."""
from __future__ import annotations

from .. import _core
from ..errors import InputError
from .modelwrapper import ModelWrapper

BACKENDS = ("reference", "fast", "rtlsim", "cppsim")


def execute_onnx(model, input_dict, return_full_exec_context=False, backend="reference", **sim_options):
    """Run ``model`` on ``input_dict`` (name -> np.ndarray).

    Returns a dict of the graph outputs, or of every tensor in the graph
    (inputs, initializers and intermediates) with
    ``return_full_exec_context=True``. ``model`` may be a ModelWrapper, a
    path, bytes or an onnx.ModelProto. The GIL is released while running.

    backend="rtlsim" simulates the RTL in Verilator: node by node (FINN's
    node_by_node_rtlsim) on a dataflow child or a partitioned parent.
    sim_options (in_gap, out_stall, seed) set random input gaps and output
    stalls for the simulations.

    backend="cppsim" runs node by node too, dispatching each HW node on its
    preferred_impl_style: "hls" nodes in the C++ simulation of their HLS layer
    (FINN's cppsim), "rtl" nodes in Verilator, nodes without a style in cppsim
    where their op has an HLS layer; a network specialized partly to HLS and
    partly to RTL runs mixed, the two exchanging the same packed beats.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}", hint=f"use one of {', '.join(BACKENDS)}")
    if not isinstance(input_dict, dict):
        raise InputError("input_dict must be a dict mapping input names to arrays",
                         hint="e.g. execute_onnx(model, {'global_in': x})")
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    if backend == "fast":
        if return_full_exec_context:
            raise InputError("the fast backend keeps no intermediate tensors",
                             hint="use backend='reference' with return_full_exec_context=True")
        from ..engine import Engine
        return Engine(mw, streamline=False)._engine.run(input_dict)
    if backend in ("rtlsim", "cppsim"):
        from ..rtlsim.exec import execute_node_by_node
        return execute_node_by_node(mw, input_dict, return_full_exec_context, backend=backend, **sim_options)
    return _core.execute(mw._model, input_dict, bool(return_full_exec_context))
