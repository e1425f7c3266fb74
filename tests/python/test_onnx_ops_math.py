"""Standard ONNX math ops: streamfold's reference executor against onnxruntime.

Every test builds a single-node ONNX graph with onnx.helper, runs it through
both, and compares outputs (dtype, shape, values) and streamfold's inferred
output shapes. Hypothesis draws shapes and attribute variants; array values
come from a seeded NumPy generator so examples stay cheap. Runs derandomized
so CI failures reproduce; SF_MATH_EXAMPLES=N raises the example count and
SF_MATH_RANDOM=1 draws fresh examples (both for local bug hunts).
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold.transformation import InferDataTypes, InferShapes

FAST = settings(max_examples=int(os.environ.get("SF_MATH_EXAMPLES", 120)), deadline=None,
                derandomize="SF_MATH_RANDOM" not in os.environ, database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck))
SEEDS = st.integers(0, 2**32 - 1)
FLOATS = [np.float32, np.float64]
ARITH = [np.float32, np.float64, np.int32, np.int64]


# ---- harness ------------------------------------------------------------------

def model_of(op, feeds, attrs=None, opset=17, outputs=("y",), inputs=None, consts=None):
    """One-node model. `feeds` become graph inputs, `consts` initializers;
    `inputs` is the node's input list ("" for an omitted optional input)."""
    consts = consts or {}
    names = list(inputs) if inputs is not None else list(feeds) + list(consts)
    vis = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
           for k, v in feeds.items()]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()]
    node = helper.make_node(op, names, list(outputs), name=f"{op}_0", **(attrs or {}))
    outs = [helper.make_empty_tensor_value_info(o) for o in outputs if o]
    graph = helper.make_graph([node], "t", vis, outs, initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def run_ort(model, feeds):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, sess.run(names, feeds)))


def check(model, feeds, rtol=1e-5, atol=1e-6, exact=False, oracle=None):
    """Compare against onnxruntime running `model`, or running `oracle` (an
    equivalent model) where onnxruntime departs from the spec. Float
    tolerance: rtol elementwise plus atol scaled by the output's magnitude
    (accumulation order differs)."""
    ref = run_ort(oracle or model, feeds)
    got = sf.execute_onnx(model, feeds)
    for name, r in ref.items():
        g = got[name]
        assert g.dtype == r.dtype, (name, g.dtype, r.dtype)
        assert g.shape == r.shape, (name, g.shape, r.shape)
        if exact or not np.issubdtype(r.dtype, np.floating):
            np.testing.assert_array_equal(g, r, err_msg=name)
        else:
            scale = max(1.0, float(np.nanmax(np.abs(r.astype(np.float64))))) if r.size else 1.0
            np.testing.assert_allclose(g.astype(np.float64), r.astype(np.float64), rtol=rtol,
                                       atol=atol * scale, equal_nan=True, err_msg=name)
    # Shape inference must agree with what actually came out.
    mw = sf.ModelWrapper(model).transform(InferShapes())
    for name, r in ref.items():
        assert tuple(mw.get_tensor_shape(name)) == r.shape, name
    return got


def rand(rng, shape, dtype, lo=-3.0, hi=3.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.integers(0, 2, shape), dtype=bool)
    if np.issubdtype(dtype, np.floating):
        return np.asarray(rng.uniform(lo, hi, shape), dtype=dtype)
    return np.asarray(rng.integers(int(lo), int(hi) + 1, shape), dtype=dtype)


@st.composite
def bshapes(draw, n=2, max_rank=4):
    """n shapes that broadcast together: drop leading axes, set some to 1."""
    rank = draw(st.integers(0, max_rank))
    out = draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank))
    shapes = []
    for _ in range(n):
        r = draw(st.integers(0, rank))
        shapes.append(tuple(d if draw(st.booleans()) else 1 for d in out[rank - r:]))
    return shapes


# ---- broadcasting binary / variadic --------------------------------------------

@FAST
@given(op=st.sampled_from(["Add", "Sub", "Mul", "Div"]), dtype=st.sampled_from(ARITH),
       shapes=bshapes(2), seed=SEEDS)
def test_arith_broadcast(op, dtype, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = rand(rng, shapes[0], dtype, -50, 50), rand(rng, shapes[1], dtype, -50, 50)
    if op == "Div":
        b = np.where(b == 0, np.asarray(7, dtype), b).astype(dtype)
    feeds = {"a": a, "b": b}
    check(model_of(op, feeds), feeds, exact=True)


def test_integer_div_truncates():
    a = np.array([7, -7, 7, -7, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    got = check(model_of("Div", {"a": a, "b": b}), {"a": a, "b": b})["y"]
    assert list(got) == [3, -3, -3, 3, 0]
    # INT_MIN / -1 traps in onnxruntime; streamfold wraps as two's complement.
    a, b = np.array([-2**31], np.int32), np.array([-1], np.int32)
    assert sf.execute_onnx(model_of("Div", {"a": a, "b": b}), {"a": a, "b": b})["y"][0] == -2**31


@FAST
@given(base=st.sampled_from(ARITH), exp=st.sampled_from(ARITH), shapes=bshapes(2), seed=SEEDS)
def test_pow(base, exp, shapes, seed):
    rng = np.random.default_rng(seed)
    if np.issubdtype(base, np.integer):
        exp = np.int64 if exp in FLOATS else exp
        a, b = rand(rng, shapes[0], base, -4, 4), rand(rng, shapes[1], exp, 0, 4)
    else:
        a, b = rand(rng, shapes[0], base, 0.1, 3), rand(rng, shapes[1], exp, -2, 2)
    feeds = {"a": a, "b": b}
    check(model_of("Pow", feeds, opset=15), feeds)


@FAST
@given(op=st.sampled_from(["Max", "Min", "Sum", "Mean"]), n=st.integers(1, 4),
       dtype=st.sampled_from(ARITH), data=st.data(), seed=SEEDS)
def test_variadic(op, n, dtype, data, seed):
    if op in ("Sum", "Mean"):
        dtype = np.float32  # onnxruntime: float only (Mean: float32 only)
    shapes = data.draw(bshapes(n))
    rng = np.random.default_rng(seed)
    feeds = {f"x{i}": rand(rng, s, dtype, -20, 20) for i, s in enumerate(shapes)}
    check(model_of(op, feeds, opset=13), feeds)


@FAST
@given(op=st.sampled_from(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"]),
       dtype=st.sampled_from(ARITH + [np.bool_]), shapes=bshapes(2), seed=SEEDS)
def test_compare(op, dtype, shapes, seed):
    if dtype == np.bool_ and op != "Equal":
        dtype = np.int32
    rng = np.random.default_rng(seed)
    # Small integer values (also as floats) so equality actually happens.
    a = rand(rng, shapes[0], np.int64, -2, 2).astype(dtype)
    b = rand(rng, shapes[1], np.int64, -2, 2).astype(dtype)
    feeds = {"a": a, "b": b}
    check(model_of(op, feeds, opset=13), feeds)


@FAST
@given(op=st.sampled_from(["And", "Or", "Xor", "Where", "Not"]), data=st.data(), seed=SEEDS)
def test_logic_and_where(op, data, seed):
    rng = np.random.default_rng(seed)
    if op == "Where":
        shapes = data.draw(bshapes(3))
        dtype = data.draw(st.sampled_from(ARITH + [np.float16, np.uint8]))
        feeds = {"c": rand(rng, shapes[0], bool), "x": rand(rng, shapes[1], dtype, 0, 9),
                 "z": rand(rng, shapes[2], dtype, 0, 9)}
    elif op == "Not":
        feeds = {"a": rand(rng, data.draw(bshapes(1))[0], bool)}
    else:
        shapes = data.draw(bshapes(2))
        feeds = {"a": rand(rng, shapes[0], bool), "b": rand(rng, shapes[1], bool)}
    check(model_of(op, feeds, opset=16), feeds)


# ---- unary ----------------------------------------------------------------------

UNARY_RANGES = {
    "Relu": (-3, 3), "Sigmoid": (-20, 20), "Tanh": (-5, 5), "Sign": (-3, 3), "Neg": (-3, 3),
    "Abs": (-3, 3), "Sqrt": (0, 10), "Exp": (-10, 10), "Log": (0.01, 100), "Floor": (-5, 5),
    "Ceil": (-5, 5), "Erf": (-3, 3), "Reciprocal": (0.1, 5), "Softplus": (-15, 15), "Softsign": (-5, 5),
}


@FAST
@given(op=st.sampled_from(sorted(UNARY_RANGES)), dtype=st.sampled_from(FLOATS),
       shape=st.lists(st.integers(1, 6), max_size=4), seed=SEEDS)
def test_unary_float(op, dtype, shape, seed):
    if op in ("Erf", "Softplus", "Softsign"):
        dtype = np.float32  # onnxruntime has no float64 kernel for these
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, dtype, *UNARY_RANGES[op])
    if op in ("Sign", "Relu", "Floor", "Ceil") and x.size:
        x.flat[0] = 0
    check(model_of(op, {"x": x}, opset=13), {"x": x}, rtol=2e-6, atol=1e-6)


@FAST
@given(op=st.sampled_from(["Relu", "Neg", "Abs", "Sign"]), dtype=st.sampled_from([np.int32, np.int64]),
       shape=st.lists(st.integers(1, 6), max_size=3), seed=SEEDS)
def test_unary_int(op, dtype, shape, seed):
    x = rand(np.random.default_rng(seed), shape, dtype, -100, 100)
    m = model_of(op, {"x": x}, opset=14)
    if op == "Relu" and dtype == np.int64:  # no onnxruntime kernel
        np.testing.assert_array_equal(sf.execute_onnx(m, {"x": x})["y"], np.maximum(x, 0))
        return
    check(m, {"x": x})


def test_round_half_to_even():
    x = np.arange(-10, 11, dtype=np.float32) / 2 + np.float32(0)
    x = np.concatenate([x, np.array([0.49999997, -0.49999997, 1e9 + 0.5, 2.5000002], np.float32)])
    got = check(model_of("Round", {"x": x}, opset=11), {"x": x}, exact=True)["y"]
    np.testing.assert_array_equal(got, np.round(x))


def test_float16_elementwise():
    rng = np.random.default_rng(0)
    a, b = rand(rng, (3, 4), np.float16), rand(rng, (4,), np.float16)
    check(model_of("Add", {"a": a, "b": b}), {"a": a, "b": b}, exact=True)
    check(model_of("Relu", {"a": a}), {"a": a}, exact=True)


# ---- Clip / Identity / Dropout / Cast --------------------------------------------

@FAST
@given(lo=st.one_of(st.none(), st.floats(-2, 2, width=32)), hi=st.one_of(st.none(), st.floats(-2, 2, width=32)),
       opset=st.sampled_from([6, 11, 13]), dtype=st.sampled_from(ARITH), seed=SEEDS)
def test_clip(lo, hi, opset, dtype, seed):
    if opset < 12:
        dtype = np.float32  # integer Clip needs opset 12
    x = rand(np.random.default_rng(seed), (3, 5), dtype, -4, 4)
    if opset < 11:
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo  # onnxruntime rejects min > max in the attribute form
        attrs = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
        check(model_of("Clip", {"x": x}, attrs, opset=opset), {"x": x})
        return
    consts, inputs = {}, ["x", "", ""]
    for i, (k, v) in enumerate((("lo", lo), ("hi", hi))):
        if v is not None:
            consts[k] = np.asarray(np.round(v) if np.issubdtype(dtype, np.integer) else v, dtype)
            inputs[i + 1] = k
    while inputs[-1] == "":
        inputs.pop()
    check(model_of("Clip", {"x": x}, opset=opset, inputs=inputs, consts=consts), {"x": x})


@pytest.mark.parametrize("opset", [7, 10, 13])
def test_identity_and_dropout(opset):
    x = rand(np.random.default_rng(1), (2, 3, 4), np.float32)
    check(model_of("Identity", {"x": x}, opset=opset), {"x": x})
    if opset >= 12:
        consts = {"r": np.float32(0.3), "t": np.array(False)}
        m = model_of("Dropout", {"x": x}, opset=opset, inputs=["x", "r", "t"], consts=consts, outputs=("y", "mask"))
        check(m, {"x": x})
    else:
        m = model_of("Dropout", {"x": x}, {"ratio": 0.3}, opset=opset, outputs=("y", "mask"))
        # Before opset 12 onnxruntime fills the inference mask with zeros
        # (false), the ONNX reference with ones: we keep everything (true/1).
        got = sf.execute_onnx(m, {"x": x})
        np.testing.assert_array_equal(got["y"], x)
        assert got["mask"].dtype == (x.dtype if opset < 10 else np.bool_) and (got["mask"] == 1).all()
    check(model_of("Dropout", {"x": x}, opset=opset), {"x": x})


CAST_TYPES = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32,
              np.int64, np.uint32, np.uint64, np.bool_]


@FAST
@given(src=st.sampled_from(CAST_TYPES), dst=st.sampled_from(CAST_TYPES), seed=SEEDS)
def test_cast(src, dst, seed):
    rng = np.random.default_rng(seed)
    # Values every target can hold; negative and fractional ones where defined.
    signed = not np.issubdtype(src, np.unsignedinteger) and not np.issubdtype(dst, np.unsignedinteger)
    x = rng.integers(-100 if signed else 0, 101, (4, 5)).astype(np.float64)
    if np.issubdtype(src, np.floating):
        x += rng.choice([0, 0.25, 0.5, 0.75], x.shape) * np.sign(x + 0.5)
    x = x.astype(src)
    to = helper.np_dtype_to_tensor_dtype(np.dtype(dst))
    check(model_of("Cast", {"x": x}, {"to": to}, opset=13), {"x": x}, exact=True)
    like = {"l": np.zeros(1, dst)}
    check(model_of("CastLike", {"x": x}, opset=15, inputs=["x", "l"], consts=like), {"x": x}, exact=True)


# ---- MatMul / Gemm ----------------------------------------------------------------

@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 7)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 4), max_size=2))
    def operand(tail, vec):
        if draw(st.booleans()) and vec is not None and draw(st.integers(0, 3)) == 0:
            return (vec,)
        r = draw(st.integers(0, len(batch)))
        return tuple(d if draw(st.booleans()) else 1 for d in batch[len(batch) - r:]) + tail
    return operand((m, k), k), operand((k, n), k)


@FAST
@given(shapes=matmul_shapes(), dtype=st.sampled_from(ARITH), seed=SEEDS)
def test_matmul(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    feeds = {"a": rand(rng, shapes[0], dtype, -5, 5), "b": rand(rng, shapes[1], dtype, -5, 5)}
    check(model_of("MatMul", feeds, opset=13), feeds)


def test_matmul_large_and_exact_integers():
    rng = np.random.default_rng(3)
    feeds = {"a": rand(rng, (3, 64, 300), np.float32), "b": rand(rng, (300, 70), np.float32)}
    check(model_of("MatMul", feeds), feeds)
    # Integer-valued float32 with sums far below 2^24 must be bit exact.
    feeds = {"a": rand(rng, (2, 33, 257), np.int64, -8, 8).astype(np.float32),
             "b": rand(rng, (2, 257, 19), np.int64, -8, 8).astype(np.float32)}
    check(model_of("MatMul", feeds), feeds, exact=True)


@FAST
@given(m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6), ta=st.integers(0, 1), tb=st.integers(0, 1),
       alpha=st.sampled_from([1.0, 0.5, -2.0]), beta=st.sampled_from([1.0, 0.0, 1.5]),
       c=st.sampled_from(["none", "scalar", "n", "1n", "m1", "mn"]), dtype=st.sampled_from(FLOATS), seed=SEEDS)
def test_gemm(m, k, n, ta, tb, alpha, beta, c, dtype, seed):
    rng = np.random.default_rng(seed)
    feeds = {"a": rand(rng, (k, m) if ta else (m, k), dtype), "b": rand(rng, (n, k) if tb else (k, n), dtype)}
    cshape = {"scalar": (), "n": (n,), "1n": (1, n), "m1": (m, 1), "mn": (m, n)}.get(c)
    inputs = ["a", "b"]
    if cshape is not None:
        feeds["c"] = rand(rng, cshape, dtype)
        inputs.append("c")
    attrs = {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta}
    check(model_of("Gemm", feeds, attrs, opset=13, inputs=inputs), feeds)


def same_as_explicit_pads(model, xs, kernel):
    """onnxruntime rejects SAME padding with dilations for Conv, sizes it
    from the undilated kernel for pools (wrong output size, or negative pads),
    and rejects pool windows smaller than the stride; the ONNX reference
    evaluator mishandles dilated pools too. Per the spec, SAME is the explicit
    pads below (never negative), which onnxruntime handles: return that model
    as the oracle, or None where onnxruntime's own SAME is fine."""
    node = model.graph.node[0]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    mode = attrs.get("auto_pad", b"NOTSET").decode()
    if not mode.startswith("SAME"):
        return None
    d = list(attrs.get("dilations", [1] * len(kernel)))
    s = list(attrs.get("strides", [1] * len(kernel)))
    begin, end, quirky = [], [], max(d) > 1
    for i, n in enumerate(xs[2:]):
        out = -(-n // s[i])
        total = (out - 1) * s[i] + (kernel[i] - 1) * d[i] + 1 - n
        quirky |= total < 0
        total = max(total, 0)
        b = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begin.append(b)
        end.append(total - b)
    if not quirky:
        return None
    oracle = onnx.ModelProto()
    oracle.CopyFrom(model)
    onode = oracle.graph.node[0]
    keep = [a for a in onode.attribute if a.name != "auto_pad"]
    del onode.attribute[:]
    onode.attribute.extend(keep + [helper.make_attribute("pads", begin + end)])
    return oracle


# ---- Conv -------------------------------------------------------------------------

@st.composite
def conv_case(draw):
    nsp = draw(st.sampled_from([1, 2, 2, 3]))
    group = draw(st.sampled_from([1, 1, 2, 3]))
    cg, mg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = [draw(st.integers(1, 3)) for _ in range(nsp)]
    dil = [draw(st.integers(1, 2)) for _ in range(nsp)]
    strides = [draw(st.integers(1, 3)) for _ in range(nsp)]
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]))
    pads = [draw(st.integers(0, 2)) for _ in range(2 * nsp)]
    hi = 4 if nsp == 3 else 7
    spatial = [dil[i] * (k[i] - 1) + 1 + draw(st.integers(0, hi)) for i in range(nsp)]
    attrs = {"group": group, "strides": strides, "dilations": dil}
    if auto_pad == "NOTSET":
        if draw(st.booleans()):
            attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto_pad
    if draw(st.booleans()):
        attrs["kernel_shape"] = k
    x = (draw(st.integers(1, 2)), group * cg, *spatial)
    w = (group * mg, cg, *k)
    return x, w, attrs, draw(st.booleans())


@FAST
@given(case=conv_case(), seed=SEEDS)
def test_conv(case, seed):
    xs, ws, attrs, bias = case
    rng = np.random.default_rng(seed)
    feeds = {"x": rand(rng, xs, np.float32)}
    consts = {"w": rand(rng, ws, np.float32)}
    if bias:
        consts["b"] = rand(rng, (ws[0],), np.float32)
    m = model_of("Conv", feeds, attrs, opset=11, consts=consts)
    check(m, feeds, oracle=same_as_explicit_pads(m, xs, ws[2:]))


def test_conv_depthwise_and_integer_exact():
    rng = np.random.default_rng(5)
    x = rand(rng, (3, 8, 11, 9), np.int64, -3, 3).astype(np.float32)
    w = rand(rng, (16, 1, 3, 3), np.int64, -2, 2).astype(np.float32)
    attrs = {"group": 8, "pads": [1, 0, 2, 1], "strides": [2, 1]}
    check(model_of("Conv", {"x": x}, attrs, consts={"w": w}), {"x": x}, exact=True)
    # Dense, batched through the multi-image GEMM path (small spatial output).
    x = rand(rng, (9, 16, 5, 5), np.int64, -3, 3).astype(np.float32)
    w = rand(rng, (24, 16, 3, 3), np.int64, -2, 2).astype(np.float32)
    b = rand(rng, (24,), np.int64, -5, 5).astype(np.float32)
    check(model_of("Conv", {"x": x}, {"pads": [1, 1, 1, 1]}, consts={"w": w, "b": b}), {"x": x}, exact=True)
    # 1x1 fast path; float64 (onnxruntime has no float64 Conv: use einsum).
    x = rand(rng, (2, 6, 4, 5), np.float32)
    w = rand(rng, (3, 6, 1, 1), np.float32)
    check(model_of("Conv", {"x": x}, consts={"w": w}), {"x": x})
    x, w = x.astype(np.float64), w.astype(np.float64)
    got = sf.execute_onnx(model_of("Conv", {"x": x}, consts={"w": w}), {"x": x})["y"]
    np.testing.assert_allclose(got, np.einsum("nchw,mc->nmhw", x, w[:, :, 0, 0]), rtol=1e-12, atol=1e-12)


def test_conv_float16():
    rng = np.random.default_rng(2)
    x, w = rand(rng, (1, 2, 5, 5), np.float16, -1, 1), rand(rng, (3, 2, 3, 3), np.float16, -1, 1)
    check(model_of("Conv", {"x": x}, consts={"w": w}), {"x": x}, rtol=2e-3, atol=2e-3)


CONV_ERRORS = [
    ({"group": 2}, (1, 3, 5, 5), (4, 1, 3, 3), "channels"),
    ({"kernel_shape": [2, 2]}, (1, 2, 5, 5), (4, 2, 3, 3), "kernel_shape"),
    ({"pads": [1, 1]}, (1, 2, 5, 5), (4, 2, 3, 3), "'pads'"),
    ({"strides": [0, 1]}, (1, 2, 5, 5), (4, 2, 3, 3), "'strides'"),
    ({"auto_pad": "SAME"}, (1, 2, 5, 5), (4, 2, 3, 3), "auto_pad"),
    ({}, (1, 2, 2, 2), (4, 2, 3, 3), "larger than"),
    ({}, (1, 2, 5), (4, 2, 3, 3), "ranks must match"),
]


@pytest.mark.parametrize("attrs,xs,ws,msg", CONV_ERRORS)
def test_conv_errors(attrs, xs, ws, msg):
    x = np.zeros(xs, np.float32)
    m = model_of("Conv", {"x": x}, attrs, consts={"w": np.zeros(ws, np.float32)})
    with pytest.raises(sf.ModelError, match="Conv_0") as e:
        sf.execute_onnx(m, {"x": x})
    assert msg in str(e.value)


# ---- BatchNormalization --------------------------------------------------------------

@FAST
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=5), opset=st.sampled_from([9, 14, 15]),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]), dtype=st.sampled_from(FLOATS), seed=SEEDS)
def test_batchnorm(shape, opset, eps, dtype, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rand(rng, shape, dtype)
    consts = {"s": rand(rng, (c,), dtype), "b": rand(rng, (c,), dtype), "m": rand(rng, (c,), dtype),
              "v": rand(rng, (c,), dtype, 0.1, 3)}
    check(model_of("BatchNormalization", {"x": x}, {"epsilon": eps}, opset=opset, consts=consts), {"x": x})


# ---- pooling ------------------------------------------------------------------------

@st.composite
def pool_case(draw, avg):
    nsp = draw(st.sampled_from([1, 2, 2, 3]))
    k = [draw(st.integers(1, 3)) for _ in range(nsp)]
    strides = [draw(st.integers(1, 3)) for _ in range(nsp)]
    dil = [draw(st.integers(1, 2)) for _ in range(nsp)]
    pads = [draw(st.integers(0, k[i % nsp] - 1)) for i in range(2 * nsp)]
    hi = 4 if nsp == 3 else 7
    spatial = [dil[i] * (k[i] - 1) + 1 + draw(st.integers(0, hi)) for i in range(nsp)]
    attrs = {"kernel_shape": k, "strides": strides}
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]))
    if auto_pad == "NOTSET":
        attrs["pads"] = pads
        attrs["ceil_mode"] = draw(st.integers(0, 1))
    else:
        attrs["auto_pad"] = auto_pad
    if not avg or draw(st.booleans()):
        attrs["dilations"] = dil
    if avg:
        attrs["count_include_pad"] = draw(st.integers(0, 1))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *spatial), attrs


@FAST
@given(case=pool_case(avg=False), indices=st.booleans(), order=st.integers(0, 1), seed=SEEDS)
def test_maxpool(case, indices, order, seed):
    xs, attrs = case
    x = rand(np.random.default_rng(seed), xs, np.float32)
    outputs = ("y", "i") if indices else ("y",)
    if indices:
        attrs["storage_order"] = order
    m = model_of("MaxPool", {"x": x}, attrs, opset=12, outputs=outputs)
    check(m, {"x": x}, exact=True, oracle=same_as_explicit_pads(m, xs, attrs["kernel_shape"]))


@FAST
@given(case=pool_case(avg=True), seed=SEEDS)
def test_averagepool(case, seed):
    xs, attrs = case
    x = rand(np.random.default_rng(seed), xs, np.float32)
    opset = 19 if "dilations" in attrs else 11
    m = model_of("AveragePool", {"x": x}, attrs, opset=opset)
    check(m, {"x": x}, oracle=same_as_explicit_pads(m, xs, attrs["kernel_shape"]))


@FAST
@given(op=st.sampled_from(["GlobalAveragePool", "GlobalMaxPool"]),
       shape=st.lists(st.integers(1, 6), min_size=3, max_size=5), seed=SEEDS)
def test_global_pool(op, shape, seed):
    x = rand(np.random.default_rng(seed), shape, np.float32)
    check(model_of(op, {"x": x}), {"x": x})
    # onnxruntime has no float64 kernels here: NumPy is the oracle.
    x = x.astype(np.float64)
    got = sf.execute_onnx(model_of(op, {"x": x}), {"x": x})["y"]
    axes = tuple(range(2, x.ndim))
    want = x.mean(axes, keepdims=True) if op == "GlobalAveragePool" else x.max(axes, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)


POOL_ERRORS = [
    ("MaxPool", {}, "kernel_shape"),
    ("MaxPool", {"kernel_shape": [2, 2], "pads": [2, 0, 0, 0]}, "smaller than"),
    ("AveragePool", {"kernel_shape": [2]}, "spatial axes"),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [1, 1, 1]}, "'strides'"),
    ("MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 2}, "ceil_mode"),
]


@pytest.mark.parametrize("op,attrs,msg", POOL_ERRORS)
def test_pool_errors(op, attrs, msg):
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(sf.ModelError, match=f"{op}_0") as e:
        sf.execute_onnx(model_of(op, {"x": x}, attrs), {"x": x})
    assert msg in str(e.value)


# ---- Softmax ---------------------------------------------------------------------

@FAST
@given(op=st.sampled_from(["Softmax", "LogSoftmax"]), opset=st.sampled_from([11, 13]),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), data=st.data(), seed=SEEDS)
def test_softmax(op, opset, shape, data, seed):
    attrs = {}
    if data.draw(st.booleans()) or (opset < 13 and len(shape) == 1):
        attrs["axis"] = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(np.random.default_rng(seed), shape, np.float32, -10, 10)
    check(model_of(op, {"x": x}, attrs, opset=opset), {"x": x})


# ---- errors name the node and say what is wrong --------------------------------------

F32 = np.float32
ERRORS = [  # (op, graph inputs, attrs, extra model_of kwargs, message regex)
    ("Div", {"a": np.array([1]), "b": np.array([0])}, {}, {}, "division by zero"),
    ("Add", {"a": np.zeros((2, 3), F32), "b": np.zeros(4, F32)}, {}, {}, r"\(2, 3\).*\(4,?\) do not broadcast"),
    ("Clip", {"x": np.zeros(3, F32)}, {}, {"opset": 6, "inputs": ["x", "lo"], "consts": {"lo": F32(0)}},
     "opset 6.*attributes"),
    ("Dropout", {"x": np.zeros(3, F32)}, {},
     {"opset": 13, "inputs": ["x", "r", "t"], "consts": {"r": F32(0.5), "t": np.array(True)}}, "training_mode"),
    ("Cast", {"x": np.zeros(2, F32)}, {"to": TensorProto.STRING}, {}, "'to'"),
    ("MatMul", {"a": np.zeros((2, 3), F32), "b": np.zeros((4, 5), F32)}, {}, {}, "inner dimensions"),
    ("Gemm", {"a": np.zeros((2, 3), F32), "b": np.zeros((3, 4), F32), "c": np.zeros(3, F32)}, {}, {}, "C has shape"),
    ("BatchNormalization", {"x": np.zeros((1, 2, 3), F32)}, {},
     {"consts": {k: np.ones(2, F32) for k in "sbmv"}, "outputs": ("y", "rm", "rv")}, "training"),
    ("Softmax", {"x": np.zeros((2, 3), F32)}, {"axis": 2}, {}, "'axis'"),
]


@pytest.mark.parametrize("op,feeds,attrs,kw,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(op, feeds, attrs, kw, msg):
    with pytest.raises(sf.ModelError, match=f"{op}_0.*{msg}"):
        sf.execute_onnx(model_of(op, feeds, attrs, **kw), feeds)


# ---- datatype inference against qonnx ------------------------------------------------

DT_CASES = [
    ("Add", ["INT4", "UINT8"]), ("Add", ["UINT4", "UINT8"]), ("Sub", ["UINT4", "UINT8"]),
    ("Mul", ["INT4", "FLOAT32"]), ("Mul", ["FIXED<8,4>", "INT4"]), ("MatMul", ["BIPOLAR", "BINARY"]),
    ("MatMul", ["UINT2", "UINT3"]), ("Relu", ["INT4"]), ("Sign", ["FLOAT32"]), ("Clip", ["INT8"]),
    ("Identity", ["UINT3"]), ("Div", ["INT8", "INT8"]),
]


@pytest.mark.parametrize("op,dts", DT_CASES)
def test_datatypes_match_qonnx(op, dts):
    qonnx_mw = pytest.importorskip("qonnx.core.modelwrapper")
    from qonnx.core.datatype import DataType as QDT
    from qonnx.transformation.infer_datatypes import InferDataTypes as QInfer
    shapes = {"MatMul": [(2, 3), (3, 4)]}.get(op, [(2, 3)] * len(dts))
    feeds = {f"x{i}": np.zeros(s, np.float32) for i, s in enumerate(shapes)}
    m = model_of(op, feeds)
    for scaled in (False, True):
        q = qonnx_mw.ModelWrapper(m)
        s = sf.ModelWrapper(m)
        for i, d in enumerate(dts):
            q.set_tensor_datatype(f"x{i}", QDT[d])
            s.set_tensor_datatype(f"x{i}", sf.DataType[d])
        q = q.transform(QInfer(allow_scaledint_dtypes=scaled))
        s = s.transform(InferDataTypes(allow_scaledint_dtypes=scaled))
        assert s.get_tensor_datatype("y").name == q.get_tensor_datatype("y").get_canonical_name()
