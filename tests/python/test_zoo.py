"""The Brevitas model zoo: every model exports, passes the ONNX checker, is
not degenerate, and qonnx's execute_onnx on the export equals the Brevitas
forward. Random networks from random_qnn() must do the same.

With a warm cache (build/zoo-cache) the file runs in well under 3 minutes;
the first run exports every model (about 1-2 minutes more)."""
import collections
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings

from streamfold import zoo
from zoo_fixtures import REPO, assert_outputs_close, isolated_zoo_cache, zoo_cache  # noqa: F401

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from streamfold.zoo import random_net  # noqa: E402  (needs torch)

# qonnx runs Conv/Gemm through onnxruntime one node at a time; the wide
# models get fewer samples to keep the file fast.
FEW_SAMPLES = ("lfc_", "cnv_", "emotion_cnn_")

EXPECTED_MODELS = {
    *(f"{f}_{wa}" for f in ("tfc", "sfc", "lfc", "cnv") for wa in ("w1a1", "w1a2", "w2a2")),
    "lenet5_w4a4", "emotion_cnn_8b", "emotion_cnn_4b", "emotion_cnn_2b",
    "dnn2fpga_cnn", "residual_block", "dws_block",
}

# Op types each export must contain: pins the export patterns the compiler relies on.
REQUIRED_OPS = {
    "tfc_w1a1": {"Reshape", "Mul", "Sub", "BipolarQuant", "Gemm", "BatchNormalization"},
    "tfc_w2a2": {"Reshape", "Mul", "Sub", "Quant", "Gemm", "BatchNormalization"},
    "cnv_w1a1": {"Quant", "BipolarQuant", "Conv", "BatchNormalization", "MaxPool", "Gemm"},
    "lenet5_w4a4": {"Quant", "Conv", "Relu", "MaxPool", "Gemm"},
    "emotion_cnn_4b": {"Quant", "Conv", "BatchNormalization", "Relu", "MaxPool", "Gemm"},
    "dnn2fpga_cnn": {"Quant", "Conv", "Relu", "MaxPool", "Gemm"},
    "residual_block": {"Add", "AveragePool", "Trunc", "Conv", "Gemm"},
    "dws_block": {"Conv", "BatchNormalization", "Relu", "MaxPool", "Gemm"},
}
QONNX_DOMAINS = {"", "qonnx.custom_op.general", "onnx.brevitas"}


def n_samples(name):
    return 2 if name.startswith(FEW_SAMPLES) else 4


def test_list_models():
    from streamfold.zoo.models import REGISTRY

    assert set(zoo.list_models()) == EXPECTED_MODELS == set(REGISTRY)
    with pytest.raises(KeyError, match="unknown zoo model"):
        zoo.export("no_such_model")


@pytest.mark.parametrize("name", sorted(EXPECTED_MODELS))
def test_zoo_export_matches_brevitas(name, zoo_cache):
    path = zoo.export(name)
    assert Path(path).parent == zoo_cache and Path(path).suffix == ".onnx"
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    assert REQUIRED_OPS.get(name, set()) <= set(ops), f"{name}: {dict(ops)}"
    assert {n.domain for n in model.graph.node} <= QONNX_DOMAINS
    # Default BN (mean 0, var 1, gamma 1, beta 0) lets the ONNX optimizer fold
    # duplicate constants; calibrated BNs must keep 5 distinct inputs.
    for n in model.graph.node:
        if n.op_type == "BatchNormalization":
            assert len(set(n.input)) == 5, f"{name}: degenerate BN {n.name}"
    shape = zoo.input_shape(name)
    (inp,) = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    assert tuple(d.dim_value for d in inp.type.tensor_type.shape.dim) == shape

    x = zoo.example_input(name, n=n_samples(name), seed=1)
    ref = zoo.reference_forward(name, x)
    assert np.isfinite(ref).all()
    assert not np.allclose(ref[0], ref[1]), f"{name}: output does not depend on the input"
    assert_outputs_close(zoo.qonnx_forward(path, x), ref, f"{name}: qonnx vs Brevitas")


def test_get_model_is_eval_copy_of_exported_module(zoo_cache):
    m1, shape = zoo.get_model("tfc_w1a2")
    m2, _ = zoo.get_model("tfc_w1a2")
    assert shape == (1, 1, 28, 28) and not m1.training and m1 is not m2
    with torch.no_grad():
        for p in m1.parameters():
            p.zero_()  # must not leak into later calls
    x = zoo.example_input("tfc_w1a2", n=2, seed=7)
    np.testing.assert_array_equal(zoo.reference_forward(m2, x), zoo.reference_forward("tfc_w1a2", x))


def test_cache_is_keyed_atomic_and_reused(isolated_zoo_cache):
    import brevitas

    path = Path(zoo.export("dws_block"))
    assert path.parent == isolated_zoo_cache
    assert f"brevitas-{brevitas.__version__}" in path.name and f"zoo{zoo.ZOO_VERSION}" in path.name
    # exactly the export and the state dict: no temp or external-data leftovers
    assert sorted(p.name for p in isolated_zoo_cache.iterdir()) == sorted(
        [path.name, path.name[:-len(".onnx")] + ".pt"])
    mtime = path.stat().st_mtime_ns
    assert zoo.export("dws_block") == str(path) and path.stat().st_mtime_ns == mtime
    # A new process (no in-memory model) rebuilds the module from the cached
    # state dict, which must reproduce the export.
    zoo._built.clear()
    x = zoo.example_input("dws_block", n=2, seed=3)
    assert_outputs_close(zoo.qonnx_forward(str(path), x), zoo.reference_forward("dws_block", x))


def test_import_zoo_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, streamfold.zoo as z; z.list_models(); z.cache_dir(); z.input_shape('cnv_w1a1'); "
            "assert 'torch' not in sys.modules and 'brevitas' not in sys.modules")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), *sys.path]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@settings(max_examples=int(os.environ.get("SF_ZOO_RANDOM_EXAMPLES", 15)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_qnn_exports_and_matches_qonnx(net, tmp_path_factory):
    module, shape = net
    assert not module.training
    path = zoo.export_module(module, shape, tmp_path_factory.mktemp("rq") / "net.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert {n.op_type for n in model.graph.node} & {"Quant", "BipolarQuant"}
    x = random_net.example_input(shape, n=3, seed=0)
    assert_outputs_close(zoo.qonnx_forward(path, x), zoo.reference_forward(module, x),
                         f"spec={module.spec}")


def test_random_qnn_spec_rebuilds_identically():
    spec = {"kind": "cnn", "seed": 5, "input_shape": (1, 3, 7, 5),
            "input_act": {"kind": "signed", "bits": 5, "narrow": True},
            "layers": [{"type": "conv", "out": 3, "k": 3, "pad": 1, "stride": 1, "groups": 3,
                        "weight": {"bits": 3, "per_channel": True, "narrow": False},
                        "bias": "int32", "bn": True, "act": {"kind": "bipolar", "bits": 1, "narrow": False},
                        "residual": True, "skip_act": {"kind": "unsigned", "bits": 3, "narrow": False},
                        "pool": "trunc", "pool_act": None}],
            "head": {"out": 5, "weight": {"bits": 1, "per_channel": False, "narrow": True}, "bias": "float"}}
    x = random_net.example_input(spec["input_shape"], n=2, seed=1)
    a = zoo.reference_forward(random_net.build_from_spec(spec), x)
    b = zoo.reference_forward(random_net.build_from_spec(spec), x)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 5)


# ---- the trained example model (examples/train_tfc.py) and the data loaders
TRAINED = REPO / "examples" / "models" / "tfc_w1a1_fmnist"


@pytest.mark.skipif(not TRAINED.with_suffix(".onnx").exists(), reason="trained example not present")
def test_trained_tfc_export_matches_its_state_dict():
    from streamfold.data import DatasetNotFoundError, load_fashion_mnist
    from streamfold.zoo.models import FC

    info = json.loads(TRAINED.with_suffix(".json").read_text())
    assert info["test_accuracy"] >= 0.80
    assert TRAINED.with_suffix(".onnx").stat().st_size < 1_000_000
    model = FC(64, 1, 1)
    model.load_state_dict(torch.load(TRAINED.with_suffix(".pt"), weights_only=True))
    model.eval()
    try:
        images, labels = load_fashion_mnist("test", limit=64)
    except DatasetNotFoundError:
        pytest.skip("dataset-fashion-mnist not installed")
    x = images.astype(np.float32)[:, None] / 255.0  # the preprocessing the JSON documents
    ref = zoo.reference_forward(model, x)
    assert_outputs_close(zoo.qonnx_forward(str(TRAINED.with_suffix(".onnx")), x), ref)
    assert np.mean(ref.argmax(1) == labels) > 0.6


def test_fashion_mnist_loader(tmp_path):
    import gzip

    from streamfold.data import load_fashion_mnist, read_idx

    # a tiny IDX pair, one file gzipped and one not
    imgs = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    head = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in imgs.shape)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(head + imgs.tobytes())
    labels = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([4, 0, 9])
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(labels)
    x, y = load_fashion_mnist("test", directory=tmp_path)
    np.testing.assert_array_equal(x, imgs)
    np.testing.assert_array_equal(y, [4, 0, 9])
    x, y = load_fashion_mnist("test", limit=2, directory=tmp_path)
    assert x.shape == (2, 28, 28) and list(y) == [4, 0]
    assert read_idx(tmp_path / "t10k-labels-idx1-ubyte").dtype == np.uint8
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", directory=tmp_path)
    with pytest.raises(ValueError):
        load_fashion_mnist("validation", directory=tmp_path)


def test_real_fashion_mnist_and_digits():
    from streamfold.data import DatasetNotFoundError, load_digits, load_fashion_mnist

    try:
        x, y = load_fashion_mnist("train", limit=100)
    except DatasetNotFoundError:
        pytest.skip("dataset-fashion-mnist not installed")
    assert x.shape == (100, 28, 28) and x.dtype == np.uint8 and y.max() <= 9
    x, y = load_digits()
    assert x.shape == (1797, 8, 8) and x.max() == 16 and set(np.unique(y)) == set(range(10))
