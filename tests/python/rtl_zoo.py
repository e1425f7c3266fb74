"""Shared set-up for the RTL zoo tests: a zoo model through FINN's steps to a
folded, bit-width-minimized dataflow child, and its Brevitas reference."""
import tempfile

import numpy as np

import streamfold as sf
from streamfold import zoo
from streamfold.builder import steps
from streamfold.builder.config import ALL_STEPS, DataflowBuildConfig

_cache = {}


def folded(name, target_fps=100_000, extra_steps=(), generate_outputs=("stitched_ip",), **cfg_kw):
    """(cfg, parent, child) after step_minimize_bit_width (plus extra_steps)."""
    key = (name, target_fps, tuple(extra_steps), tuple(generate_outputs), tuple(sorted(cfg_kw.items())))
    if key in _cache:
        return _cache[key]
    out = tempfile.mkdtemp(prefix=f"sf_rtl_{name}_")
    cfg = DataflowBuildConfig(output_dir=out, board="Pynq-Z2", target_fps=target_fps, mvau_wwidth_max=1024,
                              generate_outputs=list(generate_outputs), steps=ALL_STEPS, **cfg_kw)
    m = sf.ModelWrapper(zoo.export(name))
    for s in ALL_STEPS[:9] + list(extra_steps):
        m = getattr(steps, s)(m, cfg)
        if s == "step_create_dataflow_partition":
            cfg._dataflow_parent = m._dataflow_parent
    _cache[key] = (cfg, cfg._dataflow_parent, m)
    return _cache[key]


def rtl_steps(name, fps, last):
    """(cfg, parent, child) after the RTL steps ALL_STEPS[9:last] on top of
    folded() (15: up to step_measure_rtlsim_performance)."""
    cfg, parent, m = folded(name, fps, generate_outputs=("estimate_reports", "stitched_ip", "rtlsim_performance"),
                            rtlsim_batch_size=4)
    for s in ALL_STEPS[9:last]:
        m = getattr(steps, s)(m, cfg)
    return cfg, parent, m


def with_child(parent, child):
    from streamfold.builder.build import _with_child
    return _with_child(parent, child)


def run_parent(parent, x, **kw):
    name = parent.graph.input[0].name
    return sf.execute_onnx(parent, {name: x}, **kw)[parent.graph.output[0].name]


def inputs(name, n, seed=0):
    return np.asarray(zoo.example_input(name, n=n, seed=seed), dtype=np.float32)
