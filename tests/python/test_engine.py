"""The fast engine equals the reference executor bit for bit on streamlined
zoo models, on every kernel path this CPU has (each one forced), at batch 1,
7 and 256 for MLPs, 1 and 3 for the big CNNs, 1, 7 and 64 for the small
ones, and 256 for CNV-w1a1 on the best path (the reference runs image by
image: it is batch-strict). Every zoo model family is covered: the FC nets,
CNV in all three precisions, LeNet-5, dnn2fpga, the emotion CNNs (8/4/2
bit), the residual block and the depthwise-separable block."""
import numpy as np
import pytest

import streamfold as sf
from streamfold import _core, zoo
from streamfold.builder import steps
from zoo_fixtures import zoo_cache  # noqa: F401

MLPS = [f"{t}_{q}" for t in ("tfc", "sfc", "lfc") for q in ("w1a1", "w1a2", "w2a2")]
# None of these has a fallback node today (every MatMul / MultiThreshold is
# specialized); check() asserts fallback_nodes == [] for each of them. The
# reference runs the big CNNs at ~20 images/s, so they get batches 1 and 3;
# the small ones also 7 and 64.
BIG_CNNS = ["cnv_w1a1", "cnv_w1a2", "cnv_w2a2", "emotion_cnn_8b", "emotion_cnn_4b", "emotion_cnn_2b"]
SMALL_CNNS = ["lenet5_w4a4", "dnn2fpga_cnn", "residual_block", "dws_block"]
CNNS = BIG_CNNS + SMALL_CNNS
ISAS = list(_core.engine_isas())

_streamlined = {}


def streamlined(name):
    if name not in _streamlined:
        m = sf.ModelWrapper(zoo.export(name))
        _streamlined[name] = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(m)))
    return _streamlined[name]


def reference(m, x):
    inp = m._model.runtime_input_names()[0]
    outs = [sf.execute_onnx(m, {inp: x[i:i + 1]}) for i in range(len(x))]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def check(name, batches, zoo_cache):
    m = streamlined(name)
    x = zoo.example_input(name, n=max(batches), seed=3)
    ref = reference(m, x)
    for isa in ISAS:
        eng = sf.Engine(m, isa=isa)
        assert eng.isa == isa
        assert eng.fallback_nodes == [], f"{name}: unexpected fallbacks {eng.fallback_nodes}"
        for b in batches:
            out = eng.run({eng.input_names[0]: x[:b]})
            for k, v in ref.items():
                assert out[k].dtype == v.dtype
                np.testing.assert_array_equal(out[k], v[:b], err_msg=f"{name} {isa} batch {b} {k}")


@pytest.mark.parametrize("name", MLPS)
def test_mlp_equals_reference(name, zoo_cache):
    check(name, (1, 7, 256), zoo_cache)


@pytest.mark.parametrize("name", CNNS)
def test_cnn_equals_reference(name, zoo_cache):
    check(name, (1, 3) if name in BIG_CNNS else (1, 7, 64), zoo_cache)


def test_cnn_large_batch_best_isa(zoo_cache):
    """CNV-w1a1 at batch 256 on the best kernel path, every output row checked.
    The reference runs ~20 images/s, so it runs 64 distinct images once and
    the batch of 256 is those 64 repeated four times (in a shuffled order):
    the engine still runs a full 256-image batch (the FC layers get four
    64-row tiles, the threads split the rows) and every one of its 256
    outputs is compared with the reference output of the same image."""
    name = "cnv_w1a1"
    m = streamlined(name)
    x64 = zoo.example_input(name, n=64, seed=5)
    ref = reference(m, x64)
    order = np.random.default_rng(0).permutation(np.tile(np.arange(64), 4))
    eng = sf.Engine(m, isa=_core.engine_best_isa())
    assert eng.fallback_nodes == []
    out = eng.run({eng.input_names[0]: x64[order]})
    for k, v in ref.items():
        assert out[k].shape[0] == 256
        np.testing.assert_array_equal(out[k], v[order], err_msg=f"{name} batch 256 {k}")


@pytest.mark.parametrize("name", ["tfc_w1a1", "cnv_w2a2"])
def test_profile_has_one_entry_per_step(name, zoo_cache):
    """profile=True: one (label, seconds) entry per plan step, in plan order,
    seconds summed over runs (never negative, never decreasing). Off: empty.
    Profiling does not change the outputs."""
    m = streamlined(name)
    x = zoo.example_input(name, n=2, seed=4)
    eng = sf.Engine(m, profile=True)
    plan = eng.plan()
    assert len(plan) > 0
    assert [label for label, _ in eng.profile()] == plan
    assert all(sec == 0 for _, sec in eng.profile())
    y1 = eng.run(x)
    first = eng.profile()
    assert [label for label, _ in first] == plan
    assert all(isinstance(sec, float) and sec >= 0 for _, sec in first)
    y2 = eng.run(x[:1])
    second = eng.profile()
    assert len(second) == len(plan)
    assert all(b >= a for (_, a), (_, b) in zip(first, second))
    plain = sf.Engine(m)
    assert plain.profile() == []
    np.testing.assert_array_equal(plain.run(x), y1)
    np.testing.assert_array_equal(y2, y1[:1])


def test_execute_onnx_fast_backend(zoo_cache):
    m = streamlined("tfc_w1a1")
    x = zoo.example_input("tfc_w1a1", n=1, seed=0)
    inp = m._model.runtime_input_names()[0]
    a = sf.execute_onnx(m, {inp: x}, backend="fast")
    b = sf.execute_onnx(m, {inp: x})
    for k in b:
        np.testing.assert_array_equal(a[k], b[k])
    with pytest.raises(sf.InputError):
        sf.execute_onnx(m, {inp: x}, backend="fast", return_full_exec_context=True)


def test_engine_info_and_forced_path(monkeypatch, zoo_cache):
    info = sf.engine_info()
    assert info["best"] in info["available"] and "scalar" in info["available"]
    assert set(info["int8_dot"]) == set(info["available"])
    assert info["int8_dot"]["scalar"] == "int16"
    assert info["int8_dot"].get("avx2", "int16") in ("int16", "avx-vnni")
    m = streamlined("tfc_w1a1")
    monkeypatch.setenv("SF_ENGINE_ISA", "scalar")
    assert sf.Engine(m).isa == "scalar"
    with pytest.raises(sf.InputError):
        sf.Engine(m, isa="sse9")


def test_raw_qonnx_is_streamlined_and_batch_errors(zoo_cache):
    eng = sf.Engine(zoo.export("tfc_w1a1"))
    x = zoo.example_input("tfc_w1a1", n=4, seed=1)
    y = eng.run(x)
    assert y.shape[0] == 4
    with pytest.raises(sf.InputError):
        eng.run(x[:, :, :5])


def test_evaluate(zoo_cache):
    m = streamlined("tfc_w1a1")
    x = zoo.example_input("tfc_w1a1", n=32, seed=2)
    ref = reference(m, x)["global_out"].argmax(axis=1)
    r = sf.evaluate(m, x, ref, batch_size=10)
    assert r["accuracy"] == 1.0 and r["n"] == 32 and r["images_per_s"] > 0


def test_empty_batch_is_a_clear_error(zoo_cache):
    eng = sf.Engine(streamlined("tfc_w1a1"))
    x = zoo.example_input("tfc_w1a1", n=1, seed=0)[:0]
    with pytest.raises(sf.InputError, match="empty"):
        eng.run(x)


@pytest.mark.parametrize("name,batch", [("tfc_w1a1", 129), ("dws_block", 200)])
def test_batch_slices_equal_one_thread_and_reference(name, batch, zoo_cache):
    """With 2 threads a batch of >= 128 runs as independent slices (uneven
    here); the result equals the 1-thread run and the reference."""
    m = streamlined(name)
    x = zoo.example_input(name, n=batch, seed=6)
    one = sf.Engine(m, threads=1).run(x)
    two = sf.Engine(m, threads=2).run(x)
    np.testing.assert_array_equal(one, two)
    ref = reference(m, x[:40])["global_out"]
    np.testing.assert_array_equal(two[:40], ref)
