"""Fast engine throughput against the peers, plus the XNOR-popcount roofline.

For each model, images/s at batch 1 and 256 for:
  fast       streamfold's fast engine (--threads threads)
  ref        streamfold's reference executor (batch-strict: image by image)
  ort fp32   onnxruntime on a float ONNX export of the same Brevitas module
             (torch.onnx.export traces the quantizers as float math)
  ort qcdq   onnxruntime on Brevitas' QCDQ export (export_onnx_qcdq: int8
             QuantizeLinear/Clip/DequantizeLinear around float ops). Brevitas
             cannot export binary (1-bit) quantizers this way: n/a there
  qonnx      qonnx's execute_onnx on the QONNX export, timed on a few images
             at batch 1 (its per-image rate is shown on both rows)
  torch      the Brevitas/torch forward
Ratios are fast / peer at the row's batch (fast/qonnx on the 256 row: the
fast engine at batch 256 against qonnx per image). "scale 2c" is the fast
engine at batch 256 with 2 threads over 1 thread. The roofline line is the
measured peak of XOR+popcount 64-bit words per second (all threads), and each
binary model's fraction of it at batch 256. A peer that fails (export,
session or run) prints n/a; the run goes on.

Usage: python bench/bench_engine.py [--models tfc_w1a1 cnv_w1a1] [--seconds 1.0] [--quick]
"""
import argparse
import contextlib
import io
import os
import sys
import time
import warnings

import numpy as np

os.environ.setdefault("STREAMFOLD_CACHE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       "build", "zoo-cache"))
import streamfold as sf  # noqa: E402
from streamfold import _core, zoo  # noqa: E402
from streamfold.builder import steps  # noqa: E402

MODELS = ["tfc_w1a1", "lfc_w1a1", "cnv_w1a1", "cnv_w2a2", "emotion_cnn_8b", "dnn2fpga_cnn"]
QONNX_IMAGES = 2  # qonnx execute_onnx is timed on this many images, one by one


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


def guarded(name, what, fn):
    """fn(), or None (with a one-line note) when it raises: a failing peer is n/a."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - benchmarks report failures, they do not stop on them
        print(f"  [{name}] {what} failed: {type(e).__name__}: {str(e).strip()[:160]}")
        return None


# ---- peers ------------------------------------------------------------------
@contextlib.contextmanager
def _quiet():
    """Silences exporter chatter: Python warnings, progress lines on stdout and
    native messages on fd 2 (onnxoptimizer, run by Brevitas, reports there that
    it cannot parse the IR version and skips its passes). Exceptions still
    propagate, and guarded() reports them."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _ort_session(onnx_bytes, threads):
    """An onnxruntime session with all graph optimizations. Initializers that
    the exporter also listed as graph inputs (Brevitas' QCDQ export does) are
    removed from the inputs: onnxruntime treats those as overridable, which
    may block constant folding and QDQ fusions on the weights."""
    import onnx
    import onnxruntime as ort
    m = onnx.load_from_string(onnx_bytes)
    inits = {t.name for t in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _export_kwargs():
    return dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)


def ort_fp32_session(module, shape, threads):
    import torch
    buf = io.BytesIO()
    with _quiet():
        torch.onnx.export(module, torch.zeros(*shape), buf, **_export_kwargs())
    return _ort_session(buf.getvalue(), threads)


def ort_qcdq_session(module, shape, threads):
    import torch
    from brevitas.export import export_onnx_qcdq
    buf = io.BytesIO()
    with _quiet():
        export_onnx_qcdq(module, torch.zeros(*shape), export_path=buf, **_export_kwargs())
    return _ort_session(buf.getvalue(), threads)


def qonnx_rate(name, x, n_images):
    """Images/s of qonnx's execute_onnx on the (batch-1) QONNX export: one
    warm-up image, then n_images timed one by one."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    model = ModelWrapper(zoo.export(name))
    inp = model.graph.input[0].name
    with zoo._ort_compatible_qonnx():  # onnxruntime/onnx IR-version shim (see zoo)
        execute_onnx(model, {inp: x[:1]})
        t = time.perf_counter()
        for i in range(n_images):
            execute_onnx(model, {inp: x[i:i + 1]})
        return n_images / (time.perf_counter() - t)


# ---- one model ----------------------------------------------------------------
def bench_model(name, args, peak):
    """All measurements for one model: a dict of img/s (None where n/a)."""
    r = {"model": name}
    x256 = zoo.example_input(name, n=256, seed=0)
    x1 = x256[:1]
    module, shape = zoo.get_model(name)
    g = lambda what, fn: guarded(name, what, fn)  # noqa: E731

    # streamfold: fast engine and reference executor on the streamlined model
    m = g("streamline", lambda: steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(
        sf.ModelWrapper(zoo.export(name))))))
    eng = g("fast engine build", lambda: sf.Engine(m, threads=args.threads)) if m is not None else None
    if eng is not None:
        r["fast1"] = g("fast engine", lambda: rate(lambda: eng.run(x1), 1, args.seconds))
        r["fast256"] = g("fast engine", lambda: rate(lambda: eng.run(x256), 256, args.seconds))
        # 2-core scaling at batch 256: threads=2 over threads=1.
        r2 = r["fast256"] if args.threads == 2 else g("fast engine 2 threads", lambda: rate(
            lambda e=sf.Engine(m, threads=2, warn=False): e.run(x256), 256, args.seconds))
        r1 = g("fast engine 1 thread", lambda: rate(
            lambda e=sf.Engine(m, threads=1, warn=False): e.run(x256), 256, args.seconds))
        r["scale2"] = r2 / r1 if r1 and r2 else None
        words = eng.binary_words_per_image
        r["roof"] = r["fast256"] * words / peak if words and r["fast256"] and peak else None
        eng = None  # release its worker threads before the peers are timed
    if m is not None:
        inp = m.graph.input[0].name
        r["ref1"] = g("reference executor", lambda: rate(lambda: sf.execute_onnx(m, {inp: x1}), 1, args.seconds))
        # The reference is batch-strict: 256 images are 256 calls (timed on a few).
        n = args.ref_images
        r["ref256"] = g("reference executor", lambda: rate(
            lambda: [sf.execute_onnx(m, {inp: x256[i:i + 1]}) for i in range(n)], n, args.seconds))

    # onnxruntime, fp32 and QCDQ exports
    for key, what, make in (("ort", "onnxruntime fp32", ort_fp32_session),
                            ("qcdq", "onnxruntime qcdq", ort_qcdq_session)):
        sess = g(what + " export/session", lambda: make(module, shape, args.threads))
        if sess is None:
            continue
        iname = sess.get_inputs()[0].name
        r[key + "1"] = g(what, lambda: rate(lambda: sess.run(None, {iname: x1}), 1, args.seconds))
        r[key + "256"] = g(what, lambda: rate(lambda: sess.run(None, {iname: x256}), 256, args.seconds))
        if key == "qcdq" and r[key + "1"] is not None:
            # QCDQ keeps BatchNorm and scales in float: report how far it is from Brevitas.
            d = g(what + " check", lambda: float(np.abs(
                sess.run(None, {iname: x256[:8]})[0] - zoo.reference_forward(module, x256[:8])).max()))
            if d is not None:
                print(f"  [{name}] onnxruntime qcdq max |y - Brevitas| on 8 images: {d:.3g}")
        del sess  # its idle worker threads must not compete with the peers timed next

    # qonnx execute_onnx (per image) and Brevitas/torch
    r["qonnx1"] = r["qonnx256"] = g("qonnx execute_onnx", lambda: qonnx_rate(name, x256, args.qonnx_images))
    r["torch1"] = g("torch", lambda: rate(lambda: zoo.reference_forward(module, x1), 1, args.seconds))
    r["torch256"] = g("torch", lambda: rate(lambda: zoo.reference_forward(module, x256), 256, args.seconds))
    return r


# ---- table --------------------------------------------------------------------
def print_table(rows):
    def f(v):
        return "n/a" if v is None else f"{v:,.0f}"

    def ratio(a, b):
        if not a or not b:
            return "n/a"
        return f"{a / b:.2f}x" if a < b else f"{a / b:.1f}x"

    cols = [("model", 14, "<"), ("batch", 5, ">"), ("fast img/s", 11, ">"), ("ref img/s", 10, ">"),
            ("ort fp32", 10, ">"), ("ort qcdq", 10, ">"), ("qonnx", 8, ">"), ("torch", 10, ">"),
            ("fast/ref", 9, ">"), ("fast/ort", 9, ">"), ("fast/qcdq", 9, ">"), ("fast/qonnx", 10, ">"),
            ("fast/torch", 10, ">"), ("scale 2c", 8, ">"), ("roofline", 9, ">")]

    def line(vals):
        return " ".join(f"{v:{a}{w}}" for v, (_, w, a) in zip(vals, cols))

    hdr = line([c[0] for c in cols])
    print()
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        for b in ("1", "256"):
            fast = r.get("fast" + b)
            peers = [r.get(k + b) for k in ("ref", "ort", "qcdq", "qonnx", "torch")]
            scale = r.get("scale2") if b == "256" else None
            roof = r.get("roof") if b == "256" else None
            print(line([r["model"], b, f(fast)] + [f(p) for p in peers] + [ratio(fast, p) for p in peers]
                       + ["" if b == "1" else ("n/a" if scale is None else f"{scale:.2f}x"),
                          f"{100 * roof:.1f}%" if roof else ""]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--seconds", type=float, default=None, help="timing budget per measurement (default 1.0)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="smoke run: 0.1 s per measurement, fewer images")
    args = ap.parse_args()
    if args.seconds is None:
        args.seconds = 0.1 if args.quick else 1.0
    args.ref_images = 4 if args.quick else 16
    args.qonnx_images = QONNX_IMAGES
    import torch
    torch.set_num_threads(args.threads)

    info = sf.engine_info()
    peak1 = guarded("roofline", "popcount peak", lambda: _core.popcount_peak_words_per_s(
        info["best"], 0.1 if args.quick else 0.5))
    peak = peak1 * args.threads if peak1 else None
    print(f"engine path {info['best']} (available {info['available']}), {args.threads} threads")
    if peak:
        print(f"roofline: XOR+popcount peak {peak1 / 1e9:.2f} Gwords/s per core, {peak / 1e9:.2f} Gwords/s all cores")

    rows = [bench_model(name, args, peak) for name in args.models]
    print_table(rows)


if __name__ == "__main__":
    main()
