"""InsertTopK on zoo classifiers: the appended TopK's indices equal a stable
argsort of the original logits, the TopK survives streamlining with the final
scalar Mul/Add absorbed (AbsorbScalarMulAddIntoTopK), becomes LabelSelect in
step_convert_to_hw, and the indices stay the same all the way; plus the typed
errors and idempotence."""
import collections

import numpy as np
import pytest
from onnx import TensorProto, helper

import streamfold as sf
import streamfold.transformation as T
from streamfold import zoo
from streamfold.builder import steps

MODELS = ["tfc_w1a1", "cnv_w1a1"]  # one MLP, one CNN (1-bit: integer logits, ties do occur)
IMAGES = 4


def ops(m):
    return collections.Counter(n.op_type for n in m.graph.node)


def images(name):
    return [zoo.example_input(name, 1, seed) for seed in range(IMAGES)]


def run(m, x):
    return sf.execute_onnx(m, {m.graph.input[0].name: x})[m.graph.output[0].name]


def expected_topk(logits, k):
    """Descending by score; equal scores keep the lower index first."""
    return np.argsort(-np.asarray(logits, np.float64), axis=-1, kind="stable")[..., :k]


@pytest.fixture(scope="module", params=MODELS)
def zoo_model(request):
    name = request.param
    m = sf.ModelWrapper(zoo.export(name))
    xs = images(name)
    return name, m, xs, [run(m, x) for x in xs]


@pytest.mark.parametrize("k", [1, 3])
def test_indices_equal_stable_argsort(zoo_model, k):
    name, m, xs, logits = zoo_model
    old_out = m.graph.output[0].name
    t = m.transform(T.InsertTopK(k=k))
    assert ops(t)["TopK"] == 1 and len(t.graph.output) == 1
    out = t.graph.output[0].name
    assert out != old_out and t.get_tensor_shape(out) == [1, k]
    assert t.get_tensor_datatype(out) == sf.DataType["INT64"]
    topk = next(n for n in t.graph.node if n.op_type == "TopK")
    assert topk.input[0] == old_out and list(topk.output)[1] == out
    assert not t.find_consumers(topk.output[0])  # the values are left unread
    assert m.graph.output[0].name == old_out  # transform works on a copy
    for x, y in zip(xs, logits):
        idx = run(t, x)
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx, expected_topk(y, k), err_msg=name)


@pytest.mark.parametrize("k", [1, 3])
def test_survives_streamlining_and_becomes_labelselect(zoo_model, k):
    """FINN's order: InsertTopK after tidy-up, then streamline and convert."""
    name, m, xs, logits = zoo_model
    tidy = steps.step_tidy_up(steps.step_qonnx_to_finn(m))
    assert ops(tidy)["Mul"] >= 1  # the output scale the TopK lets us drop
    t = tidy.transform(T.InsertTopK(k=k))
    s = steps.step_streamline(t)  # raises StreamlineError if anything non-canonical remains
    topk = [n for n in s.graph.node if n.op_type == "TopK"]
    assert len(topk) == 1
    feeder = s.find_producer(topk[0].input[0])
    assert feeder is not None and feeder.op_type not in ("Mul", "Add"), "scalar tail not absorbed"
    assert ops(s)["Mul"] == 0 and ops(s)["Add"] == 0
    hw = steps.step_convert_to_hw(s)
    counts = ops(hw)
    assert counts["LabelSelect"] == 1 and counts["TopK"] == 0
    lsel = next(n for n in hw.graph.node if n.op_type == "LabelSelect")
    assert list(lsel.output) == [hw.graph.output[0].name]
    for model in (s, hw):
        for x, y in zip(xs, logits):
            np.testing.assert_array_equal(np.asarray(run(model, x)).astype(np.int64), expected_topk(y, k),
                                          err_msg=name)


def test_idempotent_and_registered_by_name():
    m = sf.ModelWrapper(zoo.export("tfc_w1a1"))
    a = m.transform("InsertTopK")  # the registered pass: k=1
    out = a.graph.output[0].name
    assert a.get_tensor_shape(out) == [1, 1]
    b = a.transform(T.InsertTopK(k=3)).transform("InsertTopK")
    assert ops(b)["TopK"] == 1 and b.graph.output[0].name == out and b.get_tensor_shape(out) == [1, 1]
    assert repr(T.InsertTopK(k=2)) == "InsertTopK(k=2, axis=-1, largest=True, sorted=True)"
    assert "InsertTopK" in {n for n, _, _ in T.list_passes()}


@pytest.mark.parametrize("k", [0, 11])
def test_k_out_of_range(k):
    m = sf.ModelWrapper(zoo.export("tfc_w1a1"))
    out = m.graph.output[0].name
    with pytest.raises(sf.ModelError) as e:
        m.transform(T.InsertTopK(k=k))
    assert e.value.where == out
    assert f"k = {k}" in str(e.value) and "1 <= k <= 10" in e.value.hint


def test_other_errors():
    m = sf.ModelWrapper(zoo.export("tfc_w1a1"))
    out = m.graph.output[0].name
    with pytest.raises(sf.ModelError) as e:
        m.transform(T.InsertTopK(axis=2))
    assert e.value.where == out
    proto = m.model
    extra = proto.graph.node[0].output[0]
    proto.graph.output.append(helper.make_tensor_value_info(extra, TensorProto.FLOAT, None))
    with pytest.raises(sf.ModelError) as e:
        sf.ModelWrapper(proto).transform(T.InsertTopK())
    assert e.value.where == "graph.output" and repr(extra) in str(e.value)
    with pytest.raises(TypeError):
        T.InsertTopK(k=1.5)
