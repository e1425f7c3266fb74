"""The fast engine: bit-packed XNOR/popcount and narrow-integer kernels with a
fused MultiThreshold epilogue, compiled once from a streamlined model.

    eng = sf.Engine(model)          # a streamlined model (a QONNX export is streamlined first)
    y = eng.run(x)                  # one input: array in, array out (batch may exceed the model's 1)
    outs = eng.run({"global_in": x})
    sf.engine_info()                # {'path': 'avx512', 'available': [...]}

The kernel path is picked at run time from the CPU; force one with
``Engine(model, isa="scalar"|"avx2"|"avx512")`` or ``SF_ENGINE_ISA``.
Outputs equal the reference executor's bit for bit on every path.
"""
from __future__ import annotations

import os
import time

import numpy as np

from . import _core
from .core.modelwrapper import ModelWrapper
from .errors import InputError

# Quantizers that only appear before streamlining: their presence means the
# model is a raw QONNX export that the engine should streamline first. (A
# Trunc may legitimately survive streamlining, so it does not count.)
_QONNX_ONLY = {"Quant", "BipolarQuant"}


def _prepare(model, streamline):
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    if streamline == "auto":
        streamline = any(n.op_type in _QONNX_ONLY for n in mw.graph.node)
    if streamline:
        from .builder import steps
        mw = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(mw)))
    return mw


class Engine:
    """An execution plan for ``model`` (ModelWrapper, path, bytes or ModelProto).

    isa: "auto" (default; honours SF_ENGINE_ISA), "scalar", "avx2" or "avx512".
    threads: worker threads (0: all cores). profile: time every step (see
    ``profile()``). streamline: "auto" runs the
    default QONNX->FINN->streamline steps when the model still has Quant nodes.
    """

    def __init__(self, model, isa="auto", threads=0, warn=True, streamline="auto", profile=False):
        self.model = _prepare(model, streamline)
        self._engine = _core.Engine(self.model._model, isa or "auto", int(threads), bool(warn), bool(profile))
        self.input_names = list(self.model._model.runtime_input_names())
        self.output_names = [o.name for o in self.model.graph.output]

    @property
    def isa(self):
        return self._engine.isa

    @property
    def fallback_nodes(self):
        """Compute nodes the engine could not specialize (run by the reference ops)."""
        return list(self._engine.fallback_nodes)

    @property
    def binary_words_per_image(self):
        return self._engine.binary_words_per_image

    def plan(self):
        """One line per step: the node, the kernel it runs and the storage of its output."""
        return list(self._engine.plan())

    def profile(self):
        """[(step, seconds)] summed over all runs so far (needs ``Engine(..., profile=True)``)."""
        return list(self._engine.profile())

    def run(self, x):
        """Array in -> array out for single-input, single-output models; a dict
        of name -> array in -> dict of outputs otherwise."""
        if isinstance(x, dict):
            return self._engine.run(x)
        if len(self.input_names) != 1:
            raise InputError(f"the model has {len(self.input_names)} inputs",
                             hint=f"pass a dict with keys {self.input_names}")
        out = self._engine.run({self.input_names[0]: np.ascontiguousarray(x)})
        return out[self.output_names[0]] if len(self.output_names) == 1 else out


def engine_info():
    """The kernel path the engine picks on this CPU, every available one, the
    SF_ENGINE_ISA override if set, and the int8 dot product each path uses
    ("vnni", "avx-vnni" or "int16")."""
    forced = os.environ.get("SF_ENGINE_ISA")
    avail = list(_core.engine_isas())
    dot = _core.engine_int8_dot()
    return {"path": forced or _core.engine_best_isa(), "best": _core.engine_best_isa(),
            "available": avail, "forced": forced, "int8_dot": {isa: dot[isa] for isa in avail}}


def evaluate(model, images, labels, batch_size=256, engine=None, **engine_kw):
    """Top-1 accuracy of ``model`` on (images, labels) with the fast engine.

    Returns dict(accuracy, images_per_s, n). The class is the argmax of the
    first output over its last axis.
    """
    eng = engine or Engine(model, **engine_kw)
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels).reshape(-1)
    if len(images) != len(labels):
        raise InputError(f"{len(images)} images but {len(labels)} labels", hint="pass one label per image")
    correct = 0
    t0 = time.perf_counter()
    for i in range(0, len(images), batch_size):
        y = eng.run(images[i:i + batch_size])
        if isinstance(y, dict):
            y = y[eng.output_names[0]]
        pred = np.asarray(y).reshape(len(images[i:i + batch_size]), -1).argmax(axis=1)
        correct += int((pred == labels[i:i + batch_size]).sum())
    dt = time.perf_counter() - t0
    n = len(images)
    return {"accuracy": correct / n if n else float("nan"), "images_per_s": n / dt if dt > 0 else float("inf"), "n": n}


__all__ = ["Engine", "engine_info", "evaluate"]
