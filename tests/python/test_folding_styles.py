"""8-bit CNNs on a small board (issue 16, item 6): the MVAU cost model follows
what the RTL builds: DSP48 multipliers (resType, auto = >= 4-bit operands)
and thresholds in memory compared by binary search (ram_style_thresholds
auto/block/distributed); SetFolding picks them per layer, and
when even the minimal design is over budget it names the resource, the layer
and what would fix it."""
import json

import numpy as np
import pytest

import streamfold as sf
from streamfold import _core
from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
from streamfold.builder import folding as F
from streamfold.builder.boards import get_board
from streamfold.builder.config import ALL_STEPS

from test_folding import mvau_chain


def mvau8(**attrs):
    """One 8-bit thresholded MVAU (MW=288, MH=64), as in a 64-channel 3x3 conv."""
    m = sf.ModelWrapper(mvau_chain((288, 64), wbits=8))
    n = m.graph.node[0]
    n.set_string("inputDataType", "UINT8")
    n.set_string("outputDataType", "UINT8")
    t = np.sort(np.random.default_rng(0).integers(-5000, 5000, (64, 255)), axis=1).astype(np.float32)
    m._model.set_initializer(n.input[2], t)
    for k, v in attrs.items():
        n.set_int(k, v) if isinstance(v, int) else n.set_string(k, v)
    return m, n


def est(**attrs):
    m, n = mvau8(**attrs)
    return _core.hw_estimate(m._model, n.name)


def test_mvau_styles_cost_model():
    lut = est(PE=4, SIMD=4, resType="lut")
    dsp = est(PE=4, SIMD=4, resType="dsp")
    assert dsp["dsp"] == 16 and lut["dsp"] == 0  # one DSP48E1 per 8x8 MAC
    assert dsp["lut"] < lut["lut"] - 4 * 4 * 60  # the LUT multipliers are gone
    # Binary-search thresholds: 8 comparators per PE, not FINN's 255; the
    # 255 x 16 thresholds of each PE go to LUTRAM, or their deep stages to BRAM.
    auto = est(PE=4, SIMD=4)  # the RTL's default: stages of >= 256 words in BRAM
    lutram = est(PE=4, SIMD=4, ram_style_thresholds="distributed")
    bram = est(PE=4, SIMD=4, ram_style_thresholds="block")  # >= 64 words
    weights_only = est(PE=4, SIMD=4, noActivation=1, outputDataType="INT26")["bram18"]
    assert lutram["bram18"] == weights_only < auto["bram18"] < bram["bram18"]
    assert bram["lut"] < auto["lut"] < lutram["lut"]
    acc = 26  # MW=288 UINT8 x INT8
    finn_comparators = 1.1 * 4 * 255 * acc
    assert lutram["lut"] < finn_comparators / 2
    assert auto["cycles"] == lutram["cycles"] == bram["cycles"] == 288 * 64 // 16
    with pytest.raises(sf.ModelError, match="ram_style_thresholds"):
        est(ram_style_thresholds="ultra")


def test_style_options():
    m, n = mvau8()
    opts = F.style_options(n)
    assert {o.get("resType") for o in opts} == {"dsp", "lut"}
    assert {o.get("ram_style_thresholds") for o in opts} == {None, "distributed", "block"}
    assert {o.get("ram_style") for o in opts} == {"distributed", "block"}  # the weights
    small = sf.ModelWrapper(mvau_chain((64, 32), wbits=2)).graph.node[0]  # UINT2 in/out
    assert {tuple(sorted(o)) for o in F.style_options(small)} == {("ram_style",)}


def test_minimal_design_over_budget_names_resource_layer_and_fix():
    big = sf.ModelWrapper(mvau_chain((1024, 2048, 10), wbits=8))
    # (With external_weights=True, the default, SetFolding streams MVAU_0's
    # weights from DDR instead: tests/python/test_rtl_external_weights.py.)
    m, r = F.set_folding(big, 1e3, board="Pynq-Z2", external_weights=False)
    assert r.over_budget == ["BRAM_18K"]
    msg = r.message()
    assert "BRAM_18K" in msg and "MVAU_0" in msg and "minimal folding" in msg
    assert "mem_mode=\"external\"" in msg and "fewer weight bits" in msg


@pytest.fixture(scope="module")
def emotion_half(tmp_path_factory):
    """The half-width emotion CNN of issue 16: convs 16-32-64-64 on 28x28,
    8-bit weights and activations."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    import brevitas.nn as qnn
    from torch import nn

    from streamfold import zoo
    from streamfold.zoo._quant import calibrate, randomize_bn_affine
    from streamfold.zoo.models import _conv, _linear

    def block(cin, cout):
        return [_conv(cin, cout, 3, 8, padding=1, bias=False), nn.BatchNorm2d(cout), qnn.QuantReLU(bit_width=8)]

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(qnn.QuantIdentity(bit_width=8), *block(1, 16), *block(16, 32), nn.MaxPool2d(2),
                            *block(32, 64), *block(64, 64), nn.MaxPool2d(2), nn.Flatten(),
                            _linear(64 * 7 * 7, 64, 8, bias=False), nn.BatchNorm1d(64), qnn.QuantReLU(bit_width=8),
                            _linear(64, 7, 8, bias=True))
    gen = torch.Generator().manual_seed(1)
    randomize_bn_affine(net, gen)
    calibrate(net, [torch.rand(16, 1, 28, 28, generator=gen) * 2 - 1 for _ in range(2)])
    return zoo.export_module(net.eval(), (1, 1, 28, 28), str(tmp_path_factory.mktemp("emo") / "emotion_half.onnx"))


def test_emotion_half_8bit_fits_pynq_z2(emotion_half, tmp_path):
    """Before issue 16 (FINN's MVAU model: 255 comparators and LUT thresholds
    per PE, LUT multipliers; PE·SIMD·wbits <= 36): 14 fps and 68,046 LUT at
    the minimal folding, 1.5x over the board. Now: 886 fps within budget
    (LUT 43,774, BRAM18 136, DSP 165), and 1,993 fps with mvau_wwidth_max=1024."""
    steps = ALL_STEPS[:ALL_STEPS.index("step_generate_estimate_reports") + 1]
    s = build_dataflow_cfg(emotion_half, DataflowBuildConfig(output_dir=str(tmp_path / "o"), board="Pynq-Z2",
                                                             target_fps=2000, steps=steps), progress=False)
    r = s["folding"]
    budget = get_board("Pynq-Z2").budget(0.85)
    total = json.loads((tmp_path / "o" / "report" / "estimate_layer_resources.json").read_text())["total"]
    assert not r.over_budget and all(total[k] <= budget[k] + 1e-6 for k in budget), r.message()
    assert total["DSP"] > 100 and r.achieved_fps > 500, r.message()
    cfg = json.loads((tmp_path / "o" / "final_hw_config.json").read_text())
    assert {v.get("resType") for k, v in cfg.items() if k.startswith("MVAU_")} >= {"dsp"}
