"""FIFO sizing (issue 12): auto_fifo_strategy "characterize" (the layers'
schedule models composed over the graph, no simulation) against
"largefifo_rtlsim" (FINN's strategy: the stitched RTL with occupancy monitors
in Verilator), side by side on the same folded design.

    PYTHONPATH=python python3 bench/bench_fifo.py --models tfc_w1a1 lfc_w1a1 cnv_w1a1 cnv_w2a2
    PYTHONPATH=python python3 bench/bench_fifo.py --measure   # also the sized designs' throughput

Per model: the sizing time of each strategy (largefifo from a cold Verilator
cache, its build time in brackets), the FIFOs each keeps, their total depth and
block-RAM cost, and how many FIFOs got different depths. With --measure each
sized design is stitched and simulated, and its stable throughput printed.
FINN's own sizing cannot run here (its rtlsim needs Vivado-generated IP).
"""
import argparse
import copy
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

FPS = {"tfc_w1a1": 200_000, "lfc_w1a1": 100_000, "cnv_w1a1": 3_000, "cnv_w2a2": 1_000, "residual_block": 1000,
       "dws_block": 1000}


def folded(name, out):
    import streamfold as sf
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig

    cfg = DataflowBuildConfig(output_dir=out, board="Pynq-Z2", target_fps=FPS.get(name, 10_000),
                              mvau_wwidth_max=1024, steps=ALL_STEPS[:15], rtlsim_batch_size=8,
                              generate_outputs=["estimate_reports", "stitched_ip", "rtlsim_performance"])
    m = sf.ModelWrapper(zoo.export(name))
    for s in ALL_STEPS[:12]:
        m = getattr(steps, s)(m, cfg)
        if s == "step_create_dataflow_partition":
            cfg._dataflow_parent = m._dataflow_parent
    return cfg, m


def sized(cfg, m, strategy, measure):
    from streamfold import _core
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS
    from streamfold.rtlsim import build as rb

    cfg = copy.copy(cfg)
    cfg.auto_fifo_strategy = strategy
    n_builds = len(rb.BUILD_LOG)
    t0 = time.perf_counter()
    s = steps.step_set_fifo_depths(copy.deepcopy(m), cfg)
    took = time.perf_counter() - t0
    build = sum(b for _, b in rb.BUILD_LOG[n_builds:])
    fifos = {n.name: n for n in s.graph.node if n.op_type == "StreamingFIFO"}
    depth = {k: int(n.get_attr("depth")) for k, n in fifos.items()}
    bram = sum(_core.hw_estimate(s._model, k)["bram18"] for k in fifos)
    fps = None
    if measure:
        for st in ALL_STEPS[13:15]:
            s = getattr(steps, st)(s, cfg)
        perf = json.load(open(os.path.join(cfg.output_dir, "report", "rtlsim_performance.json")))
        fps = perf["stable_throughput[images/s]"]
    return took, build, depth, bram, fps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tfc_w1a1", "lfc_w1a1", "cnv_w1a1", "cnv_w2a2", "residual_block",
                                                     "dws_block"])
    ap.add_argument("--measure", action="store_true", help="stitch and simulate each sized design")
    a = ap.parse_args()
    os.environ["STREAMFOLD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sf_bench_cache_")
    rows = []
    for name in a.models:
        with tempfile.TemporaryDirectory() as out:
            cfg, m = folded(name, out)
            c = sized(cfg, m, "characterize", a.measure)
            lf = sized(cfg, m, "largefifo_rtlsim", a.measure)
            differ = sum(1 for k in set(c[2]) | set(lf[2]) if c[2].get(k, 2) != lf[2].get(k, 2))
            rows.append((name, c, lf, differ))
            print(f"{name}: characterize {c[0]:.3f} s, largefifo_rtlsim {lf[0]:.1f} s (build {lf[1]:.1f} s) "
                  f"= {lf[0] / max(c[0], 1e-9):,.0f}x; FIFOs {len(c[2])} vs {len(lf[2])}, total depth "
                  f"{sum(c[2].values())} vs {sum(lf[2].values())}, BRAM18 {c[3]:.0f} vs {lf[3]:.0f}; "
                  f"{differ} FIFO(s) differ" + (f"; measured {c[4]:,.0f} vs {lf[4]:,.0f} fps" if a.measure else ""),
                  flush=True)
    print("\n| model | characterize s | largefifo_rtlsim s (build) | speed-up | FIFOs kept | total depth | "
          "FIFO BRAM18 | FIFOs that differ |" + (" measured fps |" if a.measure else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if a.measure else ""))
    for name, c, lf, differ in rows:
        print(f"| {name} | {c[0]:.3f} | {lf[0]:.1f} ({lf[1]:.1f}) | {lf[0] / max(c[0], 1e-9):,.0f}x | "
              f"{len(c[2])} / {len(lf[2])} | {sum(c[2].values())} / {sum(lf[2].values())} | "
              f"{c[3]:.0f} / {lf[3]:.0f} | {differ} |" + (f" {c[4]:,.0f} / {lf[4]:,.0f} |" if a.measure else ""))


if __name__ == "__main__":
    main()
