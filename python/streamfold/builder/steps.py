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


def step_specialize_layers(model, cfg=None, verify_inputs=None):
    """Record preferred_impl_style on every HW layer that has none: rtl where
    the op has an RTL implementation (streamfold's primary back end), else hls.
    The op_type keeps its generic name: the C++ ops serve both styles."""
    from .. import _core
    from .folding import base_op, hw_nodes

    rtl = set(_core.rtl_ops())
    for _, n in hw_nodes(model):
        v = n.get_attr("preferred_impl_style") if n.has_attr("preferred_impl_style") else None
        if v in (None, b"", ""):
            n.set_string("preferred_impl_style", "rtl" if base_op(n.op_type) in rtl else "hls")
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
