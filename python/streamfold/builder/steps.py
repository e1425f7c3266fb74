"""Build steps with FINN's names and calling convention: each takes a
ModelWrapper and a build config and returns the new model.

The pass lists live in the C++ core (cpp/passes/pipeline.cpp), one readable
list per step; here they are run, optionally verified pass by pass.
"""
from __future__ import annotations

from .. import _core
from ..core.modelwrapper import ModelWrapper
from ..errors import StreamlineError
from ..transformation.pipeline import run_pipeline


def step_pass_list(step_name):
    """The pass names a step runs, in order."""
    return list(_core.step_passes(step_name))


def _verify_inputs(cfg, verify_inputs):
    if verify_inputs is not None:
        return verify_inputs
    return getattr(cfg, "_verify_inputs", None) if cfg is not None else None


def _run(step_name, model, cfg, verify_inputs):
    m, report = run_pipeline(model, step_pass_list(step_name), _verify_inputs(cfg, verify_inputs))
    m._last_report = report
    return m


def step_qonnx_to_finn(model, cfg=None, verify_inputs=None):
    """QONNX -> FINN-ONNX: integer weights, quantized activations as MultiThreshold."""
    return _run("step_qonnx_to_finn", model, cfg, verify_inputs)


def step_tidy_up(model, cfg=None, verify_inputs=None):
    """Shapes, datatypes, constant folding, unique and readable names."""
    return _run("step_tidy_up", model, cfg, verify_inputs)


def step_streamline(model, cfg=None, verify_inputs=None, check=True, host_float_layers=None):
    """Move, collapse and absorb float scales and biases into thresholds and
    lower convolutions, so only integer dataflow ops remain. Raises
    StreamlineError naming every node that cannot be streamlined, unless
    check=False. With host_float_layers (default: cfg.host_float_layers),
    layers computing on the raw float input before any quantizer are
    accepted: they stay on the host and the dataflow partition starts after
    them."""
    _core.clear_refusals()
    m = _run("step_streamline", model, cfg, verify_inputs)
    if host_float_layers is None:
        host_float_layers = bool(getattr(cfg, "host_float_layers", False)) if cfg is not None else False
    if check:
        violations = [v for v in streamlined_form_violations(m) if not (host_float_layers and v["float_head"])]
        if violations:
            msg = f"{len(violations)} node(s) left after step_streamline are not integer dataflow ops:\n  " + \
                "\n  ".join(v["message"] for v in violations)
            raise StreamlineError(msg, hint=violations[0]["hint"], where=violations[0]["node"],
                                  violations=violations)
    return m


def streamlined_form_violations(model):
    """[dict(node, op_type, why, inputs, outputs, refusals, hint, message)] for
    every node that is not allowed in the streamlined canonical form."""
    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    return _core.check_streamlined_form(mw._model)


__all__ = ["step_qonnx_to_finn", "step_tidy_up", "step_streamline", "step_pass_list",
           "streamlined_form_violations"]


# ---- HW steps (convert, specialize, fold, minimize, estimate) ------------------
# Config-dependent steps read cfg (a DataflowBuildConfig); cfg=None uses defaults.

def _pass_registered(name):
    return any(n == name for n, _, _ in _core.list_passes())


def step_convert_to_hw(model, cfg=None, verify_inputs=None):
    """Streamlined ops -> finn.custom_op.fpgadataflow HW layers (pass ConvertToHW)."""
    from ..errors import ConfigError

    if not _pass_registered("ConvertToHW"):
        raise ConfigError("step_convert_to_hw is not yet available: the ConvertToHW pass is not registered",
                          hint="start the build at a later step with a hand-built HW graph", key="steps")
    return _run_passes(model, ["ConvertToHW"], cfg, verify_inputs)


def _run_passes(model, names, cfg, verify_inputs):
    m, report = run_pipeline(model, names, _verify_inputs(cfg, verify_inputs))
    m._last_report = report
    return m


def step_create_dataflow_partition(model, cfg=None, verify_inputs=None):
    """Split the HW layers off into dataflow child models, as FINN's builder
    does. The parent (host-side nodes around StreamingDataflowPartition
    nodes) is saved as intermediate_models/dataflow_parent.onnx in FINN's
    form (children beside it, their paths in the nodes; see
    streamfold.partition) when cfg has an output_dir.

    One partition: returns the child, and the later steps work on it.
    Several (host nodes between HW layers): returns the parent, whose
    ``_dataflow_children`` lists the children in the order the parent runs
    them; build_dataflow_cfg builds each on its own (partition_<id>/)."""
    import os

    from ..errors import StreamfoldError
    from ..partition import create_dataflow_partition, save_parent_finn_form

    parent, children, cpu = create_dataflow_partition(model)
    out_dir = getattr(cfg, "output_dir", None) if cfg is not None else None
    if out_dir:
        d = os.path.join(out_dir, "intermediate_models")
        os.makedirs(d, exist_ok=True)
        save_parent_finn_form(parent, os.path.join(d, "dataflow_parent.onnx"))
    if not children:
        where = "; ".join(r for _, r in cpu[:3])
        raise StreamfoldError("the model has no HW layers: there is nothing to build into a dataflow partition",
                              hint="run step_convert_to_hw first; nodes left on the host: " + (where or "none"))
    # Every HW layer name of the network: a specialize config may name layers
    # of any partition, and each partition is specialized on its own.
    from .folding import hw_nodes

    all_hw = {n.name for c in children for _, n in hw_nodes(c)}
    for c in children:
        c._all_hw_names = all_hw
    if len(children) == 1:
        child = children[0]
        child._dataflow_parent = parent
        child._cpu_nodes = cpu
        return child
    parent._dataflow_children = children
    parent._dataflow_parent = parent
    parent._cpu_nodes = cpu
    parent._step_note = (f"{len(children)} dataflow partitions (host nodes between them: "
                         + ", ".join(r.split(":")[0] for _, r in cpu if "between" in r) + "); each is built on its own")
    return parent


IMPL_STYLES = ("rtl", "hls")


def load_specialize_config(path, node_names):
    """FINN's specialize_layers_config_file, checked: {"Defaults":
    {"preferred_impl_style": [value, ["all"] | [op types], ...] or value},
    "<node>": {"preferred_impl_style": value}}. Returns (defaults
    [(value, ops or None for all)], {node: value}); a bad entry is a
    ConfigError naming it."""
    import difflib
    import json

    from ..errors import ConfigError

    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"specialize_layers_config_file {path!r} cannot be read: {e}",
                          key="specialize_layers_config_file", hint="it is a JSON object")
    if not isinstance(cfg, dict):
        raise ConfigError("specialize_layers_config_file must hold a JSON object", key="specialize_layers_config_file",
                          hint='{"Defaults": {"preferred_impl_style": ["hls", ["all"]]}}')

    def style(v, where):
        if v not in IMPL_STYLES and v != "":
            raise ConfigError(f"{where}: preferred_impl_style {v!r} is not 'rtl' or 'hls'", key=where,
                              hint="use \"rtl\" or \"hls\"")
        return v

    def keys(entry, where):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object", key=where, hint='{"preferred_impl_style": "hls"}')
        for k in entry:
            if k != "preferred_impl_style":
                raise ConfigError(f"{where}: unknown key {k!r}", key=f"{where}.{k}",
                                  hint="step_specialize_layers reads preferred_impl_style only; folding keys go "
                                       "into folding_config_file")

    defaults = []
    d = cfg.get("Defaults", {})
    keys(d, "Defaults")
    if "preferred_impl_style" in d:
        v = d["preferred_impl_style"]
        if isinstance(v, str):
            defaults.append((style(v, "Defaults"), None))
        else:
            if not isinstance(v, list) or len(v) % 2:
                raise ConfigError("Defaults.preferred_impl_style must be a value or [value, ops, value, ops, ...]",
                                  key="Defaults.preferred_impl_style", hint='["rtl", ["MVAU", "VVAU"], "hls", ["all"]]')
            for val, ops in zip(v[::2], v[1::2]):
                if ops != "all" and ops != ["all"] and not (isinstance(ops, list) and all(isinstance(o, str)
                                                                                          for o in ops)):
                    raise ConfigError(f"Defaults.preferred_impl_style: {ops!r} is not 'all' or a list of op types",
                                      key="Defaults.preferred_impl_style", hint='["hls", ["MVAU", "Thresholding"]]')
                defaults.append((style(val, "Defaults"), None if ops in ("all", ["all"]) else list(ops)))
    per_node = {}
    for name, entry in cfg.items():
        if name == "Defaults":
            continue
        if name not in node_names:
            close = difflib.get_close_matches(name, sorted(node_names), n=1)
            raise ConfigError(f"specialize_layers_config_file names node {name!r}, which is not a HW layer of "
                              "the graph", key=name,
                              hint=(f"did you mean {close[0]!r}? " if close else "") + "node names as in the HW graph")
        keys(entry, name)
        if "preferred_impl_style" in entry:
            per_node[name] = style(entry["preferred_impl_style"], name)
    return defaults, per_node


def step_specialize_layers(model, cfg=None, verify_inputs=None):
    """Choose each HW layer's implementation, recorded in preferred_impl_style
    (the op_type keeps its generic name: the C++ ops serve both styles). The
    style is, in order: the node's entry in cfg.specialize_layers_config_file,
    the last matching Defaults entry there, the node's own attribute, else rtl
    where the op has an RTL implementation (streamfold's primary back end),
    else hls. A style the op lacks falls back to the other one with a warning
    naming the node."""
    import warnings

    from .. import _core
    from .folding import base_op, hw_nodes

    rtl, hls = set(_core.rtl_ops()), set(_core.hls_ops())
    have = {"rtl": rtl, "hls": hls}
    nodes = hw_nodes(model)
    defaults, per_node = [], {}
    if cfg is not None and cfg.specialize_layers_config_file:
        known = (getattr(model, "_all_hw_names", None) or set()) | {n.name for _, n in nodes}
        defaults, per_node = load_specialize_config(cfg.specialize_layers_config_file, known)
    fallbacks = []
    for _, n in nodes:
        op = base_op(n.op_type)
        v = n.get_attr("preferred_impl_style") if n.has_attr("preferred_impl_style") else None
        v = v.decode() if isinstance(v, bytes) else v
        for val, ops in defaults:
            if ops is None or op in ops or n.op_type in ops:
                v = val
        v = per_node.get(n.name, v)
        if v in (None, ""):
            v = "rtl" if op in rtl else "hls"
        elif op not in have[v]:
            other = "hls" if v == "rtl" else "rtl"
            if op in have[other]:
                msg = f"{n.name} ({op}): preferred_impl_style {v} is not available for this op; {other} is used"
                warnings.warn(msg, stacklevel=2)
                fallbacks.append(msg)
                v = other
        n.set_string("preferred_impl_style", v)
    counts = {s: sum(1 for _, n in nodes if n.get_attr("preferred_impl_style") in (s, s.encode())) for s in IMPL_STYLES}
    note = ", ".join(f"{c} {s}" for s, c in counts.items() if c)
    if fallbacks:
        note += "; " + "; ".join(fallbacks)
    model._step_note = note
    return model


def step_target_fps_parallelization(model, cfg=None, verify_inputs=None):
    """SetFolding to cfg.target_fps on cfg's board (skipped without target_fps)."""
    from .folding import folding_dict, set_folding

    if cfg is None or cfg.target_fps is None:
        return model
    board = cfg.resolved_board()
    m, res = set_folding(model, cfg.target_fps, cfg.synth_clk_period_ns, board.name, cfg.mvau_wwidth_max,
                         cfg.folding_resource_fraction)
    m._folding_result = res
    m._step_note = res.message()
    m._auto_folding_config = folding_dict(m)
    return m


def step_apply_folding_config(model, cfg=None, verify_inputs=None):
    """ApplyConfig(cfg.folding_config_file) (skipped without one)."""
    from .folding import apply_folding_config

    if cfg is None or not cfg.folding_config_file:
        return model
    return apply_folding_config(model, cfg.folding_config_file)


def step_minimize_bit_width(model, cfg=None, verify_inputs=None):
    """MinimizeWeightBitWidth, then MinimizeAccumulatorWidth (FINN's order)."""
    from .folding import MinimizeAccumulatorWidth, MinimizeWeightBitWidth

    model = model.transform(MinimizeWeightBitWidth())
    model = model.transform(MinimizeAccumulatorWidth())
    return align_input_datatypes(model)


_INPUT_DT_KEYS = ("inputDataType", "InputDataType")


def align_input_datatypes(model):
    """Narrow each HW layer's declared input datatype to the type its input
    tensor really has, as FINN's ops do when they infer datatypes. A
    Thresholding layer converted from a float-typed Add declares INT32/UINT32
    input while its producer streams UINT5: the RTL would read 32-bit elements
    from a 5-bit stream. Only narrowing within the declared range is done, so
    every value the layer can receive is still representable."""
    from .. import DataType
    from .folding import hw_nodes

    changed = False
    for _, n in hw_nodes(model):
        for key in _INPUT_DT_KEYS:
            if not n.has_attr(key):
                continue
            v = n.get_attr(key)
            declared = DataType[v.decode() if isinstance(v, bytes) else v]
            actual = model.get_tensor_datatype(n.input[0])
            if actual.name == declared.name or not (actual.is_integer() or actual.name == "BIPOLAR"):
                continue
            if actual.min() >= declared.min() and actual.max() <= declared.max():
                n.set_string(key, actual.name)
                changed = True
    return model.transform("InferDataTypes") if changed else model


def step_generate_estimate_reports(model, cfg=None, verify_inputs=None):
    """The FINN estimate reports under <output_dir>/report."""
    import os

    from .estimates import write_estimate_reports

    if cfg is None:
        return model
    if "estimate_reports" in (cfg.generate_outputs or []):
        write_estimate_reports(model, os.path.join(os.fspath(cfg.output_dir), "report"), cfg.synth_clk_period_ns)
    return model


from .bitfile_steps import step_synthesize_bitfile  # noqa: E402,F401
from .hw_steps import (step_create_stitched_ip, step_hw_codegen, step_hw_ipgen,  # noqa: E402,F401
                       step_measure_rtlsim_performance, step_out_of_context_synthesis, step_set_fifo_depths)
from .pynq_steps import step_deployment_package, step_make_pynq_driver  # noqa: E402,F401
