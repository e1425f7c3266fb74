"""The verification ladder's first rungs on real Brevitas exports: streamfold's
reference executor equals the Brevitas/torch forward and qonnx's execute_onnx
on every zoo model and on hypothesis-generated random networks.

Quantizer outputs (Quant, BipolarQuant, Trunc, MultiThreshold) must be
bit-identical to qonnx's; float tensors agree to float32 rounding."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import streamfold as sf
from streamfold import zoo
from streamfold.zoo import random_net

QUANTIZERS = {"Quant", "BipolarQuant", "Trunc", "MultiThreshold", "QuantAvgPool2d"}
# big models get fewer samples: qonnx's executor is the slow side
SAMPLES = {"lfc_w1a1": 2, "lfc_w1a2": 2, "lfc_w2a2": 2}
BIG_CNN = ("cnv", "emotion")


def n_samples(name):
    if name.startswith(BIG_CNN):
        return 1
    return SAMPLES.get(name, 4)


def run_ours(path, x, full=False):
    mw = sf.ModelWrapper(path)
    in_name = mw._model.runtime_input_names()[0]
    outs = [sf.execute_onnx(mw, {in_name: x[i:i + 1]}, return_full_exec_context=full) for i in range(len(x))]
    return mw, outs


def assert_close(ours, ref, what):
    ref = np.asarray(ref, np.float32)
    assert ours.shape == ref.shape, what
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * scale, err_msg=what)


def check_against_qonnx_context(path, x):
    """Every intermediate tensor equals qonnx's; quantizer outputs exactly."""
    from qonnx.core.modelwrapper import ModelWrapper as QMW
    from qonnx.core.onnx_exec import execute_onnx as q_exec

    mw, ours = run_ours(path, x[:1], full=True)
    ours = ours[0]
    q = QMW(path)
    with zoo._ort_compatible_qonnx():
        theirs = q_exec(q, {q.graph.input[0].name: x[:1]}, return_full_exec_context=True)
    quant_outputs = {o for n in mw.graph.node if n.op_type in QUANTIZERS for o in n.output}
    for name, ref in theirs.items():
        if name not in ours:
            continue
        if name in quant_outputs:
            np.testing.assert_array_equal(ours[name], ref, err_msg=f"quantizer output {name}")
        else:
            assert_close(ours[name], ref, f"tensor {name}")
    return ours


@pytest.mark.parametrize("name", zoo.list_models())
def test_zoo_model_equals_brevitas_and_qonnx(name):
    path = zoo.export(name)
    x = zoo.example_input(name, n=n_samples(name), seed=1)
    mw, outs = run_ours(path, x)
    out_name = mw.graph.output[0].name
    ours = np.concatenate([o[out_name] for o in outs])
    assert_close(ours, zoo.reference_forward(name, x), f"{name}: streamfold vs Brevitas")
    check_against_qonnx_context(path, x)


@settings(max_examples=int(os.environ.get("SF_HYPOTHESIS_EXAMPLES", 12)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_network_equals_brevitas_and_qonnx(net):
    module, shape = net
    x = random_net.example_input(shape, n=3, seed=0)
    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        mw, outs = run_ours(path, x)
        out_name = mw.graph.output[0].name
        ours = np.concatenate([o[out_name] for o in outs])
        assert_close(ours, zoo.reference_forward(module, x), f"{module.spec}: streamfold vs Brevitas")
        check_against_qonnx_context(path, x)


def test_round_trip_through_qonnx_changes_nothing(tmp_path):
    """our save -> qonnx load/save -> our load: same graph, same outputs."""
    from qonnx.core.modelwrapper import ModelWrapper as QMW

    for name in ("tfc_w2a2", "cnv_w1a1", "residual_block"):
        mw = sf.ModelWrapper(zoo.export(name))
        mw = mw.transform(sf.transformation.InferShapes()).transform(sf.transformation.InferDataTypes())
        ours = tmp_path / f"{name}.onnx"
        mw.save(ours)
        q = QMW(str(ours))
        for t in mw.get_all_tensor_names():
            assert q.get_tensor_datatype(t).get_canonical_name() == mw.get_tensor_datatype(t).name, t
        theirs = tmp_path / f"{name}.q.onnx"
        q.save(str(theirs))
        back = sf.ModelWrapper(theirs)
        assert back.to_bytes() == mw.to_bytes()
        x = zoo.example_input(name, n=1, seed=3)
        a = sf.execute_onnx(mw, {mw.graph.input[0].name: x})
        b = sf.execute_onnx(back, {back.graph.input[0].name: x})
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
