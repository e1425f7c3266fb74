"""Cleanup passes through the public Python API: each on tiny onnx.helper
graphs (applied where it should, left alone where it should not, the function
unchanged), names compared with qonnx's own transformations, and the
structural ones on every zoo model with pass-by-pass verification."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import zoo
from streamfold.transformation import run_pipeline

QDOM = "qonnx.custom_op.general"
F32 = np.float32


def make(nodes, inputs, outputs, inits=None, annotations=None, static_inputs=()):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs] +
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(inits[n].shape)) for n in static_inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    for t, dt in (annotations or {}).items():
        qa = graph.quantization_annotation.add()
        qa.tensor_name = t
        kv = qa.quant_parameter_tensor_names.add()
        kv.key, kv.value = "finn_datatype", dt
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOM, 1)],
                              ir_version=8)
    return proto


def wrap(proto):
    return sf.ModelWrapper(proto)


def ops(m):
    return [n.op_type for n in m.graph.node]


def verified(m, passes, feed):
    out, _ = run_pipeline(m, passes, verify_inputs=feed)
    return out


def rnd(shape, seed=0, lo=-1, hi=1):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(F32)


def quant(x, out, s, attrs=None):
    return helper.make_node("Quant", [x, s, "zp0", "bits4"], [out], domain=QDOM,
                            **(attrs or dict(signed=1, narrow=0, rounding_mode="ROUND")))


# ---------------------------------------------------------------------------- FoldConstants
def test_fold_constants_folds_constant_subgraphs_but_not_quantizers():
    nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.full((3, 2), 0.5, F32))),
             helper.make_node("Transpose", ["wsrc"], ["wt"]),
             helper.make_node("Add", ["wt", "c"], ["w"]),
             quant("w", "wq", "s"),
             helper.make_node("Shape", ["x"], ["xs"]),
             helper.make_node("MatMul", ["x", "wq"], ["m"]),
             helper.make_node("Reshape", ["m", "xs2"], ["y"]),
             helper.make_node("Concat", ["one", "two"], ["xs2"], axis=0)]
    inits = {"wsrc": rnd((2, 3)), "s": np.asarray(0.25, F32), "zp0": np.asarray(0, F32),
             "bits4": np.asarray(4, F32), "one": np.array([1], np.int64), "two": np.array([2], np.int64)}
    m = wrap(make(nodes, [("x", [1, 3])], [("y", None)], inits))
    m2 = verified(m, ["InferShapes", "SortGraph", "FoldConstants"], {"x": rnd((1, 3), 1)})
    assert sorted(ops(m2)) == ["MatMul", "Quant", "Reshape"]
    assert m2.get_initializer("w") is not None and m2.get_initializer("xs2") is not None


# ---------------------------------------------------------------------------- names
def _named_graph():
    # in the order qonnx's SortGraph (run inside its renaming) keeps
    nodes = [helper.make_node("Mul", ["x", "k"], ["a"]),
             helper.make_node("Mul", ["a", "k"], ["b"], name="custom"),
             helper.make_node("Relu", ["a"], ["y2"]),
             helper.make_node("Relu", ["b"], ["c"]),
             helper.make_node("Add", ["c", "x2"], ["y"])]
    return make(nodes, [("x", [1, 2]), ("x2", [1, 2])], [("y", None), ("y2", None)], {"k": rnd((1, 2), 3)},
                annotations={"a": "INT8", "k": "UINT3"})


def test_names_match_qonnx():
    from qonnx.core.modelwrapper import ModelWrapper as QMW
    from qonnx.transformation.general import GiveReadableTensorNames, GiveUniqueNodeNames

    proto = _named_graph()
    # qonnx's ModelWrapper splits shared initializers while renaming; ours
    # leaves that to GiveUniqueParameterTensors.
    ours, _ = run_pipeline(wrap(proto), ["GiveUniqueParameterTensors", "GiveUniqueNodeNames",
                                         "GiveReadableTensorNames"])
    theirs = QMW(proto).transform(GiveUniqueNodeNames(), cleanup=False).transform(GiveReadableTensorNames(), cleanup=False)
    assert [n.name for n in ours.graph.node] == [n.name for n in theirs.graph.node]
    assert [list(n.input) for n in ours.graph.node] == [list(n.input) for n in theirs.graph.node]
    assert [list(n.output) for n in ours.graph.node] == [list(n.output) for n in theirs.graph.node]
    assert [i.name for i in ours.graph.input] == ["global_in", "global_in_1"]
    assert [o.name for o in ours.graph.output] == ["global_out", "global_out_1"]
    # annotations and shapes travel with the renamed tensors
    assert ours.get_tensor_datatype("Mul_0_out0").name == "INT8"
    assert ours.get_tensor_datatype("Mul_1_param0").name == "UINT3"
    x = {"global_in": rnd((1, 2), 4), "global_in_1": rnd((1, 2), 5)}
    ref = sf.execute_onnx(wrap(proto), {"x": x["global_in"], "x2": x["global_in_1"]})
    got = sf.execute_onnx(ours, x)
    np.testing.assert_array_equal(got["global_out"], ref["y"])
    np.testing.assert_array_equal(got["global_out_1"], ref["y2"])


def test_unique_parameter_tensors():
    m = wrap(_named_graph())
    m2 = verified(m, ["GiveUniqueParameterTensors"], {"x": rnd((1, 2)), "x2": rnd((1, 2), 1)})
    params = [n.input[1] for n in m2.graph.node if n.op_type == "Mul"]
    assert len(set(params)) == 2
    assert all(m2.get_tensor_datatype(p).name == "UINT3" for p in params)


# ---------------------------------------------------------------------------- identities
@pytest.mark.parametrize("op,const,const_first,removed", [
    ("Mul", np.ones((1, 3), F32), False, True),
    ("Mul", np.ones((3,), F32), True, True),
    ("Add", np.zeros((), F32), False, True),
    ("Sub", np.zeros((1, 3), F32), False, True),
    ("Div", np.ones((), F32), False, True),
    ("Sub", np.zeros((), F32), True, False),      # 0 - x
    ("Div", np.ones((), F32), True, False),       # 1 / x
    ("Mul", np.ones((2, 3), F32), False, False),  # broadcasts (1,3) up to (2,3)
    ("Add", np.full((), 1e-7, F32), False, False),  # qonnx would drop it (atol); not exact
])
def test_remove_identity_ops_binary(op, const, const_first, removed):
    ins = ["k", "x"] if const_first else ["x", "k"]
    nodes = [helper.make_node(op, ins, ["a"]), helper.make_node("Relu", ["a"], ["y"])]
    m = wrap(make(nodes, [("x", [1, 3])], [("y", None)], {"k": const}))
    m2 = verified(m, ["InferShapes", "RemoveIdentityOps"], {"x": rnd((1, 3))})
    assert (op not in ops(m2)) == removed


def test_remove_identity_ops_structural():
    nodes = [helper.make_node("Identity", ["x"], ["a"]),
             helper.make_node("Dropout", ["a"], ["b"]),
             helper.make_node("Reshape", ["b", "same"], ["c"]),
             helper.make_node("Reshape", ["c", "other"], ["d"]),
             helper.make_node("Pad", ["d", "zeros"], ["e"]),
             helper.make_node("Identity", ["e"], ["y"])]
    inits = {"same": np.array([0, -1], np.int64), "other": np.array([3, 2], np.int64),
             "zeros": np.zeros(4, np.int64)}
    m = wrap(make(nodes, [("x", [2, 3])], [("y", None)], inits))
    m2 = verified(m, ["InferShapes", "RemoveIdentityOps"], {"x": rnd((2, 3))})
    assert ops(m2) == ["Reshape"]
    assert m2.graph.node[0].output[0] == "y", "the graph output keeps its name"


def test_identity_from_input_to_output_stays():
    m = wrap(make([helper.make_node("Identity", ["x"], ["y"])], [("x", [1])], [("y", None)]))
    m2, _ = run_pipeline(m, ["RemoveIdentityOps"])
    assert ops(m2) == ["Identity"]


# ---------------------------------------------------------------------------- tidy-ups
def test_unused_tensors_static_inputs_and_sorting():
    nodes = [helper.make_node("Relu", ["a"], ["y"]), helper.make_node("Mul", ["x", "k"], ["a"])]
    proto = make(nodes, [("x", [1, 2])], [("y", None)], {"k": rnd((1, 2)), "dead": rnd((4,))},
                 static_inputs=["k"])
    m = wrap(proto)
    m2 = verified(m, ["RemoveUnusedTensors", "RemoveStaticGraphInputs", "SortGraph"], {"x": rnd((1, 2), 1)})
    assert m2.get_initializer("dead") is None
    assert [i.name for i in m2.graph.input] == ["x"]
    assert ops(m2) == ["Mul", "Relu"]


# ---------------------------------------------------------------------------- GemmToMatMul
@pytest.mark.parametrize("ta,tb,alpha,beta,c_kind", [
    (0, 0, 1.0, 1.0, "const"), (1, 1, 0.5, 2.0, "const"), (0, 1, 1.0, 0.5, "dynamic"),
    (1, 0, 2.0, 1.0, None), (0, 1, 1.0, 0.0, "const"), (0, 1, 1.0, 1.0, "quant"),
])
def test_gemm_to_matmul(ta, tb, alpha, beta, c_kind):
    a_shape = [4, 2] if ta else [2, 4]
    inputs = [("x", a_shape)]
    inits = {"w": rnd((3, 4) if tb else (4, 3), 1), "c": rnd((3,), 2), "s": np.asarray(0.1, F32),
             "zp0": np.asarray(0, F32), "bits4": np.asarray(4, F32)}
    nodes = []
    c_in = []
    if c_kind == "const":
        c_in = ["c"]
    elif c_kind == "dynamic":
        inputs.append(("cd", [1, 3]))
        c_in = ["cd"]
    w_in = "w"
    if c_kind == "quant":
        nodes.append(quant("w", "wq", "s"))
        w_in = "wq"
        c_in = ["c"]
    nodes.append(helper.make_node("Gemm", ["x", w_in] + c_in, ["y"], transA=ta, transB=tb, alpha=alpha, beta=beta))
    m = wrap(make(nodes, inputs, [("y", None)], inits))
    feed = {"x": rnd(a_shape, 3)}
    if c_kind == "dynamic":
        feed["cd"] = rnd((1, 3), 4)
    m2 = verified(m, ["InferShapes", "GemmToMatMul"], feed)
    assert "Gemm" not in ops(m2)
    assert ops(m2).count("Transpose") == ta, "B is transposed offline, A by a node"
    assert ops(m2).count("Mul") == (alpha != 1.0) + (c_kind == "dynamic" and beta != 1.0)
    if c_kind == "quant":
        q = [n for n in m2.graph.node if n.op_type == "Quant"][0]
        assert m2.get_initializer(q.input[0]).shape == (4, 3)


# ---------------------------------------------------------------------------- ExtractBiasFromConv
@pytest.mark.parametrize("quantized_bias", [False, True])
def test_extract_bias_from_conv(quantized_bias):
    nodes = []
    b = "b"
    if quantized_bias:
        nodes.append(quant("b", "bq", "s", dict(signed=1, narrow=0, rounding_mode="ROUND")))
        b = "bq"
    nodes.append(helper.make_node("Conv", ["x", "w", b], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    inits = {"w": rnd((4, 2, 3, 3), 1), "b": rnd((4,), 2), "s": np.asarray(0.1, F32), "zp0": np.asarray(0, F32),
             "bits4": np.asarray(4, F32)}
    m = wrap(make(nodes, [("x", [1, 2, 5, 5])], [("y", None)], inits))
    m2 = verified(m, ["InferShapes", "ExtractBiasFromConv"], {"x": rnd((1, 2, 5, 5), 3)})
    conv = [n for n in m2.graph.node if n.op_type == "Conv"][0]
    assert len(conv.input) == 2 and "Add" in ops(m2)
    assert ("Quant" in ops(m2)) == quantized_bias


# ---------------------------------------------------------------------------- zoo
@pytest.mark.parametrize("name", zoo.list_models())
def test_structural_cleanup_on_zoo(name):
    m = sf.ModelWrapper(zoo.export(name))
    inp = m._model.runtime_input_names()[0]
    seq = ["RemoveStaticGraphInputs", "InferShapes", "GiveUniqueParameterTensors", "FoldConstants",
           "ExtractBiasFromConv", "SortGraph", "RemoveUnusedTensors", "GemmToMatMul", "RemoveIdentityOps",
           "GiveUniqueNodeNames"]
    m2 = verified(m, seq, {inp: zoo.example_input(name, n=1, seed=2)})
    assert "Gemm" not in ops(m2)
    assert [i.name for i in m2.graph.input] == [inp]
    names = [n.name for n in m2.graph.node]
    assert len(set(names)) == len(names)
