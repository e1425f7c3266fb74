"""streamfold.quantize.optimize on scikit-learn's digits (bundled float MLP and
CNN, examples/models/digits_*_float.pt): PTQ at 8 bits, a low-bit case that
needs partial quantization, one that needs QAT, and the exports run through
streamfold equal to the Brevitas modules."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("sklearn")

import streamfold as sf  # noqa: E402
from streamfold.quantize import digits, optimize  # noqa: E402
from streamfold.quantize.host import placement  # noqa: E402


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return digits.split()


def evaluator(data):
    _, _, xte, yte = data
    return lambda m: digits.accuracy(m, xte, yte)


@pytest.fixture(scope="module")
def ptq8(data):
    xtr, ytr, _, _ = data
    out = {}
    for name in ("mlp", "cnn"):
        out[name] = optimize(digits.pretrained(name), xtr[:256], evaluator(data), target_accuracy=0.0,
                             weight_bits=8, act_bits=8, calibration="minmax")
    return out


@pytest.fixture(scope="module")
def partial_mlp(data):
    """3-bit MLP: PTQ loses ~6 points; leaving the two most sensitive end
    layers in float reaches 97.5 %."""
    xtr, ytr, _, _ = data
    return optimize(digits.pretrained("mlp"), xtr[:256], evaluator(data), target_accuracy=0.975,
                    weight_bits=3, act_bits=3, calibration="minmax", train_data=digits.batches(xtr, ytr))


@pytest.fixture(scope="module")
def qat_cnn(data):
    """2-bit CNN: PTQ (mse) ~78 %; a few epochs of QAT reach 97 %."""
    xtr, ytr, _, _ = data
    return optimize(digits.pretrained("cnn"), xtr[:256], evaluator(data), target_accuracy=0.97,
                    weight_bits=2, act_bits=2, calibration="mse", train_data=digits.batches(xtr, ytr),
                    stages=("ptq", "qat"), qat_epochs=4)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_ptq_8bit_within_one_point(ptq8, name):
    r = ptq8[name]
    float_acc = r.history[0]["accuracy"]
    assert r.stage == "ptq" and r.met and r.float_layers == []
    assert float_acc > 0.97
    assert abs(r.accuracy - float_acc) <= 0.01, r.history


def test_ptq_per_tensor_and_every_calibration(data):
    xtr, _, _, _ = data
    m = digits.pretrained("cnn")
    for cal in ("minmax", "percentile", "mse"):
        r = optimize(m, xtr[:256], evaluator(data), 0.0, 8, 8, cal, per_channel=False, stages=("ptq",))
        assert abs(r.accuracy - r.history[0]["accuracy"]) <= 0.01, (cal, r.history)


def test_partial_stage(partial_mlp):
    r = partial_mlp
    stages = [h["stage"] for h in r.history]
    assert stages == ["float", "ptq", "partial"]
    assert r.stage == "partial" and r.met
    assert r.history[1]["accuracy"] < 0.975 <= r.accuracy
    # Sensitivity was measured for every layer, and the float layers are
    # the ends (first and last), so one accelerator takes the middle.
    assert set(r.sensitivity) == {"net.1", "net.3", "net.5"}
    assert r.float_layers == ["net.1", "net.5"]
    host = dict(r.host_layers())
    assert "before the accelerator" in host["net.1"] and "after the accelerator" in host["net.5"]
    assert "costs" in host["net.1"]
    # The partial model is bigger than the PTQ one, smaller than float.
    sizes = {h["stage"]: h["size_bits"] for h in r.history}
    assert sizes["ptq"] < sizes["partial"] < sizes["float"]


def test_qat_stage(qat_cnn):
    r = qat_cnn
    assert [h["stage"] for h in r.history] == ["float", "ptq", "qat"]
    assert r.history[1]["accuracy"] < 0.97
    assert r.stage == "qat" and r.met and r.float_layers == [] and r.host_layers() == []


def test_qat_without_train_data_is_skipped(data):
    xtr, _, _, _ = data
    r = optimize(digits.pretrained("mlp"), xtr[:64], evaluator(data), 0.999, 2, 2, stages=("ptq", "qat"))
    assert not r.met and r.history[-1]["note"].startswith("skipped")


def _streamfold_equals_brevitas(result, x, tmp_path, fast):
    path = result.export_qonnx(tmp_path / "m.onnx", x[:1])
    mw = sf.ModelWrapper(path)
    iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
    ours = np.concatenate([sf.execute_onnx(mw, {iname: x[i:i + 1].numpy()})[oname] for i in range(len(x))])
    with torch.no_grad():
        ref = result.model(x).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    assert (ours.argmax(1) == ref.argmax(1)).all()
    if fast:
        # Fully integer: the fast engine runs the streamlined graph. It
        # predicts what Brevitas predicts; its logits may differ by one
        # activation step where a float accumulation sits on a threshold
        # (see test_streamline_is_bit_exact_on_digits_cnn).
        fast_out = sf.Engine(mw, threads=1).run(x.numpy())
        assert (fast_out.argmax(1) == ref.argmax(1)).mean() >= 0.95
        close = np.isclose(fast_out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max()).all(axis=1)
        assert close.mean() >= 0.9
    return path


@pytest.mark.parametrize("case", ["ptq8_mlp", "ptq8_cnn", "partial_mlp", "qat_cnn"])
def test_export_runs_in_streamfold_equal_to_brevitas(case, ptq8, partial_mlp, qat_cnn, data, tmp_path):
    result = {"ptq8_mlp": ptq8["mlp"], "ptq8_cnn": ptq8["cnn"], "partial_mlp": partial_mlp,
              "qat_cnn": qat_cnn}[case]
    _, _, xte, _ = data
    path = _streamfold_equals_brevitas(result, xte[:40], tmp_path, fast=not result.float_layers)
    # The build's dataflow partition: one accelerator; what stays on the host
    # is named with a reason.
    p = placement(path)
    assert p["partitions"] == 1 and p["hw_layers"] > 0
    assert p["quantize"]["stage"] == result.stage
    host_ops = [op for _, op, _ in p["host"]]
    if result.float_layers:
        assert {h["layer"] for h in p["quantize"]["host_layers"]} == set(result.float_layers)
        assert host_ops.count("MatMul") == len(result.float_layers)  # the float Linear layers
        reasons = " ".join(r for _, _, r in p["host"])
        assert "before the accelerator" in reasons and "after the accelerator" in reasons
    else:
        assert "MatMul" not in host_ops and "Conv" not in host_ops


def test_skip_conv_rule(data):
    """The paper's rule: every convolution stays float."""
    xtr, _, _, _ = data
    r = optimize(digits.pretrained("cnn"), xtr[:128], evaluator(data), 0.999, 2, 2, stages=("partial",),
                 partial_rule="skip_conv", check_partition=False)
    assert r.stage == "partial"
    assert r.float_layers == ["features.0", "features.3", "features.7"]
    assert r.sensitivity == {}


def test_config_errors(data):
    from streamfold.errors import ConfigError
    xtr, _, _, _ = data
    m = digits.pretrained("mlp")
    for kw, key in (({"act_bits": 16}, "act_bits"), ({"weight_bits": 1}, "weight_bits"),
                    ({"calibration": "kl"}, "calibration"), ({"stages": ("pqt",)}, "stages"),
                    ({"placement": "middle"}, "placement")):
        with pytest.raises(ConfigError) as e:
            optimize(m, xtr[:8], lambda _: 1.0, 0.5, **kw)
        assert e.value.key == key


@pytest.mark.xfail(reason="front-end finding, not the optimizer's: Streamline moves one activation of the "
                          "8-bit digits CNN by one step (67 -> 68 at MultiThreshold_2_out0[0,22,0,2], test "
                          "image 11); reported to the lead", strict=False)
def test_streamline_is_bit_exact_on_digits_cnn(ptq8, data, tmp_path):
    from streamfold.builder import steps
    from streamfold.transformation import run_pipeline
    _, _, xte, _ = data
    mw = sf.ModelWrapper(ptq8["cnn"].export_qonnx(tmp_path / "cnn8.onnx", xte[:1]))
    names = (steps.step_pass_list("step_qonnx_to_finn") + steps.step_pass_list("step_tidy_up")
             + steps.step_pass_list("step_streamline"))
    run_pipeline(mw, names, {mw.graph.input[0].name: xte[11:12].numpy()})


def test_build_keeps_float_layers_on_the_host(partial_mlp, data, tmp_path):
    """The dataflow build of a partially quantized model: the float layers
    stay on the host, build.log and report/host_nodes.json say which and why."""
    import json

    from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
    from streamfold.quantize.host import build_steps
    _, _, xte, _ = data
    path = partial_mlp.export_qonnx(tmp_path / "mlp_w3a3.onnx", xte[:1])
    out = tmp_path / "build"
    cfg = DataflowBuildConfig(output_dir=str(out), board="Pynq-Z2", synth_clk_period_ns=10.0,
                              target_fps=10000, steps=build_steps())
    build_dataflow_cfg(path, cfg, progress=False)
    log = (out / "build.log").read_text()
    for layer in partial_mlp.float_layers:
        assert f"float layer {layer}: left in float" in log
    host = json.loads((out / "report" / "host_nodes.json").read_text())
    assert sum(h["op_type"] == "MatMul" for h in host) == 2
    assert (out / "report" / "estimate_network_performance.json").exists()


def test_cli_quantize(tmp_path):
    import json

    from streamfold.cli import main
    out, hist = tmp_path / "mlp8.onnx", tmp_path / "h.json"
    rc = main(["quantize", "digits-mlp", "--weight-bits", "8", "--act-bits", "8", "--stages", "ptq",
               "--max-drop", "1", "--output", str(out), "--json", str(hist)])
    assert rc == 0 and out.exists()
    h = json.loads(hist.read_text())
    assert h["stage"] == "ptq" and h["met"] and [r["stage"] for r in h["history"]] == ["float", "ptq"]
