"""Estimate reports in FINN's file names and keys (DESIGN §5): per-layer
cycles and resources, network throughput/latency, op and parameter counts.
All numbers come from the ops' own cost models through `_core.hw_estimate`."""
from __future__ import annotations

import json
import os
import tempfile

from .. import _core
from .folding import RES_KEYS, _attr, _raw, base_op, hw_nodes


def layer_estimates(model):
    """{node: dict(cycles, lut, ff, bram18, uram, dsp)} for every HW layer."""
    return {n.name: dict(_core.hw_estimate(_raw(model), n.name)) for _, n in hw_nodes(model)}


def layer_cycles(model):
    """estimate_layer_cycles.json: {node: cycles}."""
    return {k: int(v["cycles"]) for k, v in layer_estimates(model).items()}


def layer_resources(model):
    """estimate_layer_resources.json: {node: {LUT, FF, BRAM_18K, URAM, DSP}, "total": {...}}."""
    out = {k: {RES_KEYS[r]: float(v[r]) for r in RES_KEYS} for k, v in layer_estimates(model).items()}
    out["total"] = {RES_KEYS[r]: float(sum(v[RES_KEYS[r]] for v in out.values())) for r in RES_KEYS}
    return out


def network_performance(model, clock_ns):
    """estimate_network_performance.json. Throughput is set by the slowest
    layer (clock_hz / max cycles); latency by the critical path (FINN: the
    longest sum of cycles over any input-to-output path; for a chain, the sum)."""
    est = layer_estimates(model)
    raw = _raw(model)
    latency_at = {}  # tensor -> cycles until its first frame is complete
    crit = 0
    for n in raw.graph.node:  # graph order is topological
        start = max((latency_at.get(t, 0) for t in n.input if t), default=0)
        end = start + (est[n.name]["cycles"] if n.name in est else 0)
        for t in n.output:
            latency_at[t] = end
        crit = max(crit, end)
    if not est:
        return {"critical_path_cycles": 0, "max_cycles": 0, "max_cycles_node_name": "",
                "estimated_throughput_fps": 0.0, "estimated_latency_ns": 0.0}
    slow = max(est, key=lambda k: est[k]["cycles"])
    max_cycles = int(est[slow]["cycles"])
    return {
        "critical_path_cycles": int(crit),
        "max_cycles": max_cycles,
        "max_cycles_node_name": slow,
        "estimated_throughput_fps": 1e9 / (clock_ns * max_cycles) if max_cycles else float("inf"),
        "estimated_latency_ns": float(crit * clock_ns),
    }


def op_and_param_counts(model):
    """op_and_param_counts.json with FINN's keys (op_mac_AbxBb, param_weight_Nb,
    param_threshold_Nb) per node and a "total"."""
    out = {}
    raw = _raw(model)
    for _, n in hw_nodes(model):
        op = base_op(n.op_type)
        d = {}
        if op in ("MVAU", "VVAU"):
            ibits = _core.DataType.from_name(_attr(n, "inputDataType")).bitwidth()
            wbits = _core.DataType.from_name(_attr(n, "weightDataType")).bitwidth()
            reps = 1
            if op == "MVAU":
                for v in _attr(n, "numInputVectors", [1]):
                    reps *= int(v)
                macs = int(_attr(n, "MW")) * int(_attr(n, "MH"))
                weights, outs = macs, int(_attr(n, "MH"))
            else:
                k = _attr(n, "Kernel", [1, 1])
                dim = _attr(n, "Dim", [1, 1])
                c = int(_attr(n, "Channels"))
                weights = c * k[0] * k[1]
                macs, reps, outs = weights, int(dim[0]) * int(dim[1]), c
            d[f"op_mac_{min(ibits, wbits)}bx{max(ibits, wbits)}b"] = macs * reps
            d[f"param_weight_{wbits}b"] = weights
            if not int(_attr(n, "noActivation", 0)):
                adt = _attr(n, "accDataType")
                tbits = _core.DataType.from_name(adt).bitwidth() if adt else 32
                d[f"param_threshold_{tbits}b"] = outs
        elif op == "Thresholding" and len(n.input) > 1:
            t = raw.get_initializer(n.input[1])
            idt = _attr(n, "inputDataType")
            tbits = _core.DataType.from_name(idt).bitwidth() if idt else 32
            if t is not None:
                d[f"param_threshold_{tbits}b"] = int(t.size)
        if d:
            out[n.name] = d
    total = {}
    for d in out.values():
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    out["total"] = total
    return out


def write_json_atomic(path, obj):
    """Write JSON to a temp file in the same folder, then rename: readers never
    see a half-written report, even if the build is killed mid-write."""
    path = os.fspath(path)
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".json", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_estimate_reports(model, report_dir, clock_ns):
    """The four FINN estimate reports under report_dir; returns their contents."""
    reports = {
        "op_and_param_counts.json": op_and_param_counts(model),
        "estimate_layer_cycles.json": layer_cycles(model),
        "estimate_layer_resources.json": layer_resources(model),
        "estimate_network_performance.json": network_performance(model, clock_ns),
    }
    for name, obj in reports.items():
        write_json_atomic(os.path.join(report_dir, name), obj)
    return reports


__all__ = ["layer_estimates", "layer_cycles", "layer_resources", "network_performance", "op_and_param_counts",
           "write_estimate_reports", "write_json_atomic"]
