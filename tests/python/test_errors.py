"""Bad input gives a typed error with a hint, never a crash."""
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import ModelWrapper

from test_ir import small_model

HERE = os.path.dirname(os.path.abspath(__file__))


def model_of(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset),
                                            helper.make_opsetid("qonnx.custom_op.general", 1)])
    m.ir_version = 8
    return m


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def assert_typed(excinfo, cls):
    assert isinstance(excinfo.value, cls)
    assert excinfo.value.hint, "every error carries a hint"


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff" * 10, b"not an onnx model at all"])
def test_garbage_bytes(tmp_path, content):
    p = tmp_path / "bad.onnx"
    p.write_bytes(content)
    with pytest.raises(sf.ModelError) as e:
        ModelWrapper(p)
    assert_typed(e, sf.ModelError)
    with pytest.raises(sf.ModelError):
        ModelWrapper(content)


def test_truncated_file(tmp_path):
    data = small_model().SerializeToString()
    for cut in (1, len(data) // 3, len(data) // 2, len(data) - 1):
        p = tmp_path / f"t{cut}.onnx"
        p.write_bytes(data[:cut])
        with pytest.raises(sf.ModelError):
            ModelWrapper(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(sf.ModelError, match="does not exist"):
        ModelWrapper(tmp_path / "nope.onnx")
    with pytest.raises(sf.ModelError, match="directory"):
        ModelWrapper(tmp_path)


def test_missing_initializer():
    m = small_model()
    del m.graph.initializer[1]  # "b"
    with pytest.raises(sf.ModelError) as e:
        ModelWrapper(m)
    assert "'b'" in str(e.value) and "add" in str(e.value)
    assert e.value.where == "add"


def test_wrong_inputs():
    mw = ModelWrapper(small_model())
    x = np.zeros((1, 4), np.float32)
    with pytest.raises(sf.InputError, match="'z' is not an input"):
        sf.execute_onnx(mw, {"x": x, "z": x})
    with pytest.raises(sf.InputError, match="was not given"):
        sf.execute_onnx(mw, {})
    with pytest.raises(sf.InputError, match="shape"):
        sf.execute_onnx(mw, {"x": np.zeros((2, 4), np.float32)})
    with pytest.raises(sf.InputError, match="float64"):
        sf.execute_onnx(mw, {"x": np.zeros((1, 4))})
    with pytest.raises(sf.InputError, match="NumPy array"):
        sf.execute_onnx(mw, {"x": [[0, 0, 0, 0]]})
    with pytest.raises(sf.InputError):
        sf.execute_onnx(mw, {"x": np.zeros((1, 4), dtype=object)})
    # InputError is also a ValueError, for code that catches that
    with pytest.raises(ValueError):
        sf.execute_onnx(mw, {})


def test_unknown_op():
    m = model_of([helper.make_node("FancyOp", ["x"], ["y"], name="fancy_1", domain="my.domain")],
                 [vi("x", [1, 2])], [vi("y", [1, 2])])
    with pytest.raises(sf.UnsupportedOpError) as e:
        sf.execute_onnx(m, {"x": np.zeros((1, 2), np.float32)})
    assert (e.value.node, e.value.op_type, e.value.domain) == ("fancy_1", "FancyOp", "my.domain")
    assert_typed(e, sf.UnsupportedOpError)
    with pytest.raises(sf.UnsupportedOpError):
        ModelWrapper(m).transform(sf.transformation.InferShapes())


def test_invalid_attribute():
    m = model_of([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])],
                 [vi("x", [1, 2])], [vi("y", [2, 1])])
    with pytest.raises(sf.ModelError) as e:
        sf.execute_onnx(m, {"x": np.zeros((1, 2), np.float32)})
    assert "tr" in str(e.value) and "perm" in str(e.value)


@pytest.mark.parametrize("bitwidth", [np.array(0.0), np.array(-2.0), np.array([4.0, 4.0]), np.array(2.5)])
def test_bad_quant_bitwidth(bitwidth):
    inits = [numpy_helper.from_array(np.array(0.5, np.float32), "s"),
             numpy_helper.from_array(np.array(0.0, np.float32), "z"),
             numpy_helper.from_array(bitwidth.astype(np.float32), "b")]
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="q0", domain="qonnx.custom_op.general",
                            signed=1, narrow=0, rounding_mode="ROUND")
    m = model_of([node], [vi("x", [1, 2])], [vi("y", [1, 2])], inits)
    with pytest.raises(sf.ModelError) as e:
        sf.execute_onnx(m, {"x": np.zeros((1, 2), np.float32)})
    assert "q0" in str(e.value) and "bitwidth" in str(e.value).lower()


def test_cycle():
    nodes = [helper.make_node("Relu", ["x", ], ["a"], name="r0"),
             helper.make_node("Add", ["a", "c"], ["b"], name="add0"),
             helper.make_node("Relu", ["b"], ["c"], name="r1")]
    m = model_of(nodes, [vi("x", [1])], [vi("c", [1])])
    with pytest.raises(sf.ModelError, match="cycle"):
        sf.execute_onnx(m, {"x": np.zeros(1, np.float32)})


def test_save_to_missing_dir_leaves_nothing(tmp_path):
    mw = ModelWrapper(small_model())
    with pytest.raises(sf.ModelError):
        mw.save(tmp_path / "no" / "such" / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_errors(tmp_path):
    p = tmp_path / "bad.onnx"
    p.write_bytes(b"junk")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-m", "streamfold", "info", str(p)], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "ModelError" in r.stderr and "hint" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_exec_fast_backend_matches_reference(tmp_path):
    """`streamfold exec --backend fast` runs a whole batch through the fast
    engine; image by image it equals the reference backend."""
    model = os.path.join(HERE, "..", "..", "examples", "models", "tfc_w1a1_fmnist.onnx")
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-m", "streamfold", "exec", model, "-i", str(tmp_path / "x.npy"),
                        "--backend", "fast", "-o", str(tmp_path / "y.npy")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    inp = ModelWrapper(model)._model.runtime_input_names()[0]
    for i in range(3):
        ref = next(iter(sf.execute_onnx(model, {inp: x[i:i + 1]}).values()))
        np.testing.assert_array_equal(y[i:i + 1], ref)


def test_fuzz_loader_briefly():
    """Run the atheris fuzz target on the loader for a short, bounded time."""
    pytest.importorskip("atheris")
    target = os.path.join(HERE, "..", "fuzz", "fuzz_loader.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, target, "-runs=3000", "-max_total_time=20"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
