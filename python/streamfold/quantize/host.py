"""Where a (partially) quantized export runs: which nodes streamfold's dataflow
partition keeps on the host, and why.

Layers left in float by the optimizer are not integer dataflow ops, so the
default ``step_streamline`` (which insists on the streamlined integer form)
refuses them. ``step_streamline_keep_float`` is the same step that lets them
through, logged; ``step_create_dataflow_partition`` then keeps them on the
host before/after the accelerator and says so for each node. Use
``build_steps()`` as a DataflowBuildConfig's ``steps`` for such a model:
build.log then names each float layer and each host-side node with the
reason, and report/host_nodes.json lists them.
"""
from __future__ import annotations

import json

from ..builder import steps as _steps

# The ONNX metadata key under which the optimizer records its result (stage,
# float layers and why); kept here so reading it needs no torch.
METADATA_KEY = "streamfold.quantize"


def float_layers_of(model):
    """The optimizer's record from the ONNX metadata ({} when absent)."""
    try:
        raw = model.get_metadata_prop(METADATA_KEY)
    except Exception:
        raw = None
    return json.loads(raw) if raw else {}


def _log(cfg):
    """The build's logger (build.log in the output dir) when there is one."""
    import logging
    import os
    out = getattr(cfg, "output_dir", None)
    return logging.getLogger(f"streamfold.build.{os.path.abspath(out)}" if out else "streamfold.quantize")


def step_streamline_keep_float(model, cfg=None, verify_inputs=None):
    """step_streamline without the integer-form check: nodes that stay float
    (the float layers) are logged and left for the partition to put on the
    host."""
    m = _steps.step_streamline(model, cfg, verify_inputs, check=False)
    left = _steps.streamlined_form_violations(m)
    m._float_nodes = left
    record = float_layers_of(model)
    log = _log(cfg)
    for h in record.get("host_layers", []):
        log.info("float layer %s: %s", h["layer"], h["reason"])
    for v in left:
        log.info("stays float: %s (%s)", v["node"], v["op_type"])
    return m


def step_create_dataflow_partition_report(model, cfg=None, verify_inputs=None):
    """step_create_dataflow_partition, then every host-side node and the
    reason go to build.log and report/host_nodes.json."""
    import os
    child = _steps.step_create_dataflow_partition(model, cfg, verify_inputs)
    rows = [{"node": n.name if n is not None else "?", "op_type": n.op_type if n is not None else "?",
             "reason": r} for n, r in getattr(child, "_cpu_nodes", [])]
    log = _log(cfg)
    for r in rows:
        log.info("host: %s", r["reason"])
    out = getattr(cfg, "output_dir", None)
    if out:
        os.makedirs(os.path.join(out, "report"), exist_ok=True)
        with open(os.path.join(out, "report", "host_nodes.json"), "w") as f:
            json.dump(rows, f, indent=2)
    return child


def build_steps(last="step_generate_estimate_reports"):
    """The default build steps up to ``last``, with step_streamline replaced
    by step_streamline_keep_float and the partition step by
    step_create_dataflow_partition_report."""
    from ..builder.config import ALL_STEPS
    names = list(ALL_STEPS[:ALL_STEPS.index(last) + 1])
    swap = {"step_streamline": step_streamline_keep_float,
            "step_create_dataflow_partition": step_create_dataflow_partition_report}
    return [swap.get(s, s) for s in names]


def placement(model):
    """Run the flow up to the dataflow partition.

    Returns dict(partitions=int, host=[(node_name, op_type, reason)],
    hw_layers=int, quantize=<the optimizer's metadata record>).
    """
    from ..core.modelwrapper import ModelWrapper
    from ..partition import create_dataflow_partition
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    record = float_layers_of(mw)
    m = _steps.step_qonnx_to_finn(mw)
    m = _steps.step_tidy_up(m)
    m = step_streamline_keep_float(m)
    m = _steps.step_convert_to_hw(m)
    parent, children, cpu = create_dataflow_partition(m)
    hw = sum(len(c.graph.node) for c in children)
    return {"partitions": len(children), "hw_layers": hw,
            "host": [(n.name if n is not None else "?", n.op_type if n is not None else "?", r) for n, r in cpu],
            "quantize": record}
