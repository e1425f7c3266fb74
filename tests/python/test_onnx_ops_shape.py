"""Data-movement ONNX ops: streamfold's reference executor against onnxruntime.

Each test builds a single-node model with onnx.helper, runs it through both on
random inputs and compares bit for bit (dtype, shape and bytes). Index inputs
(shape, axes, starts, pads, k, ...) are initializers, so streamfold's shape
inference is checked against onnxruntime's output shapes as well.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402

import streamfold as sf  # noqa: E402
from streamfold import _core  # noqa: E402

# Fixed examples by default (fast, reproducible). SF_FUZZ_EXAMPLES=N runs N
# fresh random examples per test, for hunting bugs locally.
_FUZZ = int(os.environ.get("SF_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(max_examples=_FUZZ or 40, deadline=None, derandomize=not _FUZZ, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ALL_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]
INT64_MAX = np.iinfo(np.int64).max


class Feed:
    """Marks an input that is fed at run time instead of being an initializer."""

    def __init__(self, arr):
        self.arr = np.asarray(arr)


def rand_array(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind == "f":
        return (rng.standard_normal(size=shape) * 10).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


def small_ints(rng, shape, dtype):
    """Few distinct values: plenty of ties for ArgMax/TopK/Reduce."""
    return rng.integers(0, 4, size=shape).astype(dtype)


def build(op, ins, n_out=1, opset=18, **attrs):
    names, graph_inputs, inits, feeds = [], [], [], {}
    for i, a in enumerate(ins):
        if a is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        if i == 0 or isinstance(a, Feed):
            arr = a.arr if isinstance(a, Feed) else np.asarray(a)
            graph_inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape))
            feeds[name] = arr
        else:
            inits.append(numpy_helper.from_array(np.asarray(a), name))
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, name=f"{op}_node", **attrs)
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_empty_tensor_value_info(o) for o in outs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=8 if opset < 19 else 9)
    return model, feeds, outs


def run_ort(model, feeds, outs):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(outs, feeds)


def check(op, ins, n_out=1, opset=18, bitexact=True, sort_by_index=False, **attrs):
    """Runs op in onnxruntime and streamfold; asserts equal results and shapes."""
    model, feeds, outs = build(op, ins, n_out, opset, **attrs)
    ref = run_ort(model, feeds, outs)
    got = sf.execute_onnx(model, feeds)
    if sort_by_index:  # TopK sorted=0: order unspecified, compare by index
        ref = _sort_topk(ref, attrs.get("axis", -1))
        got = dict(zip(outs, _sort_topk([got[o] for o in outs], attrs.get("axis", -1))))
    for o, r in zip(outs, ref):
        g = np.asarray(got[o])
        assert g.dtype == r.dtype, (o, g.dtype, r.dtype)
        assert g.shape == r.shape, (o, g.shape, r.shape)
        if bitexact:
            assert g.tobytes() == r.tobytes(), (o, g, r)
        else:
            np.testing.assert_allclose(g, r, rtol=2e-6, atol=0)
    # Shape inference must agree with what onnxruntime produced.
    mw = sf.ModelWrapper(model)
    _core.infer_shapes(mw._model)
    for o, r in zip(outs, ref):
        assert tuple(mw.get_tensor_shape(o)) == r.shape, (o, mw.get_tensor_shape(o), r.shape)
    return ref


def _sort_topk(pair, axis):
    vals, idx = pair
    order = np.argsort(idx, axis=axis, kind="stable")
    return [np.take_along_axis(vals, order, axis), np.take_along_axis(idx, order, axis)]


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4)
seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from(ALL_DTYPES)


# ---------------------------------------------------------------- Reshape & co


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, opset=st.sampled_from([5, 13, 14, 18]))
def test_reshape(shape, dtype, seed, opset):
    rng = np.random.default_rng(seed)
    x = rand_array(rng, shape, dtype)
    n = x.size
    options = [[0, -1], [-1], [n], list(reversed(shape)), [1, -1, 1]]
    if len(shape) >= 2:
        options.append([0, 0] + [-1] * (len(shape) > 2))
    spec = options[rng.integers(len(options))]
    check("Reshape", [x, np.array(spec, np.int64)], opset=opset)


def test_reshape_allowzero():
    x = np.zeros((0, 3), np.float32)
    check("Reshape", [x, np.array([3, 0], np.int64)], opset=14, allowzero=1)
    check("Reshape", [x, np.array([0, 3], np.int64)], opset=14, allowzero=0)


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, opset=st.sampled_from([9, 13]), data=st.data())
def test_flatten(shape, dtype, seed, opset, data):
    r = len(shape)
    axis = data.draw(st.integers(0 if opset < 11 else -r, r))
    check("Flatten", [rand_array(np.random.default_rng(seed), shape, dtype)], opset=opset, axis=axis)


@SETTINGS
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=5), dtype=dtypes, seed=seeds,
       opset=st.sampled_from([11, 13, 21]), data=st.data())
def test_squeeze(shape, dtype, seed, opset, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    ones = [i for i, d in enumerate(shape) if d == 1]
    axes = data.draw(st.none() | st.lists(st.sampled_from(ones), unique=True) if ones else st.none())
    if axes is not None:
        axes = [a - len(shape) if data.draw(st.booleans()) else a for a in axes]
    if not axes:
        check("Squeeze", [x], opset=opset)
    elif opset < 13:
        check("Squeeze", [x], opset=opset, axes=axes)
    else:
        check("Squeeze", [x, np.array(axes, np.int64)], opset=opset)


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, opset=st.sampled_from([11, 13]), data=st.data())
def test_unsqueeze(shape, dtype, seed, opset, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    out_rank = len(shape) + data.draw(st.integers(1, 2))
    k = out_rank - len(shape)
    axes = data.draw(st.lists(st.integers(-out_rank, out_rank - 1), min_size=k, max_size=k,
                              unique_by=lambda a: a % out_rank))
    if opset < 13:
        check("Unsqueeze", [x], opset=opset, axes=axes)
    else:
        check("Unsqueeze", [x, np.array(axes, np.int64)], opset=opset)


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, data=st.data())
def test_expand(shape, dtype, seed, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    # Each target dim: 1 (keep), the input dim, or a broadcast of a size-1 dim.
    target = [data.draw(st.sampled_from([1, d] if d != 1 else [1, 3])) for d in shape]
    target = data.draw(st.lists(st.integers(1, 3), max_size=2)) + target
    check("Expand", [x, np.array(target, np.int64)], opset=13)


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, data=st.data())
def test_transpose(shape, dtype, seed, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    if data.draw(st.booleans()):
        check("Transpose", [x], opset=13)
    else:
        perm = data.draw(st.permutations(range(len(shape))))
        check("Transpose", [x], opset=13, perm=list(perm))


# ------------------------------------------------------------- Concat & Split


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, n=st.integers(1, 3), opset=st.sampled_from([4, 11, 13]),
       data=st.data())
def test_concat(shape, dtype, seed, n, opset, data):
    rng = np.random.default_rng(seed)
    r = len(shape)
    axis = data.draw(st.integers(0 if opset < 11 else -r, r - 1))
    ins = []
    for _ in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(0, 3))
        ins.append(Feed(rand_array(rng, s, dtype)))
    ins[0] = ins[0].arr
    check("Concat", ins, opset=opset, axis=axis)


@SETTINGS
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), dtype=dtypes, seed=seeds,
       opset=st.sampled_from([11, 13, 18]), data=st.data())
def test_split(shape, dtype, seed, opset, data):
    rng = np.random.default_rng(seed)
    x = rand_array(rng, shape, dtype)
    r = len(shape)
    axis = data.draw(st.integers(-r, r - 1))
    dim = shape[axis]
    form = data.draw(st.sampled_from(["sizes", "equal"]))
    if form == "sizes":
        cuts = sorted(data.draw(st.lists(st.integers(0, dim), max_size=3)))
        sizes = np.diff([0] + cuts + [dim]).tolist()
        if opset < 13:
            check("Split", [x], n_out=len(sizes), opset=opset, axis=axis, split=sizes)
        else:
            check("Split", [x, np.array(sizes, np.int64)], n_out=len(sizes), opset=opset, axis=axis)
    elif opset >= 18:
        n = data.draw(st.integers(1, dim))
        chunk = -(-dim // n)
        if dim - chunk * (n - 1) <= 0:
            n = 1
        check("Split", [x], n_out=n, opset=opset, axis=axis, num_outputs=n)
    else:
        n = data.draw(st.sampled_from([k for k in range(1, dim + 1) if dim % k == 0]))
        check("Split", [x], n_out=n, opset=opset, axis=axis)


# ---------------------------------------------------------------------- Slice

bounds = st.one_of(st.integers(-7, 7), st.sampled_from([INT64_MAX, -INT64_MAX, -INT64_MAX - 1]))


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, opset=st.sampled_from([9, 10, 13]), data=st.data())
def test_slice(shape, dtype, seed, opset, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    r = len(shape)
    axes = data.draw(st.lists(st.integers(-r, r - 1), min_size=1, max_size=r, unique_by=lambda a: a % r))
    k = len(axes)
    starts = data.draw(st.lists(bounds, min_size=k, max_size=k))
    ends = data.draw(st.lists(bounds, min_size=k, max_size=k))
    if opset < 10:
        axes = [a % r for a in axes]
        check("Slice", [x], opset=opset, starts=starts, ends=ends, axes=axes)
        return
    steps = data.draw(st.lists(st.sampled_from([1, 2, 3, -1, -2, -5, INT64_MAX, -INT64_MAX]),
                               min_size=k, max_size=k))
    i64 = lambda v: np.array(v, np.int64)  # noqa: E731
    form = data.draw(st.sampled_from(["all", "no_steps", "no_axes"]))
    if form == "all":
        check("Slice", [x, i64(starts), i64(ends), i64(axes), i64(steps)], opset=opset)
    elif form == "no_steps":
        check("Slice", [x, i64(starts), i64(ends), i64(axes)], opset=opset)
    else:  # axes omitted: starts/ends apply to the first k axes
        check("Slice", [x, i64(starts), i64(ends), None, i64(steps)], opset=opset)


def test_slice_int32_indices():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    i32 = lambda v: np.array(v, np.int32)  # noqa: E731
    check("Slice", [x, i32([-1, 3]), i32([-100, 0]), i32([2, 1]), i32([-1, -2])], opset=13)


# ------------------------------------------------------------------------ Pad

PAD_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8, np.uint32, np.uint64, np.bool_]


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), dtype=st.sampled_from(PAD_DTYPES), seed=seeds,
       mode=st.sampled_from(["constant", "reflect", "edge", "wrap"]), opset=st.sampled_from([2, 11, 13, 18, 19]),
       data=st.data())
def test_pad(shape, dtype, seed, mode, opset, data):
    if mode == "wrap" and opset < 19:
        mode = "edge"
    if opset < 11 and dtype not in (np.float32, np.float64):
        dtype = np.float32  # Pad-2 is float-only
    if dtype == np.bool_ and mode != "constant" or dtype == np.bool_ and opset < 13:
        dtype = np.int32
    rng = np.random.default_rng(seed)
    x = rand_array(rng, shape, dtype)
    r = len(shape)
    use_axes = opset >= 18 and data.draw(st.booleans())
    axes = (data.draw(st.lists(st.integers(-r, r - 1), min_size=1, max_size=r, unique_by=lambda a: a % r))
            if use_axes else list(range(r)))
    begins, ends = [], []
    for a in axes:
        d = shape[a]
        if mode == "reflect":
            if d < 2:
                begins.append(0), ends.append(0)
                continue
            begins.append(data.draw(st.integers(0, d - 1))), ends.append(data.draw(st.integers(0, d - 1)))
        elif mode == "constant":
            begins.append(data.draw(st.integers(-d, 3))), ends.append(data.draw(st.integers(0, 3)))
        else:
            begins.append(data.draw(st.integers(0, 4))), ends.append(data.draw(st.integers(0, 4)))
    pads = begins + ends
    if opset < 11:
        value = float(data.draw(st.integers(-3, 3)))
        check("Pad", [x], opset=opset, mode=mode, pads=pads, value=value)
        return
    cval = rand_array(rng, (), dtype) if mode == "constant" and data.draw(st.booleans()) else None
    ins = [x, np.array(pads, np.int64), cval]
    if use_axes:
        ins.append(np.array(axes, np.int64))
    while ins[-1] is None:
        ins.pop()
    check("Pad", ins, opset=opset, mode=mode)


# --------------------------------------------------------------------- Gather


@SETTINGS
@given(shape=shapes, dtype=dtypes, seed=seeds, idx_type=st.sampled_from([np.int32, np.int64]),
       idx_shape=st.lists(st.integers(0, 3), max_size=2), data=st.data())
def test_gather(shape, dtype, seed, idx_type, idx_shape, data):
    rng = np.random.default_rng(seed)
    x = rand_array(rng, shape, dtype)
    r = len(shape)
    axis = data.draw(st.integers(-r, r - 1))
    d = shape[axis]
    idx = rng.integers(-d, d, size=idx_shape).astype(idx_type)
    check("Gather", [x, idx], opset=13, axis=axis)


# ---------------------------------------------------------- ArgMax / ArgMin


@SETTINGS
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int8, np.uint8, np.int64]),
       seed=seeds, op=st.sampled_from(["ArgMax", "ArgMin"]), opset=st.sampled_from([11, 12, 13]),
       keepdims=st.sampled_from([0, 1]), data=st.data())
def test_argmax(shape, dtype, seed, op, opset, keepdims, data):
    x = small_ints(np.random.default_rng(seed), shape, dtype)
    r = len(shape)
    attrs = dict(axis=data.draw(st.integers(-r, r - 1)), keepdims=keepdims)
    if opset >= 12:
        attrs["select_last_index"] = data.draw(st.sampled_from([0, 1]))
    check(op, [x], opset=opset, **attrs)


# ----------------------------------------------------------------------- TopK


@SETTINGS
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]), seed=seeds,
       opset=st.sampled_from([1, 10, 11]), ties=st.booleans(), data=st.data())
def test_topk(shape, dtype, seed, opset, ties, data):
    rng = np.random.default_rng(seed)
    x = small_ints(rng, shape, dtype) if ties else rand_array(rng, shape, dtype)
    r = len(shape)
    axis = data.draw(st.integers(-r, r - 1))
    if opset < 11:
        x = x.astype(np.float32)  # TopK-1/10 are float-only
    k = data.draw(st.integers(1 if opset < 10 else 0, shape[axis]))
    if opset < 10:
        check("TopK", [x], n_out=2, opset=opset, axis=axis, k=k)
        return
    attrs = dict(axis=axis)
    if opset >= 11:
        attrs["largest"] = data.draw(st.sampled_from([0, 1]))
        attrs["sorted"] = data.draw(st.sampled_from([0, 1]))
    # Unsorted output order is implementation-defined; with ties the chosen
    # set is too (onnxruntime's heap picks arbitrary equal elements).
    unsorted = attrs.get("sorted", 1) == 0
    if unsorted and ties:
        x = rand_array(rng, shape, dtype)
    check("TopK", [x, np.array([k], np.int64)], n_out=2, opset=opset, sort_by_index=unsorted, **attrs)


# --------------------------------------------------------------------- Reduce

REDUCE_FIRST_INPUT_OPSET = {"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18}


@SETTINGS
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]), seed=seeds,
       op=st.sampled_from(["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"]),
       opset=st.sampled_from([11, 13, 18]), keepdims=st.sampled_from([0, 1]), data=st.data())
def test_reduce(shape, dtype, seed, op, opset, keepdims, data):
    rng = np.random.default_rng(seed)
    # Integer-valued floats keep sums exact, so accumulation order cannot matter.
    x = rng.integers(-50, 50, size=shape).astype(dtype)
    r = len(shape)
    axes = data.draw(st.none() | st.lists(st.integers(-r, r - 1), max_size=r, unique_by=lambda a: a % r))
    attrs = dict(keepdims=keepdims)
    as_input = opset >= REDUCE_FIRST_INPUT_OPSET[op]
    ins = [x]
    if as_input:
        if data.draw(st.booleans()):
            attrs["noop_with_empty_axes"] = data.draw(st.sampled_from([0, 1]))
        if axes is not None:
            ins.append(np.array(axes, np.int64))
    elif axes:
        attrs["axes"] = axes
    exact = not (op == "ReduceMean" and np.dtype(dtype).kind == "f")
    check(op, ins, opset=opset, bitexact=exact, **attrs)


def test_reduce_float_rounding_is_close():
    x = np.random.default_rng(0).standard_normal((3, 17, 5)).astype(np.float32)
    for op in ["ReduceSum", "ReduceMean"]:
        check(op, [x, np.array([1], np.int64)], opset=18, bitexact=False)


# ------------------------------------------------------------ Constant, Shape


@pytest.mark.parametrize("attrs", [
    dict(value_float=2.5), dict(value_floats=[1.0, -2.0]), dict(value_int=-7), dict(value_ints=[3, 4, 5]),
    dict(value=numpy_helper.from_array(np.arange(6, dtype=np.int16).reshape(2, 3))),
    dict(value=numpy_helper.from_array(np.array([True, False]))),
])
def test_constant(attrs):
    check("Constant", [], opset=13, **attrs)


@SETTINGS
@given(shape=st.lists(st.integers(0, 4), max_size=5), opset=st.sampled_from([13, 15]), data=st.data())
def test_shape(shape, opset, data):
    attrs = {}
    if opset >= 15:
        for a in ("start", "end"):
            if data.draw(st.booleans()):
                attrs[a] = data.draw(st.integers(-7, 7))
    check("Shape", [np.zeros(shape, np.uint8)], opset=opset, **attrs)


# --------------------------------------------------------------------- Resize

RESIZE_DTYPES = [np.float32, np.int32, np.int8, np.uint8]
SCALES = [0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 1 / 3]
COORD = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


@SETTINGS
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), dtype=st.sampled_from(RESIZE_DTYPES),
       seed=seeds, opset=st.sampled_from([10, 11, 13, 18, 19]), data=st.data())
def test_resize_nearest(shape, dtype, seed, opset, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    r = len(shape)
    scales = np.array([data.draw(st.sampled_from(SCALES)) for _ in shape], np.float32)
    if opset == 10:
        check("Resize", [x, scales], opset=opset, mode="nearest")
        return
    coords = COORD + (["half_pixel_symmetric"] if opset >= 19 else [])
    attrs = dict(mode="nearest", coordinate_transformation_mode=data.draw(st.sampled_from(coords)),
                 nearest_mode=data.draw(st.sampled_from(NEAREST)))
    by_sizes = data.draw(st.booleans())
    axes = None
    if opset >= 18 and data.draw(st.booleans()):
        # Non-negative only: onnxruntime indexes with negative Resize axes
        # unnormalized (out of bounds), streamfold normalizes them.
        axes = data.draw(st.lists(st.integers(0, r - 1), min_size=1, max_size=r, unique=True))
        attrs["axes"] = axes
    pick = (lambda v: v) if axes is None else (lambda v: np.array([v[a % r] for a in axes], v.dtype))
    empty = np.zeros((0,), np.float32)
    if by_sizes:
        sizes = pick(np.array([data.draw(st.integers(1, 9)) for _ in shape], np.int64))
        if opset >= 18 and data.draw(st.booleans()):
            attrs["keep_aspect_ratio_policy"] = data.draw(st.sampled_from(["stretch", "not_larger", "not_smaller"]))
        ins = [x, empty, empty, sizes] if opset < 13 else [x, None, None, sizes]
    else:
        ins = [x, empty, pick(scales)] if opset < 13 else [x, None, pick(scales)]
    check("Resize", ins, opset=opset, **attrs)


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), dtype=st.sampled_from(RESIZE_DTYPES),
       seed=seeds, data=st.data())
def test_resize_tf_crop_and_resize(shape, dtype, seed, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    r = len(shape)
    # Binary-fraction rois: with decimal ones (0.1, 0.7) onnxruntime 1.2x
    # sometimes lands one float ulp higher on exact .5/.0 source coordinates
    # than its own published float formula, which streamfold follows.
    roi = np.array([data.draw(st.sampled_from([0.0, 0.125, 0.25, -0.25])) for _ in shape]
                   + [data.draw(st.sampled_from([1.0, 0.75, 1.25, 0.5])) for _ in shape], np.float32)
    sizes = np.array([data.draw(st.integers(1, 7)) for _ in shape], np.int64)
    check("Resize", [x, roi, None, sizes], opset=13, mode="nearest",
          coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=-3.0,
          nearest_mode=data.draw(st.sampled_from(NEAREST)))


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       dtype=st.sampled_from([np.float32, np.int32, np.uint8]), seed=seeds, opset=st.sampled_from([7, 9]),
       data=st.data())
def test_upsample(shape, dtype, seed, opset, data):
    x = rand_array(np.random.default_rng(seed), shape, dtype)
    scales = [data.draw(st.sampled_from([1.0, 1.5, 2.0, 3.0, 2.5])) for _ in shape]
    if opset == 7:
        check("Upsample", [x], opset=opset, mode="nearest", scales=scales)
    else:
        check("Upsample", [x, np.array(scales, np.float32)], opset=opset, mode="nearest")


def test_resize_linear_is_refused_clearly():
    x = np.zeros((1, 1, 2, 2), np.float32)
    model, feeds, _ = build("Resize", [x, None, np.array([1, 1, 2, 2], np.float32)], opset=13, mode="linear")
    with pytest.raises(sf.UnsupportedOpError, match="Resize_node"):
        sf.execute_onnx(model, feeds)


# ---------------------------------------------------------------- Bad models


@pytest.mark.parametrize("op, ins, attrs, needle", [
    ("Transpose", [np.zeros((2, 3), np.float32)], dict(perm=[0, 0]), "perm"),
    ("Transpose", [np.zeros((2, 3), np.float32)], dict(perm=[0, 1, 2]), "perm"),
    ("Reshape", [np.zeros((2, 3), np.float32), np.array([4, -1], np.int64)], {}, "reshape"),
    ("Reshape", [np.zeros((2, 3), np.float32), np.array([-1, -1], np.int64)], {}, "-1"),
    ("Concat", [np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)], dict(axis=2), "axis"),
    ("Flatten", [np.zeros((2, 3), np.float32)], dict(axis=-3), "axis"),
    ("Gather", [np.zeros((2, 3), np.float32), np.array([0], np.int64)], dict(axis=2), "axis"),
    ("Gather", [np.zeros((2, 3), np.float32), np.array([2], np.int64)], {}, "out of range"),
    ("TopK", [np.zeros((2, 3), np.float32), np.array([4], np.int64)], {}, "k = 4"),
    ("ArgMax", [np.zeros((2, 3), np.float32)], dict(axis=5), "axis"),
    ("Squeeze", [np.zeros((2, 3), np.float32), np.array([0], np.int64)], {}, "axes"),
    ("Split", [np.zeros((5,), np.float32), np.array([2, 2], np.int64)], {}, "split"),
    ("Slice", [np.zeros((5,), np.float32), np.array([0], np.int64), np.array([2], np.int64),
               np.array([0], np.int64), np.array([0], np.int64)], {}, "steps"),
    ("Pad", [np.zeros((3,), np.float32), np.array([3, 0], np.int64)], dict(mode="reflect"), "reflect"),
    ("ReduceSum", [np.zeros((2, 3), np.float32), np.array([3], np.int64)], {}, "axes"),
    ("Unsqueeze", [np.zeros((2, 3), np.float32), np.array([1, 1], np.int64)], {}, "twice"),
])
def test_bad_attributes_raise_model_error(op, ins, attrs, needle):
    n_out = 2 if op in ("Split", "TopK") else 1
    model, feeds, _ = build(op, ins, n_out=n_out, opset=13, **attrs)
    with pytest.raises(sf.ModelError) as ei:
        sf.execute_onnx(model, feeds)
    msg = str(ei.value)
    assert f"{op}_node" in msg and needle in msg, msg


def test_non_constant_shape_input_is_named_in_inference_error():
    x = np.zeros((2, 3), np.float32)
    model, feeds, _ = build("Reshape", [x, Feed(np.array([3, 2], np.int64))], opset=13)
    # Execution does not need constants...
    assert sf.execute_onnx(model, feeds)["out0"].shape == (3, 2)
    # ...shape inference does, and says which input.
    mw = sf.ModelWrapper(model)
    with pytest.raises(sf.ModelError, match="in1"):
        _core.infer_shapes(mw._model)


# ------------------------------------------------------------------ Datatypes


@pytest.mark.parametrize("op, ins, attrs, n_out, expect", [
    ("Reshape", [np.zeros((2, 3), np.float32), np.array([-1], np.int64)], {}, 1, ["INT4"]),
    ("Transpose", [np.zeros((2, 3), np.float32)], {}, 1, ["INT4"]),
    ("Pad", [np.zeros((2, 3), np.float32), np.array([1, 0, 0, 1], np.int64)], {}, 1, ["INT4"]),
    ("Split", [np.zeros((4,), np.float32)], {}, 2, ["INT4", "INT4"]),
    ("TopK", [np.zeros((4,), np.float32), np.array([2], np.int64)], {}, 2, ["INT4", "INT64"]),
    ("ArgMax", [np.zeros((4,), np.float32)], {}, 1, ["INT64"]),
    ("Shape", [np.zeros((4,), np.float32)], {}, 1, ["INT64"]),
    ("ReduceMax", [np.zeros((4,), np.float32)], {}, 1, ["FLOAT32"]),
    ("Resize", [np.zeros((1, 2), np.float32), None, np.array([1, 2], np.float32)], dict(mode="nearest"), 1,
     ["INT4"]),
    ("Resize", [np.zeros((1, 2), np.float32), None, np.array([1, 2], np.float32)], dict(mode="linear"), 1,
     ["FLOAT32"]),
])
def test_datatype_rules(op, ins, attrs, n_out, expect):
    model, _, outs = build(op, ins, n_out=n_out, opset=13, **attrs)
    mw = sf.ModelWrapper(model)
    mw.set_tensor_datatype("in0", "INT4")
    _core.infer_shapes(mw._model)
    _core.infer_datatypes(mw._model)
    assert [mw.get_tensor_datatype(o).name for o in outs] == expect
