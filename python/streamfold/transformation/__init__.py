"""Transformations (passes). ``model.transform(sf.transformation.InferShapes())``."""
from .base import Transformation, resolve
from .general import InferDataTypes, InferShapes

__all__ = ["Transformation", "resolve", "InferShapes", "InferDataTypes"]
