"""HLS back-end benchmark (issue 14): per layer of a zoo model specialized
entirely to HLS, the cppsim compile time (g++ against the precompiled
ap_int.h; cold: a fresh cache folder, the one-off precompiled header not
counted) and the simulation time per frame, checked against the reference.
The RTL figures of the same layers: bench_rtl.py.

    PYTHONPATH=python python3 bench/bench_cppsim.py --models tfc_w1a1 cnv_w1a1 --frames 8
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

FPS = {"tfc_w1a1": 100_000, "lfc_w1a1": 100_000, "cnv_w1a1": 200, "cnv_w2a2": 200, "lenet5_w4a4": 1000,
       "dws_block": 1000}


def folded(name, out, spec):
    import streamfold as sf
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig

    cfg = DataflowBuildConfig(output_dir=out, board="Pynq-Z2", target_fps=FPS.get(name, 1000), mvau_wwidth_max=1024,
                              steps=ALL_STEPS, specialize_layers_config_file=spec)
    m = sf.ModelWrapper(zoo.export(name))
    for s in ALL_STEPS[:9]:
        m = getattr(steps, s)(m, cfg)
        if s == "step_create_dataflow_partition":
            parent = m._dataflow_parent
    return parent, m


def bench(name, frames):
    import numpy as np

    import streamfold as sf
    from streamfold import cppsim, zoo
    from streamfold.builder.build import _with_child

    work = tempfile.mkdtemp(prefix="sf_bench_cppsim_")
    os.environ["STREAMFOLD_CACHE_DIR"] = os.path.join(work, "cache")
    spec = os.path.join(work, "spec.json")
    with open(spec, "w") as f:
        json.dump({"Defaults": {"preferred_impl_style": ["hls", ["all"]]}}, f)
    parent, child = folded(name, work, spec)
    x = np.asarray(zoo.example_input(name, n=frames, seed=0), dtype=np.float32)
    runs = {}
    real = cppsim.simulate_emitted

    def timed(mw, node, *a):
        r = real(mw, node, *a)
        runs[node.name] = r.seconds
        return r
    cppsim.simulate_emitted = timed
    cppsim.BUILD_LOG.clear()
    t0 = time.perf_counter()
    inp = parent.graph.input[0].name
    got = sf.execute_onnx(_with_child(parent, child), {inp: x}, backend="cppsim")[parent.graph.output[0].name]
    total = time.perf_counter() - t0
    cppsim.simulate_emitted = real
    want = np.concatenate([sf.execute_onnx(parent, {inp: x[i:i + 1]})[parent.graph.output[0].name]
                           for i in range(frames)])
    assert np.array_equal(got, want), "cppsim differs from the reference"
    builds = dict(cppsim.BUILD_LOG)
    layers = []
    for n in child.graph.node:
        row = {"node": n.name, "op_type": n.op_type, "cppsim_compile_s": round(builds.get(n.name, 0.0), 2),
               "cppsim_run_ms_per_frame": round(1e3 * runs.get(n.name, 0.0) / frames, 2)}
        layers.append(row)
    return {"model": name, "frames": frames, "layers": layers, "cppsim_network_s": round(total, 2)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tfc_w1a1", "cnv_w1a1"])
    ap.add_argument("--frames", type=int, default=4)
    a = ap.parse_args()
    for m in a.models:
        print(json.dumps(bench(m, a.frames), indent=1))
