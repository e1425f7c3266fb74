"""Random Brevitas networks (streamfold.zoo.random_net) through the whole RTL
back end: converted to HW layers, folded, FIFO-sized and stitched, then run
bit-exactly in Verilator with random input gaps and output stalls, against the
reference executor on the streamlined network. Networks whose layers have no
HW form stay on the host, as the build does."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import streamfold as sf
from streamfold import zoo
from streamfold.builder import steps
from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig
from streamfold.zoo import random_net

import rtl_zoo


def _stitched_equal(module, shape, target_fps, strategy=None):
    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        cfg = DataflowBuildConfig(output_dir=os.path.join(d, "out"), board="Pynq-Z2", target_fps=target_fps,
                                  mvau_wwidth_max=1024, steps=ALL_STEPS[:15], rtlsim_batch_size=2,
                                  generate_outputs=["stitched_ip", "rtlsim_performance"])
        if strategy:
            cfg.auto_fifo_strategy = strategy
        m = sf.ModelWrapper(path)
        x = random_net.example_input(shape, n=3, seed=1).astype(np.float32)
        name = m.graph.input[0].name
        want = np.concatenate([sf.execute_onnx(m, {name: x[i:i + 1]})[m.graph.output[0].name]
                               for i in range(len(x))])
        for s in ALL_STEPS[:15]:
            if s == "step_streamline":  # what does not streamline stays on the host
                m = steps.step_streamline(m, cfg, check=False)
            else:
                m = getattr(steps, s)(m, cfg)
            if s == "step_create_dataflow_partition":
                # Several partitions come back as the parent; build_dataflow_cfg
                # builds each child on its own (test_partitions.py), this test
                # drives the steps on one child by hand.
                assume(not getattr(m, "_dataflow_children", None))
                cfg._dataflow_parent = m._dataflow_parent
        full = rtl_zoo.with_child(cfg._dataflow_parent, m)
        for seed, (gap, stall) in enumerate([(0.0, 0.0), (0.5, 0.5)]):
            got = rtl_zoo.run_parent(full, x, backend="rtlsim", in_gap=gap, out_stall=stall, seed=seed)
            np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)


@settings(max_examples=int(os.environ.get("SF_RTL_RANDOM_EXAMPLES", 2)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_stitched_rtl_equal_reference(net):
    module, shape = net
    _stitched_equal(module, shape, 100_000)


@pytest.mark.full
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_stitched_rtl_sweep(net):
    module, shape = net
    _stitched_equal(module, shape, 5_000)


@pytest.mark.full
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_with_both_fifo_strategies(net):
    """Each FIFO-sizing strategy gives a design that runs bit-exactly under
    gaps and stalls (test_fifo_characterize.py checks their depths agree)."""
    module, shape = net
    for strategy in ("characterize", "largefifo_rtlsim"):
        _stitched_equal(module, shape, 20_000, strategy)
