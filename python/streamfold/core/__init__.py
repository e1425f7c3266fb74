"""FINN/qonnx-style core API (``streamfold.core.modelwrapper`` etc.)."""
