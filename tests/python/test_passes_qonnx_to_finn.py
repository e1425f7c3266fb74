"""QONNX -> FINN conversion: FoldTransposeIntoQuantInit, FoldQuantWeights,
ConvertQuantActToMultiThreshold, AvgPoolAndTruncToQuantAvgPool and
RemoveEmptyPadding on tiny graphs, then the whole qonnx_to_finn sequence on
every zoo model and on random Brevitas networks, verified pass by pass.

Every pass but one is checked bit-exact. FoldQuantWeights moves weight scales
behind the accumulation (as FINN does), which changes float32 rounding of the
Conv/MatMul outputs; a downstream activation quantizer may then flip by one
step where its input sat within rounding of a step. That pass is checked for
exactly that and nothing more (see check_only_rescaled).

The thresholds are compared against qonnx's own quantizer (bit-exact at and
around every threshold) and, when FINN is importable, against FINN's
ConvertQONNXtoFINN (the same up to an ulp or two, where FINN's closed form
misses the quantizer's float32 rounding)."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import zoo
from streamfold.transformation import run_pipeline
from streamfold.zoo import random_net

QDOM = "qonnx.custom_op.general"
PRE = ["InferShapes", "FoldConstants", "GemmToMatMul", "FoldTransposeIntoQuantInit"]
POST = ["ConvertQuantActToMultiThreshold", "AvgPoolAndTruncToQuantAvgPool", "RemoveIdentityOps",
        "RemoveEmptyPadding", "GiveUniqueNodeNames", "GiveReadableTensorNames", "InferShapes", "InferDataTypes"]
PIPELINE = PRE + ["FoldQuantWeights"] + POST
QUANTIZERS = ("Quant", "IntQuant", "BipolarQuant")
MODES = ["ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]
F32 = np.float32


# ---------------------------------------------------------------------------- helpers
def make(nodes, inputs, outputs, inits=None, annotations=None, extra_opsets=()):
    """inputs/outputs: (name, shape or None); inits: name -> array."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    for t, dt in (annotations or {}).items():
        qa = graph.quantization_annotation.add()
        qa.tensor_name = t
        kv = qa.quant_parameter_tensor_names.add()
        kv.key, kv.value = "finn_datatype", dt
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(QDOM, 1)]
    opsets += [helper.make_opsetid(d, 1) for d in extra_opsets]
    return sf.ModelWrapper(helper.make_model(graph, opset_imports=opsets, ir_version=8))


def quant(x, out, prefix, attrs):
    return helper.make_node("Quant", [x, prefix + "_s", prefix + "_z", prefix + "_b"], [out], domain=QDOM, **attrs)


def qparams(prefix, scale, zp=0.0, bits=4.0):
    return {prefix + "_s": np.asarray(scale, F32), prefix + "_z": np.asarray(zp, F32),
            prefix + "_b": np.asarray(bits, F32)}


def ops(m):
    return [n.op_type for n in m.graph.node]


def run(m, feed, full=False):
    return sf.execute_onnx(m, feed, return_full_exec_context=full)


def out0(m, feed):
    return run(m, feed)[m.graph.output[0].name]


def verified(m, passes, feed):
    m2, _ = run_pipeline(m, passes, verify_inputs=feed)
    return m2


def step_of(m, node):
    s = m.get_initializer(node.input[1]).astype(F32)
    one_bit_signed = node.op_type == "BipolarQuant" or (
        float(m.get_initializer(node.input[3])) == 1 and node.get_attr("signed") == 1)
    return 2 * s if one_bit_signed else s


def check_only_rescaled(before, after, feed):
    """FoldQuantWeights may change float32 rounding behind the rescaled
    layers and nothing else: either the outputs agree to float tolerance, or
    the first activation quantizer that differs does so by exactly one step
    in a handful of elements (inputs within rounding of a step)."""
    a, b = run(before, feed, True), run(after, feed, True)
    order = before.transform("SortGraph")
    for n in order.graph.node:
        if n.op_type not in QUANTIZERS or before.get_initializer(n.input[0]) is not None:
            continue
        o = n.output[0]
        if np.array_equal(a[o], b[o]):
            continue
        bad = a[o] != b[o]
        steps = np.abs((b[o] - a[o]) / np.broadcast_to(step_of(before, n), a[o].shape))
        assert np.allclose(steps[bad], 1, rtol=1e-3), f"{o}: not a one-step flip"
        assert bad.sum() <= max(2, 1e-3 * bad.size), f"{o}: {bad.sum()} of {bad.size} elements flipped"
        return
    ya, yb = a[before.graph.output[0].name], b[after.graph.output[0].name]
    np.testing.assert_allclose(yb, ya, rtol=0, atol=1e-5 * max(1.0, float(np.abs(ya).max())))


def convert_verified(model, feeds):
    m1, _ = run_pipeline(model, PRE, verify_inputs=feeds)
    m2, _ = run_pipeline(m1, ["FoldQuantWeights"])
    for f in feeds:
        check_only_rescaled(m1, m2, f)
    m3, _ = run_pipeline(m2, POST, verify_inputs=feeds)
    return m3


def assert_finn_form(m):
    """No quantizer left, integer weights, annotated thresholding outputs."""
    assert not [o for o in ops(m) if o in QUANTIZERS]
    for n in m.graph.node:
        if n.op_type in ("MatMul", "Conv"):
            w = m.get_initializer(n.input[1])
            assert w is not None and np.array_equal(w, np.round(w)), n.name
            assert m.get_tensor_datatype(n.input[1]).is_integer(), n.name
        if n.op_type == "MultiThreshold":
            dt = n.get_attr("out_dtype")
            dt = dt.decode() if isinstance(dt, bytes) else dt
            assert m.get_tensor_datatype(n.output[0]).name == dt


# ---------------------------------------------------------------------------- single passes
def test_fold_transpose_into_quant_init_keeps_other_readers():
    w = np.random.default_rng(0).uniform(-1, 1, (4, 3)).astype(F32)
    nodes = [quant("w", "wq", "q", dict(signed=1, narrow=0)),
             helper.make_node("Transpose", ["wq"], ["wt"]),
             helper.make_node("MatMul", ["x", "wt"], ["a"]),
             helper.make_node("MatMul", ["a", "wq"], ["y"])]
    inits = {"w": w, **qparams("q", np.array([[0.1], [0.2], [0.05], [0.3]], F32))}
    m = make(nodes, [("x", [2, 3])], [("y", None)], inits)
    x = {"x": np.random.default_rng(1).uniform(-1, 1, (2, 3)).astype(F32)}
    m2 = verified(m, ["InferShapes", "FoldTransposeIntoQuantInit"], x)
    assert ops(m2).count("Transpose") == 0 and ops(m2).count("Quant") == 2


def test_fold_quant_weights_conv_matmul_bias_and_zero_point():
    rng = np.random.default_rng(2)
    nodes = [quant("wc", "wcq", "c", dict(signed=1, narrow=1)),
             helper.make_node("Conv", ["x", "wcq"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["a", "shape"], ["f"]),
             quant("wm", "wmq", "m", dict(signed=0, narrow=0)),
             helper.make_node("MatMul", ["f", "wmq"], ["b"]),
             quant("bias", "biasq", "bq", dict(signed=1, narrow=0)),
             helper.make_node("Add", ["b", "biasq"], ["y"])]
    inits = {"wc": rng.uniform(-1, 1, (3, 2, 3, 3)).astype(F32), "shape": np.array([1, 48], np.int64),
             "wm": rng.uniform(-1, 1, (48, 5)).astype(F32), "bias": rng.uniform(-1, 1, (5,)).astype(F32),
             **qparams("c", np.array([0.1, 0.2, 0.3], F32).reshape(3, 1, 1, 1)),
             **qparams("m", np.full((1, 5), 0.125, F32), zp=3.0, bits=3.0),
             **qparams("bq", 0.01, bits=16.0)}
    m = make(nodes, [("x", [1, 2, 4, 4])], [("y", None)], inits)
    x = {"x": rng.uniform(-1, 1, (1, 2, 4, 4)).astype(F32)}
    m1 = verified(m, ["InferShapes"], x)
    m2, _ = run_pipeline(m1, ["FoldQuantWeights"])
    np.testing.assert_allclose(out0(m2, x), out0(m1, x), rtol=1e-5, atol=1e-5)
    assert "Quant" not in ops(m2)
    assert m2.get_tensor_datatype("wcq").name == "INT4"
    assert m2.get_tensor_datatype("wmq").name == "INT4"  # unsigned 3-bit with zero point 3: -3..4
    assert m2.get_tensor_datatype("biasq").name == "FLOAT32"  # a scaled bias stays float
    muls = [n for n in m2.graph.node if n.op_type == "Mul"]
    shapes = sorted(m2.get_initializer(n.input[1]).shape for n in muls)
    assert shapes == [(1, 3, 1, 1), (1, 5)] or shapes == [(1, 5), (1, 3, 1, 1)]


def _act_graph(shape, scale, zp, bits, signed, narrow, mode, relu, bipolar_op=False):
    if bipolar_op:
        nodes = [helper.make_node("BipolarQuant", ["x", "q_s"], ["y"], domain=QDOM)]
        inits = {"q_s": np.asarray(scale, F32)}
    else:
        src = "r" if relu else "x"
        nodes = ([helper.make_node("Relu", ["x"], ["r"])] if relu else []) + [
            quant(src, "y", "q", dict(signed=int(signed), narrow=int(narrow), rounding_mode=mode))]
        inits = qparams("q", scale, zp, bits)
    return make(nodes, [("x", list(shape))], [("y", list(shape))], inits)


def _probes(thresholds, channels, rng):
    """Per channel: every threshold, its two float32 predecessors and its
    successor, plus random values; one row per probe, one column per channel."""
    cols = []
    for c in range(channels):
        t = thresholds[c if thresholds.shape[0] > 1 else 0].astype(F32)
        below = np.nextafter(t, F32(-np.inf))
        pts = [t, below, np.nextafter(below, F32(-np.inf)), np.nextafter(t, F32(np.inf)),
               rng.uniform(-3, 3, 16).astype(F32), np.array([0, -0.0, np.inf, -np.inf], F32)]
        cols.append(np.concatenate(pts))
    n = max(len(c) for c in cols)
    return np.stack([np.pad(c, (0, n - len(c))) for c in cols], axis=1).astype(F32)


def qonnx_reference(m, x):
    """The original activation quantizer, computed by qonnx's own functions."""
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.intquant import int_quant

    q = [n for n in m.graph.node if n.op_type in QUANTIZERS][0]
    if q.op_type == "BipolarQuant":
        return binary_quant(x, m.get_initializer(q.input[1]))
    if "Relu" in ops(m):
        x = np.maximum(x, F32(0))
    mode = q.get_attr("rounding_mode")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    return int_quant(x, *(m.get_initializer(i) for i in q.input[1:]), q.get_attr("signed"), q.get_attr("narrow"),
                     mode).astype(F32)


def convert_act(m):
    c, _ = run_pipeline(m, ["InferShapes", "ConvertQuantActToMultiThreshold"])
    return c


def thresholds_of(c):
    return c.get_initializer([n for n in c.graph.node if n.op_type == "MultiThreshold"][0].input[1])


def assert_exact_at_thresholds(build, channels, rank4, rng):
    """build(shape) -> model of one activation quantizer on input x of that
    shape, channels on axis 1. Converted, it must equal qonnx's quantizer at,
    just below and just above every threshold (probes laid along a spatial
    axis for rank 4, along the batch for rank 2)."""
    probe_rows = _probes(thresholds_of(convert_act(build((1, channels, 1, 1) if rank4 else (1, channels)))),
                         channels, rng)
    n = probe_rows.shape[0]
    x = probe_rows.T.reshape(1, channels, n, 1).copy() if rank4 else probe_rows
    m = build(x.shape)
    c = convert_act(m)
    assert not [o for o in ops(c) if o in QUANTIZERS]
    np.testing.assert_array_equal(sf.execute_onnx(c, {"x": x})["y"], qonnx_reference(m, x))
    return c


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(bits=st.integers(1, 8), signed=st.booleans(), narrow=st.booleans(), relu=st.booleans(),
       channels=st.integers(1, 4), per_channel=st.booleans(), unit_scale=st.booleans(),
       mode=st.sampled_from(MODES), zp=st.integers(-2, 2), seed=st.integers(0, 2**16))
def test_quant_act_to_multithreshold_is_exact(bits, signed, narrow, relu, channels, per_channel, unit_scale,
                                              mode, zp, seed):
    assume(not (bits == 1 and not signed and narrow))  # a single level: nothing to threshold
    rng = np.random.default_rng(seed)
    shp = (1, channels, 1, 1) if per_channel else ()
    scale = np.ones(shp, F32) if unit_scale else rng.uniform(0.01, 1, shp).astype(F32)
    c = assert_exact_at_thresholds(
        lambda shape: _act_graph(shape, scale, float(zp), float(bits), signed, narrow, mode, relu),
        channels, True, rng)
    if not (bits == 1 and signed):  # Relu -> bipolar may be constant: then the Relu stays
        assert "Relu" not in ops(c)
    mt = [n for n in c.graph.node if n.op_type == "MultiThreshold"][0]
    if bits == 1 and signed:
        assert mt.get_attr("out_scale") == 2.0 and mt.get_attr("out_bias") == -1.0
    assert ("Mul" in ops(c)) == (not unit_scale)


def test_relu_and_identity_cases_match_design_formulas():
    """DESIGN §5: ReLU t_k = s/2 + s*k, identity t_0 = -s/2 - s*(n//2 - 1) [- s],
    bias -2^(b-1) [+1 narrow]; exact thresholds differ from these by an ulp at most."""
    s = F32(0.3)
    for relu, signed, narrow in [(True, False, False), (False, True, False), (False, True, True)]:
        c = convert_act(_act_graph((1, 2), s, 0.0, 4.0, signed, narrow, "ROUND", relu))
        thr = thresholds_of(c)
        s64 = float(s)
        if relu:
            want = s64 / 2 + s64 * np.arange(15, dtype=np.float64)
        else:
            n = 14 if narrow else 15
            t0 = -s64 / 2 - s64 * (n // 2 - 1) - (0 if narrow else s64)
            want = t0 + s64 * np.arange(n, dtype=np.float64)
            add = [x for x in c.graph.node if x.op_type == "Add"][0]
            assert float(c.get_initializer(add.input[1])) == (-7 if narrow else -8)
        np.testing.assert_allclose(thr[0], want.astype(F32), rtol=2.5e-7)


def test_bipolar_and_wide_activations():
    c = assert_exact_at_thresholds(
        lambda shape: _act_graph(shape, F32(0.5), 0, 1, True, False, "ROUND", False, bipolar_op=True),
        3, False, np.random.default_rng(0))
    assert ops(c) == ["MultiThreshold", "Mul"]
    wide = convert_act(_act_graph((1, 3), F32(0.5), 0, 9.0, True, False, "ROUND", False))
    assert ops(wide) == ["Quant"], "9-bit activations stay (refused, noted)"


@pytest.mark.parametrize("v1", [False, True])
def test_avgpool_and_trunc_to_quant_avgpool(v1):
    s = F32(0.5)
    nodes = [quant("x", "q", "q", dict(signed=1, narrow=0)),
             helper.make_node("AveragePool", ["q"], ["p"], kernel_shape=[2, 2], strides=[2, 2])]
    if v1:  # older Brevitas: AveragePool -> Mul(k*k) -> Trunc(scale, zp, in_bits, out_bits), FLOOR
        nodes += [helper.make_node("Mul", ["p", "kk"], ["p2"]),
                  helper.make_node("Trunc", ["p2", "t_s", "t_z", "t_ib", "t_ob"], ["y"], domain=QDOM,
                                   rounding_mode="FLOOR")]
        inits = {"kk": np.asarray(4, F32), "t_s": s, "t_z": np.asarray(0, F32), "t_ib": np.asarray(6, F32),
                 "t_ob": np.asarray(4, F32)}
    else:  # Brevitas 0.13: Trunc v2 on the average, scale s / k^2
        nodes += [helper.make_node("Trunc", ["p", "t_s", "t_z", "t_ib", "t_os", "t_ob"], ["y"], domain=QDOM,
                                   rounding_mode="ROUND", signed=1, narrow=0)]
        inits = {"t_s": s / 4, "t_z": np.asarray(0, F32), "t_ib": np.asarray(6, F32), "t_os": s / 4,
                 "t_ob": np.asarray(6, F32)}
    inits.update(qparams("q", s))
    m = make(nodes, [("x", [1, 3, 4, 6])], [("y", None)], inits)
    x = {"x": np.random.default_rng(3).uniform(-6, 6, (1, 3, 4, 6)).astype(F32)}
    m2 = verified(m, ["InferShapes", "ConvertQuantActToMultiThreshold", "AvgPoolAndTruncToQuantAvgPool"], x)
    assert "QuantAvgPool2d" in ops(m2) and "Trunc" not in ops(m2) and "AveragePool" not in ops(m2)


def test_remove_empty_padding():
    nodes = [helper.make_node("Pad", ["x", "p0"], ["a"]), helper.make_node("Relu", ["a"], ["y"])]
    m = make(nodes, [("x", [1, 2])], [("y", None)], {"p0": np.zeros(4, np.int64)})
    m2 = verified(m, ["InferShapes", "RemoveEmptyPadding"], {"x": np.array([[-1, 2]], F32)})
    assert ops(m2) == ["Relu"]


def test_finn_onnx_models_pass_through_unchanged():
    """Old FINN exports are already in MultiThreshold form (domains
    finn.custom_op.general and finn); the sequence must leave them working."""
    rng = np.random.default_rng(4)
    w = rng.integers(-2, 2, (6, 4)).astype(F32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"]),
             helper.make_node("MultiThreshold", ["a", "t1"], ["b"], domain="finn.custom_op.general",
                              out_dtype="UINT2"),
             helper.make_node("Mul", ["b", "s"], ["c"]),
             helper.make_node("MultiThreshold", ["c", "t2"], ["y"], domain="finn", out_dtype="BIPOLAR",
                              out_scale=2.0, out_bias=-1.0)]
    inits = {"w": w, "t1": np.array([[-1.5, 0.5, 2.5]] * 4, F32), "s": np.asarray(0.5, F32),
             "t2": np.array([[0.5]], F32)}
    m = make(nodes, [("x", [1, 6])], [("y", None)], inits, {"w": "INT2", "x": "INT2"},
             extra_opsets=("finn.custom_op.general", "finn"))
    x = {"x": rng.integers(-2, 2, (1, 6)).astype(F32)}
    m2 = verified(m, PIPELINE, x)
    assert ops(m2) == ops(m)
    np.testing.assert_array_equal(out0(m2, {"global_in": x["x"]}), out0(m, x))
    assert m2.get_tensor_datatype("MatMul_0_param0").name == "INT2"


# ---------------------------------------------------------------------------- zoo and random networks
@pytest.mark.parametrize("name", zoo.list_models())
def test_zoo_qonnx_to_finn_verified(name):
    model = sf.ModelWrapper(zoo.export(name))
    inp = model._model.runtime_input_names()[0]
    feeds = [{inp: zoo.example_input(name, n=1, seed=1)}]
    m = convert_verified(model, feeds)
    assert_finn_form(m)
    assert m._model.runtime_input_names() == ["global_in"]


@pytest.mark.parametrize("name", ["lenet5_w4a4", "residual_block", "cnv_w1a2", "dnn2fpga_cnn"])
def test_zoo_thresholds_exact_against_qonnx_quant(name):
    """Each activation quantizer of the model, alone, converted: the
    MultiThreshold form equals qonnx's quantizer at and around every threshold."""
    model = sf.ModelWrapper(zoo.export(name)).transform("InferShapes")
    rng = np.random.default_rng(5)
    prod = {o: n for n in model.graph.node for o in n.output}
    for q in model.graph.node:
        if q.op_type not in QUANTIZERS or model.get_initializer(q.input[0]) is not None:
            continue
        shape = model.get_tensor_shape(q.input[0]) or model.get_tensor_shape(q.output[0])
        p = lambda i: model.get_initializer(q.input[i])  # noqa: E731
        relu = q.input[0] in prod and prod[q.input[0]].op_type == "Relu"
        channels = shape[1]
        if q.op_type == "BipolarQuant":
            build = lambda s: _act_graph(s, p(1), 0, 1, True, False, "ROUND", False, bipolar_op=True)  # noqa: E731
        else:
            mode = q.get_attr("rounding_mode")
            mode = mode.decode() if isinstance(mode, bytes) else (mode or "ROUND")
            scale = p(1) if p(1).size == 1 else p(1).reshape(1, -1, 1, 1)
            args = (scale, float(p(2)), float(p(3)), q.get_attr("signed"), q.get_attr("narrow"), mode, relu)
            build = lambda s, a=args: _act_graph(s, *a)  # noqa: E731
        assert_exact_at_thresholds(build, channels, True, rng)


finn_q2f = None
try:  # FINN (or finn-plus) is optional; its converter is the reference we match
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN as finn_q2f  # noqa: F811
except Exception:  # pragma: no cover - depends on the environment
    pass


@pytest.mark.skipif(finn_q2f is None, reason="FINN is not installed")
@pytest.mark.parametrize("name", ["lenet5_w4a4", "tfc_w2a2", "cnv_w1a2", "emotion_cnn_8b"])
def test_matches_finn_convert_qonnx_to_finn(name):
    import warnings

    from qonnx.core.modelwrapper import ModelWrapper as QMW
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.infer_shapes import InferShapes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = QMW(zoo.export(name)).transform(InferShapes()).transform(FoldConstants()).transform(finn_q2f())
    ours, _ = run_pipeline(sf.ModelWrapper(zoo.export(name)), PIPELINE)
    theirs_mt = [n for n in q.graph.node if n.op_type == "MultiThreshold"]
    ours_mt = [n for n in ours.graph.node if n.op_type == "MultiThreshold"]
    assert len(ours_mt) == len(theirs_mt)
    for a, b in zip(ours_mt, theirs_mt):
        ta, tb = ours.get_initializer(a.input[1]), q.get_initializer(b.input[1])
        assert ta.shape == tb.shape
        ulps = np.abs(ta.view(np.int32).astype(np.int64) - tb.astype(F32).view(np.int32).astype(np.int64))
        assert ulps.max() <= 2, f"{a.name}: thresholds differ by {ulps.max()} ulp"
        odt = a.get_attr("out_dtype")
        odt = odt.decode() if isinstance(odt, bytes) else odt
        from qonnx.custom_op.registry import getCustomOp
        assert odt == getCustomOp(b).get_nodeattr("out_dtype")
    # the integer weights, layer by layer
    wa = [ours.get_initializer(n.input[1]) for n in ours.graph.node if n.op_type in ("MatMul", "Conv")]
    wb = [q.get_initializer(n.input[1]) for n in q.graph.node if n.op_type in ("MatMul", "Conv")]
    assert len(wa) == len(wb)
    for a, b in zip(wa, wb):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=int(os.environ.get("SF_HYPOTHESIS_EXAMPLES", 10)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_qonnx_to_finn_verified(net):
    module, shape = net
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "net.onnx")
        zoo.export_module(module, shape, path)
        model = sf.ModelWrapper(path)
    inp = model._model.runtime_input_names()[0]
    m = convert_verified(model, [{inp: random_net.example_input(shape, n=1, seed=s)} for s in (0, 1)])
    assert_finn_form(m)
