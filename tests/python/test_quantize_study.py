"""The bit-width study's bundled models (examples/models/emotion28_*): no
training here. Each export runs in streamfold with Brevitas' predictions, and
the recorded table agrees with what the files say."""
import json
from pathlib import Path

import numpy as np
import pytest

import streamfold as sf
from streamfold.data import load_fashion_mnist

MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"
TAGS = ["fp32", "w8a8", "w4a4", "w2a2"]
PYNQ_Z2_BITS = 140 * 36 * 1024


@pytest.fixture(scope="module")
def test_set():
    try:
        x, y = load_fashion_mnist("test")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return (x.astype(np.float32) / 255.0)[:, None], y


def _files(tag):
    stem = MODELS / f"emotion28_{tag}"
    paths = [stem.with_suffix(".onnx"), stem.with_suffix(".json"), Path(str(stem) + "_brevitas_pred.npy")]
    if not all(p.exists() for p in paths):
        pytest.skip(f"{stem.name} not bundled (python examples/emotion_study.py train)")
    return paths


@pytest.mark.parametrize("tag", TAGS)
def test_reference_executor_predicts_what_brevitas_predicts(tag, test_set):
    onnx_path, _, pred_path = _files(tag)
    x, _ = test_set
    m = sf.ModelWrapper(str(onnx_path))
    iname, oname = m.graph.input[0].name, m.graph.output[0].name
    ours = np.array([sf.execute_onnx(m, {iname: x[i:i + 1]})[oname].argmax() for i in range(100)])
    np.testing.assert_array_equal(ours, np.load(pred_path)[:100])


@pytest.mark.parametrize("tag", TAGS)
def test_fast_engine_and_recorded_table(tag, test_set):
    onnx_path, json_path, pred_path = _files(tag)
    x, y = test_set
    info = json.loads(json_path.read_text())
    n = 2000
    eng = sf.Engine(str(onnx_path), threads=1)
    fast = np.concatenate([eng.run(x[i:i + 500]).argmax(1) for i in range(0, n, 500)])
    brevitas = np.load(pred_path)
    assert (fast == brevitas[:n]).mean() >= 0.995
    # The recorded Brevitas accuracy is the bundled predictions' accuracy.
    assert info["brevitas_accuracy"] == pytest.approx(float((brevitas == y).mean()), abs=1e-9)
    if "streamfold" in info:
        s = info["streamfold"]
        assert s["reference_agrees_with_brevitas"] >= 9990
        assert abs(s["fast_accuracy"] - info["brevitas_accuracy"]) <= 0.002
    # Weight memory: the conv/FC weights in the export at the model's bit width.
    import onnx
    g = onnx.load(str(onnx_path)).graph
    inits = {t.name: int(np.prod(t.dims)) for t in g.initializer}
    weights = 0
    for node in g.node:
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            src = node.input[1]
            producer = next((p for p in g.node if src in p.output), None)
            if producer is not None and producer.op_type == "Quant":
                src = producer.input[0]
            weights += inits.get(src, 0)
    assert weights == info["weights"]
    assert info["weight_memory_bits"] == weights * info["bits"]
    assert (info["weight_memory_bits"] <= PYNQ_Z2_BITS) == (info["bits"] <= 32)  # quarter width: all fit


@pytest.mark.parametrize("tag", ["w8a8", "w4a4", "w2a2"])
def test_quantized_study_models_are_one_accelerator(tag):
    """Brevitas QAT models are fully integer: one dataflow partition; only
    the input's layout/quantizer and the final scale and bias stay on the host."""
    from streamfold.quantize.host import placement
    onnx_path, _, _ = _files(tag)
    p = placement(str(onnx_path))
    assert p["partitions"] == 1 and p["hw_layers"] == 23
    assert sorted(op for _, op, _ in p["host"]) == ["Add", "Mul", "MultiThreshold", "Transpose"]
