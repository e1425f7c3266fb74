"""The model optimizer: PTQ, then partial quantization, then QAT, stopping at
the first stage that reaches the target accuracy (DNN2FPGA's recipe, on
Brevitas' machinery)."""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field

import torch

from ..errors import ConfigError
from . import recipe

STAGES = ("ptq", "partial", "qat")
PARTIAL_RULES = ("sensitivity", "skip_conv")
PLACEMENTS = ("ends", "any")
from .host import METADATA_KEY  # noqa: E402,F401  (re-exported)


def _batches(data, what):
    """A list of input tensors from a tensor, an array, or an iterable of
    tensors / (x, y) pairs."""
    import numpy as np
    if data is None:
        return None
    if isinstance(data, (torch.Tensor, np.ndarray)):
        data = [data]
    out = []
    for b in data:
        x = b[0] if isinstance(b, (tuple, list)) else b
        out.append(x.float() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x, dtype=np.float32)))
    if not out:
        raise ConfigError(f"{what} is empty", hint=f"pass at least one batch of {what}", key=what)
    return out


def _pairs(data):
    out = []
    for b in data:
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise ConfigError("train_data must yield (inputs, labels) batches",
                              hint="e.g. a list of (x, y) tensor pairs or a torch DataLoader", key="train_data")
        out.append((torch.as_tensor(b[0]).float(), torch.as_tensor(b[1]).long()))
    return out


@dataclass
class StageRecord:
    stage: str
    accuracy: float
    size_bits: int
    seconds: float
    float_layers: list = field(default_factory=list)
    met: bool = False
    note: str = ""

    def as_dict(self):
        return dict(self.__dict__)


class QuantizeResult:
    """What ``optimize`` returns.

    model:        the quantized Brevitas module (an FX GraphModule, eval mode)
    stage:        "ptq", "partial" or "qat", the stage that met the target
                  (or, when none did, the stage of the most accurate model; met is False)
    met:          whether the target was reached
    history:      one dict per stage run (and the float baseline first):
                  stage, accuracy, size_bits, seconds, float_layers, met, note
    float_layers: compute layers left in float (run on the host)
    sensitivity:  {layer: accuracy lost when that layer alone is quantized}
                  (measured when the partial stage ran)
    layers:       the compute layers in execution order (recipe.Layer)
    """

    def __init__(self, model, stage, met, history, float_layers, sensitivity, layers, spec, target):
        self.model = model
        self.stage = stage
        self.met = met
        self.history = history
        self.float_layers = list(float_layers)
        self.sensitivity = sensitivity
        self.layers = layers
        self.spec = spec
        self.target = target

    @property
    def accuracy(self):
        return next(h["accuracy"] for h in reversed(self.history) if h["stage"] == self.stage)

    def host_layers(self):
        """[(layer, reason)] for every layer left in float: those have no
        integer weights, so streamfold's dataflow partition keeps them on the
        host (before the accelerator when they precede every quantized layer,
        after it when they follow them all)."""
        names = [ly.name for ly in self.layers]
        q_idx = [i for i, n in enumerate(names) if n not in self.float_layers]
        out = []
        for name in self.float_layers:
            i = names.index(name)
            where = ("before the accelerator" if q_idx and i < q_idx[0] else
                     "after the accelerator" if q_idx and i > q_idx[-1] else
                     "between quantized layers (this splits the dataflow graph in two)")
            sens = self.sensitivity.get(name)
            why = (f"quantizing it alone costs {sens * 100:.2f} points" if sens is not None
                   else "left in float by the partial-quantization rule")
            out.append((name, f"left in float by streamfold.quantize ({why}); float weights have no "
                              f"HW layer, so it runs on the host {where}"))
        return out

    def export_qonnx(self, path, example_input):
        """QONNX export (Brevitas export_qonnx, batch 1) of ``.model``; the
        optimizer's record (stage, float layers and why) goes into the ONNX
        metadata under ``streamfold.quantize``. Returns the path."""
        import onnx

        from ..zoo import export_module
        shape = (1,) + tuple(torch.as_tensor(example_input).shape[1:])
        export_module(self.model, shape, path)
        m = onnx.load(str(path))
        info = {"stage": self.stage, "met": self.met, "target": self.target,
                "weight_bits": self.spec.weight_bits, "act_bits": self.spec.act_bits,
                "input_bits": self.spec.input_bits, "per_channel": self.spec.per_channel,
                "calibration": self.spec.calibration,
                "host_layers": [{"layer": n, "reason": r} for n, r in self.host_layers()]}
        del m.metadata_props[:]
        p = m.metadata_props.add()
        p.key, p.value = METADATA_KEY, json.dumps(info)
        onnx.save(m, str(path))
        return str(path)

    def table(self):
        """The per-stage rows as strings (for printing)."""
        rows = []
        for h in self.history:
            rows.append((h["stage"], f"{h['accuracy'] * 100:.2f} %", f"{h['size_bits'] / 8 / 1024:.1f} KiB",
                         f"{h['seconds']:.1f} s", ", ".join(h["float_layers"]) or "-",
                         "yes" if h["met"] else "no" if h["stage"] != "float" else "", h.get("note", "")))
        return rows

    def __repr__(self):
        return (f"QuantizeResult(stage={self.stage!r}, met={self.met}, accuracy={self.accuracy:.4f}, "
                f"float_layers={self.float_layers})")


def size_bits(layers, spec, float_layers=()):
    """Weights at their bit width plus 32-bit biases; float layers at 32."""
    total = 0
    for ly in layers:
        wb = 32 if ly.name in float_layers else spec.weight_bits
        total += ly.weights * wb + ly.biases * 32
    return total


def _partitions(model, layers, spec, floats, example):
    """How many dataflow partitions streamfold makes of this candidate."""
    import os
    import tempfile

    from .host import placement
    r = QuantizeResult(model, "partial", False, [], floats, {}, layers, spec, None)
    with tempfile.TemporaryDirectory(prefix="sf_quantize_") as d:
        path = r.export_qonnx(os.path.join(d, "candidate.onnx"), example[:1])
        try:
            return placement(path)["partitions"]
        except Exception:  # the flow refuses it: as good as unbuildable
            return 0


def _notify(progress, event, **kw):
    if progress is not None:
        progress(event, **kw)


def sensitivity(traced, spec, calib, eval_fn, float_acc, progress=None):
    """{layer: float accuracy - accuracy with only that layer quantized}."""
    layers = recipe.compute_layers(traced)
    names = [ly.name for ly in layers]
    out = {}
    for i, name in enumerate(names):
        _notify(progress, "step", stage="partial", description=f"sensitivity of {name}", i=i, n=len(names))
        s = copy.copy(spec)
        s.float_layers = tuple(n for n in names if n != name)
        m = recipe.calibrate(recipe.quantize_model(traced, s), calib)
        out[name] = float_acc - float(eval_fn(m))
    return out


def _float_order(names, sens, rule, placement):
    """The order in which layers are left in float (greedy)."""
    if rule == "skip_conv":
        return None
    if placement == "any":
        return sorted(names, key=lambda n: -sens[n])
    order, lo, hi = [], 0, len(names) - 1
    while lo <= hi:
        # Extend the float prefix or the float suffix, whichever end layer is
        # more sensitive; on a tie the suffix (usually the small classifier).
        if sens[names[lo]] > sens[names[hi]]:
            order.append(names[lo])
            lo += 1
        else:
            order.append(names[hi])
            hi -= 1
    return order


def optimize(model, calib_data, eval_fn, target_accuracy, weight_bits=8, act_bits=8, calibration="minmax",
             train_data=None, *, per_channel=True, input_bits=8, percentile=99.999, stages=STAGES,
             partial_rule="sensitivity", placement="ends", max_float_layers=None, qat_epochs=3, qat_lr=1e-3,
             loss_fn=None, seed=0, check_partition=True, progress=None):
    """Quantize a float ``torch.nn.Module`` until ``eval_fn(model) >= target_accuracy``.

    calib_data:   calibration inputs: a tensor/array, or an iterable of
                  tensors or (x, y) batches
    eval_fn:      model -> accuracy (a float; the same scale as the target)
    target_accuracy: absolute, e.g. 0.97
    weight_bits, act_bits: 2..8 (activations <= 8: each becomes thresholds)
    calibration:  "minmax" | "percentile" | "mse" (see recipe)
    train_data:   re-iterable (x, y) batches for QAT; without it QAT is skipped
    per_channel:  per-output-channel weight scales (else one per tensor)
    input_bits:   the network input's quantizer (8: the accelerator's input)
    stages:       which of "ptq", "partial", "qat" may run, in that order
    partial_rule: "sensitivity" (measured: each layer alone quantized) or
                  "skip_conv" (DNN2FPGA's rule: every convolution stays float)
    placement:    "ends": float layers only grow from the first and last layer
                  inwards, so one accelerator takes the integer middle; "any":
                  most sensitive first, wherever they are
    max_float_layers: cap for the partial stage (default: all but one)
    qat_epochs, qat_lr, loss_fn (default cross-entropy), seed: QAT; it starts
                  from the fully quantized PTQ model (same calibration) and
                  stops at the first epoch that meets the target
    check_partition: a partial candidate that meets the target is exported and
                  run through streamfold's flow up to the dataflow partition;
                  it is kept only if the integer part is one accelerator
    progress:     callback(event, **info) with events "stage_start",
                  "step" (stage, description, i, n) and "stage_end" (record)
    """
    for s in stages:
        if s not in STAGES:
            raise ConfigError(f"stage {s!r} is not one of {STAGES}", key="stages")
    if partial_rule not in PARTIAL_RULES:
        raise ConfigError(f"partial_rule={partial_rule!r} is not one of {PARTIAL_RULES}", key="partial_rule")
    if placement not in PLACEMENTS:
        raise ConfigError(f"placement={placement!r} is not one of {PLACEMENTS}", key="placement")
    if calibration not in recipe.CALIBRATIONS:
        recipe.act_quantizer(False, calibration)  # raises the ConfigError
    recipe.check_bits(weight_bits, act_bits, input_bits)
    calib = _batches(calib_data, "calib_data")
    spec = recipe.QuantSpec(weight_bits=weight_bits, act_bits=act_bits, input_bits=input_bits,
                            per_channel=per_channel, calibration=calibration, percentile=percentile,
                            input_signed=bool(min(float(x.min()) for x in calib) < 0))
    traced = recipe.trace(model)
    layers = recipe.compute_layers(traced)
    names = [ly.name for ly in layers]
    if not names:
        raise ConfigError("the model has no Conv or Linear layer to quantize", key="model")

    history, candidates = [], []  # candidates: (accuracy, stage, model, float_layers)
    t0 = time.perf_counter()
    model.eval()
    float_acc = float(eval_fn(traced))
    history.append(StageRecord("float", float_acc, size_bits(layers, spec, names), time.perf_counter() - t0,
                               list(names), float_acc >= target_accuracy, "the float model").as_dict())

    def finish(stage, acc, m, floats, t, note=""):
        rec = StageRecord(stage, acc, size_bits(layers, spec, floats), time.perf_counter() - t, list(floats),
                          acc >= target_accuracy, note)
        history.append(rec.as_dict())
        candidates.append((acc, stage, m, list(floats)))
        _notify(progress, "stage_end", record=rec.as_dict())
        return rec.met

    sens = {}
    ptq_model = None

    def result(stage, m, floats, met):
        return QuantizeResult(m, stage, met, history, floats, sens, layers, spec, target_accuracy)

    # 1. PTQ: every layer, calibrated.
    if "ptq" in stages or "qat" in stages:
        _notify(progress, "stage_start", stage="ptq")
        t = time.perf_counter()
        ptq_model = recipe.calibrate(recipe.quantize_model(traced, spec), calib)
        acc = float(eval_fn(ptq_model))
        if "ptq" in stages and finish("ptq", acc, ptq_model, [], t, f"{calibration} calibration"):
            return result("ptq", ptq_model, [], True)

    # 2. Partial: leave the most sensitive layers in float.
    if "partial" in stages and len(names) > 1:
        _notify(progress, "stage_start", stage="partial")
        t = time.perf_counter()
        limit = len(names) - 1 if max_float_layers is None else min(max_float_layers, len(names) - 1)
        trials = []
        if partial_rule == "skip_conv":
            floats = [ly.name for ly in layers if ly.kind.startswith("Conv")][:limit]
            plan = [floats] if floats else []
        else:
            sens.update(sensitivity(traced, spec, calib, eval_fn, float_acc, progress))
            order = _float_order(names, sens, partial_rule, placement)[:limit]
            plan = [order[:k] for k in range(1, len(order) + 1)]
        best = None
        for k, floats in enumerate(plan):
            _notify(progress, "step", stage="partial", description=f"float: {', '.join(floats)}", i=k, n=len(plan))
            s = copy.copy(spec)
            s.float_layers = tuple(floats)
            m = recipe.calibrate(recipe.quantize_model(traced, s), calib)
            acc = float(eval_fn(m))
            if acc >= target_accuracy and check_partition:
                parts = _partitions(m, layers, spec, floats, calib[0])
                if parts != 1:
                    trials.append(f"{'+'.join(floats)}: {acc * 100:.2f} % but {parts} dataflow partitions")
                    continue
            trials.append(f"{'+'.join(floats)}: {acc * 100:.2f} %")
            if best is None or acc > best[0]:
                best = (acc, m, floats)
            if acc >= target_accuracy:
                break
        if best is not None:
            note = ("sensitivity " + ", ".join(f"{n} {v * 100:.2f}" for n, v in sens.items()) if sens
                    else "skip_conv") + "; tried " + "; ".join(trials)
            if finish("partial", best[0], best[1], best[2], t, note):
                return result("partial", best[1], best[2], True)

    # 3. QAT: fine-tune the fully quantized PTQ model.
    if "qat" in stages:
        _notify(progress, "stage_start", stage="qat")
        t = time.perf_counter()
        if train_data is None:
            history.append(StageRecord("qat", float("nan"), size_bits(layers, spec), 0.0, [], False,
                                       "skipped: no train_data").as_dict())
            _notify(progress, "stage_end", record=history[-1])
        else:
            pairs = _pairs(train_data)
            m = copy.deepcopy(ptq_model)
            torch.manual_seed(seed)
            opt = torch.optim.Adam(m.parameters(), lr=qat_lr)
            lf = loss_fn or torch.nn.functional.cross_entropy
            acc, epochs_run = float("nan"), 0
            for epoch in range(qat_epochs):
                m.train()
                for i, (x, y) in enumerate(pairs):
                    if i % max(1, len(pairs) // 10) == 0:
                        _notify(progress, "step", stage="qat", description=f"epoch {epoch + 1}/{qat_epochs}",
                                i=epoch * len(pairs) + i, n=qat_epochs * len(pairs))
                    loss = lf(m(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                m.eval()
                acc = float(eval_fn(m))
                epochs_run = epoch + 1
                if acc >= target_accuracy:
                    break
            if finish("qat", acc, m, [], t, f"{epochs_run} epoch(s), Adam lr {qat_lr}"):
                return result("qat", m, [], True)

    if not candidates:
        raise ConfigError("no stage ran", hint="stages must include ptq, partial or qat", key="stages")
    acc, stage, m, floats = max(candidates, key=lambda c: c[0])
    return result(stage, m, floats, False)
