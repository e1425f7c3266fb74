"""Run a list of passes, optionally verifying the function after each one."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import _core
from ..errors import VerificationError


@dataclass
class VerificationReport:
    passes: list = field(default_factory=list)  # [{"name", "seconds", "changed"}]
    ok: bool = True
    failure: dict | None = None  # pass, tensor, index, before, after, message

    def summary(self):
        lines = [f"{p['name']:40s} {p['seconds'] * 1e3:8.2f} ms  {'changed' if p['changed'] else ''}"
                 for p in self.passes]
        if not self.ok:
            lines.append("FAILED: " + self.failure["message"])
        return "\n".join(lines)


def run_pipeline(model, passes, verify_inputs=None, rtol=1e-5, atol=1e-6, raise_on_failure=True):
    """Apply ``passes`` (names) to a copy of ``model``.

    With ``verify_inputs`` (a dict, or a list of dicts, of graph inputs) the
    model is executed before and after every pass that changes it; the first
    pass that changes the outputs stops the run and is reported with the
    first differing tensor, index and both values (VerificationError, or the
    report's ``failure`` with raise_on_failure=False).
    Returns (new_model, report).
    """
    from ..core.modelwrapper import ModelWrapper

    m = ModelWrapper(model)
    if isinstance(verify_inputs, dict):
        verify_inputs = [verify_inputs]
    r = _core.run_pipeline(m._model, list(passes), list(verify_inputs or []), rtol, atol)
    report = VerificationReport(passes=r["passes"], ok=r["ok"], failure=r.get("failure"))
    if not report.ok and raise_on_failure:
        f = report.failure
        raise VerificationError(f["message"], hint="run the per-layer diff on the model before this pass and "
                                "report the pass as a streamfold bug", pass_name=f["pass"], tensor=f["tensor"],
                                index=f["index"], before=f["before"], after=f["after"], report=report)
    return m, report
