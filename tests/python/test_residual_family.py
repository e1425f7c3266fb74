"""Residual blocks whose quantized input feeds both the skip and the conv
path (issue 16, item 1), on a generated family of Brevitas networks
(streamfold.zoo.random_residual): quantizer placements, signed and unsigned
block inputs, channel counts, one or two blocks. Each network with one scale
at its Adds goes through streamline and the estimate build (host parent +
dataflow child) and the parent still equals Brevitas; a network whose Add
joins two scales is refused with a hint that says to share a quantizer."""
import numpy as np
import pytest

import streamfold as sf
from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
from streamfold.builder.config import ALL_STEPS

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
from streamfold import zoo  # noqa: E402
from streamfold.zoo import random_residual as rr  # noqa: E402

# Seeds cycle through (placement of the first block) x (signed input): 0, 1
# and 5, 6 cover the three integer placements, signed and unsigned; 3 is
# "separate" (two scales at the Add).
SEEDS = [0, 1, 3, 5, 6]


@pytest.fixture(scope="module", params=SEEDS)
def net(request, tmp_path_factory):
    spec = rr.residual_spec(request.param)
    module = rr.build_residual(spec)
    path = zoo.export_module(module, spec["input_shape"], str(tmp_path_factory.mktemp("res") / "net.onnx"))
    x = np.random.default_rng(request.param).uniform(-1, 1, (3,) + tuple(spec["input_shape"][1:])).astype(np.float32)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    return spec, path, x, ref


def test_family_covers_every_placement_and_sign():
    specs = [rr.residual_spec(s) for s in range(8)]
    assert {(s["blocks"][0]["placement"], s["input_signed"]) for s in specs} == \
        {(p, sg) for p in rr.PLACEMENTS for sg in (True, False)}


def assert_equal_to_brevitas(model, x, ref, what):
    inp = model.graph.input[0].name
    got = np.concatenate([sf.execute_onnx(model, {inp: x[i:i + 1]})[model.graph.output[0].name]
                          for i in range(len(x))])
    # The integer graph reorders float scales and biases, so the last bits differ.
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def test_residual_streamlines_and_builds_equal_to_brevitas(net, tmp_path):
    spec, path, x, ref = net
    cfg = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=100000,
                              steps=ALL_STEPS[:ALL_STEPS.index("step_generate_estimate_reports") + 1],
                              save_intermediate_models=True)
    if not rr.streamlines_to_integers(spec):
        with pytest.raises(sf.StreamlineError) as e:
            build_dataflow_cfg(path, cfg, progress=False)
        assert "different scales" in e.value.hint and "same quantizer" in e.value.hint, str(e.value)
        assert any(v["op_type"] == "Add" for v in e.value.violations)
        return
    s = build_dataflow_cfg(path, cfg, progress=False)
    streamlined = sf.ModelWrapper(tmp_path / "out" / "intermediate_models" / "step_streamline.onnx")
    assert not [n.name for n in streamlined.graph.node if n.op_type == "Transpose"
                and n.input[0] != streamlined.graph.input[0].name], f"{spec}: Transposes left inside"
    assert_equal_to_brevitas(streamlined, x, ref, f"streamlined {spec}")
    parent = s["parent"]
    assert [n.op_type for n in parent.graph.node].count("StreamingDataflowPartition") == 1, spec
    child_ops = {n.op_type for n in s["model"].graph.node}
    assert "AddStreams" in child_ops and "MVAU" in child_ops, (spec, child_ops)
    assert_equal_to_brevitas(parent, x, ref, f"built parent {spec}")
