"""RTL back-end benchmarks (issues 10-12): per layer type, the Verilator build
time, simulated cycles per second and Yosys synthesis time and resources
against the estimate; per model, ONNX to stitched RTL, FIFO sizing, the
stitched design's Verilator build and its simulation speed.

    PYTHONPATH=python python3 bench/bench_rtl.py --models tfc_w1a1 lfc_w1a1 cnv_w1a1 cnv_w2a2
    PYTHONPATH=python python3 bench/bench_rtl.py --layers --models cnv_w2a2

Builds start cold: a fresh cache folder per run (STREAMFOLD_CACHE_DIR).
No peer runs here: FINN's rtlsim needs Vivado's IP (its XSI/pyverilator flow
compiles Vivado-generated HDL), which this machine does not have.
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

FPS = {"tfc_w1a1": 200_000, "lfc_w1a1": 100_000, "cnv_w1a1": 3_000, "cnv_w2a2": 1_000}


def build_model(name, fps, out):
    import streamfold as sf
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig
    from streamfold.rtlsim import build as rb

    cfg = DataflowBuildConfig(output_dir=out, board="Pynq-Z2", target_fps=fps, mvau_wwidth_max=1024,
                              steps=ALL_STEPS[:15], rtlsim_batch_size=8,
                              generate_outputs=["estimate_reports", "stitched_ip", "rtlsim_performance"])
    path = zoo.export(name)
    t = {}
    m = sf.ModelWrapper(path)
    t0 = time.perf_counter()
    for s in ALL_STEPS[:15]:
        t1 = time.perf_counter()
        n_builds = len(rb.BUILD_LOG)
        m = getattr(steps, s)(m, cfg)
        if s == "step_create_dataflow_partition":
            cfg._dataflow_parent = m._dataflow_parent
        t[s] = time.perf_counter() - t1
        t[s + ":builds"] = sum(b for _, b in rb.BUILD_LOG[n_builds:])
    t["total"] = time.perf_counter() - t0
    perf = json.load(open(os.path.join(out, "report", "rtlsim_performance.json")))
    est = json.load(open(os.path.join(out, "report", "estimate_network_performance.json")))
    return t, perf, est, m


def bench_models(names):
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory() as out:
            t, perf, est, m = build_model(name, FPS.get(name, 10_000), out)
            front = sum(t[s] for s in t if s.startswith("step_") and ":" not in s and s not in (
                "step_set_fifo_depths", "step_measure_rtlsim_performance"))
            fifo = t["step_set_fifo_depths"]
            fifo_build = t["step_set_fifo_depths:builds"]
            meas = t["step_measure_rtlsim_performance"]
            meas_build = t["step_measure_rtlsim_performance:builds"]
            # Simulation speed on a run long enough (>= ~4 M cycles) that process
            # start-up and $readmemh of the weights do not count.
            from streamfold.builder.hw_steps import _random_inputs
            from streamfold.rtlsim.stitched import simulate_design

            frames = int(min(20000, max(8, 4e6 // max(1.0, perf["interval_cycles"]))))
            t1 = time.perf_counter()
            _, st = simulate_design(m, m.get_metadata_prop("vivado_stitch_proj"), _random_inputs(m, frames, seed=3))
            sim_s = time.perf_counter() - t1
            perf["cycles"] = st["cycles"]
            rows.append((name, front, fifo, fifo_build, meas_build, perf["cycles"] / max(sim_s, 1e-9),
                         perf["stable_throughput[images/s]"], est["estimated_throughput_fps"], len(m.graph.node)))
            print(f"{name}: ONNX->stitched RTL (no Verilator build/sim) {front:.2f} s; FIFO sizing {fifo:.1f} s "
                  f"(of which build {fifo_build:.1f} s); stitched build {meas_build:.1f} s; "
                  f"sim {perf['cycles'] / max(sim_s, 1e-9) / 1e6:.2f} M cycles/s ({frames} frames); measured "
                  f"{perf['stable_throughput[images/s]']:,.0f} vs estimated {est['estimated_throughput_fps']:,.0f} fps",
                  flush=True)
    print("\n| model | layers | ONNX->stitched RTL s | FIFO sizing s (build) | stitched build s | sim M cycles/s | "
          "measured fps | estimated fps |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[8]} | {r[1]:.2f} | {r[2]:.1f} ({r[3]:.1f}) | {r[4]:.1f} | {r[5] / 1e6:.2f} | "
              f"{r[6]:,.0f} | {r[7]:,.0f} |")


def bench_layers(names):
    """One representative layer per op type from each model's folded child."""
    import numpy as np

    from streamfold import _core, rtlsim
    from streamfold.builder.folding import base_op, hw_nodes
    from streamfold.rtlsim import build as rb

    print("\n| model | layer | op | build s | sim M cycles/s | Yosys s | LUT (est) | FF (est) | BRAM18 (est) | "
          "DSP (est) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        with tempfile.TemporaryDirectory() as out:
            _, _, _, m = build_model(name, FPS.get(name, 10_000), out)
            seen = set()
            for _, n in hw_nodes(m):
                op = base_op(n.op_type)
                if op in seen or op == "StreamingFIFO":
                    continue
                seen.add(op)
                d = os.path.join(out, "bench_" + n.name)
                rtlsim.emit_node(m, n.name, d)
                k = len(rb.BUILD_LOG)
                rtlsim.build_layer(d)
                b = sum(x for _, x in rb.BUILD_LOG[k:])
                ss = _core.hw_stream_shapes(m._model, n.name)
                shape = list(ss["normal_in"])
                # Enough frames for >= ~1 M cycles, so start-up does not count.
                shape[0] = int(min(4000, max(4, 1e6 // max(1, _core.hw_estimate(m._model, n.name)["cycles"]))))
                dt = m.get_tensor_datatype(n.input[0])
                x = np.random.default_rng(0).integers(int(dt.min()), int(dt.max()) + 1, size=shape).astype(np.float32)
                if dt.name == "BIPOLAR":
                    x = np.where(x >= 0, 1, -1).astype(np.float32)
                ins = [x] * len([t for t in n.input if t and m.get_initializer(t) is None])
                t0 = time.perf_counter()
                r = rtlsim.simulate_node(m, n.name, ins, workdir=out)
                sim = time.perf_counter() - t0
                syn = rtlsim.synth_layer(d)
                est = _core.hw_estimate(m._model, n.name)
                print(f"| {name} | {n.name} | {op} | {b:.1f} | {r.cycles / sim / 1e6:.2f} | {syn['seconds']:.1f} | "
                      f"{syn['LUT']} ({est['lut']:.0f}) | {syn['FF']} ({est['ff']:.0f}) | {syn['BRAM_18K']} "
                      f"({est['bram18']:.0f}) | {syn['DSP']} ({est['dsp']:.0f}) |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tfc_w1a1", "lfc_w1a1", "cnv_w1a1", "cnv_w2a2"])
    ap.add_argument("--layers", action="store_true", help="per-layer figures instead of whole models")
    a = ap.parse_args()
    os.environ["STREAMFOLD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sf_bench_cache_")
    if a.layers:
        bench_layers(a.models)
    else:
        bench_models(a.models)


if __name__ == "__main__":
    main()
