"""Fast engine throughput against the peers, plus the XNOR-popcount roofline.

For each model: images/s at batch 1 and 256 for streamfold's fast engine,
streamfold's reference executor (batch-strict: image by image), onnxruntime
fp32 on a float ONNX export of the same Brevitas module (torch.onnx.export
traces the quantizers as float math; "n/a" when that export fails), and the
Brevitas/torch forward. Ratios are fast / peer. The roofline line is the
measured peak of XOR+popcount 64-bit words per second (all cores), and each
binary model's fraction of it at batch 256.

Usage: python bench/bench_engine.py [--models tfc_w1a1 cnv_w1a1] [--seconds 1.0]
"""
import argparse
import io
import os
import time
import warnings

import numpy as np

os.environ.setdefault("STREAMFOLD_CACHE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       "build", "zoo-cache"))
import streamfold as sf  # noqa: E402
from streamfold import _core, zoo  # noqa: E402
from streamfold.builder import steps  # noqa: E402

MODELS = ["tfc_w1a1", "lfc_w1a1", "cnv_w1a1", "cnv_w2a2"]


def rate(fn, n_images, seconds):
    """Images per second of fn() (which processes n_images), best of repeats."""
    fn()
    best, spent = float("inf"), 0.0
    while spent < seconds:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
    return n_images / best


def ort_session(name, threads):
    try:
        import onnxruntime as ort
        import torch
        module, shape = zoo.get_model(name)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, torch.zeros(*shape), buf, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        return ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - the export of quantized modules is best effort
        print(f"  [{name}] onnxruntime fp32 export failed: {type(e).__name__}: {str(e)[:100]}")
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)

    info = sf.engine_info()
    peak1 = _core.popcount_peak_words_per_s(info["best"], 0.5)
    peak = peak1 * args.threads
    print(f"engine path {info['best']} (available {info['available']}), {args.threads} threads")
    print(f"roofline: XOR+popcount peak {peak1 / 1e9:.2f} Gwords/s per core, {peak / 1e9:.2f} Gwords/s all cores")

    rows = []
    for name in args.models:
        m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(zoo.export(name)))))
        eng = sf.Engine(m, threads=args.threads)
        inp = eng.input_names[0]
        x256 = zoo.example_input(name, n=256, seed=0)
        x1 = x256[:1]
        module, _ = zoo.get_model(name)
        sess = ort_session(name, args.threads)
        r = {"model": name}
        r["fast1"] = rate(lambda: eng.run(x1), 1, args.seconds)
        r["fast256"] = rate(lambda: eng.run(x256), 256, args.seconds)
        r["ref1"] = rate(lambda: sf.execute_onnx(m, {inp: x1}), 1, args.seconds)
        # The reference is batch-strict: 256 images are 256 calls (timed on 16).
        r["ref256"] = rate(lambda: [sf.execute_onnx(m, {inp: x256[i:i + 1]}) for i in range(16)], 16, args.seconds)
        r["torch1"] = rate(lambda: zoo.reference_forward(module, x1), 1, args.seconds)
        r["torch256"] = rate(lambda: zoo.reference_forward(module, x256), 256, args.seconds)
        if sess is not None:
            r["ort1"] = rate(lambda: sess.run(None, {"x": x1}), 1, args.seconds)
            r["ort256"] = rate(lambda: sess.run(None, {"x": x256}), 256, args.seconds)
        words = eng.binary_words_per_image
        r["roof"] = r["fast256"] * words / peak if words else None
        rows.append(r)

    def f(v):
        return "n/a" if v is None else f"{v:,.0f}"

    print()
    hdr = (f"{'model':<10} {'batch':>5} {'fast img/s':>11} {'ref img/s':>10} {'ort fp32':>10} {'torch':>10} "
           f"{'fast/ref':>9} {'fast/ort':>9} {'fast/torch':>10} {'roofline':>9}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        for b in ("1", "256"):
            fast, ref, ort_, tor = r["fast" + b], r["ref" + b], r.get("ort" + b), r["torch" + b]
            roof = f"{100 * r['roof']:.1f}%" if b == "256" and r["roof"] else ""
            print(f"{r['model']:<10} {b:>5} {f(fast):>11} {f(ref):>10} {f(ort_):>10} {f(tor):>10} "
                  f"{fast / ref:>8.1f}x {'n/a' if ort_ is None else f'{fast / ort_:.1f}x':>9} "
                  f"{fast / tor:>9.1f}x {roof:>9}")


if __name__ == "__main__":
    main()
