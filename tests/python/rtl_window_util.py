"""Shared helpers of the RTL tests of the window ops (SWG, FMPadding,
StreamingMaxPool, Pool): single-node HW graphs, reference vs Verilator, the
cycle check against the op's estimate."""
import numpy as np
from onnx import TensorProto, helper

import streamfold as sf
from streamfold import _core, rtlsim
from streamfold.core.modelwrapper import ModelWrapper

HW = "finn.custom_op.fpgadataflow"


def node_model(op_type, in_shape, out_shape, in_dt=None, **attrs):
    """A one-node HW graph x -> y (node name <op_type>_0), as a ModelWrapper
    with x annotated with datatype in_dt."""
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))  # noqa: E731
    node = helper.make_node(op_type, ["x"], ["y"], domain=HW, name=f"{op_type}_0", **attrs)
    g = helper.make_graph([node], "g", [vi("x", in_shape)], [vi("y", out_shape)])
    mw = ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)]))
    if in_dt:
        mw.set_tensor_datatype("x", in_dt)
    return mw


def rand_values(rng, dt, shape):
    """Random legal values of QONNX datatype name dt."""
    if dt == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    if dt == "BINARY":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    bits = int(dt.lstrip("UINT"))
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.startswith("INT") else (0, (1 << bits) - 1)
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def estimate(model, name):
    return dict(_core.hw_estimate(model._model, name))


def check(model, x, runs=((0.0, 0.0, 1), (0.3, 0.3, 2), (0.5, 0.1, 3), (0.1, 0.6, 4)), cycles_tol=0.05):
    """Bit-exact against the reference on every run (in_gap, out_stall, seed);
    the first run must be gap-free and sets the cycle check."""
    name = model.graph.node[0].name

    want = sf.execute_onnx(model, {"x": x})["y"]
    est = estimate(model, name)["cycles"]
    first = None
    for gap, stall, seed in runs:
        r = rtlsim.simulate_node(model, name, [x], in_gap=gap, out_stall=stall, seed=seed)
        np.testing.assert_array_equal(r.outputs[0], want, err_msg=f"gap={gap} stall={stall} seed={seed}")
        if first is None:
            first = r
    if cycles_tol is not None and x.shape[0] > 1 and runs[0][:2] == (0.0, 0.0):
        assert abs(first.interval_cycles - est) <= cycles_tol * est + 1, (first.interval_cycles, est)
    return first, est
