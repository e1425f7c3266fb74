"""Shared helpers of the RTL tests of the stream ops (FIFO, DWC, DuplicateStreams,
AddStreams, StreamingConcat, LabelSelect, GlobalAccPool, ChannelwiseOp):
single-node HW graphs with any number of inputs/outputs/initializers, reference
vs Verilator on every output, the cycle check against the op's estimate."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import _core, rtlsim
from streamfold.core.modelwrapper import ModelWrapper

HW = "finn.custom_op.fpgadataflow"
RUNS = ((0.0, 0.0, 1), (0.3, 0.3, 2), (0.5, 0.1, 3), (0.1, 0.6, 4))


def rand_values(rng, dt, shape):
    """Random legal values of QONNX datatype name dt."""
    if dt == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    if dt == "BINARY":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    bits = int(dt.lstrip("UINT"))
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.startswith("INT") else (0, (1 << bits) - 1)
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def node_model(op_type, ins, outs, inits=None, **attrs):
    """A one-node HW graph named <op_type>_0. ins: [(name, shape, dtype)],
    outs: [(name, shape)], inits: {name: array} (appended to the inputs)."""
    inits = inits or {}
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))  # noqa: E731
    node = helper.make_node(op_type, [i[0] for i in ins] + list(inits), [o[0] for o in outs], domain=HW,
                            name=f"{op_type}_0", **attrs)
    g = helper.make_graph([node], "g", [vi(n, s) for n, s, _ in ins], [vi(n, s) for n, s in outs],
                          initializer=[numpy_helper.from_array(np.asarray(v, dtype=np.float32), k)
                                       for k, v in inits.items()])
    mw = ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)]))
    for n, _, dt in ins:
        if dt:
            mw.set_tensor_datatype(n, dt)
    return mw


def estimate(model, name):
    return dict(_core.hw_estimate(model._model, name))


def check(model, xs, runs=RUNS, cycles_tol=0.05):
    """Bit-exact against the reference on every output and run (in_gap,
    out_stall, seed); the first run must be gap-free and sets the cycle check
    (mean frame interval vs estimate().cycles). xs: {input name: array}."""
    node = model.graph.node[0]
    want = sf.execute_onnx(model, xs)
    outs = [want[o] for o in node.output]
    est = estimate(model, node.name)["cycles"]
    first = None
    arrays = [xs[i] for i in node.input if i in xs]
    for gap, stall, seed in runs:
        r = rtlsim.simulate_node(model, node.name, arrays, in_gap=gap, out_stall=stall, seed=seed)
        assert len(r.outputs) == len(outs)
        for j, (got, exp) in enumerate(zip(r.outputs, outs)):
            np.testing.assert_array_equal(got, exp, err_msg=f"output {j} gap={gap} stall={stall} seed={seed}")
        if first is None:
            first = r
    n = next(iter(xs.values())).shape[0]
    if cycles_tol is not None and n > 1 and runs[0][:2] == (0.0, 0.0):
        assert abs(first.interval_cycles - est) <= cycles_tol * est + 1, (first.interval_cycles, est)
    return first, est
