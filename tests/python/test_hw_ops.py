"""HW-layer ops (finn.custom_op.fpgadataflow) against the streamlined graphs
they replace: MVAU = MatMul + MultiThreshold, Thresholding = MultiThreshold
(NHWC), ConvolutionInputGenerator = Im2Col, StreamingMaxPool = MaxPoolNHWC,
LabelSelect = TopK. Every case builds single-node graphs with onnx.helper,
runs both through streamfold on random integer inputs and compares bit-exactly.
Hypothesis draws MW/MH/PE/SIMD, legal and illegal.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf

HW = "finn.custom_op.fpgadataflow"
QDOM = "qonnx.custom_op.general"
SETTINGS = dict(deadline=None, derandomize=True, max_examples=40, suppress_health_check=[HealthCheck.too_slow])


def single(nodes, inputs, outputs, inits):
    """inputs/outputs: (name, shape, onnx elem type or None for float)."""
    vi = lambda n, s, t=None: helper.make_tensor_value_info(n, t or TensorProto.FLOAT, list(s))  # noqa: E731
    graph = helper.make_graph(nodes, "g", [vi(*i) for i in inputs], [vi(*o) for o in outputs],
                              initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOM, 1),
                                                   helper.make_opsetid(HW, 1)])


def run(model, x):
    return sf.execute_onnx(model, {"x": x})


def rand_int(rng, shape, lo, hi):
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def sorted_thresholds(rng, rows, steps, lo, hi):
    return np.sort(rng.integers(lo, hi + 1, size=(rows, steps)), axis=1).astype(np.float32)


# ---------------------------------------------------------------------------- MVAU
def mvau_vs_streamlined(mw, mh, simd, pe, nvec, seed, obits=2, signed_out=False, no_act=False):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (1, nvec, mw), 0, 15)                       # UINT4
    w = rand_int(rng, (mw, mh), -8, 7)                            # INT4
    steps = 2 ** obits - 1
    thr = sorted_thresholds(rng, mh, steps, -60 * mw // 8, 60 * mw // 8)
    act = -(2 ** (obits - 1)) if signed_out else 0
    odt = f"INT{obits}" if signed_out else f"UINT{obits}"
    attrs = dict(MW=mw, MH=mh, SIMD=simd, PE=pe, numInputVectors=[1, nvec], inputDataType="UINT4",
                 weightDataType="INT4", outputDataType=odt if not no_act else "INT32", ActVal=act,
                 noActivation=int(no_act))
    ins = ["x", "W"] + ([] if no_act else ["T"])
    inits = {"W": w} if no_act else {"W": w, "T": thr}
    hw = single([helper.make_node("MVAU", ins, ["y"], domain=HW, **attrs)], [("x", x.shape)],
                [("y", (1, nvec, mh))], inits)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["acc" if not no_act else "y"])]
    if not no_act:
        nodes.append(helper.make_node("MultiThreshold", ["acc", "T"], ["y"], domain=QDOM, out_dtype=odt,
                                      out_bias=float(act), data_layout="NWC"))
    ref = single(nodes, [("x", x.shape)], [("y", (1, nvec, mh))], inits)
    ours, want = run(hw, x)["y"], run(ref, x)["y"]
    np.testing.assert_array_equal(ours, want)


@given(mw=st.integers(1, 24), mh=st.integers(1, 12), simd=st.integers(1, 24), pe=st.integers(1, 12),
       nvec=st.integers(1, 3), signed_out=st.booleans(), seed=st.integers(0, 2 ** 16))
@settings(**SETTINGS)
def test_mvau_matches_matmul_multithreshold(mw, mh, simd, pe, nvec, signed_out, seed):
    if mw % simd == 0 and mh % pe == 0:
        mvau_vs_streamlined(mw, mh, simd, pe, nvec, seed, signed_out=signed_out)
    else:
        with pytest.raises(sf.ModelError) as e:
            mvau_vs_streamlined(mw, mh, simd, pe, nvec, seed, signed_out=signed_out)
        bad, dim = ("SIMD", mw) if mw % simd else ("PE", mh)
        legal = ", ".join(str(d) for d in range(1, dim + 1) if dim % d == 0)
        assert f"legal {bad}: {legal}" in str(e.value)


def test_mvau_no_activation_is_matmul():
    mvau_vs_streamlined(12, 6, 4, 3, 2, seed=1, no_act=True)


def test_mvau_error_message_names_node_and_legal_values():
    node = helper.make_node("MVAU", ["x", "W"], ["y"], domain=HW, name="MVAU_2", MW=800, MH=4, SIMD=24, PE=1,
                            inputDataType="UINT4", weightDataType="INT4", outputDataType="INT32", noActivation=1)
    m = single([node], [("x", (1, 800))], [("y", (1, 4))], {"W": np.zeros((800, 4), np.float32)})
    with pytest.raises(sf.ModelError, match=r"MVAU_2.*SIMD=24 does not divide MW=800; legal SIMD: 1, 2, 4, 5, 8, "
                                            r"10, 16, 20, 25, 32, 40"):
        run(m, np.zeros((1, 800), np.float32))


def test_mvau_xnor_matches_xnorpopcount():
    rng = np.random.default_rng(3)
    mw, mh = 16, 4
    x = rand_int(rng, (1, mw), 0, 1)
    w = rand_int(rng, (mw, mh), 0, 1)
    thr = sorted_thresholds(rng, mh, 1, 0, mw)
    hw = single([helper.make_node("MVAU", ["x", "W", "T"], ["y"], domain=HW, MW=mw, MH=mh, SIMD=4, PE=2,
                                  inputDataType="BINARY", weightDataType="BINARY", outputDataType="BIPOLAR",
                                  binaryXnorMode=1)], [("x", x.shape)], [("y", (1, mh))], {"W": w, "T": thr})
    ref = single([helper.make_node("XnorPopcountMatMul", ["x", "W"], ["acc"], domain=QDOM),
                  helper.make_node("MultiThreshold", ["acc", "T"], ["y"], domain=QDOM, out_dtype="BIPOLAR",
                                   out_scale=2.0, out_bias=-1.0)],
                 [("x", x.shape)], [("y", (1, mh))], {"W": w, "T": thr})
    np.testing.assert_array_equal(run(hw, x)["y"], run(ref, x)["y"])


# ---------------------------------------------------------------------------- Thresholding
@given(c=st.integers(1, 8), pe=st.integers(1, 8), obits=st.integers(1, 3), seed=st.integers(0, 2 ** 16))
@settings(**SETTINGS)
def test_thresholding_matches_multithreshold_nhwc(c, pe, obits, seed):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (1, 3, 3, c), -20, 20)
    thr = sorted_thresholds(rng, c, 2 ** obits - 1, -20, 20)
    odt, act = f"INT{obits + 1}", -(2 ** obits) // 2
    hw = single([helper.make_node("Thresholding", ["x", "T"], ["y"], domain=HW, NumChannels=c, PE=pe,
                                  numInputVectors=[1, 3, 3], inputDataType="INT8", outputDataType=odt,
                                  ActVal=act)], [("x", x.shape)], [("y", x.shape)], {"T": thr})
    if c % pe:
        with pytest.raises(sf.ModelError, match="legal PE"):
            run(hw, x)
        return
    ref = single([helper.make_node("MultiThreshold", ["x", "T"], ["y"], domain=QDOM, out_dtype=odt,
                                   out_bias=float(act), data_layout="NHWC")], [("x", x.shape)], [("y", x.shape)],
                 {"T": thr})
    np.testing.assert_array_equal(run(hw, x)["y"], run(ref, x)["y"])


# ---------------------------------------------------------------------------- SWG
@given(h=st.integers(2, 7), w=st.integers(2, 7), c=st.integers(1, 4), k=st.integers(1, 3), s=st.integers(1, 2),
       d=st.integers(1, 2), seed=st.integers(0, 2 ** 16))
@settings(**SETTINGS)
def test_swg_matches_im2col(h, w, c, k, s, d, seed):
    span = d * (k - 1) + 1
    if span > h or span > w:
        return
    oh, ow = (h - span) // s + 1, (w - span) // s + 1
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (1, h, w, c), 0, 15)
    out = (1, oh, ow, k * k * c)
    hw = single([helper.make_node("ConvolutionInputGenerator", ["x"], ["y"], domain=HW, ConvKernelDim=[k, k],
                                  IFMChannels=c, IFMDim=[h, w], OFMDim=[oh, ow], SIMD=c, Stride=[s, s],
                                  Dilation=[d, d], inputDataType="UINT4", outputDataType="UINT4")],
                [("x", x.shape)], [("y", out)], {})
    ref = single([helper.make_node("Im2Col", ["x"], ["y"], domain=QDOM, stride=[s, s], kernel_size=[k, k],
                                   dilations=[d, d], input_shape=f"(1, {h}, {w}, {c})", pad_amount=[0, 0, 0, 0])],
                 [("x", x.shape)], [("y", out)], {})
    np.testing.assert_array_equal(run(hw, x)["y"], run(ref, x)["y"])


# ---------------------------------------------------------------------------- StreamingMaxPool
@pytest.mark.parametrize("h,w,c,k", [(4, 4, 3, 2), (6, 6, 2, 3), (5, 5, 1, 2), (8, 4, 4, 2)])
def test_streaming_maxpool_matches_maxpoolnhwc(h, w, c, k):
    rng = np.random.default_rng(h * 100 + c)
    x = rand_int(rng, (1, h, w, c), -8, 7)
    out = (1, h // k, w // k, c)
    hw = single([helper.make_node("StreamingMaxPool", ["x"], ["y"], domain=HW, ImgDim=[h, w], PoolDim=[k, k],
                                  NumChannels=c, PE=1, dataType="INT4")], [("x", x.shape)], [("y", out)], {})
    ref = single([helper.make_node("MaxPoolNHWC", ["x"], ["y"], domain=QDOM, kernel_shape=[k, k], strides=[k, k],
                                   pads=[0, 0, 0, 0])], [("x", x.shape)], [("y", out)], {})
    np.testing.assert_array_equal(run(hw, x)["y"], run(ref, x)["y"])


# ---------------------------------------------------------------------------- LabelSelect
@given(labels=st.integers(2, 12), k=st.integers(1, 12), seed=st.integers(0, 2 ** 16))
@settings(**SETTINGS)
def test_labelselect_matches_topk(labels, k, seed):
    k = min(k, labels)
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (1, labels), -3, 3)  # small range: plenty of ties
    hw = single([helper.make_node("LabelSelect", ["x"], ["y"], domain=HW, Labels=labels, PE=1, K=k,
                                  inputDataType="INT4")], [("x", x.shape)], [("y", (1, k))], {})
    ref = single([helper.make_node("TopK", ["x", "K"], ["v", "y"], axis=-1)], [("x", x.shape)],
                 [("y", (1, k), TensorProto.INT64)], {"K": np.array([k], np.int64)})
    np.testing.assert_array_equal(run(hw, x)["y"], run(ref, x)["y"].astype(np.float32))


# ---------------------------------------------------------------------------- data movement
def test_fmpadding_dwc_fifo_duplicate():
    rng = np.random.default_rng(7)
    x = rand_int(rng, (1, 3, 2, 2), 0, 7)
    pad = single([helper.make_node("FMPadding", ["x"], ["y"], domain=HW, ImgDim=[3, 2], Padding=[1, 2, 0, 1],
                                   NumChannels=2, SIMD=1, inputDataType="UINT4")], [("x", x.shape)],
                 [("y", (1, 4, 5, 2))], {})
    np.testing.assert_array_equal(run(pad, x)["y"], np.pad(x, [(0, 0), (1, 0), (2, 1), (0, 0)]))
    chain = single([helper.make_node("StreamingDataWidthConverter", ["x"], ["a"], domain=HW, inWidth=8,
                                     outWidth=4, dataType="UINT4", shape=[1, 3, 2, 2]),
                    helper.make_node("StreamingFIFO", ["a"], ["b"], domain=HW, depth=16, folded_shape=[1, 6, 2],
                                     dataType="UINT4"),
                    helper.make_node("DuplicateStreams", ["b"], ["y", "z"], domain=HW, NumChannels=2, PE=1,
                                     NumOutputStreams=2, inputDataType="UINT4"),
                    ], [("x", x.shape)], [("y", x.shape), ("z", x.shape)], {})
    out = run(chain, x)
    np.testing.assert_array_equal(out["y"], x)
    np.testing.assert_array_equal(out["z"], x)


def test_unknown_attribute_value_is_a_model_error():
    node = helper.make_node("StreamingFIFO", ["x"], ["y"], domain=HW, depth=16, folded_shape=[1, 4],
                            dataType="UINT4", ram_style="sideways")
    with pytest.raises(sf.ModelError, match="ram_style"):
        run(single([node], [("x", (1, 4))], [("y", (1, 4))], {}), np.zeros((1, 4), np.float32))


def test_shape_and_datatype_inference():
    rng = np.random.default_rng(0)
    w, t = rand_int(rng, (8, 4), -8, 7), sorted_thresholds(rng, 4, 3, -50, 50)
    # The declared output shape (1, 8) is wrong on purpose: inference must fix it.
    m = single([helper.make_node("MVAU", ["x", "W", "T"], ["y"], domain=HW, MW=8, MH=4, SIMD=2, PE=2,
                                 inputDataType="UINT4", weightDataType="INT4", outputDataType="UINT2"),
                helper.make_node("LabelSelect", ["y"], ["z"], domain=HW, Labels=4, PE=2, K=2, inputDataType="UINT2")],
               [("x", (1, 8))], [("z", (1, 8))], {"W": w, "T": t})
    m = sf.ModelWrapper(m).transform("InferShapes").transform("InferDataTypes")
    assert m.get_tensor_datatype("y").name == "UINT2"
    assert m.get_tensor_datatype("z").name == "UINT2"  # smallest UINT for label 3
    assert list(m.get_tensor_shape("z")) == [1, 2]
