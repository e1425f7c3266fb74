"""The deployment package's own driver, unchanged, on the board-less system
simulation (--platform sim): IODMAs, the stitched design and a DDR model with
random latencies. Its execute() must give the reference outputs for the zoo,
for random networks and with weights streamed from DDR; its throughput must
be the stitched design's (the DMAs are not the bottleneck)."""
import copy
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from streamfold.zoo import random_net

import rtl_zoo
from streamfold.builder import hw_steps, pynq_steps
from streamfold.rtlsim.stitched import simulate_design
from test_rtl_zoo import CNNS, FPS, MLPS, _marks
from test_system_sim import reference_io

CI_MODELS = {"tfc_w1a1"}  # LeNet-5 and the rest: make test-full
STRESS = "seed=5,p_ready=0.6,p_valid=0.5,rd_lat=10:80,wr_lat=10:80"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_pkgs = {}


def package(name, fps=None, external=()):
    """(parent, child, deploy dir) of a zoo model through the deployment package."""
    key = (name, fps, tuple(external))
    if key not in _pkgs:
        cfg, parent, child = rtl_zoo.folded(name, fps or FPS.get(name, 100_000))
        if external:
            import streamfold as sf

            child = sf.ModelWrapper(copy.deepcopy(child.model))
            cfg = copy.copy(cfg)
            cfg.output_dir = cfg.output_dir + "_ext"
            for n in child.graph.node:
                if n.name in external:
                    n.set_string("mem_mode", "external")
        for s in ("step_set_fifo_depths", "step_create_stitched_ip"):
            child = getattr(hw_steps, s)(child, cfg)
        child = pynq_steps.step_make_pynq_driver(child, cfg)
        child = pynq_steps.step_deployment_package(child, cfg)
        _pkgs[key] = (parent, child, child.get_metadata_prop("deployment_dir"))
    return _pkgs[key]


def load_driver(deploy):
    """The package's driver.py as a module (its driver_base beside it)."""
    d = os.path.join(deploy, "driver")
    sys.modules.pop("driver_base", None)
    spec = importlib.util.spec_from_file_location(f"sf_pkg_driver_{abs(hash(d))}", os.path.join(d, "driver.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def overlay(drv, batch, deploy):
    return drv.FINNExampleOverlay(bitfile_name=drv.default_bitfile, platform="sim", io_shape_dict=drv.io_shape_dict,
                                  batch_size=batch, fclk_mhz=drv.fclk_mhz,
                                  runtime_weight_dir=os.path.join(deploy, "driver", "runtime_weights"))


def _check(name, monkeypatch, fps=None, external=(), n=3):
    parent, child, deploy = package(name, fps, external)
    x = rtl_zoo.inputs(name, n, seed=11)
    xin, want = reference_io(parent, child, x)
    monkeypatch.setenv("STREAMFOLD_SIM_OPTIONS", STRESS)
    drv = load_driver(deploy)
    acc = overlay(drv, n, deploy)
    try:
        t = child._model.runtime_input_names()[0]
        got = acc.execute(xin[t])
    finally:
        acc._ov.close() if hasattr(acc, "_ov") else None
    o = child.graph.output[0].name
    np.testing.assert_array_equal(np.asarray(got).reshape(want[o].shape), want[o])


@pytest.mark.parametrize("name", [_marks(n, CI_MODELS) for n in MLPS + CNNS])
def test_packaged_driver_on_the_system_simulation_equals_reference(name, monkeypatch):
    _check(name, monkeypatch)


def test_external_weights_through_a_weight_dma(monkeypatch):
    """TFC with two layers streaming their weights from DDR (runtime_weights/
    of the package, loaded by the driver, read by their own IODMAs)."""
    parent, child, deploy = package("tfc_w1a1", external=("MVAU_1", "MVAU_2"))
    assert len(os.listdir(os.path.join(deploy, "driver", "runtime_weights"))) == 2
    _check("tfc_w1a1", monkeypatch, external=("MVAU_1", "MVAU_2"))


def test_dma_is_not_the_bottleneck():
    """Frames per cycle through DDR and the DMAs equal the stitched design's
    own rate (measured with an ideal source and sink)."""
    name, n = "tfc_w1a1", 64
    parent, child, deploy = package(name)
    x = rtl_zoo.inputs(name, n, seed=2)
    xin, _ = reference_io(parent, child, x[:2])
    xin = {k: np.concatenate([v] * (n // 2)) for k, v in xin.items()}
    _, st = simulate_design(child, hw_steps.stitched_dir(child), xin)
    drv = load_driver(deploy)
    acc = overlay(drv, n, deploy)
    res = acc.throughput_test()
    sys_cycles = res["runtime[ms]"] * 1e-3 * res["fclk[mhz]"] * 1e6
    # The system pays the pipeline latency once and a few register accesses;
    # per frame it must keep the stitched design's interval.
    per_frame = (sys_cycles - st["latency_cycles"]) / (n - 1)
    assert per_frame <= st["interval_cycles"] * 1.05 + 4000 / n, (per_frame, st["interval_cycles"])


def test_driver_command_line_and_validate_sim(tmp_path):
    """driver.py and validate.py as a user runs them, with --platform sim."""
    name = "tfc_w1a1"
    parent, child, deploy = package(name)
    d = os.path.join(deploy, "driver")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    xin, want = reference_io(parent, child, rtl_zoo.inputs(name, 4, seed=3))
    np.save(tmp_path / "in.npy", xin[child._model.runtime_input_names()[0]])
    r = subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "execute", "--batchsize", "4",
                        "--inputfile", str(tmp_path / "in.npy"), "--outputfile", str(tmp_path / "out.npy")],
                       cwd=d, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    o = child.graph.output[0].name
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy").reshape(want[o].shape), want[o])
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("dataset-fashion-mnist is not installed")
    r = subprocess.run([sys.executable, "validate.py", "--platform", "sim", "--batchsize", "50", "--limit", "100"],
                       cwd=d, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "accuracy" in r.stdout.lower(), r.stdout


def _random_net_through_driver(module, shape, target_fps):
    """A random Brevitas network through every build step to its deployment
    package, then the packaged driver on the system simulation against the
    reference executor on the exported network."""
    import tempfile

    import streamfold as sf
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig
    from hypothesis import assume

    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        cfg = DataflowBuildConfig(output_dir=os.path.join(d, "out"), board="Pynq-Z2", target_fps=target_fps,
                                  mvau_wwidth_max=1024, steps=ALL_STEPS,
                                  generate_outputs=["stitched_ip", "pynq_driver", "deployment_package"])
        m = sf.ModelWrapper(path)
        x = random_net.example_input(shape, n=3, seed=1).astype(np.float32)
        for s in ALL_STEPS:
            if s == "step_streamline":  # what does not streamline stays on the host
                m = steps.step_streamline(m, cfg, check=False)
            elif s in ("step_measure_rtlsim_performance", "step_out_of_context_synthesis"):
                continue
            else:
                m = getattr(steps, s)(m, cfg)
            if s == "step_create_dataflow_partition":
                assume(not getattr(m, "_dataflow_children", None))
                cfg._dataflow_parent = m._dataflow_parent
        xin, want = reference_io(cfg._dataflow_parent, m, x)
        deploy = m.get_metadata_prop("deployment_dir")
        drv = load_driver(deploy)
        acc = overlay(drv, len(x), deploy)
        got = acc.execute(xin[m._model.runtime_input_names()[0]])
        o = m.graph.output[0].name
        np.testing.assert_array_equal(np.asarray(got).reshape(want[o].shape), want[o])


@settings(max_examples=int(os.environ.get("SF_SYSTEM_RANDOM_EXAMPLES", 1)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(net=random_net.random_qnn())
def test_random_networks_through_the_packaged_driver(net, monkeypatch):
    monkeypatch.setenv("STREAMFOLD_SIM_OPTIONS", STRESS)
    _random_net_through_driver(*net, 100_000)


@pytest.mark.full
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                HealthCheck.function_scoped_fixture])
@given(net=random_net.random_qnn())
def test_random_networks_through_the_packaged_driver_sweep(net, monkeypatch):
    monkeypatch.setenv("STREAMFOLD_SIM_OPTIONS", STRESS)
    _random_net_through_driver(*net, 5_000)
