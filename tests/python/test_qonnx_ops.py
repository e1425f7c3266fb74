"""Bit-exactness of streamfold's QONNX/FINN custom ops against qonnx itself.

Every case builds a single-node graph with onnx.helper, runs it through
streamfold and through qonnx.core.onnx_exec.execute_onnx, and compares the
float32 bit patterns (signed zeros included). Hypothesis draws bit widths,
signedness, rounding modes, per-tensor/per-channel parameters, layouts and
inputs that sit exactly on rounding ties; the draws are derandomized so the
suite is deterministic.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
import streamfold.transformation  # noqa: F401

qonnx_exec = pytest.importorskip("qonnx.core.onnx_exec")
from qonnx.core.modelwrapper import ModelWrapper as QModelWrapper  # noqa: E402
from qonnx.transformation.infer_datatypes import InferDataTypes  # noqa: E402

QDOM = "qonnx.custom_op.general"
MODES = ["ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]
F32 = np.float32
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- helpers
def make_model(op_type, inputs, inits, out_shape, attrs=None, qonnx_opset=1, annotations=None, out="y"):
    """inputs: (name, shape) runtime inputs; inits: name -> array, the node's
    remaining inputs in order; annotations: tensor name -> finn_datatype."""
    names = [n for n, _ in inputs] + list(inits)
    node = helper.make_node(op_type, names, [out], domain=QDOM, **(attrs or {}))
    graph = helper.make_graph(
        [node], "single_node",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_shape))],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                     helper.make_opsetid(QDOM, qonnx_opset)])
    if annotations:
        qm = QModelWrapper(model)
        for name, dt in annotations.items():
            from qonnx.core.datatype import DataType as QDataType
            qm.set_tensor_datatype(name, QDataType[dt])
        model = qm.model
    return model


def run_both(model, feed):
    ours = sf.execute_onnx(model, dict(feed))["y"]
    ref = qonnx_exec.execute_onnx(QModelWrapper(model.SerializeToString()), {k: v.copy() for k, v in feed.items()})
    return ours, ref["y"]


def assert_bit_exact(ours, ref, ctx=""):
    # qonnx returns float64 for some parameter dtypes; streamfold stores float32
    # results computed at the same precision, so compare after the same cast.
    ref = np.asarray(ref).astype(F32)
    assert ours.dtype == F32, ours.dtype
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    bad = ours.view(np.uint32) != ref.view(np.uint32)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise AssertionError(f"{ctx}: {bad.sum()} of {bad.size} differ; first at {idx}: "
                             f"streamfold {ours[idx]!r} vs qonnx {ref[idx]!r}")


def check(model, feed, ctx=""):
    ours, ref = run_both(model, feed)
    assert_bit_exact(ours, ref, ctx)
    # Shape inference must predict what execution produces.
    mw = sf.ModelWrapper(model.SerializeToString()).transform(sf.transformation.InferShapes())
    assert tuple(mw.get_tensor_shape("y")) == ours.shape, ctx
    return ours


def sf_datatype(model, allow_scaledint=True):
    mw = sf.ModelWrapper(model.SerializeToString()).transform(sf.transformation.InferShapes())
    mw = mw.transform(sf.transformation.InferDataTypes(allow_scaledint_dtypes=allow_scaledint))
    return mw.get_tensor_datatype("y").name


def qonnx_datatype(model):
    qm = QModelWrapper(model.SerializeToString()).transform(InferDataTypes(allow_scaledint_dtypes=True))
    return qm.get_tensor_datatype("y").get_canonical_name()


def layout_case(draw, odd_only=False):
    layout = draw(st.sampled_from(["NCHW", "NHWC", "NC"]))
    c = draw(st.sampled_from([1, 3, 5, 7] if odd_only else [1, 2, 3, 5, 7]))
    shape = {"NCHW": (1, c, 3, 2), "NHWC": (1, 2, 3, c), "NC": (2, c)}[layout]
    pshape = {"NCHW": draw(st.sampled_from([(c, 1, 1), (1, c, 1, 1)])), "NHWC": (c,), "NC": (c,)}[layout]
    return layout, c, shape, pshape


def draw_scale(draw, rng, pshape, per_channel):
    shape = pshape if per_channel else ()
    kind = draw(st.sampled_from(["pow2", "pow2", "any"]))
    if kind == "pow2":
        return (2.0 ** rng.integers(-7, 3, size=shape)).astype(F32)
    return rng.uniform(0.003, 1.7, size=shape).astype(F32)


def tie_inputs(rng, shape, scale, zp, lo, hi):
    """Mix of exact ties y = k + 0.5, values just off ties, out-of-range values,
    integers and signed zeros, all in x = (y - zp) * scale."""
    k = rng.integers(int(lo) - 3, int(hi) + 3, size=shape).astype(F32)
    pick = rng.integers(0, 6, size=shape)
    frac = np.select([pick == 0, pick == 1, pick == 2, pick == 3],
                     [F32(0.5), F32(0.5) + F32(2 ** -10), F32(0.5) - F32(2 ** -10), F32(0.0)],
                     default=rng.uniform(-1, 1, size=shape).astype(F32))
    y = (k + frac).astype(F32)
    x = ((y - zp) * scale).astype(F32)
    x = np.where(pick == 5, rng.normal(0, 3 * max(abs(hi), 1), size=shape).astype(F32) * scale, x).astype(F32)
    x.flat[0] = F32(-0.0)
    return x.astype(F32)


# ---------------------------------------------------------------------------- Quant
def qlimits(signed, narrow, bw):
    if signed:
        return (-(2 ** (bw - 1)) + (1 if narrow else 0), 2 ** (bw - 1) - 1)
    return 0, 2 ** bw - (2 if narrow else 1)


@settings(max_examples=400, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_quant_matches_qonnx(data, seed):
    draw = data.draw
    rng = np.random.default_rng(seed)
    bw = draw(st.one_of(st.integers(1, 8), st.sampled_from([12, 16, 24, 25, 31, 32])))
    signed, narrow = draw(st.booleans()), draw(st.booleans())
    mode = draw(st.sampled_from(MODES))
    mode = draw(st.sampled_from([mode, mode.lower(), mode.capitalize()]))
    layout, c, shape, pshape = layout_case(draw)
    scale = draw_scale(draw, rng, pshape, draw(st.booleans()))
    zp_kind = draw(st.sampled_from(["zero", "zero", "int", "frac"]))
    zshape = pshape if draw(st.booleans()) else ()
    lo, hi = qlimits(signed, narrow, bw)
    zp = {"zero": np.zeros(zshape, F32),
          "int": rng.integers(0, min(hi, 7) + 1, size=zshape).astype(F32),
          "frac": rng.uniform(-2, 2, size=zshape).astype(F32)}[zp_kind]
    x = tie_inputs(rng, shape, scale, zp, lo, hi)
    if bw >= 24:  # the float32-rounded clamp bounds only show up near 2^bw
        x = (x + np.sign(x) * F32(2.0 ** (bw - 1)) * scale * rng.choice([0, 0.999, 1, 2.01], size=shape)).astype(F32)
    model = make_model("Quant", [("x", shape)], {"s": scale, "z": zp, "b": np.array(bw, F32)}, shape,
                       dict(signed=int(signed), narrow=int(narrow), rounding_mode=mode))
    check(model, {"x": x}, f"bw={bw} signed={signed} narrow={narrow} mode={mode} {layout}")


@pytest.mark.parametrize("mode", MODES)
def test_quant_rounding_ties_every_mode(mode):
    # scale 1/4 and zeropt 0: x/scale is exact, so every k + 0.5 is a true tie.
    x = (np.arange(-9, 9, dtype=F32) + F32(0.5)) / F32(4)
    x = np.concatenate([x, np.array([-0.0, 0.0, 0.1, -0.1], F32)])
    model = make_model("Quant", [("x", x.shape)], {"s": np.array(0.25, F32), "z": np.array(0, F32),
                                                   "b": np.array(4, F32)}, x.shape,
                       dict(signed=1, narrow=0, rounding_mode=mode))
    check(model, {"x": x}, mode)


@pytest.mark.parametrize("bw_dtype", [np.float32, np.int64])
def test_quant_bitwidth_dtypes(bw_dtype):
    x = np.linspace(-300, 300, 97, dtype=F32)
    model = make_model("Quant", [("x", x.shape)], {"s": np.array(0.37, F32), "z": np.array(0, F32),
                                                   "b": np.array(8, bw_dtype)}, x.shape,
                       dict(signed=1, narrow=1, rounding_mode="ROUND"))
    check(model, {"x": x})


@pytest.mark.parametrize("sdt,zdt,bdt", [(np.float64, np.float32, np.float32), (np.float32, np.float64, np.int64),
                                         (np.float32, np.float32, np.int32), (np.float64, np.float64, np.float64)])
def test_quant_parameter_dtypes_promote_like_numpy(sdt, zdt, bdt):
    # A float64 parameter makes qonnx run the whole expression in float64
    # (then cast to float32); ties land differently than in float32.
    rng = np.random.default_rng(3)
    scale = rng.uniform(0.01, 1, size=(3, 1, 1)).astype(sdt)
    zp = np.array(1.0, zdt)
    x = tie_inputs(rng, (1, 3, 4, 4), scale.astype(F32), F32(1.0), -8, 7)
    for bw, mode in [(4, "ROUND"), (26, "HALF_DOWN")]:
        model = make_model("Quant", [("x", x.shape)], {"s": scale, "z": zp, "b": np.array(bw, bdt)}, x.shape,
                           dict(signed=1, narrow=0, rounding_mode=mode))
        check(model, {"x": (x * F32(2.0 ** (bw - 4))).astype(F32)}, f"{sdt} {zdt} {bdt} bw={bw}")


@pytest.mark.parametrize("bdt,osdt", [(np.int64, np.float32), (np.float32, np.float64), (np.float64, np.float32)])
def test_trunc_parameter_dtypes_promote_like_numpy(bdt, osdt):
    rng = np.random.default_rng(5)
    scale, zp = np.array(0.3, F32), np.array(0.5, F32)
    x = quantized_inputs(rng, (1, 3, 4, 4), scale, zp, 10, True)
    v1 = make_model("Trunc", [("x", x.shape)], {"s": scale, "z": zp, "ib": np.array(10, bdt),
                                                "ob": np.array(6, bdt)}, x.shape, dict(rounding_mode="ROUND"))
    check(v1, {"x": x}, "v1")
    v2 = make_model("Trunc", [("x", x.shape)], {"s": scale, "z": zp, "ib": np.array(10, bdt),
                                                "os": np.array(2.1, osdt), "ob": np.array(6, bdt)}, x.shape,
                    dict(rounding_mode="HALF_UP", signed=1, narrow=1), qonnx_opset=2)
    check(v2, {"x": x}, "v2")


@pytest.mark.parametrize("scale,zp,bw,signed,expect", [
    (1.0, 0.0, 4, 1, "INT4"), (1.0, 0.0, 4, 0, "UINT4"), (1.0, 0.0, 1, 1, "BIPOLAR"),
    (1.0, 0.0, 1, 0, "BINARY"), (0.5, 0.0, 3, 1, "SCALEDINT<3>"), ([1.0, 0.5], 0.0, 8, 0, "SCALEDINT<8>"),
    (1.0, 2.0, 5, 0, "SCALEDINT<5>"),
])
def test_quant_datatype(scale, zp, bw, signed, expect):
    s = np.array(scale, F32).reshape(-1)
    model = make_model("Quant", [("x", (1, 2))], {"s": s, "z": np.array(zp, F32), "b": np.array(bw, F32)},
                       (1, 2), dict(signed=signed, narrow=0))
    assert sf_datatype(model) == expect
    if zp == 0.0:
        assert qonnx_datatype(model) == expect
    assert sf_datatype(model, allow_scaledint=False) == (expect if "SCALED" not in expect else "FLOAT32")


# ---------------------------------------------------------------------------- BipolarQuant
@settings(max_examples=80, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_bipolar_quant_matches_qonnx(data, seed):
    rng = np.random.default_rng(seed)
    layout, c, shape, pshape = layout_case(data.draw)
    scale = draw_scale(data.draw, rng, pshape, data.draw(st.booleans()))
    x = rng.normal(size=shape).astype(F32)
    x.flat[:2] = [F32(0.0), F32(-0.0)]
    model = make_model("BipolarQuant", [("x", shape)], {"s": scale}, shape)
    out = check(model, {"x": x}, layout)
    assert set(np.unique(out / np.broadcast_to(scale, shape))) <= {-1.0, 1.0}


def test_bipolar_quant_datatype():
    unit = make_model("BipolarQuant", [("x", (1, 4))], {"s": np.array(1.0, F32)}, (1, 4))
    scaled = make_model("BipolarQuant", [("x", (1, 4))], {"s": np.array(0.5, F32)}, (1, 4))
    assert sf_datatype(unit) == "BIPOLAR" == qonnx_datatype(unit)
    assert sf_datatype(scaled) == "SCALEDINT<1>"
    assert sf_datatype(scaled, allow_scaledint=False) == "FLOAT32" == qonnx_datatype(scaled)


# ---------------------------------------------------------------------------- Trunc
def quantized_inputs(rng, shape, scale, zp, bw, signed):
    lo, hi = qlimits(signed, False, bw)
    q = rng.integers(lo, hi + 1, size=shape).astype(F32)
    x = ((q - zp) * scale).astype(F32)
    noisy = rng.random(size=shape) < 0.15  # off-grid values exercise the first round()
    return np.where(noisy, x + rng.uniform(-0.7, 0.7, size=shape).astype(F32) * scale, x).astype(F32)


@settings(max_examples=150, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_trunc_v1_matches_qonnx(data, seed):
    draw = data.draw
    rng = np.random.default_rng(seed)
    in_bw = draw(st.integers(2, 16))
    out_bw = draw(st.integers(1, in_bw))
    signed = draw(st.booleans())
    mode = draw(st.sampled_from(MODES + ["floor"]))
    layout, c, shape, pshape = layout_case(draw)
    scale = draw_scale(draw, rng, pshape, draw(st.booleans()))
    zp = draw(st.sampled_from([np.zeros((), F32), np.array(3, F32), np.array(0.25, F32)]))
    x = quantized_inputs(rng, shape, scale, zp, in_bw, signed)
    inits = {"s": scale, "z": zp, "ib": np.array(in_bw, F32), "ob": np.array(out_bw, F32)}
    model = make_model("Trunc", [("x", shape)], inits, shape, dict(rounding_mode=mode), qonnx_opset=1)
    check(model, {"x": x}, f"v1 {in_bw}->{out_bw} {mode} {layout}")


def trunc_v2_case(draw, rng):
    in_bw = draw(st.integers(2, 16))
    out_bw = draw(st.integers(1, in_bw))
    signed, narrow = draw(st.booleans()), draw(st.booleans())
    mode = draw(st.sampled_from(MODES))
    layout, c, shape, pshape = layout_case(draw)
    scale = draw_scale(draw, rng, pshape, draw(st.booleans()))
    shift = draw(st.integers(0, in_bw - out_bw + 1))
    jitter = draw(st.sampled_from([1.0, 1.0, 1.3, 0.8]))  # not a power of two: qonnx snaps it
    out_scale = (scale * F32(2.0 ** shift) * F32(jitter)).astype(F32)
    zp = draw(st.sampled_from([np.zeros((), F32), np.array(2, F32)]))
    x = quantized_inputs(rng, shape, scale, zp, in_bw, True)
    attrs = dict(rounding_mode=mode, signed=int(signed), narrow=int(narrow))
    return shape, x, scale, zp, in_bw, out_scale, out_bw, attrs


@settings(max_examples=150, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_trunc_v2_matches_qonnx(data, seed):
    rng = np.random.default_rng(seed)
    shape, x, scale, zp, in_bw, out_scale, out_bw, attrs = trunc_v2_case(data.draw, rng)
    inits = {"s": scale, "z": zp, "ib": np.array(in_bw, F32), "os": out_scale, "ob": np.array(out_bw, F32)}
    model = make_model("Trunc", [("x", shape)], inits, shape, attrs, qonnx_opset=2)
    check(model, {"x": x}, f"v2 {in_bw}->{out_bw} {attrs}")


def test_trunc_v2_seven_inputs_equals_six():
    rng = np.random.default_rng(7)
    scale, zp, out_scale = np.array(0.25, F32), np.array(4, F32), np.array(2.0, F32)  # trunc_scale 8
    x = quantized_inputs(rng, (1, 3, 4, 4), scale, zp, 10, True)
    attrs = dict(rounding_mode="HALF_UP", signed=1, narrow=0)
    six = make_model("Trunc", [("x", x.shape)], {"s": scale, "z": zp, "ib": np.array(10, F32), "os": out_scale,
                                                 "ob": np.array(6, F32)}, x.shape, attrs, qonnx_opset=2)
    seven = make_model("Trunc", [("x", x.shape)], {"s": scale, "z": zp, "ib": np.array(10, F32), "os": out_scale,
                                                   "oz": np.array(0.5, F32), "ob": np.array(6, F32)},
                       x.shape, attrs, qonnx_opset=2)
    ref = check(six, {"x": x})
    assert_bit_exact(sf.execute_onnx(seven, {"x": x})["y"], ref)
    bad = make_model("Trunc", [("x", x.shape)], {"s": scale, "z": zp, "ib": np.array(10, F32), "os": out_scale,
                                                 "oz": np.array(3, F32), "ob": np.array(6, F32)}, x.shape, attrs)
    with pytest.raises(sf.ModelError, match="out_zeropt"):
        sf.execute_onnx(bad, {"x": x})


def test_trunc_datatype():
    one, zero = np.array(1.0, F32), np.array(0.0, F32)
    v1 = make_model("Trunc", [("x", (1, 4))], {"s": one, "z": zero, "ib": np.array(8, F32),
                                               "ob": np.array(4, F32)}, (1, 4))
    assert sf_datatype(v1) == "INT4"  # unannotated input is FLOAT32, which is signed
    v2 = make_model("Trunc", [("x", (1, 4))], {"s": np.array(0.5, F32), "z": zero, "ib": np.array(8, F32),
                                               "os": one, "ob": np.array(3, F32)}, (1, 4), dict(signed=0))
    assert sf_datatype(v2) == "UINT3"
    v2s = make_model("Trunc", [("x", (1, 4))], {"s": one, "z": zero, "ib": np.array(8, F32),
                                                "os": np.array(4.0, F32), "ob": np.array(3, F32)}, (1, 4))
    assert sf_datatype(v2s) == "SCALEDINT<3>"


# ---------------------------------------------------------------------------- MultiThreshold
MT_LAYOUTS = [  # (data_layout attribute or None, shape builder, channel axis)
    ("NCHW", lambda c: (1, c, 3, 2), 1), ("NHWC", lambda c: (1, 3, 2, c), 3), (None, lambda c: (2, c), 1),
    (None, lambda c: (1, 4, c), 2), (None, lambda c: (1, c, 2, 3), 1), ("NC", lambda c: (3, c), 1),
    ("NWC", lambda c: (1, 5, c), 2), (None, lambda c: (1, c, 2, 1, 2), 1),
]


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_multithreshold_matches_qonnx(data, seed):
    draw = data.draw
    rng = np.random.default_rng(seed)
    layout, mkshape, axis = draw(st.sampled_from(MT_LAYOUTS))
    c = draw(st.sampled_from([1, 2, 3, 5, 7]))
    shape = mkshape(c)
    steps = draw(st.sampled_from([1, 3, 7, 15, 4]))
    rows = c if draw(st.booleans()) else 1
    thr = np.sort(rng.normal(0, 2, size=(rows, steps)).astype(F32), axis=1)
    if draw(st.integers(0, 4)) == 0:
        thr = rng.permutation(thr, axis=1)  # unsorted rows still count x >= t one by one
    thr = np.round(thr * 4) / 4  # duplicates and exact hits
    # Half the inputs are threshold values themselves: x == t must count (>=).
    x = rng.normal(0, 2.5, size=shape).astype(F32)
    hits = rng.choice(thr.reshape(-1), size=shape)
    x = np.where(rng.random(size=shape) < 0.5, hits, x).astype(F32)
    out_scale = draw(st.sampled_from([1.0, 2.0, 0.5, 0.0371]))
    out_bias = draw(st.sampled_from([0.0, -1.0, -8.0, 0.3]))
    attrs = dict(out_dtype=draw(st.sampled_from(["UINT4", "INT4", "BIPOLAR", "UINT8"])),
                 out_scale=out_scale, out_bias=out_bias)
    if layout:
        attrs["data_layout"] = layout
    model = make_model("MultiThreshold", [("x", shape)], {"t": thr.astype(F32)}, shape, attrs)
    check(model, {"x": x}, f"{layout} {shape} thr={thr.shape}")
    assert sf_datatype(model) == qonnx_datatype(model)


def test_multithreshold_equality_counts():
    thr = np.array([[-1.0, 0.0, 0.0, 2.5]], F32)
    x = np.array([[-1.0, -0.0, 0.0, 2.5, 2.4999998, -1.0000001]], F32)
    model = make_model("MultiThreshold", [("x", x.shape)], {"t": thr}, x.shape, dict(out_dtype="UINT3"))
    out = check(model, {"x": x})
    np.testing.assert_array_equal(out, [[1, 3, 3, 4, 3, 0]])


# ---------------------------------------------------------------------------- XnorPopcountMatMul
@settings(max_examples=40, **SETTINGS)
@given(seed=st.integers(0, 2 ** 32 - 1), m=st.integers(1, 5), k=st.integers(1, 70), n=st.integers(1, 9),
       batched=st.booleans())
def test_xnorpopcount_matches_qonnx(seed, m, k, n, batched):
    rng = np.random.default_rng(seed)
    ashape = (2, m, k) if batched else (m, k)
    a = rng.integers(0, 2, size=ashape).astype(F32)
    w = rng.integers(0, 2, size=(k, n)).astype(F32)
    model = make_model("XnorPopcountMatMul", [("x", ashape)], {"w": w}, ashape[:-1] + (n,),
                       annotations={"x": "BINARY", "w": "BINARY"})
    out = check(model, {"x": a})
    np.testing.assert_array_equal(out, ((2 * a - 1) @ (2 * w - 1) + k) / 2)
    assert sf_datatype(model) == "UINT32" == qonnx_datatype(model)


# ---------------------------------------------------------------------------- Im2Col
def conv_out(i, k, s, p, d):
    return int((i + p - d * (k - 1) - 1) / s + 1)


@settings(max_examples=150, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_im2col_matches_qonnx(data, seed):
    draw = data.draw
    rng = np.random.default_rng(seed)
    h, w, c = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.sampled_from([1, 2, 3, 5]))
    assume(h > 1 or w > 1)
    kh = 1 if h == 1 else draw(st.integers(1, 3))
    kw = 1 if w == 1 else draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh = 1 if h == 1 else draw(st.integers(1, 2))
    dw = 1 if w == 1 else draw(st.integers(1, 2))
    pads = [0 if h == 1 else draw(st.integers(0, 2)), 0 if w == 1 else draw(st.integers(0, 2)),
            0 if h == 1 else draw(st.integers(0, 2)), 0 if w == 1 else draw(st.integers(0, 2))]
    oh, ow = conv_out(h, kh, sh, pads[0] + pads[2], dh), conv_out(w, kw, sw, pads[1] + pads[3], dw)
    assume(oh >= 1 and ow >= 1 and h + pads[0] + pads[2] >= dh * (kh - 1) + 1
           and w + pads[1] + pads[3] >= dw * (kw - 1) + 1)
    pad_value = draw(st.integers(-2, 2))
    x = rng.integers(-8, 8, size=(1, h, w, c)).astype(F32)
    attrs = dict(stride=[sh, sw], kernel_size=[kh, kw], input_shape=f"(1, {h}, {w}, {c})", pad_amount=pads,
                 pad_value=pad_value, dilations=[dh, dw], depthwise=draw(st.sampled_from([0, 1])))
    model = make_model("Im2Col", [("x", x.shape)], {}, (1, oh, ow, kh * kw * c), attrs, annotations={"x": "INT4"})
    assert check(model, {"x": x}, str(attrs)).shape == (1, oh, ow, kh * kw * c)


def test_im2col_padding_and_dilation_by_hand():
    x = np.arange(1, 10, dtype=F32).reshape(1, 3, 3, 1)
    attrs = dict(stride=[1, 1], kernel_size=[2, 2], input_shape="(1,3,3,1)", pad_amount=[1, 0, 0, 1],
                 pad_value=-1, dilations=[2, 2])
    model = make_model("Im2Col", [("x", x.shape)], {}, (1, 2, 2, 4), attrs, annotations={"x": "INT8"})
    out = check(model, {"x": x})
    # padded rows: [-1 -1 -1 -1], [1 2 3 -1], [4 5 6 -1], [7 8 9 -1]; taps at (0,0),(0,2),(2,0),(2,2)
    np.testing.assert_array_equal(out[0, 0, 0], [-1, -1, 4, 6])
    np.testing.assert_array_equal(out[0, 1, 1], [2, -1, 8, -1])


# ---------------------------------------------------------------------------- QuantAvgPool2d
@settings(max_examples=80, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_quant_avg_pool2d_matches_qonnx(data, seed):
    draw = data.draw
    rng = np.random.default_rng(seed)
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w, c = draw(st.integers(k, 7)), draw(st.integers(k, 7)), draw(st.sampled_from([1, 2, 3, 5]))
    ibits = draw(st.integers(1, 8))
    signed = draw(st.booleans())
    obits = draw(st.integers(2, ibits + 4))
    nhwc = draw(st.booleans())
    lo, hi = qlimits(signed, False, ibits)
    shape = (1, h, w, c) if nhwc else (1, c, h, w)
    x = rng.integers(lo, hi + 1, size=shape).astype(F32)
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    oshape = (1, oh, ow, c) if nhwc else (1, c, oh, ow)
    attrs = dict(kernel=k, stride=s, ibits=ibits, obits=obits, signed=int(signed),
                 data_layout="NHWC" if nhwc else "NCHW")
    model = make_model("QuantAvgPool2d", [("x", shape)], {}, oshape, attrs)
    check(model, {"x": x}, str(attrs))
    if obits >= 2:
        assert sf_datatype(model) == qonnx_datatype(model)


# ---------------------------------------------------------------------------- errors
def quant_model(bw=np.array(4, F32), scale=np.array(0.5, F32), **attrs):
    attrs = {"signed": 1, "narrow": 0, **attrs}
    return make_model("Quant", [("x", (1, 3, 2, 2))], {"s": scale, "z": np.array(0, F32), "b": bw},
                      (1, 3, 2, 2), attrs)


@pytest.mark.parametrize("model,match", [
    (lambda: quant_model(bw=np.array(0, F32)), "bitwidth"),
    (lambda: quant_model(bw=np.array(-3, F32)), "bitwidth"),
    (lambda: quant_model(bw=np.array(2.5, F32)), "bitwidth"),
    (lambda: quant_model(bw=np.array([4, 4], F32)), "bitwidth"),
    (lambda: quant_model(rounding_mode="NEAREST"), "rounding_mode"),
    (lambda: quant_model(scale=np.array(0.0, F32)), "scale"),
    (lambda: quant_model(scale=np.array(-1.0, F32)), "scale"),
    (lambda: quant_model(scale=np.array(np.inf, F32)), "scale"),
    (lambda: quant_model(scale=np.ones((4, 1, 1), F32)), "scale"),
    (lambda: make_model("MultiThreshold", [("x", (1, 3, 2, 2))], {"t": np.zeros((4, 3), F32)}, (1, 3, 2, 2),
                        dict(out_dtype="UINT2")), "thresholds"),
    (lambda: make_model("Im2Col", [("x", (1, 4, 4, 2))], {}, (1, 2, 2, 18),
                        dict(stride=[1, 1], kernel_size=[3], input_shape="(1,4,4,2)")), "kernel_size"),
    (lambda: make_model("Im2Col", [("x", (1, 4, 4, 2))], {}, (1, 2, 2, 18),
                        dict(stride=[0, 1], kernel_size=[3, 3], input_shape="(1,4,4,2)")), "stride"),
    (lambda: make_model("Im2Col", [("x", (1, 4, 4, 2))], {}, (1, 2, 2, 18),
                        dict(stride=[1, 1], kernel_size=[3, 3], input_shape="(1,4,4,2)",
                             pad_amount=[1, 1])), "pad_amount"),
    (lambda: make_model("Im2Col", [("x", (1, 2, 2, 2))], {}, (1, 1, 1, 18),
                        dict(stride=[1, 1], kernel_size=[3, 3], input_shape="(1,2,2,2)")), "kernel"),
    (lambda: make_model("XnorPopcountMatMul", [("x", (2, 3))], {"w": np.full((3, 2), 2.0, F32)}, (2, 2)),
     "BINARY"),
])
def test_invalid_models_raise_model_error(model, match):
    with pytest.raises(sf.ModelError, match=match) as e:
        sf.execute_onnx(model(), {"x": np.zeros([d.dim_value for d in model().graph.input[0].type.tensor_type
                                                 .shape.dim], F32)})
    assert e.value.hint


def test_quant_wrong_input_count():
    node = helper.make_node("Quant", ["x", "s", "z"], ["y"], domain=QDOM)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                              initializer=[numpy_helper.from_array(np.array(1, F32), "s"),
                                           numpy_helper.from_array(np.array(0, F32), "z")])
    with pytest.raises(sf.ModelError, match="inputs"):
        sf.execute_onnx(helper.make_model(graph), {"x": np.zeros(2, F32)})
