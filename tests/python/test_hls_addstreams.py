"""AddStreams HLS layer (hlslib/sf_addstreams.hpp) in cppsim: element-wise sum
of two streams of possibly different datatypes and signedness (bipolar
included), each input as wide as its own type (as the RTL layer), output type
from the op's infer_datatype, PE folds."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values, same_beats_as_rtl
from test_rtl_addstreams import DESIGNS, add_model  # the RTL layer's designs and model


def run_add(niv, c, pe, dt0, dt1, n=3, seeds=(0, 1)):
    m, inputs = add_model(niv, c, pe, dt0, dt1, n)
    for seed in seeds:
        check_cppsim(m, inputs(seed))


@pytest.mark.parametrize("niv,c,pe,dt0,dt1", DESIGNS)
def test_addstreams_designs(niv, c, pe, dt0, dt1):
    run_add(niv, c, pe, dt0, dt1)


DTS = ["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8", "UINT5", "INT7"]


@pytest.mark.full
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt0=st.sampled_from(DTS), dt1=st.sampled_from(DTS), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_addstreams_sweep(h, w, c, pe_i, dt0, dt1, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_add([1, h, w], c, divs[pe_i % len(divs)], dt0, dt1, seeds=(seed,))


@pytest.mark.full
def test_addstreams_beats_match_rtl(tmp_path):
    # Inputs of different widths (3- and 5-bit lanes).
    shape = (3, 3, 3, 6)
    m = node_model("AddStreams", [("x0", shape, "UINT3"), ("x1", shape, "INT5")], [("y", shape)], NumChannels=6, PE=3,
                   numInputVectors=[1, 3, 3], inputDataTypes=["UINT3", "INT5"])
    rng = np.random.default_rng(5)
    same_beats_as_rtl(m, {"x0": rand_values(rng, "UINT3", shape), "x1": rand_values(rng, "INT5", shape)}, tmp_path)


# ---------------------------------------------------------------------------- a residual block of all nine
# data-movement ops, run node by node with execute_onnx(backend="cppsim"):
# DuplicateStreams -> [FMPadding -> SWG (depthwise) -> Pool] + [StreamingFIFO]
# -> AddStreams -> DWC -> DuplicateStreams -> StreamingConcat -> StreamingMaxPool.


def residual_chain(styles):
    """styles: node name -> "hls"/"rtl" (preferred_impl_style)."""
    from onnx import TensorProto, helper

    from streamfold.core.modelwrapper import ModelWrapper

    HW = "finn.custom_op.fpgadataflow"
    nodes = []

    def add(op, name, ins, outs, **attrs):
        nodes.append(helper.make_node(op, ins, outs, domain=HW, name=name,
                                      preferred_impl_style=styles.get(name, "hls"), **attrs))

    add("DuplicateStreams", "Dup_0", ["x"], ["a", "b"], NumChannels=4, PE=2, NumOutputStreams=2,
        numInputVectors=[1, 4, 4], inputDataType="UINT3")
    add("FMPadding", "Pad_0", ["a"], ["ap"], ImgDim=[4, 4], Padding=[1, 1, 1, 1], NumChannels=4, SIMD=2,
        inputDataType="UINT3")
    add("ConvolutionInputGenerator", "SWG_0", ["ap"], ["aw"], ConvKernelDim=[3, 3], IFMDim=[6, 6], OFMDim=[4, 4],
        IFMChannels=4, SIMD=2, inputDataType="UINT3", outputDataType="UINT3", depthwise=1)
    add("Pool", "Pool_0", ["aw"], ["am"], Channels=4, PE=2, KernelSize=[3, 3], OutImgDims=[4, 4],
        Function="MaxPool", InputDataType="UINT3")
    add("StreamingFIFO", "FIFO_0", ["b"], ["bf"], depth=40, folded_shape=[1, 4, 4, 2, 2], dataType="UINT3")
    add("AddStreams", "Add_0", ["am", "bf"], ["s"], NumChannels=4, PE=2, numInputVectors=[1, 4, 4],
        inputDataTypes=["UINT3", "UINT3"])
    add("StreamingDataWidthConverter", "DWC_0", ["s"], ["sd"], shape=[1, 4, 4, 4], inWidth=8, outWidth=16,
        dataType="UINT4")
    add("DuplicateStreams", "Dup_1", ["sd"], ["c", "d"], NumChannels=4, PE=4, NumOutputStreams=2,
        numInputVectors=[1, 4, 4], inputDataType="UINT4")
    add("StreamingConcat", "Cat_0", ["c", "d"], ["cc"], ChannelsPerStream=[4, 4], SIMD=4, numInputVectors=[1, 4, 4],
        inputDataTypes=["UINT4", "UINT4"])
    add("StreamingMaxPool", "MaxPool_0", ["cc"], ["y"], ImgDim=[4, 4], PoolDim=[2, 2], NumChannels=8, PE=4,
        dataType="UINT4")
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))  # noqa: E731
    g = helper.make_graph(nodes, "residual", [vi("x", (1, 4, 4, 4))], [vi("y", (1, 2, 2, 8))])
    m = ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)]))
    m.set_tensor_datatype("x", "UINT3")
    return m.transform("InferShapes").transform("InferDataTypes")


CHAIN = ["Dup_0", "Pad_0", "SWG_0", "Pool_0", "FIFO_0", "Add_0", "DWC_0", "Dup_1", "Cat_0", "MaxPool_0"]


def run_chain(styles, seeds=(0, 1)):
    import streamfold as sf

    m = residual_chain(styles)
    for seed in seeds:
        x = rand_values(np.random.default_rng(seed), "UINT3", (1, 4, 4, 4))
        want = sf.execute_onnx(m, {"x": x})["y"]
        got = sf.execute_onnx(m, {"x": x}, backend="cppsim")["y"]
        np.testing.assert_array_equal(got, want)


def test_residual_chain_all_hls():
    run_chain({})


@pytest.mark.full
@pytest.mark.parametrize("first", ["hls", "rtl"])
def test_residual_chain_mixed(first):
    other = "rtl" if first == "hls" else "hls"
    run_chain({n: (first if i % 2 == 0 else other) for i, n in enumerate(CHAIN)})
