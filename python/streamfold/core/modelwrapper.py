"""ModelWrapper: the qonnx/FINN model API over streamfold's C++ IR."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import _core
from .._core import DataType
from ..errors import InputError, ModelError

# ONNX TensorProto element types by NumPy dtype, for set_tensor_shape.
_ONNX_ELEM = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.uint16): 4,
              np.dtype(np.int16): 5, np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(bool): 9,
              np.dtype(np.float16): 10, np.dtype(np.float64): 11, np.dtype(np.uint32): 12,
              np.dtype(np.uint64): 13}


def _load(model):
    if isinstance(model, ModelWrapper):
        return model._model.copy()
    if isinstance(model, _core.Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _core.load_model_file(os.fspath(model))
    if isinstance(model, (bytes, bytearray, memoryview)):
        return _core.load_model_bytes(bytes(model))
    if hasattr(model, "SerializeToString"):  # onnx.ModelProto, without importing onnx
        return _core.load_model_bytes(model.SerializeToString())
    raise InputError(f"cannot load a model from {type(model).__name__}",
                     hint="pass a path, bytes, an onnx.ModelProto or a ModelWrapper")


class ModelWrapper:
    """A QONNX/FINN-ONNX model. Accepts a path, bytes, an onnx.ModelProto or
    another ModelWrapper (copied)."""

    def __init__(self, model, make_deepcopy=False):
        self._model = _load(model)
        if make_deepcopy:
            self._model = self._model.copy()
        if isinstance(model, (str, os.PathLike)) and any(
                n.op_type == "StreamingDataflowPartition" for n in self._model.graph.node):
            # FINN's partition form may name the child files relative to the parent.
            from ..partition import absolutize_child_paths

            absolutize_child_paths(self, os.path.dirname(os.path.abspath(os.fspath(model))))

    # ---- whole-model I/O ----------------------------------------------------
    @property
    def graph(self):
        """Read access to the graph: .node, .input, .output, .value_info."""
        return self._model.graph

    @property
    def model(self):
        """The model as an onnx.ModelProto (a converted copy, for interop)."""
        import onnx

        return onnx.load_from_string(self.to_bytes())

    def to_bytes(self) -> bytes:
        return self._model.to_bytes()

    def save(self, filename):
        """Write the model atomically (never leaves a half-written file)."""
        self._model.save(os.fspath(filename))

    def copy(self) -> "ModelWrapper":
        return ModelWrapper(self)

    def __deepcopy__(self, memo):
        return self.copy()

    @property
    def ir_version(self):
        return self._model.ir_version

    @property
    def opset_imports(self):
        return self._model.opset_imports

    # ---- tensors ------------------------------------------------------------
    def get_all_tensor_names(self):
        return self._model.all_tensor_names()

    def _check_tensor(self, name):
        if name not in self._model.all_tensor_names():
            raise ModelError(f"the model has no tensor named {name!r}",
                             hint="list them with model.get_all_tensor_names()", where=name)

    def get_tensor_datatype(self, name) -> DataType:
        self._check_tensor(name)
        return self._model.get_datatype(name)

    def set_tensor_datatype(self, name, datatype):
        self._check_tensor(name)
        if isinstance(datatype, str):
            datatype = DataType[datatype]
        elif not isinstance(datatype, DataType):  # e.g. a qonnx DataType
            datatype = DataType[datatype.get_canonical_name()]
        self._model.set_datatype(name, datatype)

    def get_tensor_layout(self, name):
        """The tensor_layout annotation as a list like ['N', 'C', 'H', 'W'], or None."""
        self._check_tensor(name)
        layout = self._model.get_layout(name)
        return layout or None

    def set_tensor_layout(self, name, layout):
        self._check_tensor(name)
        self._model.set_layout(name, [] if layout is None else list(layout))

    def get_tensor_shape(self, name):
        """Concrete shape from value_info/inputs/outputs/initializers, or None."""
        init = self._model.get_initializer(name)
        if init is not None:
            return list(init.shape)
        vi = self._model.find_value_info(name)
        if vi is None or vi.shape is None:
            return None
        return list(vi.shape)

    def set_tensor_shape(self, name, shape, dtype=np.float32):
        vi = self._model.find_value_info(name) or _core.ValueInfo()
        vi.name = name
        vi.elem_type = _ONNX_ELEM[np.dtype(dtype)]
        vi.shape = [int(d) for d in shape]
        self._model.set_value_info(vi)

    def get_tensor_valueinfo(self, name):
        return self._model.find_value_info(name)

    def get_initializer(self, name):
        """The initializer as a NumPy array (a view of the model's buffer), or None."""
        return self._model.get_initializer(name)

    def set_initializer(self, name, value):
        """Set (copy in) an initializer from a NumPy array."""
        self._model.set_initializer(name, np.asarray(value))

    def del_initializer(self, name):
        self._model.remove_initializer(name)

    def get_tensor_fanout(self, name):
        return len(self._model.find_consumers(name))

    # ---- nodes --------------------------------------------------------------
    def find_producer(self, tensor_name):
        i = self._model.find_producer(tensor_name)
        return None if i < 0 else self._model.graph.node[i]

    def find_consumers(self, tensor_name):
        nodes = self._model.graph.node
        return [nodes[i] for i in self._model.find_consumers(tensor_name)]

    def find_consumer(self, tensor_name):
        """The single consumer of a tensor, or None if it has 0 or several."""
        c = self.find_consumers(tensor_name)
        return c[0] if len(c) == 1 else None

    def find_direct_predecessors(self, node):
        preds = [self.find_producer(i) for i in node.input if i]
        preds = [p for p in preds if p is not None]
        return preds or None

    def find_direct_successors(self, node):
        succ = [c for o in node.output for c in self.find_consumers(o)]
        return succ or None

    def get_node_index(self, node):
        name = node if isinstance(node, str) else node.name
        i = self._model.find_node(name)
        return None if i < 0 else i

    def get_node_from_name(self, name):
        i = self._model.find_node(name)
        return None if i < 0 else self._model.graph.node[i]

    def get_nodes_by_op_type(self, op_type):
        return [n for n in self._model.graph.node if n.op_type == op_type]

    def is_fork_node(self, node):
        return any(len(self.find_consumers(o)) > 1 for o in node.output)

    def is_join_node(self, node):
        return len([i for i in node.input if self.find_producer(i) is not None]) > 1

    # ---- metadata -----------------------------------------------------------
    def get_metadata_prop(self, key):
        for k, v in self._model.metadata_props:
            if k == key:
                return v
        return None

    def set_metadata_prop(self, key, value):
        props = [(k, v) for k, v in self._model.metadata_props if k != key]
        props.append((key, str(value)))
        self._model.metadata_props = props

    # ---- analysis and transformation ---------------------------------------
    def check_all_tensor_shapes_specified(self):
        return all(self.get_tensor_shape(n) is not None for n in self.get_all_tensor_names())

    def analysis(self, analysis_fn):
        return analysis_fn(self)

    def transform(self, transformation, make_deepcopy=True, cleanup=True):
        """Apply a transformation until it reports no change; returns a new
        model (the original is untouched with make_deepcopy=True)."""
        from ..transformation.base import resolve

        t = resolve(transformation)
        model = self.copy() if make_deepcopy else self
        while True:
            model, modified = t.apply(model)
            if not modified:
                break
        return model

    def __repr__(self):
        g = self._model.graph
        return f"<ModelWrapper '{g.name}': {len(g.node)} nodes>"
