"""The RTL back end on the zoo (issues 10-12): every dataflow child runs bit-
exactly node by node in Verilator (random input gaps and output stalls), and
as one stitched design with sized FIFOs; the stitched design's measured
throughput matches the estimate. CI runs a few models; `make test-full` all."""
import json
import os

import numpy as np
import pytest

from streamfold import zoo
from streamfold.builder.config import ALL_STEPS

import rtl_zoo

MLPS = ["tfc_w1a1", "tfc_w1a2", "tfc_w2a2", "sfc_w1a1", "sfc_w1a2", "sfc_w2a2", "lfc_w1a1", "lfc_w1a2", "lfc_w2a2"]
CNNS = ["cnv_w1a1", "cnv_w1a2", "cnv_w2a2", "lenet5_w4a4", "emotion_cnn_2b", "emotion_cnn_4b", "emotion_cnn_8b",
        "dnn2fpga_cnn", "residual_block", "dws_block"]
CI_NODE_BY_NODE = {"tfc_w1a1", "tfc_w2a2", "sfc_w1a2", "lenet5_w4a4", "dws_block"}
CI_STITCHED = {"tfc_w1a1", "tfc_w2a2", "lenet5_w4a4", "residual_block"}
# Low targets keep the CNNs' folding (and Verilator build) small.
FPS = {"cnv_w1a1": 200, "cnv_w1a2": 200, "cnv_w2a2": 200, "emotion_cnn_2b": 50, "emotion_cnn_4b": 50,
       "emotion_cnn_8b": 50, "lenet5_w4a4": 1000, "dnn2fpga_cnn": 500, "residual_block": 1000, "dws_block": 1000}


def _marks(name, ci):
    return pytest.param(name, marks=() if name in ci else pytest.mark.full)


@pytest.mark.parametrize("name", [_marks(n, CI_NODE_BY_NODE) for n in MLPS + CNNS])
def test_node_by_node_rtlsim_equals_reference(name):
    _, parent, child = rtl_zoo.folded(name, FPS.get(name, 100_000))
    x = rtl_zoo.inputs(name, 2, seed=3)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    got = rtl_zoo.run_parent(rtl_zoo.with_child(parent, child), x, backend="rtlsim", in_gap=0.3, out_stall=0.3,
                             seed=7)
    np.testing.assert_array_equal(got, want)
    if name in MLPS:  # the MLPs' outputs are exact integers: Brevitas itself must agree
        np.testing.assert_array_equal(got, np.asarray(zoo.reference_forward(name, x)).reshape(got.shape))


def _stitched(name, fps):
    return rtl_zoo.rtl_steps(name, fps, 15)


@pytest.mark.parametrize("name", [_marks(n, CI_STITCHED) for n in MLPS + CNNS])
def test_stitched_rtlsim_bit_exact_with_stalls_and_fast_as_estimated(name):
    fps = FPS.get(name, 100_000)
    cfg, parent, m = _stitched(name, fps)
    x = rtl_zoo.inputs(name, 3, seed=5)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    for seed, (gap, stall) in enumerate([(0.0, 0.0), (0.4, 0.6), (0.8, 0.2)]):
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
    # sized by the default strategy, characterize (test_fifo_characterize.py)
    assert all("schedule models" in f["why"] or "input DMA" in f["why"] for f in fifos.values())
    assert os.path.isfile(os.path.join(cfg.output_dir, "stitched_ip", "finn_design.v"))


@pytest.mark.full
@pytest.mark.parametrize("name", MLPS + CNNS)
def test_stitched_throughput_at_a_second_folding(name):
    fps = FPS.get(name, 100_000) * 4
    cfg, _, _ = _stitched(name, fps)
    rep = os.path.join(cfg.output_dir, "report")
    perf = json.load(open(os.path.join(rep, "rtlsim_performance.json")))
    est = json.load(open(os.path.join(rep, "estimate_network_performance.json")))
    assert 0.9 <= perf["stable_throughput[images/s]"] / est["estimated_throughput_fps"] <= 1.1


def test_build_verifies_node_by_node_and_stitched_rtlsim(tmp_path):
    """verify_steps node_by_node_rtlsim and stitched_ip_rtlsim run the whole
    network (host nodes + the RTL child) on verify_input_npy inside the build."""
    from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg

    name = "tfc_w2a2"
    x = rtl_zoo.inputs(name, 1, seed=2)
    np.save(tmp_path / "in.npy", x)
    np.save(tmp_path / "out.npy", np.asarray(zoo.reference_forward(name, x)))
    cfg = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=100_000,
                              mvau_wwidth_max=1024, steps=ALL_STEPS[:14],
                              generate_outputs=["estimate_reports", "stitched_ip"],
                              verify_steps=["node_by_node_rtlsim", "stitched_ip_rtlsim"],
                              verify_input_npy=str(tmp_path / "in.npy"),
                              verify_expected_output_npy=str(tmp_path / "out.npy"))
    s = build_dataflow_cfg(zoo.export(name), cfg, progress=False)
    assert [v["result"] for v in s["verification"]] == ["SUCCESS", "SUCCESS"]
    assert {v["step"] for v in s["verification"]} == {"step_hw_ipgen", "step_create_stitched_ip"}
