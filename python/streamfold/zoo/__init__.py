"""streamfold.zoo: Brevitas reference models with cached QONNX exports.

The models are the workloads streamfold is verified against: FINN's
TFC/SFC/LFC/CNV families, LeNet-5, an emotion-recognition CNN, a small
"dnn2fpga" MNIST CNN, and two building blocks (residual, depthwise-separable).

    from streamfold import zoo
    zoo.list_models()
    module, shape = zoo.get_model("tfc_w1a1")   # torch module (eval), input shape
    path = zoo.export("tfc_w1a1")                # cached QONNX file
    y = zoo.reference_forward("tfc_w1a1", x)     # Brevitas output as numpy

Every model takes float32 input in [0, 1] (image-like, batch axis first);
``example_input`` makes such input. Exports have batch size 1.

torch and brevitas are imported inside the functions only, so importing this
package (and ``import streamfold``) never requires them.

Cache: ``$STREAMFOLD_CACHE/zoo`` if STREAMFOLD_CACHE is set, otherwise
``$XDG_CACHE_HOME/streamfold/zoo`` (default ``~/.cache/streamfold/zoo``).
Each entry is keyed by model name, Brevitas and torch versions and
ZOO_VERSION, and holds the calibrated state dict (``.pt``) next to the export
(``.onnx``), so the module returned by get_model is always the one that was
exported, even if calibration were not bit-reproducible across machines.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from pathlib import Path

# Bump whenever a model definition, its seed or its calibration changes, so
# stale cache entries are never reused.
ZOO_VERSION = 2

_CAL_BATCHES = 4
_CAL_BATCH_SIZE = 16

__all__ = [
    "ZOO_VERSION", "list_models", "get_model", "input_shape", "export", "reference_forward",
    "example_input", "qonnx_forward", "export_module", "cache_dir",
]

# name -> input shape (batch 1). Kept here, free of torch, so listing and
# shape queries never import it; models.REGISTRY holds the constructors.
_SHAPES = {
    **{f"{fam}_{wa}": (1, 1, 28, 28) for fam in ("tfc", "sfc", "lfc") for wa in ("w1a1", "w1a2", "w2a2")},
    **{f"cnv_{wa}": (1, 3, 32, 32) for wa in ("w1a1", "w1a2", "w2a2")},
    "lenet5_w4a4": (1, 1, 28, 28),
    "emotion_cnn_8b": (1, 1, 48, 48), "emotion_cnn_4b": (1, 1, 48, 48), "emotion_cnn_2b": (1, 1, 48, 48),
    "dnn2fpga_cnn": (1, 1, 28, 28),
    "residual_block": (1, 3, 16, 16),
    "dws_block": (1, 8, 12, 12),
}
_MODEL_NAMES = tuple(sorted(_SHAPES))

_built: dict = {}  # name -> calibrated module, so repeated calls in one process are cheap


def list_models() -> list[str]:
    """Names accepted by get_model/export/reference_forward."""
    return list(_MODEL_NAMES)


def _check_name(name: str) -> None:
    if name not in _MODEL_NAMES:
        raise KeyError(f"unknown zoo model {name!r}; known models: {', '.join(_MODEL_NAMES)}")


def cache_dir() -> Path:
    root = os.environ.get("STREAMFOLD_CACHE")
    if root:
        base = Path(root)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "streamfold"
    return base / "zoo"


def _cache_path(name: str, suffix: str) -> Path:
    # Built as a string: the versions contain dots, so Path.with_suffix would
    # cut the key short.
    import brevitas
    import torch
    tv = torch.__version__.split("+")[0]
    return cache_dir() / f"{name}__brevitas-{brevitas.__version__}__torch-{tv}__zoo{ZOO_VERSION}{suffix}"


def _seed(name: str) -> int:
    # Stable across processes, unlike hash().
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _atomic_write(path: Path, write) -> None:
    """write(tmp_path) fills a file in a private temp directory next to
    ``path``; the file is then renamed over ``path``. Readers never see a
    half-written file, two processes exporting the same model at once both
    win, and side files some writers leave (the dynamo ONNX exporter drops
    an external-data file next to its output) go away with the directory."""
    import shutil
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix=".tmp-" + path.name + "-", dir=path.parent)
    try:
        tmp = os.path.join(tmpdir, "out" + path.suffix)
        write(tmp)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def input_shape(name: str) -> tuple:
    """Input shape of the exported model (batch 1), without building it."""
    _check_name(name)
    return _SHAPES[name]


def _construct(name: str):
    import torch
    from . import models
    ctor = models.REGISTRY[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed(name))
        return ctor()


def _calibrate_fresh(name: str):
    import torch
    from . import _quant
    model = _construct(name)
    shape = input_shape(name)
    gen = torch.Generator().manual_seed(_seed(name) + 1)
    _quant.randomize_bn_affine(model, gen)
    batches = [torch.rand((_CAL_BATCH_SIZE,) + shape[1:], generator=gen) for _ in range(_CAL_BATCHES)]
    _quant.calibrate(model, batches)
    return model


def _load_calibrated(name: str):
    """The calibrated module: from this process, the disk cache, or built now."""
    if name in _built:
        return _built[name]
    import torch
    pt = _cache_path(name, ".pt")
    model = None
    if pt.exists():
        try:
            model = _construct(name)
            model.load_state_dict(torch.load(pt, map_location="cpu", weights_only=True))
        except Exception:  # corrupt or incompatible cache entry: rebuild below
            model = None
    if model is None:
        model = _calibrate_fresh(name)
        _atomic_write(pt, lambda tmp: torch.save(model.state_dict(), tmp))
    model.eval()
    _built[name] = model
    return model


def get_model(name: str):
    """(torch module in eval mode, example input shape). The module is a fresh
    copy: callers may modify it without affecting later calls."""
    import copy
    _check_name(name)
    return copy.deepcopy(_load_calibrated(name)).eval(), input_shape(name)


def example_input(name_or_shape, n: int = 1, seed: int = 0):
    """Deterministic float32 input in [0, 1] of shape (n, *shape[1:])."""
    import numpy as np
    shape = input_shape(name_or_shape) if isinstance(name_or_shape, str) else tuple(name_or_shape)
    return np.random.default_rng(seed).random((n,) + tuple(shape[1:]), dtype=np.float32)


def reference_forward(name, x):
    """Brevitas forward of zoo model ``name`` (or of a torch module) on numpy
    input x of shape (N, ...); returns the float32 output as numpy."""
    import numpy as np
    import torch
    model = _load_calibrated(name) if isinstance(name, str) else name
    with torch.no_grad():
        y = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    return y.detach().numpy()


def export_module(module, input_shape, path) -> str:
    """export_qonnx a module to ``path`` (written atomically, self-contained:
    weights inline) with a batch-1 input shape, quietly. Exposed for the
    random-network tests and for exporting your own Brevitas model the way
    the zoo does."""
    _atomic_write(Path(path), lambda tmp: _export_qonnx_quiet(module, input_shape, tmp))
    return str(path)


def _export_qonnx_quiet(module, input_shape, path) -> None:
    import io
    import logging
    import warnings
    import onnx
    import torch
    from brevitas.export import export_qonnx
    module.eval()
    # The dynamo exporter prints progress lines and logs/warns freely (e.g.
    # "torchvision is not installed"); none of it is actionable for a zoo user.
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            model = export_qonnx(module, torch.zeros(tuple(input_shape)), str(path))
    finally:
        onnx_log.setLevel(level)
    # Brevitas re-saves the exporter's output with the weights inline; make
    # sure that stays true, since the external-data file is deleted.
    from onnx.external_data_helper import uses_external_data
    if any(uses_external_data(t) for t in model.graph.initializer):
        onnx.save(onnx.load(str(path)), str(path), save_as_external_data=False)


def export(name: str) -> str:
    """Path of the cached QONNX export of zoo model ``name`` (exported on first use)."""
    _check_name(name)
    onnx_path = _cache_path(name, ".onnx")
    if not onnx_path.exists():
        export_module(_load_calibrated(name), input_shape(name), onnx_path)
    return str(onnx_path)


@contextlib.contextmanager
def _ort_compatible_qonnx():
    """qonnx 1.0 runs standard nodes through onnxruntime in single-node models
    built with onnx.helper.make_model, which stamps the IR version of the
    installed onnx (onnx 1.23: IR 14). onnxruntime 1.31 rejects IR > 13, so
    every standard node fails. Clamp the IR version of those throwaway
    models while qonnx executes."""
    import qonnx.core.onnx_exec as oe
    orig = oe.qonnx_make_model

    def make(graph, **kw):
        kw.setdefault("ir_version", 10)
        return orig(graph, **kw)

    oe.qonnx_make_model = make
    try:
        yield
    finally:
        oe.qonnx_make_model = orig


def qonnx_forward(model, x):
    """Run an exported model (zoo name, path, ModelProto or qonnx ModelWrapper)
    with qonnx's execute_onnx, one sample at a time (exports have batch 1).
    Returns the stacked float32 output, shape (N, ...)."""
    import numpy as np
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    if isinstance(model, str) and model in _MODEL_NAMES:
        model = export(model)
    if not isinstance(model, ModelWrapper):
        model = ModelWrapper(str(model) if isinstance(model, Path) else model)
    in_name = model.graph.input[0].name
    out_name = model.graph.output[0].name
    x = np.asarray(x, dtype=np.float32)
    outs = []
    with _ort_compatible_qonnx():
        for i in range(x.shape[0]):
            outs.append(execute_onnx(model, {in_name: x[i:i + 1]})[out_name])
    return np.concatenate(outs, axis=0)
