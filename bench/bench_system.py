"""Board-less full-system benchmark (issue 13): each model through every build
step to its deployment package, then the package's own driver (unchanged,
--platform sim) on the Verilator model of IODMAs + stitched design + DDR.

Per model it prints the system simulation's build time, the throughput the
driver's throughput_test measures in simulated time against the stitched
design's rtlsim throughput (ideal source and sink) -- the DMAs and DDR must
not be the bottleneck -- and the simulation speed in cycles per wall second.

    PYTHONPATH=python python3 bench/bench_system.py --models tfc_w1a1 lfc_w1a1 cnv_w1a1 cnv_w2a2

Builds start cold (a fresh STREAMFOLD_CACHE_DIR per run). No peer: FINN's
driver runs only on a board, and FINN has no board-less system simulation.
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

FPS = {"tfc_w1a1": 200_000, "lfc_w1a1": 100_000, "cnv_w1a1": 3_000, "cnv_w2a2": 1_000}
STEPS_SKIPPED = ("step_out_of_context_synthesis",)


def build_package(name, fps, out):
    import streamfold as sf
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig

    cfg = DataflowBuildConfig(output_dir=out, board="Pynq-Z2", target_fps=fps, mvau_wwidth_max=1024,
                              steps=ALL_STEPS, rtlsim_batch_size=8,
                              generate_outputs=["estimate_reports", "stitched_ip", "rtlsim_performance", "bitfile",
                                                "pynq_driver", "deployment_package"])
    m = sf.ModelWrapper(zoo.export(name))
    t0 = time.perf_counter()
    for s in ALL_STEPS:
        if s in STEPS_SKIPPED:
            continue
        m = getattr(steps, s)(m, cfg)
        if s == "step_create_dataflow_partition":
            cfg._dataflow_parent = m._dataflow_parent
    return m, time.perf_counter() - t0


def load_driver(deploy):
    d = os.path.join(deploy, "driver")
    sys.modules.pop("driver_base", None)
    spec = importlib.util.spec_from_file_location(f"pkg_driver_{abs(hash(d))}", os.path.join(d, "driver.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench(name, fps):
    from streamfold.rtlsim import build as rb
    from streamfold.rtlsim.system import build_system

    with tempfile.TemporaryDirectory() as out:
        m, t_build = build_package(name, fps, out)
        deploy = m.get_metadata_prop("deployment_dir")
        perf = json.load(open(os.path.join(out, "report", "rtlsim_performance.json")))
        t0 = time.perf_counter()
        build_system(os.path.join(deploy, "sim"))
        t_sys = time.perf_counter() - t0
        interval = perf["interval_cycles"]
        batch = int(min(2000, max(8, 3e6 // max(1.0, interval))))
        drv = load_driver(deploy)
        acc = drv.FINNExampleOverlay(bitfile_name=drv.default_bitfile, platform="sim", io_shape_dict=drv.io_shape_dict,
                                     batch_size=batch, fclk_mhz=drv.fclk_mhz,
                                     runtime_weight_dir=os.path.join(deploy, "driver", "runtime_weights"))
        res = acc.throughput_test()
        wall = res.get("simulation_wall[s]", float("nan"))
        cycles = res["runtime[ms]"] * 1e-3 * res["fclk[mhz]"] * 1e6
        sys_fps = res["throughput[images/s]"]
        st_fps = perf["stable_throughput[images/s]"]
        # Per frame once the pipeline is full: the run minus the first frame's
        # latency (the stitched design's), over the other N-1 frames.
        per_frame = (cycles - perf["latency_cycles"]) / max(1, batch - 1)
        print(f"{name}: package in {t_build:.1f} s; system sim build {t_sys:.1f} s; batch {batch}: system "
              f"{sys_fps:,.0f} images/s incl. pipeline fill, {per_frame:,.0f} cycles/frame vs stitched "
              f"{interval:,.0f} ({interval / per_frame:.3f}); "
              f"DRAM in {res['DRAM_in_bandwidth[MB/s]']:.1f} MB/s out {res['DRAM_out_bandwidth[MB/s]']:.1f} MB/s; "
              f"sim {cycles / max(wall, 1e-9) / 1e6:.2f} M cycles/s", flush=True)
        return dict(model=name, package_s=t_build, system_build_s=t_sys, batch=batch, system_fps=sys_fps,
                    stitched_fps=st_fps, frame_cycles=per_frame, stitched_interval=interval,
                    ratio=interval / per_frame, mcycles_per_s=cycles / max(wall, 1e-9) / 1e6,
                    builds=[(t, round(s, 1)) for t, s in rb.BUILD_LOG])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["tfc_w1a1", "lfc_w1a1", "cnv_w1a1", "cnv_w2a2"])
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args()
    os.environ.setdefault("STREAMFOLD_CACHE_DIR", tempfile.mkdtemp(prefix="sf_bench_system_cache_"))
    rows = [bench(n, FPS.get(n, 10_000)) for n in a.models]
    print(f"\n{'model':10} {'system fps':>11} {'stitched fps':>13} {'cyc/frame sys':>14} {'stitched':>9} "
          f"{'ratio':>6} {'sys build s':>11} {'M cyc/s':>8}")
    for r in rows:
        print(f"{r['model']:10} {r['system_fps']:>11,.0f} {r['stitched_fps']:>13,.0f} {r['frame_cycles']:>14,.0f} "
              f"{r['stitched_interval']:>9,.0f} {r['ratio']:>6.3f} {r['system_build_s']:>11.1f} "
              f"{r['mcycles_per_s']:>8.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
