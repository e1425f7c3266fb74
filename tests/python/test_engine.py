"""The fast engine equals the reference executor bit for bit on streamlined
zoo models, on every kernel path this CPU has (each one forced), at batch 1,
7 and 256 for MLPs (the reference runs image by image: it is batch-strict)."""
import numpy as np
import pytest

import streamfold as sf
from streamfold import _core, zoo
from streamfold.builder import steps
from zoo_fixtures import zoo_cache  # noqa: F401

MLPS = [f"{t}_{q}" for t in ("tfc", "sfc", "lfc") for q in ("w1a1", "w1a2", "w2a2")]
CNNS = ["cnv_w1a1", "lenet5_w4a4", "dnn2fpga_cnn"]
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
    check(name, (1, 3), zoo_cache)


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
