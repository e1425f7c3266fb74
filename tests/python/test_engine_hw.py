"""The fast engine on HW-layer models (after step_convert_to_hw) and on the
graph tails the zoo streamlines to: MVAU / VVAU / Thresholding become packed
GEMMs and threshold steps, ConvolutionInputGenerator / StreamingMaxPool /
FMPadding move packed words, DuplicateStreams and FIFOs pass storage on,
AddStreams / Add add packed codes, Pool / QuantAvgPool2d / GlobalAccPool
reduce codes, TopK / LabelSelect select on codes or accumulators. Every case
is compared bit for bit with the reference executor, image by image, on
every kernel path this CPU has, at batches that differ from the model's."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import _core, zoo
from streamfold.builder import steps
from zoo_fixtures import zoo_cache  # noqa: F401

QONNX = "qonnx.custom_op.general"
HW = "finn.custom_op.fpgadataflow"
ISAS = list(_core.engine_isas())
# Compute and data-movement layers the engine must specialize in HW models;
# what may stay on the reference is the float glue at either end (the input
# Transpose / Reshape, ChannelwiseOp or Mul / Add scaling the logits).
SPECIALIZED = {"MVAU", "VVAU", "Thresholding", "ConvolutionInputGenerator", "StreamingMaxPool", "FMPadding",
               "DuplicateStreams", "AddStreams", "Pool", "GlobalAccPool", "LabelSelect", "MultiThreshold",
               "MatMul", "Im2Col", "MaxPoolNHWC", "QuantAvgPool2d", "TopK"}

_hw = {}


def hw_model(name):
    if name not in _hw:
        m = sf.ModelWrapper(zoo.export(name))
        m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(m)))
        _hw[name] = steps.step_convert_to_hw(m)
    return _hw[name]


def reference(m, x):
    inp = m._model.runtime_input_names()[0]
    outs = [sf.execute_onnx(m, {inp: x[i:i + 1]}) for i in range(len(x))]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def check(m, x, batches, name=""):
    ref = reference(m, x)
    for isa in ISAS:
        eng = sf.Engine(m, isa=isa, streamline=False)
        assert eng.fallback_nodes == [], f"{name}: unexpected fallbacks {eng.fallback_nodes}"
        for line in eng.plan():
            node, _, what = line.partition(": ")
            op = what.split(" ")[1] if what.startswith("reference ") else None
            assert op not in SPECIALIZED, f"{name}: {line}"
        for b in batches:
            out = eng.run({eng.input_names[0]: x[:b]})
            for k, v in ref.items():
                assert out[k].dtype == v.dtype and out[k].shape == v[:b].shape, (name, isa, b, k)
                np.testing.assert_array_equal(out[k], v[:b], err_msg=f"{name} {isa} batch {b} {k}")
    return ref


@pytest.mark.parametrize("name", zoo.list_models())
def test_hw_zoo_model_equals_reference(name, zoo_cache):
    m = hw_model(name)
    assert any(n.domain.startswith(HW) for n in m.graph.node)
    check(m, zoo.example_input(name, n=7, seed=3), (1, 7), name)


@pytest.mark.parametrize("name", ["tfc_w1a1", "residual_block", "dnn2fpga_cnn"])
def test_hw_zoo_model_batch_256(name, zoo_cache):
    """A real batch of 256 on the best path (64 distinct images, shuffled)."""
    m = hw_model(name)
    x64 = zoo.example_input(name, n=64, seed=5)
    ref = reference(m, x64)
    order = np.random.default_rng(0).permutation(np.tile(np.arange(64), 4))
    eng = sf.Engine(m, isa=_core.engine_best_isa(), streamline=False)
    out = eng.run({eng.input_names[0]: x64[order]})
    for k, v in ref.items():
        np.testing.assert_array_equal(out[k], v[order], err_msg=f"{name} {k}")


# ---- hand-built graphs: every datatype family the kernels store differently ----

def build(nodes, inputs, outputs, inits, dtypes):
    g = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = sf.ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)]))
    for t, d in dtypes.items():
        m.set_tensor_datatype(t, sf.DataType[d])
    return m.transform(sf.transformation.InferShapes())


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def thresholds_for(dt, channels, rng):
    """A MultiThreshold table whose outputs span dt: 2^bits - 1 sorted rows."""
    steps_ = 1 if dt == "BIPOLAR" else 2 ** int(sf.DataType[dt].bitwidth()) - 1
    return np.sort(rng.uniform(-40, 40, size=(channels, steps_)), axis=1).astype(np.float32)


def mt_node(x, y, dt, name, layout="NHWC"):
    lo = int(sf.DataType[dt].min())
    return helper.make_node("MultiThreshold", [x, f"T_{name}"], [y], name=name, domain=QONNX, out_dtype=dt,
                            out_bias=float(lo) if dt != "BIPOLAR" else -1.0, out_scale=2.0 if dt == "BIPOLAR" else 1.0,
                            data_layout=layout)


DTS = ["BIPOLAR", "BINARY", "INT2", "UINT2", "UINT3", "INT4", "UINT8", "INT8"]


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("hw", [False, True])
def test_residual_add_and_topk_tail(dt, hw):
    """Two thresholded branches added (Add / AddStreams), then TopK (values and
    indices) or LabelSelect, at channel counts with tails (C = 67)."""
    rng = np.random.default_rng(len(dt))
    C = 67
    nodes = [mt_node("x", "a", dt, "MT_a", "NC"), mt_node("x", "b", dt, "MT_b", "NC"),
             helper.make_node("Add", ["a", "b"], ["s"], name="Add_0"),
             helper.make_node("TopK", ["s", "k"], ["vals", "idx"], name="TopK_0")]
    inits = {"T_MT_a": thresholds_for(dt, C, rng), "T_MT_b": thresholds_for(dt, C, rng),
             "k": np.array([3], dtype=np.int64)}
    m = build(nodes, [vi("x", [1, C])], [vi("vals", [1, 3]), vi("idx", [1, 3], TensorProto.INT64)], inits,
              {"a": dt, "b": dt})
    if hw:
        m2, _ = sf.transformation.run_pipeline(m, ["ConvertToHW"], raise_on_failure=False)
        ops = sorted(n.op_type for n in m2.graph.node)
        if "AddStreams" not in ops:
            pytest.skip(f"ConvertToHW keeps {ops} for {dt}")
        m = m2
    x = rng.uniform(-50, 50, size=(7, C)).astype(np.float32)
    x[:, 5] = x[:, 9]  # ties
    check(m, x, (1, 7), f"{dt} hw={hw}")


@pytest.mark.parametrize("largest,sorted_", [(1, 1), (0, 1), (1, 0)])
@pytest.mark.parametrize("src", ["packed", "float"])
def test_topk_orders(largest, sorted_, src):
    """TopK on packed codes (a MultiThreshold output) and on float
    accumulators (a MatMul output), largest/smallest, sorted or not, with
    many ties."""
    rng = np.random.default_rng(largest * 2 + sorted_)
    C = 40
    if src == "packed":
        nodes = [mt_node("x", "a", "UINT2", "MT_a", "NC")]
        inits = {"T_MT_a": thresholds_for("UINT2", C, rng)}
        dtypes = {"a": "UINT2"}
    else:
        nodes = [helper.make_node("MatMul", ["x", "W"], ["a"], name="MatMul_0")]
        inits = {"W": rng.integers(-1, 2, size=(C, C)).astype(np.float32)}
        dtypes = {"W": "INT2", "x": "INT3"}
    nodes.append(helper.make_node("TopK", ["a", "k"], ["vals", "idx"], name="TopK_0", largest=largest, sorted=sorted_))
    inits["k"] = np.array([5], dtype=np.int64)
    m = build(nodes, [vi("x", [1, C])], [vi("vals", [1, 5]), vi("idx", [1, 5], TensorProto.INT64)], inits, dtypes)
    x = rng.integers(-3, 4, size=(9, C)).astype(np.float32)
    check(m, x, (1, 9), f"{src} largest={largest} sorted={sorted_}")


@pytest.mark.parametrize("dt,k,s,ibits,obits,signed", [
    ("UINT2", 2, 2, 2, 2, 0), ("UINT4", 3, 1, 4, 4, 0), ("INT4", 2, 2, 4, 5, 1), ("BIPOLAR", 2, 1, 2, 2, 1),
    ("UINT8", 4, 4, 8, 8, 0), ("BINARY", 3, 2, 1, 2, 0)])
def test_quant_avg_pool_nhwc(dt, k, s, ibits, obits, signed):
    rng = np.random.default_rng(k * 10 + s)
    C, H = 13, 7
    OH = (H - k) // s + 1
    nodes = [mt_node("x", "a", dt, "MT_a"),
             helper.make_node("QuantAvgPool2d", ["a"], ["y"], name="Pool_0", domain=QONNX, kernel=k, stride=s,
                              ibits=ibits, obits=obits, signed=signed, data_layout="NHWC")]
    m = build(nodes, [vi("x", [1, H, H, C])], [vi("y", [1, OH, OH, C])], {"T_MT_a": thresholds_for(dt, C, rng)},
              {"a": dt})
    check(m, rng.uniform(-50, 50, size=(7, H, H, C)).astype(np.float32), (1, 7), dt)


@pytest.mark.parametrize("dt", ["BINARY", "UINT2", "INT3", "UINT8"])
def test_global_acc_pool(dt):
    """ReduceSum over H, W of an NHWC integer map -> GlobalAccPool."""
    rng = np.random.default_rng(3)
    C, H = 70, 5
    nodes = [mt_node("x", "a", dt, "MT_a"),
             helper.make_node("ReduceSum", ["a", "axes"], ["y"], name="ReduceSum_0", keepdims=1)]
    m = build(nodes, [vi("x", [1, H, H, C])], [vi("y", [1, 1, 1, C])],
              {"T_MT_a": thresholds_for(dt, C, rng), "axes": np.array([1, 2], dtype=np.int64)}, {"a": dt})
    m = m.transform(sf.transformation.InferGlobalAccPoolLayer())
    assert "GlobalAccPool" in [n.op_type for n in m.graph.node]
    check(m, rng.uniform(-50, 50, size=(7, H, H, C)).astype(np.float32), (1, 7), dt)


def hw_node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=f"{op}_0", domain=HW, **attrs)


@pytest.mark.parametrize("func", ["MaxPool", "AccPool", "AvgPool", "QuantAvgPool"])
@pytest.mark.parametrize("dt", ["BIPOLAR", "UINT2", "INT4", "UINT8"])
def test_hw_pool_after_depthwise_swg_with_padding(func, dt):
    """FMPadding (a non-zero pad value) -> depthwise SWG -> Pool(Function)."""
    rng = np.random.default_rng(5)
    C, H, k = 9, 6, 2
    pad = [1, 0, 1, 2]
    pv = -1 if dt in ("BIPOLAR", "INT4") else 1
    PH, PW = H + pad[0] + pad[2], H + pad[1] + pad[3]
    OH, OW = (PH - k) // 2 + 1, (PW - k) // 2 + 1
    odt = "INT8" if dt == "INT4" else "UINT4" if dt != "BIPOLAR" else "INT4"
    nodes = [mt_node("x", "a", dt, "MT_a"),
             hw_node("FMPadding", ["a"], ["p"], ImgDim=[H, H], Padding=pad, NumChannels=C, SIMD=1,
                     inputDataType=dt, PadValue=pv),
             hw_node("ConvolutionInputGenerator", ["p"], ["w"], ConvKernelDim=[k, k], IFMChannels=C, IFMDim=[PH, PW],
                     OFMDim=[OH, OW], SIMD=1, Stride=[2, 2], Dilation=[1, 1], depthwise=1, inputDataType=dt,
                     outputDataType=dt),
             hw_node("Pool", ["w"], ["y"], Channels=C, PE=1, KernelSize=[k, k], OutImgDims=[OH, OW], Function=func,
                     InputDataType=dt, OutputDataType=odt)]
    m = build(nodes, [vi("x", [1, H, H, C])], [vi("y", [1, OH, OW, C])], {"T_MT_a": thresholds_for(dt, C, rng)},
              {"a": dt, "p": dt, "w": dt})
    m = m.transform(sf.transformation.InferDataTypes())
    check(m, rng.uniform(-50, 50, size=(7, H, H, C)).astype(np.float32), (1, 7), f"{func} {dt}")


@pytest.mark.parametrize("name,tail", [("tfc_w1a1", "LabelSelect"), ("cnv_w2a2", "LabelSelect"),
                                       ("dnn2fpga_cnn", "TopK")])
def test_insert_topk_tail_streamlined_and_hw(name, tail, zoo_cache):
    """FINN's flow: InsertTopK before streamlining. A scalar scale is absorbed,
    the TopK reads the final accumulator and becomes LabelSelect in HW;
    dnn2fpga's per-class scale stays, so its TopK reads floats."""
    m = steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(zoo.export(name))))
    m = m.transform(sf.transformation.InsertTopK(k=3))
    s = steps.step_streamline(m)
    h = steps.step_convert_to_hw(s)
    assert "TopK" in [n.op_type for n in s.graph.node]
    assert tail in [n.op_type for n in h.graph.node]
    x = zoo.example_input(name, n=7, seed=4)
    ref_s = check(s, x, (1, 7), f"{name} streamlined")
    ref_h = check(h, x, (1, 7), f"{name} hw")
    np.testing.assert_array_equal(list(ref_s.values())[0], list(ref_h.values())[0])
