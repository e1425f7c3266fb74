"""Graph-wide inference passes backed by the C++ core."""
from .base import Transformation


class InferShapes(Transformation):
    """Fill value_info with the element type and shape of every tensor."""

    def apply(self, model):
        from .. import _core

        _core.infer_shapes(model._model)
        return model, False


class InferDataTypes(Transformation):
    """Annotate every tensor with its QONNX datatype (finn_datatype)."""

    def __init__(self, allow_scaledint_dtypes=False):
        self.allow_scaledint_dtypes = allow_scaledint_dtypes

    def apply(self, model):
        from .. import _core

        _core.infer_datatypes(model._model, self.allow_scaledint_dtypes)
        return model, False
