"""FIFO sizing by schedule models (auto_fifo_strategy="characterize", issue 12).

1. Prediction: on the frame-deep design FIFO sizing starts from, the
   occupancy the composed schedule models predict for every FIFO equals what
   the stitched RTL's occupancy monitors measure at the same source rate.
2. Sized designs: a zoo model sized this way is bit-exact in stitched rtlsim
   under random input gaps and output stalls (no deadlock), and its measured
   throughput is the estimate's.
CI runs a few models (an MLP, a CNN, a residual and a depthwise block); `make
test-full` runs the zoo and random Brevitas networks."""
import json
import os
import time

import numpy as np
import pytest

from streamfold import _core
from streamfold.builder import hw_steps, steps
from streamfold.builder.config import ALL_STEPS
from streamfold.rtlsim.stitched import simulate_design, stitch

import rtl_zoo
from test_rtl_zoo import CNNS, FPS, MLPS

CI = {"tfc_w1a1", "lenet5_w4a4", "residual_block", "dws_block"}


def _marks(names, ci):
    return [pytest.param(n, marks=() if n in ci else pytest.mark.full) for n in names]


def _ipgen(name, fps):
    cfg, parent, child = rtl_zoo.folded(name, fps, generate_outputs=("estimate_reports", "stitched_ip",
                                                                     "rtlsim_performance"),
                                        rtlsim_batch_size=4)
    m = child
    for s in ALL_STEPS[9:12]:
        m = getattr(steps, s)(m, cfg)
    return cfg, parent, m


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


def _sized(name, fps, strategy):
    cfg, parent, m = _ipgen(name, fps)
    cfg.auto_fifo_strategy = strategy
    t0 = time.time()
    m = steps.step_set_fifo_depths(m, cfg)
    took = time.time() - t0
    for s in ALL_STEPS[13:15]:
        m = getattr(steps, s)(m, cfg)
    return cfg, parent, m, took


@pytest.mark.parametrize("name", _marks(MLPS + CNNS, CI))
def test_characterized_design_bit_exact_with_stalls_and_fast_as_estimated(name):
    fps = FPS.get(name, 100_000)
    cfg, parent, m, took = _sized(name, fps, "characterize")
    assert took < 5, f"characterize took {took:.1f} s"
    x = rtl_zoo.inputs(name, 3, seed=5)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    for seed, (gap, stall) in enumerate([(0.4, 0.6), (0.8, 0.2)]):
        got = rtl_zoo.run_parent(rtl_zoo.with_child(parent, m), x, backend="rtlsim", in_gap=gap, out_stall=stall,
                                 seed=seed)
        np.testing.assert_array_equal(got, want)
    rep = os.path.join(cfg.output_dir, "report")
    perf = json.load(open(os.path.join(rep, "rtlsim_performance.json")))
    est = json.load(open(os.path.join(rep, "estimate_network_performance.json")))
    ratio = perf["stable_throughput[images/s]"] / est["estimated_throughput_fps"]
    assert 0.9 <= ratio <= 1.1, f"measured {perf['stable_throughput[images/s]']:.0f} fps, estimated " \
                                f"{est['estimated_throughput_fps']:.0f} fps"
    fifos = json.load(open(os.path.join(rep, "fifo_depths.json")))
    assert fifos and all("schedule models" in f["why"] or "DMA" in f["why"] for f in fifos.values())


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
