"""Streamlining passes through the public API: each pass on tiny onnx.helper
graphs with random constants (scalar and per-channel, negative and zero, odd
channel counts), verified pass by pass with run_pipeline (integer outputs
must match bit for bit); then the zoo MLPs end to end after qonnx_to_finn.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import DataType, ModelWrapper, execute_onnx

QDOM = "qonnx.custom_op.general"
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- helpers
def make_model(nodes, inputs, outputs, inits=None, dtypes=None):
    """inputs: [(name, shape)]; inits: {name: array}; dtypes: {tensor: 'INT4'}."""
    vis = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs]
    init = [numpy_helper.from_array(np.asarray(v, dtype=np.int64 if np.asarray(v).dtype.kind == "i" else np.float32),
                                    name=k) for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "g", vis, outs, init)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOM, 1)])
    m = ModelWrapper(model)
    for k, v in (dtypes or {}).items():
        m.set_tensor_datatype(k, DataType[v])
    return m


def mt_node(x, thr, y, out_dtype="UINT2", **attrs):
    return helper.make_node("MultiThreshold", [x, thr], [y], domain=QDOM, out_dtype=out_dtype, **attrs)


def feeds(name, shape, n=3, lo=-4.0, hi=4.0, integer=False, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        v = rng.uniform(lo, hi, size=shape)
        out.append({name: (np.round(v) if integer else v).astype(np.float32)})
    return out


def run(m, passes, inputs):
    """Runs InferShapes, InferDataTypes and `passes` with verification after
    every pass; returns the model and the set of passes that changed it."""
    m2, rep = sf.transformation.run_pipeline(m, ["InferShapes", "InferDataTypes", *passes], verify_inputs=inputs)
    return m2, {p["name"] for p in rep.passes if p["changed"]}


def ops(m):
    return [n.op_type for n in m.graph.node]


# Constants: a few special values (zero, +-1, negatives) mixed with random floats.
values = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0]),
                   st.floats(-4, 4, allow_nan=False, width=32))
pos_values = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 3.0]), st.floats(0, 4, allow_nan=False, width=32))
channels = st.sampled_from([1, 3, 5, 7])


@st.composite
def const_for(draw, rank, axis, C, elems=values):
    """A scalar or a per-channel constant for a rank-`rank` tensor with C channels on `axis`."""
    if C == 1 or draw(st.booleans()):
        return np.array([draw(elems)], np.float32)
    shape = [1] * rank
    shape[axis] = C
    return np.array(draw(st.lists(elems, min_size=C, max_size=C)), np.float32).reshape(shape)


def sorted_thresholds(draw, rows, steps):
    t = np.array(draw(st.lists(st.floats(-6, 6, allow_nan=False, width=32), min_size=rows * steps,
                               max_size=rows * steps)), np.float32).reshape(rows, steps)
    return np.sort(t, axis=1)


# ---------------------------------------------------------------- conversions
@SETTINGS
@given(C=channels, c=st.data())
def test_sub_and_div_become_add_and_mul(C, c):
    a = c.draw(const_for(2, 1, C))
    d = c.draw(const_for(2, 1, C, elems=st.sampled_from([0.25, -4.0, 3.0, 0.1, -7.5])))
    m = make_model([helper.make_node("Sub", ["x", "a"], ["t"]), helper.make_node("Sub", ["a", "t"], ["u"]),
                    helper.make_node("Div", ["u", "d"], ["y"])], [("x", (2, C))], ["y"], {"a": a, "d": d})
    m2, changed = run(m, ["ConvertSubToAdd", "ConvertDivToMul"], feeds("x", (2, C)))
    assert {"ConvertSubToAdd", "ConvertDivToMul"} <= changed
    assert "Sub" not in ops(m2) and "Div" not in ops(m2)


@SETTINGS
@given(C=channels, data=st.data())
def test_batchnorm_to_affine(C, data):
    p = {k: np.array(data.draw(st.lists(values, min_size=C, max_size=C)), np.float32)
         for k in ("scale", "bias", "mean")}
    p["var"] = np.abs(np.array(data.draw(st.lists(values, min_size=C, max_size=C)), np.float32)) + 0.1
    m = make_model([helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])],
                   [("x", (1, C, 3, 2))], ["y"], p)
    m2, _ = run(m, ["BatchNormToAffine"], feeds("x", (1, C, 3, 2)))
    assert "BatchNormalization" not in ops(m2)
    assert set(ops(m2)) <= {"Mul", "Add", "Identity"}


def test_sign_to_thresholds_is_exact_on_zeros():
    m = make_model([helper.make_node("Sign", ["x"], ["y"])], [("x", (1, 9))], ["y"])
    m2, changed = run(m, ["ConvertSignToThres"], feeds("x", (1, 9), n=4, lo=-2, hi=2, integer=True))
    assert ops(m2) == ["MultiThreshold"]


# ---------------------------------------------------------------- moves
INVARIANTS = ["Reshape", "Transpose", "Flatten", "Squeeze", "MaxPool", "GlobalAveragePool", "PadEdge", "Slice"]


@SETTINGS
@given(C=channels, op=st.sampled_from(INVARIANTS), mul=st.booleans(), data=st.data())
def test_linear_past_invariants(C, op, mul, data):
    c = data.draw(const_for(4, 1, C))
    inits = {"c": c}
    shape = (1, C, 2, 4)
    if op == "Reshape":
        inits["s"] = np.array([1, C * 8], np.int64)
        inv = helper.make_node("Reshape", ["t", "s"], ["y"])
    elif op == "Transpose":
        inv = helper.make_node("Transpose", ["t"], ["y"], perm=[0, 2, 3, 1])
    elif op == "Flatten":
        inv = helper.make_node("Flatten", ["t"], ["y"])
    elif op == "Squeeze":
        inits["ax"] = np.array([0], np.int64)
        inv = helper.make_node("Squeeze", ["t", "ax"], ["y"])
    elif op == "MaxPool":
        inv = helper.make_node("MaxPool", ["t"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    elif op == "GlobalAveragePool":
        inv = helper.make_node("GlobalAveragePool", ["t"], ["y"])
    elif op == "PadEdge":
        inits["pads"] = np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64)
        inv = helper.make_node("Pad", ["t", "pads"], ["y"], mode="edge")
    else:
        inits.update(st=np.array([1], np.int64), en=np.array([3], np.int64), axs=np.array([3], np.int64))
        inv = helper.make_node("Slice", ["t", "st", "en", "axs"], ["y"])
    m = make_model([helper.make_node("Mul" if mul else "Add", ["x", "c"], ["t"]), inv], [("x", shape)], ["y"],
                   inits)
    m2, changed = run(m, ["MoveScalarLinearPastInvariants"], feeds("x", shape))
    scalar = c.size == 1
    if scalar and not (mul and op == "MaxPool"):  # Mul past MaxPool is MoveMulPastMaxPool's (sign check)
        assert ops(m2)[-1] == ("Mul" if mul else "Add"), ops(m2)


@SETTINGS
@given(C=channels, data=st.data(), seq=st.lists(st.sampled_from(["Add", "Mul"]), min_size=2, max_size=5))
def test_add_past_mul_and_collapse(C, data, seq):
    nodes, inits, prev = [], {}, "x"
    for k, op in enumerate(seq):
        inits[f"c{k}"] = data.draw(const_for(2, 1, C))
        out = "y" if k == len(seq) - 1 else f"t{k}"
        nodes.append(helper.make_node(op, [prev, f"c{k}"], [out]))
        prev = out
    m = make_model(nodes, [("x", (2, C))], ["y"], inits)
    m2, _ = run(m, ["MoveAddPastMul", "CollapseRepeatedMul", "CollapseRepeatedAdd"], feeds("x", (2, C)))
    o = [t for t in ops(m2) if t != "Identity"]
    assert o.count("Add") <= 1 and o == sorted(o, key=lambda t: t != "Mul"), o
    if o.count("Mul") == 2:  # only a sign split (Mul(+-1) -> Mul(>= 0)) is left apart, for the weights to take
        sign = m2.get_initializer(m2.graph.node[0].input[1])
        assert set(np.unique(sign)) <= {-1.0, 1.0}, sign
    else:
        assert o.count("Mul") <= 1, o


@SETTINGS
@given(K=channels, N=channels, data=st.data())
def test_linear_past_matmul(K, N, data):
    a = data.draw(const_for(2, 1, K))
    s = np.array([data.draw(values)], np.float32)
    w = np.array(data.draw(st.lists(st.integers(-2, 1), min_size=K * N, max_size=K * N)), np.float32).reshape(K, N)
    m = make_model([helper.make_node("Add", ["x", "a"], ["t"]), helper.make_node("Mul", ["t", "s"], ["u"]),
                    helper.make_node("MatMul", ["u", "W"], ["y"])], [("x", (3, K))], ["y"],
                   {"a": a, "s": s, "W": w}, dtypes={"W": "INT2"})
    m2, _ = run(m, ["MoveAddPastMul", "MoveScalarAddPastMatMul", "MoveScalarMulPastMatMul"], feeds("x", (3, K)))
    assert ops(m2)[0] == "MatMul", ops(m2)


@SETTINGS
@given(C=channels, data=st.data(), depthwise=st.booleans())
def test_linear_past_conv(C, data, depthwise):
    a = data.draw(const_for(4, 1, C))
    s = data.draw(const_for(4, 1, C)) if depthwise else np.array([data.draw(values)], np.float32)
    O, cg = (2 * C, 1) if depthwise else (3, C)
    w = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=O * cg * 4, max_size=O * cg * 4)),
                 np.float32).reshape(O, cg, 2, 2)
    b = np.array(data.draw(st.lists(values, min_size=O, max_size=O)), np.float32)
    conv_a = helper.make_node("Conv", ["t", "W", "b"], ["u"], group=C if depthwise else 1)
    conv_m = helper.make_node("Conv", ["v", "W2"], ["y"], group=O if depthwise else 1, pads=[1, 1, 0, 0])
    w2 = (np.ones((O, 1, 2, 2)) if depthwise else np.ones((2, O, 2, 2))).astype(np.float32)
    m = make_model([helper.make_node("Add", ["x", "a"], ["t"]), conv_a,
                    helper.make_node("Mul", ["u", "s2"], ["v"]), conv_m],
                   [("x", (1, C, 4, 5))], ["y"], {"a": a, "W": w, "b": b, "s2": _fit(s, O), "W2": w2})
    m2, changed = run(m, ["MoveAddPastConv", "MoveScalarMulPastConv", "MoveScalarMulPastDWConv"],
                      feeds("x", (1, C, 4, 5)))
    assert "MoveAddPastConv" in changed
    assert ops(m2)[:2] == ["Conv", "Add"] or ops(m2)[:2] == ["Conv", "Mul"], ops(m2)


def _fit(s, O):
    """A per-channel constant of C values repeated to O channels (or the scalar)."""
    if s.size == 1:
        return s
    return np.repeat(s.reshape(-1), O // s.size).reshape(1, O, 1, 1).astype(np.float32)


# ---------------------------------------------------------------- absorbs (bit-exact)
@SETTINGS
@given(C=channels, B=st.integers(1, 4), data=st.data(), nhwc=st.booleans(), shared=st.booleans())
def test_mul_add_absorbed_into_thresholds_exactly(C, B, data, nhwc, shared):
    axis = 3 if nhwc else 1
    shape = (1, 2, 3, C) if nhwc else (1, C, 2, 3)
    mul = data.draw(const_for(4, axis, C))
    add = data.draw(const_for(4, axis, C))
    thr = sorted_thresholds(data.draw, 1 if shared else C, B)
    m = make_model([helper.make_node("Mul", ["x", "m"], ["t"]), helper.make_node("Add", ["t", "a"], ["u"]),
                    mt_node("u", "thr", "y", out_dtype="UINT3", data_layout="NHWC" if nhwc else "NCHW")],
                   [("x", shape)], ["y"], {"m": mul, "a": add, "thr": thr})
    passes = ["AbsorbAddIntoMultiThreshold", "FactorOutMulSignMagnitude", "AbsorbMulIntoMultiThreshold"]
    m2, _ = run(m, passes, feeds("x", shape, n=4))
    o = ops(m2)
    assert "Add" not in o
    if (mul < 0).any():
        assert o == ["Mul", "MultiThreshold"], o  # the sign part stays (refused), the magnitude is absorbed
    else:
        assert o == ["MultiThreshold"], o


@SETTINGS
@given(dt=st.sampled_from(["UINT2", "UINT4", "INT3", "INT8", "BIPOLAR", "BINARY", "TERNARY"]), C=channels,
       data=st.data())
def test_round_and_clip_thresholds(dt, C, data):
    d = DataType[dt]
    thr = sorted_thresholds(data.draw, C, 3) * (d.max() - d.min() + 2) / 8
    m = make_model([mt_node("x", "thr", "y")], [("x", (2, C))], ["y"], {"thr": thr}, dtypes={"x": dt})
    levels = np.array([v for v in range(int(d.min()), int(d.max()) + 1) if d.allowed(v)], np.float32)
    rng = np.random.default_rng(0)
    ins = [{"x": rng.choice(levels, size=(2, C)).astype(np.float32)} for _ in range(8)]
    m2, _ = run(m, ["RoundAndClipThresholds"], ins)
    t = m2.get_initializer(m2.graph.node[0].input[1])
    assert np.all(t == np.ceil(t)) and t.min() >= d.min() and t.max() <= d.max() + 1


def test_sign_bias_and_one_bit_muls():
    w = np.array([[1, -2, 1], [0, 1, -1]], np.float32)
    m = make_model([mt_node("x", "thr", "a", out_dtype="UINT2"), helper.make_node("Add", ["a", "b"], ["a2"]),
                    helper.make_node("MatMul", ["a2", "W"], ["h"]), helper.make_node("Mul", ["h", "s"], ["y"])],
                   [("x", (1, 2))], ["y"],
                   {"thr": np.array([[-1, 0, 1]], np.float32), "b": np.array([-2], np.float32), "W": w,
                    "s": np.array([-1, 1, 0], np.float32)}, dtypes={"W": "INT2"})
    m2, changed = run(m, ["AbsorbSignBiasIntoMultiThreshold", "Absorb1BitMulIntoMatMul"], feeds("x", (1, 2), n=6))
    assert ops(m2) == ["MultiThreshold", "MatMul"]
    assert m2.get_tensor_datatype(m2.graph.node[1].input[1]).is_integer()


@SETTINGS
@given(C=channels, O=channels, data=st.data())
def test_one_bit_muls_into_weights(C, O, data):
    signs = st.sampled_from([-1.0, 0.0, 1.0])
    w = np.array(data.draw(st.lists(st.integers(-4, 3), min_size=O * C * 4, max_size=O * C * 4)),
                 np.float32).reshape(O, C, 2, 2)
    b = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=O, max_size=O)), np.float32)
    cs = data.draw(const_for(4, 1, O, elems=signs))
    wm = np.array(data.draw(st.lists(st.integers(-4, 3), min_size=O * 2, max_size=O * 2)), np.float32).reshape(O, 2)
    cm = data.draw(const_for(2, 1, 2, elems=signs)).reshape(-1)
    m = make_model([helper.make_node("Conv", ["x", "W", "b"], ["t"]), helper.make_node("Mul", ["t", "cs"], ["u"]),
                    helper.make_node("GlobalMaxPool", ["u"], ["v"]), helper.make_node("Flatten", ["v"], ["f"]),
                    helper.make_node("MatMul", ["f", "Wm"], ["h"]), helper.make_node("Mul", ["h", "cm"], ["y"])],
                   [("x", (1, C, 3, 3))], ["y"], {"W": w, "b": b, "cs": cs, "Wm": wm, "cm": cm},
                   dtypes={"W": "INT3", "Wm": "INT3"})
    m2, changed = run(m, ["Absorb1BitMulIntoConv", "Absorb1BitMulIntoMatMul"],
                      feeds("x", (1, C, 3, 3), integer=True))
    assert "Mul" not in ops(m2), ops(m2)
    for n in m2.graph.node:
        if n.op_type in ("Conv", "MatMul"):
            wt, dt = m2.get_initializer(n.input[1]), m2.get_tensor_datatype(n.input[1])
            assert all(dt.allowed(float(v)) for v in wt.ravel()), (dt, wt)


def test_maxpool_moves_and_eltwise_fork():
    C = 3
    s = np.array([0.5, 0.0, 2.0], np.float32).reshape(1, C, 1, 1)
    thr = np.array([[-1, 0, 1]] * C, np.float32)
    m = make_model([helper.make_node("Mul", ["x", "s"], ["t"]),
                    helper.make_node("MaxPool", ["t"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
                    mt_node("p", "thr", "q"),
                    helper.make_node("Mul", ["q", "k"], ["r"]),
                    helper.make_node("Relu", ["r"], ["r1"]), helper.make_node("Neg", ["r"], ["r2"]),
                    helper.make_node("Mul", ["r1", "k"], ["u1"]), helper.make_node("Mul", ["r2", "k"], ["u2"]),
                    helper.make_node("Add", ["u1", "u2"], ["y"])],
                   [("x", (1, C, 4, 4))], ["y"], {"s": s, "thr": thr, "k": np.array([0.25], np.float32)})
    passes = ["MoveMulPastMaxPool", "AbsorbMulIntoMultiThreshold", "MoveMaxPoolPastMultiThreshold",
              "MoveLinearPastFork", "MoveLinearPastEltwiseAdd"]
    m2, changed = run(m, passes, feeds("x", (1, C, 4, 4)))
    assert set(passes) <= changed, changed
    assert ops(m2)[:2] == ["MultiThreshold", "MaxPool"]


# ---------------------------------------------------------------- zoo MLPs end to end
ZOO_MLPS = [f"{f}_{wa}" for f in ("tfc", "sfc", "lfc") for wa in ("w1a1", "w1a2", "w2a2")]
QONNX_TO_FINN = ["InferShapes", "FoldConstants", "InferDataTypes", "GemmToMatMul", "FoldQuantWeights",
                 "ConvertQuantActToMultiThreshold", "InferShapes", "InferDataTypes"]
STREAMLINE = ["ConvertSubToAdd", "ConvertDivToMul", "BatchNormToAffine", "ConvertSignToThres",
              "MoveScalarLinearPastInvariants", "AbsorbSignBiasIntoMultiThreshold", "MoveAddPastMul",
              "MoveScalarAddPastMatMul", "MoveScalarMulPastMatMul", "MoveAddPastMul", "CollapseRepeatedAdd",
              "CollapseRepeatedMul", "AbsorbAddIntoMultiThreshold", "FactorOutMulSignMagnitude",
              "AbsorbMulIntoMultiThreshold", "Absorb1BitMulIntoMatMul", "RoundAndClipThresholds"]


def _zoo_model(name):
    missing = [p for p in set(QONNX_TO_FINN) if not hasattr(sf.transformation, p)]
    if missing:
        pytest.skip(f"the qonnx_to_finn/cleanup passes {sorted(missing)} are not registered yet")
    from streamfold import zoo
    try:
        path = zoo.export(name)
    except ImportError as e:  # a cold cache needs torch + brevitas to export
        pytest.skip(f"cannot export zoo model {name}: {e}")
    return zoo, ModelWrapper(path)


@pytest.mark.parametrize("name", ZOO_MLPS)
def test_zoo_mlp_streamlines_to_integer_layers(name):
    zoo, m = _zoo_model(name)
    inp = m.graph.input[0].name
    ins = [{inp: zoo.example_input(name, 1, seed)} for seed in range(3)]
    m1, _ = sf.transformation.run_pipeline(m, QONNX_TO_FINN, verify_inputs=ins)
    m2, _ = sf.transformation.run_pipeline(m1, STREAMLINE + STREAMLINE, verify_inputs=ins)
    o = ops(m2)
    last_mm = max(i for i, t in enumerate(o) if t == "MatMul")
    body = [t for t in o[:last_mm + 1] if t not in ("Reshape", "Flatten")]
    assert set(body) == {"MultiThreshold", "MatMul"}, o
    assert set(o[last_mm + 1:]) <= {"Mul", "Add"} and len(o) - last_mm - 1 <= 2, o
    for n in m2.graph.node:
        if n.op_type == "MatMul":
            w = m2.get_initializer(n.input[1])
            assert w is not None and np.all(w == np.round(w)), n.name
            assert m2.get_tensor_datatype(n.input[1]).is_integer(), n.name
        if n.op_type == "MultiThreshold" and m2.get_tensor_datatype(n.input[0]).is_integer():
            t = m2.get_initializer(n.input[1])
            assert np.all(t == np.ceil(t)), n.name
    # annotations and shapes are what inference derives from scratch
    m4, _ = sf.transformation.run_pipeline(m2, ["InferShapes", "InferDataTypes"])
    for t in m2.get_all_tensor_names():
        assert str(m2.get_tensor_datatype(t)) == str(m4.get_tensor_datatype(t)), t
        assert m2.get_tensor_shape(t) == m4.get_tensor_shape(t), t
    # and the one-shot Streamline pass lands on the same graph, with the same outputs
    m3 = m1.transform(sf.transformation.Streamline())
    assert ops(m3) == o
    for feed in ins:
        want = execute_onnx(m1, feed)[m1.graph.output[0].name]
        got = execute_onnx(m3, feed)[m3.graph.output[0].name]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


# ---------------------------------------------------------------- random QNNs (Brevitas) end to end
# No shrinking: every shrink step re-exports a Brevitas model (seconds each);
# the failing spec is printed in full anyway.
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data())
def test_random_qnn_streamline_is_verified(data, tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    missing = [p for p in set(QONNX_TO_FINN) if not hasattr(sf.transformation, p)]
    if missing:
        pytest.skip(f"the qonnx_to_finn/cleanup passes {sorted(missing)} are not registered yet")
    from hypothesis import assume

    from streamfold import zoo
    from streamfold.zoo import random_net
    module, shape = data.draw(random_net.random_qnn())
    path = zoo.export_module(module, shape, str(tmp_path_factory.mktemp("qnn") / "net.onnx"))
    m = ModelWrapper(path)
    inp = m.graph.input[0].name
    ins = [{inp: random_net.example_input(shape, n=1, seed=s)} for s in range(3)]
    m1, rep = sf.transformation.run_pipeline(m, QONNX_TO_FINN, verify_inputs=ins, raise_on_failure=False)
    assume(rep.ok)  # qonnx_to_finn has its own tests; this one is about streamlining
    m2, _ = sf.transformation.run_pipeline(m1, ["Streamline"], verify_inputs=ins)  # raises on any difference
    m3, _ = sf.transformation.run_pipeline(m1, STREAMLINE + STREAMLINE, verify_inputs=ins)
    assert len(m2.graph.node) <= len(m1.graph.node)
