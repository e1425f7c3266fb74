"""Transformations (passes), by their FINN/qonnx names.

    m = m.transform(sf.transformation.InferShapes())
    m = m.transform("FoldConstants")            # by name, as build configs do

Every C++ pass registered in the core appears here as a class of the same
name; ``list_passes()`` lists them with their group and one-line doc.
"""
from .. import _core
from .base import Transformation, resolve
from .pipeline import VerificationReport, run_pipeline


class CppPass(Transformation):
    """A pass implemented in the C++ core (applied to a fixpoint there)."""

    name = None
    group = None

    def apply(self, model):
        _core.apply_pass(model._model, self.name)
        return model, False


def list_passes():
    """[(name, group, doc)] of every registered C++ pass."""
    return sorted(_core.list_passes())


for _name, _group, _doc in _core.list_passes():
    globals()[_name] = type(_name, (CppPass,), {"name": _name, "group": _group, "__doc__": _doc})


class InferDataTypes(CppPass):
    """Annotate every tensor with its QONNX datatype (finn_datatype)."""

    name = "InferDataTypes"
    group = "cleanup"

    def __init__(self, allow_scaledint_dtypes=False):
        self.allow_scaledint_dtypes = allow_scaledint_dtypes

    def apply(self, model):
        _core.infer_datatypes(model._model, self.allow_scaledint_dtypes)
        return model, False


__all__ = ["Transformation", "resolve", "list_passes", "run_pipeline", "VerificationReport", "CppPass"] + [
    n for n, _, _ in _core.list_passes()]
