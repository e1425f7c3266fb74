"""Reference executor: wall time and peak memory against the peers.

Runs each model in a fresh subprocess per engine so peak RSS is the engine's
own: streamfold's reference executor, qonnx's execute_onnx and the Brevitas
(torch) forward, side by side on the same input, then prints a table with
ratios. Usage: python bench/bench_reference_executor.py [--batch 64] [--models emotion_cnn_8b tfc_w1a1]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
engine, name, batch, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
from streamfold import zoo
x = zoo.example_input(name, n=batch, seed=0)
def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
def reset_peak():
    # Linux: writing 5 resets VmHWM (peak RSS) to the current RSS, so the
    # peak below is the run's own, not the set-up's (imports, model build).
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
if engine == "streamfold":
    import streamfold as sf
    m = sf.ModelWrapper(path)
    run = lambda: sf.execute_onnx(m, {m.graph.input[0].name: x})
elif engine == "qonnx":
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    m = ModelWrapper(path)
    ctx = zoo._ort_compatible_qonnx(); ctx.__enter__()
    run = lambda: execute_onnx(m, {m.graph.input[0].name: x})
else:
    import torch
    torch.set_num_threads(int(os.environ.get("SF_THREADS", "2")))
    module, _ = zoo.get_model(name)
    run = lambda: zoo.reference_forward(module, x)
run()  # warm-up outside the measured peak (lazy imports, first-call allocations)
reset_peak()
base = status_kib("VmRSS")
t0 = time.perf_counter(); run(); t1 = time.perf_counter()   # first call (includes warm-up)
reps = 3 if t1 - t0 < 5 else 1
ts = []
for _ in range(reps):
    s = time.perf_counter(); run(); ts.append(time.perf_counter() - s)
peak = status_kib("VmHWM")
print(json.dumps({"first_s": t1 - t0, "best_s": min(ts), "peak_rss_mib": peak / 1024, "base_rss_mib": base / 1024}))
"""


def export_batched(name, batch, d):
    sys.path.insert(0, os.path.join(REPO, "python"))
    from streamfold import zoo

    module, shape = zoo.get_model(name)
    return zoo.export_module(module, (batch,) + tuple(shape[1:]), os.path.join(d, f"{name}_b{batch}.onnx"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--models", nargs="+", default=["emotion_cnn_8b", "cnv_w2a2", "tfc_w1a1"])
    ap.add_argument("--engines", nargs="+", default=["streamfold", "qonnx", "brevitas"])
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name in args.models:
            path = export_batched(name, args.batch, d)
            res = {}
            for eng in args.engines:
                r = subprocess.run([sys.executable, "-c", CHILD, eng, name, str(args.batch), path],
                                   capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    res[eng] = None
                    print(f"{name}/{eng} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                    continue
                res[eng] = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append((name, res))
    print(f"\nbatch {args.batch}, {os.cpu_count()} cores; best of repeated runs after a first call.\n"
          "peak MiB: the process's peak RSS; run +MiB: peak minus RSS after loading (the run's own memory);\n"
          "vs streamfold: the engine's time / streamfold's time (>1: streamfold is faster)")
    print(f"{'model':18} {'engine':11} {'time s':>9} {'img/s':>9} {'peak MiB':>9} {'run +MiB':>9} {'vs streamfold':>14}")
    for name, res in rows:
        ours = res.get("streamfold")
        for eng, r in res.items():
            if r is None:
                print(f"{name:18} {eng:11} {'failed':>9}")
                continue
            ratio = f"{r['best_s'] / ours['best_s']:.2f}x" if ours and eng != "streamfold" else ""
            print(f"{name:18} {eng:11} {r['best_s']:9.3f} {args.batch / r['best_s']:9.1f} "
                  f"{r['peak_rss_mib']:9.0f} {r['peak_rss_mib'] - r['base_rss_mib']:9.0f} {ratio:>14}")
    print(json.dumps({n: r for n, r in rows}), file=open(os.path.join(tempfile.gettempdir(), "sf_bench_ref.json"), "w"))


if __name__ == "__main__":
    main()
