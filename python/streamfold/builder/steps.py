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


def step_streamline(model, cfg=None, verify_inputs=None, check=True):
    """Move, collapse and absorb float scales and biases into thresholds and
    lower convolutions, so only integer dataflow ops remain. Raises
    StreamlineError naming every node that cannot be streamlined, unless
    check=False."""
    _core.clear_refusals()
    m = _run("step_streamline", model, cfg, verify_inputs)
    if check:
        violations = streamlined_form_violations(m)
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
