"""Transformations (passes), by their FINN/qonnx names.

    m = m.transform(sf.transformation.InferShapes())
    m = m.transform("FoldConstants")            # by name, as build configs do

Every C++ pass registered in the core appears here as a class of the same
name; ``list_passes()`` lists them with their group and one-line doc.
"""
import operator

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


class InsertTopK(CppPass):
    """End a classifier in TopK(k): its indices become the only graph output.

    The scores stay an internal tensor and the TopK values output is left
    unread, so AbsorbScalarMulAddIntoTopK can drop a final scalar Mul/Add and
    step_convert_to_hw maps the TopK to LabelSelect. Applying it to a graph
    that already ends in a TopK (or LabelSelect) changes nothing. Raises
    ModelError for a graph with other than one output, a non-static output
    shape, or k outside [1, size of axis]. (FINN's default is k=5; the
    registered pass ``"InsertTopK"`` and this class default to k=1.)
    """

    name = "InsertTopK"
    group = "lower"

    def __init__(self, k=1, axis=-1, largest=True, sorted=True):
        self.k, self.axis = operator.index(k), operator.index(axis)  # ints only: 1.5 is an error, not 1
        self.largest, self.sorted = bool(largest), bool(sorted)

    def apply(self, model):
        _core.insert_topk(model._model, self.k, self.axis, self.largest, self.sorted)
        return model, False

    def __repr__(self):
        return f"InsertTopK(k={self.k}, axis={self.axis}, largest={self.largest}, sorted={self.sorted})"


__all__ = ["Transformation", "resolve", "list_passes", "run_pipeline", "VerificationReport", "CppPass"] + [
    n for n, _, _ in _core.list_passes()]
