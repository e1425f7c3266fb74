"""build_dataflow_cfg: run FINN's build steps on a model and write FINN's
outputs (intermediate_models/<step>.onnx, time_per_step.json,
final_hw_config.json, build.log, report/).

Every output file is written atomically (temp file + rename), so an
interrupted build leaves each file either complete or absent, never half
written; the config is validated before any step runs.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..core.modelwrapper import ModelWrapper
from ..errors import ConfigError, StreamfoldError
from . import steps as step_lib
from .config import DataflowBuildConfig
from .estimates import write_json_atomic


def _step_fn(s):
    if callable(s):
        return s
    fn = getattr(step_lib, s, None)
    if fn is None:  # validate() already refused unknown names; this is a guard
        raise ConfigError(f"no step function {s!r}", hint="see builder.config.ALL_STEPS", key="steps")
    return fn


def _name(s):
    return s if isinstance(s, str) else getattr(s, "__name__", repr(s))


def _logger(output_dir):
    log = logging.getLogger(f"streamfold.build.{os.path.abspath(output_dir)}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    h = logging.FileHandler(os.path.join(output_dir, "build.log"), mode="a")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(h)
    return log


def _verify(model, cfg, step, label, log):
    """Run the model on verify_input_npy, compare with the expected output;
    returns a dict for verification_results (FINN logs and goes on)."""
    from ..core.onnx_exec import execute_onnx

    x = np.load(cfg.verify_input_npy)
    want = np.load(cfg.verify_expected_output_npy)
    backend = "rtlsim" if label in ("node_by_node_rtlsim", "stitched_ip_rtlsim") else "reference"
    parent = getattr(cfg, "_dataflow_parent", None)
    if parent is not None and step not in ("step_qonnx_to_finn", "step_tidy_up", "step_streamline",
                                           "step_convert_to_hw"):
        # After the partition the build carries the child; verify the whole
        # network (host nodes + this child) on the original input.
        model = _with_child(parent, model)
    names = model._model.runtime_input_names()
    out = execute_onnx(model, {names[0]: x.astype(np.float32)}, backend=backend)
    got = out[model.graph.output[0].name]
    ok = got.size == want.size and np.allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)
    log.info("verify %s after %s: %s", label, step, "SUCCESS" if ok else "FAIL")
    return {"step": step, "result": "SUCCESS" if ok else "FAIL"}


def _with_child(parent, child):
    """A copy of the partitioned parent whose (single) dataflow child is `child`."""
    p = parent.copy()
    sdp = [n for n in p.graph.node if n.op_type == "StreamingDataflowPartition"]
    if len(sdp) == 1:
        sdp[0].set_string("model", child.to_bytes())
    return p


def _load_resume_model(cfg, names):
    i = names.index(cfg.start_step)
    if i == 0:
        return None
    prev = os.path.join(cfg.output_dir, "intermediate_models", f"{names[i - 1]}.onnx")
    if not os.path.isfile(prev):
        raise ConfigError(f"start_step {cfg.start_step!r} resumes from {prev}, which does not exist",
                          hint="run the earlier steps with save_intermediate_models=True first",
                          key="start_step")
    return ModelWrapper(prev)


def build_dataflow_cfg(model_file, cfg, progress=True):
    """Run the configured steps. Returns a summary dict (steps run, times,
    folding result, output_dir). Raises ConfigError before any work if cfg is
    wrong, and re-raises a failing step's error after logging it."""
    if isinstance(cfg, dict):
        cfg = DataflowBuildConfig.from_dict(cfg)
    elif isinstance(cfg, (str, os.PathLike)):
        cfg = DataflowBuildConfig.from_file(cfg)
    cfg.validate()
    steps = cfg.resolved_steps()
    names = [_name(s) for s in steps]
    first = names.index(cfg.start_step) if cfg.start_step else 0
    last = names.index(cfg.stop_step) if cfg.stop_step else len(names) - 1
    out_dir = os.fspath(cfg.output_dir)
    os.makedirs(os.path.join(out_dir, "intermediate_models"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "report"), exist_ok=True)

    model = _load_resume_model(cfg, names) if cfg.start_step else None
    if model is None:
        if not isinstance(model_file, ModelWrapper) and not os.path.isfile(os.fspath(model_file)):
            raise ConfigError(f"model file {os.fspath(model_file)!r} does not exist", hint="check the path",
                              key="model")
        model = ModelWrapper(model_file)

    log = _logger(out_dir)
    log.info("build started: steps %s", names[first:last + 1])
    verify_after = cfg.verify_after()
    if verify_after:
        from ..core.onnx_exec import execute_onnx  # noqa: F401 - fail early if unavailable
    times_path = os.path.join(out_dir, "time_per_step.json")
    times = {}
    summary = {"output_dir": out_dir, "steps": [], "notes": {}, "verification": []}
    console = None
    if progress:
        from rich.console import Console

        console = Console(stderr=True)
    todo = list(zip(steps[first:last + 1], names[first:last + 1]))
    for k, (s, name) in enumerate(todo, start=1):
        fn = _step_fn(s)
        t0 = time.perf_counter()
        try:
            if console is not None:
                with console.status(f"[{k}/{len(todo)}] {name}"):
                    model = fn(model, cfg)
            else:
                model = fn(model, cfg)
        except StreamfoldError as e:
            log.error("%s failed: %s: %s", name, type(e).__name__, e)
            if console is not None:
                console.print(f"[red]✗[/red] [{k}/{len(todo)}] {name}: {type(e).__name__}")
            raise
        dt = time.perf_counter() - t0
        times[name] = dt
        if getattr(model, "_dataflow_parent", None) is not None:
            cfg._dataflow_parent = model._dataflow_parent
        summary["steps"].append(name)
        note = getattr(model, "_step_note", None)
        if note:
            summary["notes"][name] = note
            log.info("%s: %s", name, note)
            model._step_note = None
        if getattr(model, "_folding_result", None) is not None:
            summary["folding"] = model._folding_result
            write_json_atomic(os.path.join(out_dir, "auto_folding_config.json"), model._auto_folding_config)
            model._folding_result = None
        if cfg.save_intermediate_models:
            model.save(os.path.join(out_dir, "intermediate_models", f"{name}.onnx"))
        if name in verify_after:
            summary["verification"].append(_verify(model, cfg, name, verify_after[name], log))
        write_json_atomic(times_path, times)
        log.info("%s done in %.3f s", name, dt)
        if console is not None:
            console.print(f"[green]✓[/green] [{k}/{len(todo)}] {name} ({dt:.2f} s)"
                          + (f"  {note}" if note else ""))
    if summary["verification"]:
        write_json_atomic(os.path.join(out_dir, "report", "verification_results.json"), summary["verification"])
    from .folding import folding_dict, hw_nodes

    if hw_nodes(model):
        write_json_atomic(os.path.join(out_dir, "final_hw_config.json"), folding_dict(model))
    log.info("build finished")
    summary["model"] = model
    summary["time_per_step"] = times
    return summary


__all__ = ["build_dataflow_cfg", "DataflowBuildConfig"]
