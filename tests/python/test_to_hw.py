"""Convert-to-HW passes and CreateDataflowPartition: tiny hand-built graphs
(positive and negative) and every zoo model, verified bit-exactly pass by
pass, then partitioned and run end to end."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import zoo
from streamfold.builder import steps
from streamfold.partition import create_dataflow_partition
from streamfold.transformation import run_pipeline

QONNX = "qonnx.custom_op.general"
ZOO = zoo.list_models()
# AbsorbFlattenIntoMVAU removes the flatten in front of the FC head, so the
# dataflow child holds HW layers only.
STREAM_VIEWS = set()


def build(nodes, inputs, outputs, inits, dtypes):
    g = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = sf.ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)]))
    for t, d in dtypes.items():
        m.set_tensor_datatype(t, sf.DataType[d])
    m = m.transform(sf.transformation.InferShapes())
    return m


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def ops(m):
    return [n.op_type for n in m.graph.node]


def mm_mt_model(in_dt="INT4"):
    rng = np.random.default_rng(1)
    w = rng.integers(-2, 2, size=(6, 5)).astype(np.float32)
    thr = np.sort(rng.uniform(-20, 20, size=(5, 3)), axis=1).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["acc"], name="MatMul_0"),
             helper.make_node("MultiThreshold", ["acc", "thr"], ["y"], name="MT_0", domain=QONNX,
                              out_dtype="UINT2")]
    return build(nodes, [vi("x", [2, 6])], [vi("y", [2, 5])], {"w": w, "thr": thr},
                 {"x": in_dt, "w": "INT2", "y": "UINT2"})


def int_input(m, name, lo, hi, seed=0):
    return np.random.default_rng(seed).integers(lo, hi + 1, size=m.get_tensor_shape(name)).astype(np.float32)


def test_mvau_absorbs_threshold_exactly():
    m = mm_mt_model()
    x = int_input(m, "x", -8, 7)
    m2, _ = run_pipeline(m, ["InferQuantizedMatrixVectorActivation"], verify_inputs={"x": x})
    assert ops(m2) == ["MVAU"]
    n = m2.graph.node[0]
    assert (n.get_attr("MW"), n.get_attr("MH"), n.get_attr("noActivation"), n.get_attr("ActVal")) == (6, 5, 0, 0)
    assert n.get_attr("inputDataType") == b"INT4" and n.get_attr("outputDataType") == b"UINT2"
    t = m2.get_initializer(n.input[2])
    assert t.shape == (5, 3) and np.all(t == np.ceil(t))  # integer accumulator -> integer thresholds
    acc = sf.DataType[n.get_attr("accDataType").decode()]
    assert acc.min() <= t.min() and t.max() <= acc.max()


def test_mvau_refuses_float_input():
    m = mm_mt_model(in_dt="FLOAT32")
    m2 = m.transform(sf.transformation.InferQuantizedMatrixVectorActivation())
    assert ops(m2) == ["MatMul", "MultiThreshold"]
    assert any("integer" in str(r) for r in sf._core.refusals_for("MatMul_0"))


def test_thresholding_standalone_and_float_refusal():
    thr = np.array([[-1.5, 0.5, 2.0]], dtype=np.float32)
    nodes = [helper.make_node("MultiThreshold", ["x", "thr"], ["y"], name="MT_0", domain=QONNX, out_dtype="INT2",
                              out_bias=-2.0)]
    m = build(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])], {"thr": thr}, {"x": "INT4", "y": "INT2"})
    m2, _ = run_pipeline(m, ["InferThresholdingLayer"], verify_inputs={"x": int_input(m, "x", -8, 7)})
    assert ops(m2) == ["Thresholding"] and m2.graph.node[0].get_attr("ActVal") == -2
    m.set_tensor_datatype("x", sf.DataType["FLOAT32"])
    assert ops(m.transform(sf.transformation.InferThresholdingLayer())) == ["MultiThreshold"]


def im2col_model(dt, pad_value):
    nodes = [helper.make_node("Im2Col", ["x"], ["y"], name="Im2Col_0", domain=QONNX, stride=[1, 1],
                              kernel_size=[3, 3], input_shape="(1,4,4,2)", pad_amount=[1, 1, 1, 1],
                              pad_value=pad_value)]
    return build(nodes, [vi("x", [1, 4, 4, 2])], [vi("y", [1, 4, 4, 18])], {}, {"x": dt})


def test_convinpgen_padding_exact_and_bipolar_guard():
    m = im2col_model("INT4", 0)
    m2, _ = run_pipeline(m, ["InferConvInpGen"], verify_inputs={"x": int_input(m, "x", -8, 7)})
    assert ops(m2) == ["FMPadding", "ConvolutionInputGenerator"]
    m = im2col_model("BIPOLAR", -1)
    xb = np.where(int_input(m, "x", 0, 1) > 0, 1, -1).astype(np.float32)
    m2, _ = run_pipeline(m, ["InferConvInpGen"], verify_inputs={"x": xb})
    assert m2.graph.node[0].get_attr("PadValue") == -1
    # 0 is not a bipolar value: converting would change the padding (FINN#996).
    m = im2col_model("BIPOLAR", 0)
    assert ops(m.transform(sf.transformation.InferConvInpGen())) == ["Im2Col"]


def test_addstreams_duplicate_labelselect():
    nodes = [helper.make_node("MultiThreshold", ["x", "thr"], ["a"], name="MT_0", domain=QONNX, out_dtype="UINT2"),
             helper.make_node("Add", ["a", "a"], ["s"], name="Add_0"),
             helper.make_node("TopK", ["s", "k"], ["vals", "idx"], name="TopK_0")]
    thr = np.array([[0.0, 1.0, 2.0]], dtype=np.float32)
    g_out = helper.make_tensor_value_info("idx", TensorProto.INT64, [1, 2])
    m = build(nodes, [vi("x", [1, 6])], [g_out], {"thr": thr, "k": np.array([2], dtype=np.int64)},
              {"x": "INT4", "a": "UINT2"})
    m2, _ = run_pipeline(m, ["ConvertToHW"], verify_inputs={"x": int_input(m, "x", -8, 7)})
    assert sorted(ops(m2)) == ["AddStreams", "DuplicateStreams", "LabelSelect", "Thresholding"]


def test_channelwise_integer_only():
    nodes = [helper.make_node("Mul", ["x", "p"], ["y"], name="Mul_0")]
    p = np.array([1, -2, 3], dtype=np.float32)
    m = build(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], {"p": p}, {"x": "INT4"})
    m2, _ = run_pipeline(m, ["InferChannelwiseLinearLayer"], verify_inputs={"x": int_input(m, "x", -8, 7)})
    assert ops(m2) == ["ChannelwiseOp"]
    m = build(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], {"p": p * 0.5}, {"x": "INT4"})
    assert ops(m.transform(sf.transformation.InferChannelwiseLinearLayer())) == ["Mul"]


def streamlined(name):
    return steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(zoo.export(name)))))


@pytest.mark.parametrize("name", ZOO)
def test_zoo_convert_and_partition(name):
    m = streamlined(name)
    inp = m.graph.input[0].name
    x = np.random.default_rng(0).uniform(-1, 1, size=m.get_tensor_shape(inp)).astype(np.float32)
    hw, _ = run_pipeline(m, ["ConvertToHW"], verify_inputs={inp: x})
    parent, children, cpu = create_dataflow_partition(hw)
    assert len(children) >= 1
    for c in children:
        bad = [n.name for n in c.graph.node if not n.domain.startswith("finn.custom_op.fpgadataflow")
               and n.op_type not in STREAM_VIEWS]
        assert not bad, f"non-HW nodes inside the dataflow partition: {bad}"
    for node, reason in cpu:
        assert node is not None and reason.startswith(node.name) and "host" in reason
    want = sf.execute_onnx(m, {inp: x})
    got = sf.execute_onnx(parent, {inp: x})
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    if name in ("residual_block", "dws_block"):
        # The whole block, fork and join included, is one partition.
        assert len(children) == 1
        kinds = set(ops(children[0]))
        assert ("AddStreams" in kinds and "DuplicateStreams" in kinds) if name == "residual_block" else "VVAU" in kinds


def test_concat_becomes_streaming_concat_in_one_partition():
    # Two thresholding branches of one NHWC integer map, joined on the channel
    # (last) axis: the fork becomes DuplicateStreams, each branch Thresholding,
    # the join StreamingConcat, and the whole diamond is one dataflow child.
    thr_a = np.array([[-4.0, 0.0, 3.0]], dtype=np.float32)
    thr_b = np.array([[-1.0, 1.0, 5.0]], dtype=np.float32)
    nodes = [helper.make_node("MultiThreshold", ["x", "ta"], ["a"], name="MT_a", domain=QONNX, out_dtype="UINT2",
                              data_layout="NHWC"),
             helper.make_node("MultiThreshold", ["x", "tb"], ["b"], name="MT_b", domain=QONNX, out_dtype="UINT2",
                              data_layout="NHWC"),
             helper.make_node("Concat", ["a", "b"], ["y"], name="Concat_0", axis=3)]
    m = build(nodes, [vi("x", [1, 4, 4, 3])], [vi("y", [1, 4, 4, 6])], {"ta": thr_a, "tb": thr_b},
              {"x": "INT4", "a": "UINT2", "b": "UINT2"})
    x = int_input(m, "x", -8, 7)
    hw, _ = run_pipeline(m, ["ConvertToHW"], verify_inputs={"x": x})
    assert sorted(ops(hw)) == ["DuplicateStreams", "StreamingConcat", "Thresholding", "Thresholding"]
    cat = next(n for n in hw.graph.node if n.op_type == "StreamingConcat")
    assert list(cat.get_attr("ChannelsPerStream")) == [3, 3]
    assert hw.get_tensor_datatype("y") == sf.DataType["UINT2"]
    parent, children, cpu = create_dataflow_partition(hw)
    assert len(children) == 1 and not cpu
    assert sorted(ops(children[0])) == sorted(ops(hw))
    want = sf.execute_onnx(m, {"x": x})["y"]
    np.testing.assert_array_equal(sf.execute_onnx(parent, {"x": x})["y"], want)
    # Branch a fills channels 0..2 and branch b channels 3..5 of every pixel.
    np.testing.assert_array_equal(want[..., :3], (x[..., None] >= thr_a[0]).sum(-1))
