"""Dataflow partitioning (FINN's CreateDataflowPartition).

    parent, children, cpu_nodes = create_dataflow_partition(model)

``parent`` runs on the host and calls each child through a
StreamingDataflowPartition node; each child holds one contiguous region of
HW layers. The child travels serialized in the node's ``model`` attribute
(FINN stores a file path there), so the parent executes end to end on its own.
``cpu_nodes`` lists ``(node, reason)`` for every node left on the host.
"""
import json

from .core.modelwrapper import ModelWrapper

CPU_NODES_KEY = "streamfold.cpu_nodes"


def child_models(parent):
    """The dataflow children of a partitioned parent, in partition order."""
    out = []
    for n in parent.graph.node:
        if n.op_type == "StreamingDataflowPartition":
            out.append(ModelWrapper(n.get_attr("model")))
    return out


def cpu_nodes(parent):
    """[(node, reason)] for the host-side nodes of a partitioned parent."""
    entries = json.loads(parent.get_metadata_prop(CPU_NODES_KEY) or "[]")
    return [(parent.get_node_from_name(e["node"]), e["reason"]) for e in entries]


def create_dataflow_partition(model):
    """Returns (parent ModelWrapper, [child ModelWrapper], [(node, reason)])."""
    from . import transformation

    parent = model.transform(transformation.CreateDataflowPartition())
    return parent, child_models(parent), cpu_nodes(parent)


__all__ = ["create_dataflow_partition", "child_models", "cpu_nodes", "CPU_NODES_KEY"]
