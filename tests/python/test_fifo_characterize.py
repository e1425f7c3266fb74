"""FIFO sizing by schedule models (auto_fifo_strategy="characterize", issue 12).

1. Prediction: on the frame-deep design FIFO sizing starts from, the
   occupancy the composed schedule models predict for every FIFO equals what
   the stitched RTL's occupancy monitors measure at the same source rate.
2. Both strategies keep the same FIFOs at the same depths.
characterize is the default, so test_rtl_zoo.py's stitched tests (bit-exact
under random gaps and stalls, throughput = estimate) and test_rtl_random.py
run designs it sized. CI runs a few models (an MLP, a CNN, a residual and a
depthwise block); `make test-full` runs the zoo."""
import pytest

from streamfold import _core
from streamfold.builder import hw_steps, steps
from streamfold.rtlsim.stitched import simulate_design, stitch

import rtl_zoo
from test_rtl_zoo import CNNS, FPS, MLPS

CI = {"tfc_w1a1", "lenet5_w4a4", "residual_block", "dws_block"}


def _marks(names, ci):
    return [pytest.param(n, marks=() if n in ci else pytest.mark.full) for n in names]


def _ipgen(name, fps):
    return rtl_zoo.rtl_steps(name, fps, 12)


def predicted_and_measured(model, tmp_dir, frames=3):
    """Per FIFO of the frame-deep design: (predicted, measured) max occupancy."""
    m, rate, _ = hw_steps.frame_deep_fifos(model.transform("InsertDWC"))
    pred = _core.fifo_characterize(m._model, frames, rate)["max_occupancy"]
    stitch(m, tmp_dir, monitors=True)
    _, stats = simulate_design(m, tmp_dir, hw_steps._random_inputs(m, frames), in_rate=rate)
    mons = stats["monitors"]
    return {n.name: (pred[n.name], int(mons[f"mon_{n.name}_maxcount"])) for n in m.graph.node
            if n.op_type == "StreamingFIFO"}


@pytest.mark.parametrize("name", _marks(MLPS + CNNS, CI))
def test_schedule_models_predict_the_stitched_fifo_occupancy(name, tmp_path):
    _, _, m = _ipgen(name, FPS.get(name, 100_000))
    pm = predicted_and_measured(m, str(tmp_path / "d"))
    assert pm
    bad = {k: v for k, v in pm.items() if v[0] != v[1]}
    assert not bad, f"predicted vs measured occupancy differs on {len(bad)} of {len(pm)} FIFOs: {bad}"


def test_a_node_that_is_not_a_hw_layer_is_a_typed_error_naming_it():
    from onnx import TensorProto, helper

    from streamfold.core.modelwrapper import ModelWrapper
    from streamfold.errors import StreamfoldError

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="Relu_0")], "g", [x], [y])
    m = ModelWrapper(helper.make_model(g))
    with pytest.raises(StreamfoldError, match="Relu_0"):
        _core.fifo_characterize(m._model, 2, 1.0)


@pytest.mark.parametrize("name", _marks(MLPS + CNNS, {"tfc_w1a1", "residual_block"}))
def test_both_strategies_give_the_same_depths(name):
    """FINN's largefifo_rtlsim (the stitched RTL with occupancy monitors) and
    characterize keep the same FIFOs at the same depths."""
    import copy

    cfg, _, m = _ipgen(name, FPS.get(name, 100_000))
    depths = {}
    for strategy in ("largefifo_rtlsim", "characterize"):
        c = copy.copy(cfg)
        c.auto_fifo_strategy = strategy
        s = steps.step_set_fifo_depths(m.copy(), c)
        depths[strategy] = {n.name: int(n.get_attr("depth")) for n in s.graph.node if n.op_type == "StreamingFIFO"}
    assert depths["characterize"] == depths["largefifo_rtlsim"]
