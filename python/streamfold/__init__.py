"""streamfold: quantized neural networks to streaming FPGA dataflow.

    import streamfold as sf
    m = sf.ModelWrapper("model.onnx")
    out = sf.execute_onnx(m, {"global_in": x})
"""
from .errors import (ConfigError, InputError, ModelError, StreamfoldError, StreamlineError, UnsupportedOpError,
                     VerificationError)

try:
    from . import _core
except ImportError as e:  # pragma: no cover - only when the extension was not built
    raise ImportError(
        "streamfold's C++ extension (streamfold._core) is missing: install with `pip install .` "
        "or build in-tree with `make dev`"
    ) from e

from ._core import DataType
from .core.modelwrapper import ModelWrapper
from .core.onnx_exec import execute_onnx
from .engine import Engine, engine_info, evaluate
from . import transformation
from . import builder

__version__ = "0.1.0"


def supported_ops():
    """(domain, op_type) pairs the reference executor runs."""
    return sorted(_core.supported_ops())


__all__ = [
    "ModelWrapper", "DataType", "execute_onnx", "supported_ops", "Engine", "engine_info", "evaluate",
    "transformation", "builder",
    "StreamfoldError", "ModelError", "UnsupportedOpError", "InputError", "ConfigError", "VerificationError",
    "StreamlineError",
]
