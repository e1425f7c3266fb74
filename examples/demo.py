"""streamfold demo: the bundled Fashion-MNIST TFC-w1a1 through streamfold.

Loads the bundled QONNX model, prints its summary, runs the full Fashion-MNIST
test set through streamfold's executor, and compares every prediction with
the Brevitas (PyTorch) forward pass of the same trained network.
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import streamfold as sf  # noqa: E402
from streamfold.cli import print_model_summary  # noqa: E402
from streamfold.data import load_fashion_mnist  # noqa: E402

MODEL = HERE / "models" / "tfc_w1a1_fmnist"


def brevitas_logits(images):
    """Logits of the trained Brevitas module (the reference) on preprocessed images."""
    import torch

    from streamfold.zoo.models import FC

    torch.set_num_threads(os.cpu_count() or 1)
    module = FC(64, 1, 1)
    module.load_state_dict(torch.load(MODEL.with_suffix(".pt"), map_location="cpu"))
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(images)).numpy()


def main():
    info = json.loads(MODEL.with_suffix(".json").read_text())
    print(f"streamfold {sf.__version__} demo: {MODEL.with_suffix('.onnx').name}")
    print_model_summary(str(MODEL.with_suffix(".onnx")))

    images, labels = load_fashion_mnist("test")
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    model = sf.ModelWrapper(MODEL.with_suffix(".onnx"))
    in_name = model.graph.input[0].name
    out_name = model.graph.output[0].name

    t0 = time.perf_counter()
    ours = np.concatenate([sf.execute_onnx(model, {in_name: x[i:i + 1]})[out_name] for i in range(len(x))])
    dt = time.perf_counter() - t0
    ref = brevitas_logits(x)

    pred, ref_pred = ours.argmax(1), ref.argmax(1)
    acc = float((pred == labels).mean())
    agree = float((pred == ref_pred).mean())
    print(f"\nFashion-MNIST test set: {len(x)} images through streamfold's reference executor "
          f"in {dt:.2f} s ({len(x) / dt:,.0f} images/s, batch 1)")
    print(f"  top-1 accuracy (streamfold):        {acc * 100:.2f} %   (recorded at training: "
          f"{info.get('test_accuracy', float('nan')) * 100:.2f} %)")
    print(f"  agreement with Brevitas (top-1):    {agree * 100:.2f} %")
    print(f"  max |logit difference| vs Brevitas: {np.abs(ours - ref).max():.3g}")
    if agree < 1.0:
        print("ERROR: streamfold disagrees with Brevitas", file=sys.stderr)
        return 1

    # The bit-packed fast engine on the whole test set, checked against the reference.
    fast = sf.evaluate(model, x, labels)
    print(f"  fast engine ({sf.engine_info()['path']}): {fast['accuracy'] * 100:.2f} % top-1, "
          f"{fast['images_per_s']:,.0f} images/s")
    if abs(fast["accuracy"] - acc) > 0:
        print("ERROR: the fast engine disagrees with the reference executor", file=sys.stderr)
        return 1

    build_dataflow(MODEL.with_suffix(".onnx"))
    return build_hardware(MODEL.with_suffix(".onnx"), x, labels, ref_pred)


def build_hardware(model_path, x, labels, ref_pred, target_fps=200_000):
    """The RTL back end: FINN's steps to the stitched, FIFO-sized design and
    its measured performance, then every test image through its Verilator
    simulation, compared with Brevitas image by image."""
    import tempfile

    from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
    from streamfold.builder.build import _with_child
    from streamfold.builder.config import ALL_STEPS

    out = Path(tempfile.mkdtemp(prefix="streamfold_demo_hw_"))
    cfg = DataflowBuildConfig(output_dir=str(out), board="Pynq-Z2", synth_clk_period_ns=10.0, target_fps=target_fps,
                              mvau_wwidth_max=1024, steps=ALL_STEPS, rtlsim_batch_size=32,
                              generate_outputs=["estimate_reports", "stitched_ip", "rtlsim_performance", "bitfile",
                                                "pynq_driver", "deployment_package"])
    print(f"\nRTL build for Pynq-Z2 at 100 MHz (target {target_fps:,} fps) -> {out}")
    t0 = time.perf_counter()
    summary = build_dataflow_cfg(str(model_path), cfg, progress=False)
    t_build = time.perf_counter() - t0
    for step in ("step_hw_codegen", "step_hw_ipgen", "step_set_fifo_depths", "step_create_stitched_ip",
                 "step_measure_rtlsim_performance", "step_synthesize_bitfile", "step_make_pynq_driver",
                 "step_deployment_package"):
        print(f"  {step:34} {summary['time_per_step'][step]:6.2f} s  {summary['notes'].get(step, '')}")
    rep = out / "report"
    perf = json.loads((rep / "rtlsim_performance.json").read_text())
    est = json.loads((rep / "estimate_network_performance.json").read_text())
    print(f"  measured {perf['stable_throughput[images/s]']:,.0f} images/s "
          f"({perf['interval_cycles']:.0f} cycles/image, latency {perf['latency_cycles']} cycles) vs estimated "
          f"{est['estimated_throughput_fps']:,.0f} images/s")

    model = _with_child(cfg._dataflow_parent, summary["model"])
    in_name = model.graph.input[0].name
    stats = []
    t0 = time.perf_counter()
    hw = sf.execute_onnx(model, {in_name: x}, backend="rtlsim", sim_stats=stats)[model.graph.output[0].name]
    t_sim = time.perf_counter() - t0
    pred = hw.reshape(len(x), -1).argmax(1)
    acc = float((pred == labels).mean())
    agree = float((pred == ref_pred).mean())
    st = stats[0]
    print(f"\nFashion-MNIST test set through the stitched RTL (Verilator): {len(x)} images in {t_sim:.1f} s "
          f"({st['cycles']:,} cycles, {st['cycles'] / t_sim / 1e6:.2f} M cycles/s simulated)")
    print(f"  hardware top-1 accuracy:            {acc * 100:.2f} %")
    print(f"  agreement with Brevitas (top-1):    {agree * 100:.2f} % ({int((pred != ref_pred).sum())} images differ)")
    print(f"  build {t_build:.1f} s + simulation {t_sim:.1f} s")
    if agree < 1.0:
        print("ERROR: the hardware disagrees with Brevitas", file=sys.stderr)
        return 1
    return run_package(out / "deploy", acc)


def run_package(deploy, stitched_acc):
    """The deployment package's own driver, unchanged, on the board-less system
    simulation (IODMAs, the stitched design, DDR with random latencies):
    validate.py over the whole test set, then driver.py's throughput test."""
    import subprocess

    print(f"\ndeployment package {deploy}: {', '.join(sorted(os.listdir(deploy)))}")
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "python"))
    drv = deploy / "driver"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "validate.py", "--platform", "sim", "--batchsize", "1000"], cwd=drv, env=env,
                       capture_output=True, text=True)
    t_val = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        return 1
    final = [l for l in r.stdout.splitlines() if l.startswith("Final accuracy")]
    sys_acc = float(final[-1].split(":")[1]) / 100 if final else float("nan")
    print(f"  python validate.py --platform sim: {sys_acc * 100:.2f} % on 10,000 images in {t_val:.1f} s "
          f"(the driver -> IODMAs -> accelerator -> IODMA -> driver, simulated)")
    r = subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "throughput_test",
                        "--batchsize", "1000"], cwd=drv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        return 1
    keys = ("runtime[ms]", "throughput[images/s]", "DRAM_in_bandwidth[MB/s]", "DRAM_out_bandwidth[MB/s]")
    for line in r.stdout.splitlines():
        if line.split(":")[0] in keys:
            k, v = line.split(":", 1)
            print(f"  throughput_test {k:26} {float(v):,.2f}")
    if abs(sys_acc - stitched_acc) > 1e-9:
        print("ERROR: the system simulation disagrees with the stitched design", file=sys.stderr)
        return 1
    return 0


def build_dataflow(model_path, target_fps=200_000):
    """FINN's build steps up to the estimate reports for PYNQ-Z2 at 100 MHz."""
    import tempfile

    from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
    from streamfold.builder.config import ALL_STEPS

    out = Path(tempfile.mkdtemp(prefix="streamfold_demo_build_"))
    cfg = DataflowBuildConfig(output_dir=str(out), board="Pynq-Z2", synth_clk_period_ns=10.0,
                              target_fps=target_fps, mvau_wwidth_max=1024, steps=ALL_STEPS[:10])
    print(f"\ndataflow build for Pynq-Z2 at 100 MHz, target {target_fps:,} fps -> {out}")
    summary = build_dataflow_cfg(str(model_path), cfg, progress=False)
    rep = out / "report"
    cycles = json.loads((rep / "estimate_layer_cycles.json").read_text())
    res = json.loads((rep / "estimate_layer_resources.json").read_text())
    perf = json.loads((rep / "estimate_network_performance.json").read_text())
    hw = json.loads((out / "final_hw_config.json").read_text())
    print(f"  {'layer':28} {'PE':>4} {'SIMD':>5} {'cycles':>8} {'LUT':>8} {'BRAM18':>7} {'DSP':>4}")
    for node, c in cycles.items():
        r = res.get(node, {})
        f = hw.get(node, {})
        print(f"  {node:28} {f.get('PE', ''):>4} {f.get('SIMD', ''):>5} {c:>8} {r.get('LUT', 0):>8.0f} "
              f"{r.get('BRAM_18K', 0):>7.0f} {r.get('DSP', 0):>4.0f}")
    t = res.get("total", {})
    print(f"  {'total':28} {'':>4} {'':>5} {'':>8} {t.get('LUT', 0):>8.0f} {t.get('BRAM_18K', 0):>7.0f} "
          f"{t.get('DSP', 0):>4.0f}")
    print(f"  estimated throughput {perf['estimated_throughput_fps']:,.0f} fps, "
          f"latency {perf['estimated_latency_ns'] / 1000:,.1f} us; folding "
          f"{'meets the target' if summary['folding'].met else 'misses the target: ' + str(summary['folding'].reason)}")


if __name__ == "__main__":
    sys.exit(main())
