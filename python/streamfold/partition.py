"""Dataflow partitioning (FINN's CreateDataflowPartition).

    parent, children, cpu_nodes = create_dataflow_partition(model)

``parent`` runs on the host and calls each child, in graph order, through a
StreamingDataflowPartition node; each child holds one contiguous region of
HW layers. ``cpu_nodes`` lists ``(node, reason)`` for every node left on the
host.

The node's ``model`` attribute comes in two forms, and everything here (and
the executor) reads both:

- streamfold's form: the child model serialized into the attribute, so the
  parent is one self-contained file that executes end to end. The
  partitioning pass writes it, and the build hands it from step to step.
- FINN's form: the path of the child's .onnx file (FINN's tools open
  ``node.get_nodeattr("model")`` as a file). ``save_parent_finn_form`` writes
  it: the children go beside the parent as
  ``dataflow_partition_<id>/partition_<id>.onnx`` and the attribute holds
  their absolute path. The build saves ``intermediate_models/dataflow_parent.onnx``
  this way, since that is the file FINN users hand to FINN tools.

A relative path is taken relative to the parent's folder when the parent is
loaded from a file (``ModelWrapper(path)``), else to the working directory.
"""
import json
import os

from .core.modelwrapper import ModelWrapper

CPU_NODES_KEY = "streamfold.cpu_nodes"
SDP_OP = "StreamingDataflowPartition"


def is_file_path_form(value):
    """True when a ``model`` attribute value is FINN's file path (printable
    text), False for a serialized model (binary protobuf)."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return 0 < len(value) <= 4096 and all(0x20 <= b < 0x7f for b in value)


def _attr_bytes(node):
    v = node.get_attr("model")
    return v.encode("utf-8", "surrogateescape") if isinstance(v, str) else (v or b"")


def sdp_nodes(parent):
    return [n for n in parent.graph.node if n.op_type == SDP_OP]


def child_models(parent):
    """The dataflow children of a partitioned parent, in partition order
    (either form of the ``model`` attribute)."""
    out = []
    for n in sdp_nodes(parent):
        v = _attr_bytes(n)
        out.append(ModelWrapper(v.decode() if is_file_path_form(v) else v))
    return out


def set_child_model(node, child):
    """Store ``child`` (a ModelWrapper) serialized in an SDP node (streamfold's form)."""
    node.set_string("model", child.to_bytes())


def absolutize_child_paths(parent, base_dir):
    """FINN form with relative paths: make them absolute against base_dir
    (the parent file's folder) where the file exists there."""
    for n in sdp_nodes(parent):
        v = _attr_bytes(n)
        if is_file_path_form(v) and not os.path.isabs(v.decode()):
            p = os.path.join(base_dir, v.decode())
            if os.path.isfile(p):
                n.set_string("model", os.path.abspath(p))


def save_parent_finn_form(parent, path):
    """Save ``parent`` with FINN's form of the partition attribute: every
    child written beside it as dataflow_partition_<id>/partition_<id>.onnx,
    the attribute holding the child's absolute path. ``parent`` itself is not
    changed. Returns the list of child paths."""
    path = os.path.abspath(os.fspath(path))
    base = os.path.dirname(path)
    m = parent.copy()
    paths = []
    for k, n in enumerate(sdp_nodes(m)):
        pid = n.get_attr("partition_id")
        pid = k if pid is None else int(pid)
        v = _attr_bytes(n)
        child = ModelWrapper(v.decode() if is_file_path_form(v) else v)
        d = os.path.join(base, f"dataflow_partition_{pid}")
        os.makedirs(d, exist_ok=True)
        cp = os.path.join(d, f"partition_{pid}.onnx")
        child.save(cp)
        n.set_string("model", cp)
        paths.append(cp)
    m.save(path)
    return paths


def inline_children(parent):
    """A copy of ``parent`` in streamfold's self-contained form (children
    serialized into the attributes), whichever form it had."""
    m = parent.copy()
    for n, child in zip(sdp_nodes(m), child_models(m)):
        set_child_model(n, child)
    return m


def cpu_nodes(parent):
    """[(node, reason)] for the host-side nodes of a partitioned parent."""
    entries = json.loads(parent.get_metadata_prop(CPU_NODES_KEY) or "[]")
    return [(parent.get_node_from_name(e["node"]), e["reason"]) for e in entries]


def create_dataflow_partition(model):
    """Returns (parent ModelWrapper, [child ModelWrapper], [(node, reason)])."""
    from . import transformation

    parent = model.transform(transformation.CreateDataflowPartition())
    return parent, child_models(parent), cpu_nodes(parent)


__all__ = ["create_dataflow_partition", "child_models", "cpu_nodes", "CPU_NODES_KEY", "save_parent_finn_form",
           "inline_children", "set_child_model", "is_file_path_form", "sdp_nodes"]
