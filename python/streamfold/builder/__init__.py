"""FINN-style build steps (``streamfold.builder.steps``)."""
from . import steps

__all__ = ["steps"]
