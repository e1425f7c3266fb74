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
    backend = "rtlsim" if label in ("node_by_node_rtlsim", "stitched_ip_rtlsim") else \
        "cppsim" if label == "folded_hls_cppsim" else "reference"
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


def _run_step(model, s, name, label, cfg, out_dir, log, console, summary, times, tag=""):
    """One step on one model: run, time, log, note, save its intermediate model."""
    fn = _step_fn(s)
    t0 = time.perf_counter()
    try:
        if console is not None:
            with console.status(f"{label} {name}{tag}"):
                model = fn(model, cfg)
        else:
            model = fn(model, cfg)
    except StreamfoldError as e:
        log.error("%s%s failed: %s: %s", name, tag, type(e).__name__, e)
        if console is not None:
            console.print(f"[red]✗[/red] {label} {name}{tag}: {type(e).__name__}")
        raise
    dt = time.perf_counter() - t0
    times[name + tag] = dt
    if getattr(model, "_dataflow_parent", None) is not None and not tag:
        cfg._dataflow_parent = model._dataflow_parent  # _verify checks the whole network through it
    summary["steps"].append(name + tag)
    note = getattr(model, "_step_note", None)
    if note:
        summary["notes"][name + tag] = note
        log.info("%s%s: %s", name, tag, note)
        model._step_note = None
    if getattr(model, "_folding_result", None) is not None:
        summary["folding" + tag] = model._folding_result
        write_json_atomic(os.path.join(out_dir, "auto_folding_config.json"), model._auto_folding_config)
        model._folding_result = None
    if cfg.save_intermediate_models:
        model.save(os.path.join(out_dir, "intermediate_models", f"{name}.onnx"))
    verify_after = cfg.verify_after()
    if name in verify_after and not tag:
        summary["verification"].append(_verify(model, cfg, name, verify_after[name], log))
    write_json_atomic(os.path.join(summary["output_dir"], "time_per_step.json"), times)
    log.info("%s%s done in %.3f s", name, tag, dt)
    if console is not None:
        console.print(f"[green]✓[/green] {label} {name}{tag} ({dt:.2f} s)" + (f"  {note}" if note else ""))
    return model


def _build_partitions(parent, kids, rest, cfg, out_dir, log, console, summary, times):
    """Build every dataflow child on its own, under <output_dir>/partition_<id>/
    (its own intermediate_models, report, final_hw_config.json), each with an
    equal share of the board (they sit on one chip). Returns the parent with
    the built children inside, which runs them in graph order; the top-level
    report/ combines them (throughput of the slowest, latencies added)."""
    import dataclasses

    from ..partition import sdp_nodes, set_child_model
    from .estimates import network_performance
    from .folding import folding_dict, hw_nodes

    n = len(kids)
    built, perf = [], {}
    ids = [int(nd.get_attr("partition_id") if nd.get_attr("partition_id") is not None else i)
           for i, nd in enumerate(sdp_nodes(parent))]
    for pid, child in zip(ids, kids):
        sub_dir = os.path.join(out_dir, f"partition_{pid}")
        os.makedirs(os.path.join(sub_dir, "intermediate_models"), exist_ok=True)
        os.makedirs(os.path.join(sub_dir, "report"), exist_ok=True)
        sub = dataclasses.replace(cfg, output_dir=sub_dir, folding_resource_fraction=cfg.folding_resource_fraction / n,
                                  start_step=None, stop_step=None, verify_steps=[])
        m = child
        for j, (s, name) in enumerate(rest, start=1):
            m = _run_step(m, s, name, f"[partition {pid}: {j}/{len(rest)}]", sub, sub_dir, log, console, summary,
                          times, tag=f"[partition_{pid}]")
        if hw_nodes(m):
            write_json_atomic(os.path.join(sub_dir, "final_hw_config.json"), folding_dict(m))
        perf[f"partition_{pid}"] = network_performance(m, cfg.synth_clk_period_ns)
        built.append(m)
    parent = parent.copy()
    for node, m in zip(sdp_nodes(parent), built):
        set_child_model(node, m)
    summary["partitions"] = built
    summary["parent"] = parent
    if "estimate_reports" in (cfg.generate_outputs or []) and perf:
        slow = max(perf, key=lambda p: perf[p]["max_cycles"])
        combined = {
            "partitions": perf,
            "max_cycles": perf[slow]["max_cycles"],
            "max_cycles_node_name": f"{slow}/{perf[slow]['max_cycles_node_name']}",
            # one frame passes through the partitions in turn (the host in between is not counted)
            "critical_path_cycles": sum(p["critical_path_cycles"] for p in perf.values()),
            "estimated_throughput_fps": min(p["estimated_throughput_fps"] for p in perf.values()),
            "estimated_latency_ns": sum(p["estimated_latency_ns"] for p in perf.values()),
        }
        write_json_atomic(os.path.join(out_dir, "report", "estimate_network_performance.json"), combined)
    if cfg.save_intermediate_models:
        parent.save(os.path.join(out_dir, "intermediate_models", "dataflow_parent_built.onnx"))
    return parent


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
    times = {}
    summary = {"output_dir": out_dir, "steps": [], "notes": {}, "verification": []}
    console = None
    if progress:
        from rich.console import Console

        console = Console(stderr=True)
    todo = list(zip(steps[first:last + 1], names[first:last + 1]))
    parent = None
    k = 0
    while k < len(todo):
        s, name = todo[k]
        k += 1
        model = _run_step(model, s, name, f"[{k}/{len(todo)}]", cfg, out_dir, log, console, summary, times)
        if getattr(model, "_dataflow_parent", None) is not None:
            parent = model._dataflow_parent  # attributes do not survive the next step's copy
        kids = getattr(model, "_dataflow_children", None)
        if kids and len(kids) > 1:
            # Several partitions: the remaining steps run on each child on its own.
            model = _build_partitions(model, kids, todo[k:], cfg, out_dir, log, console, summary, times)
            parent = None
            break
    if summary["verification"]:
        write_json_atomic(os.path.join(out_dir, "report", "verification_results.json"), summary["verification"])
    from .folding import folding_dict, hw_nodes

    if hw_nodes(model) and not summary.get("partitions"):  # several: one per partition_<id>/
        write_json_atomic(os.path.join(out_dir, "final_hw_config.json"), folding_dict(model))
    if parent is not None:
        # The host parent with the built child, self-contained: runs end to end.
        from ..partition import sdp_nodes, set_child_model

        parent = parent.copy()
        set_child_model(sdp_nodes(parent)[0], model)
        summary["parent"] = parent
    log.info("build finished")
    summary["model"] = model  # the built child; with several partitions, the parent running them
    summary["time_per_step"] = times
    return summary


__all__ = ["build_dataflow_cfg", "DataflowBuildConfig"]
