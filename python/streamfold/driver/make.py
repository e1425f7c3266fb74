"""Writes the PYNQ driver files (driver.py, driver_base.py, validate.py and
runtime_weights/) for one accelerator from its DMA plan
(streamfold.builder.system.dma_plan).

The files are FINN's (same names, io_shape_dict keys, FINNExampleOverlay API,
command line) and need only numpy and pynq: the packer's source is inlined
into driver_base.py instead of an import of streamfold.
"""
from __future__ import annotations

import ast
import os
import re

import numpy as np

from ..errors import StreamfoldError

_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
_INLINE_MARK = "# @@INLINE_PACKING@@"


def _packing_source():
    """packing.py without its module docstring and __future__ import (the
    driver_base template has both at its top)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "packing.py")
    with open(path) as f:
        src = f.read()
    tree = ast.parse(src)
    body = tree.body
    start = body[1].lineno if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 1
    lines = src.splitlines(keepends=True)[start - 1:]
    lines = [ln for ln in lines if not ln.startswith("from __future__")]
    return ("# Inlined from streamfold.driver.packing (byte-identical to FINN's finnpy_to_packed_bytearray\n"
            "# with reverse_inner=True, reverse_endian=True).\n" + "".join(lines).strip() + "\n")


def driver_base_source():
    with open(os.path.join(_TEMPLATES, "driver_base.py")) as f:
        src = f.read()
    out = []
    for ln in src.splitlines(keepends=True):
        out.append(_packing_source() if ln.rstrip().endswith(_INLINE_MARK) else ln)
    text = "".join(out)
    if re.search(r"^\s*(from streamfold\.driver\.packing |import streamfold)", text, re.M):
        raise StreamfoldError("driver_base.py template still imports streamfold's packer",
                              hint="the template's packing import must end with " + _INLINE_MARK)
    return text


def io_shape_dict(plan):
    """FINN's io_shape_dict (datatype names, shapes as tuples) from a DMA plan,
    plus the weight DMAs' names, byte counts and per-frame repeats."""
    ins = [d for d in plan if d["kind"] == "input"]
    outs = [d for d in plan if d["kind"] == "output"]
    ws = [d for d in plan if d["kind"] == "weights"]
    if not ins or not outs:
        raise StreamfoldError("the DMA plan has no input or no output stream",
                              hint="the stitched design needs at least one s_axis and one m_axis port")

    def shapes(ds, key):
        return [tuple(int(v) for v in d[key]) for d in ds]

    return {
        "idt": [d["dtype"] for d in ins],
        "odt": [d["dtype"] for d in outs],
        "ishape_normal": shapes(ins, "shape_normal"),
        "oshape_normal": shapes(outs, "shape_normal"),
        "ishape_folded": shapes(ins, "shape_folded"),
        "oshape_folded": shapes(outs, "shape_folded"),
        "ishape_packed": shapes(ins, "shape_packed"),
        "oshape_packed": shapes(outs, "shape_packed"),
        "input_dma_name": [d["name"] for d in ins],
        "output_dma_name": [d["name"] for d in outs],
        "number_of_external_weights": len(ws),
        "num_inputs": len(ins),
        "num_outputs": len(outs),
        "weight_dma_name": [d["name"] for d in ws],
        "external_weights_bytes": {d["name"]: int(d["frame_beats"]) * int(d["sw"]) // 8 for d in ws},
        "external_weights_repeat": {d["name"]: int(d.get("repeat", 1)) for d in ws},
    }


def _render(v, indent=4):
    """A Python literal of io_shape_dict with DataType["X"] for the datatypes."""
    pad = " " * indent
    lines = ["{"]
    for k, x in v.items():
        if k in ("idt", "odt"):
            s = "[" + ", ".join(f"DataType[{n!r}]" for n in x) + "]"
        else:
            s = repr(x)
        lines.append(f"{pad}{k!r}: {s},")
    lines.append("}")
    return "\n".join(lines)


def weight_bytes(entry, base_dir=None):
    """The packed bytes (uint8, 1-D) a weight DMA reads: frame_beats beats of
    sw/8 bytes, from the plan entry's weights_file (.npy of packed uint8, or a
    $readmemh-style text file, one beat per line, most significant digit first);
    a relative path is relative to base_dir (the stitched design's folder)."""
    path = entry.get("weights_file")
    if path and base_dir and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    beat = int(entry["sw"]) // 8
    want = int(entry["frame_beats"]) * beat
    if not path or not os.path.isfile(path):
        raise StreamfoldError(f"weight DMA {entry['name']} ({entry.get('node')}): weights file {path!r} not found",
                              hint="run step_create_stitched_ip again; it writes each external layer's weights")
    if path.endswith(".npy"):
        w = np.load(path)
        if w.dtype != np.uint8:
            raise StreamfoldError(f"{path} holds {w.dtype}, not packed uint8 bytes",
                                  hint="the weight stream file must hold the DMA's bytes")
        w = w.reshape(-1)
    else:
        words = []
        with open(path) as f:
            for ln in f:
                ln = ln.split("//")[0].strip()
                if not ln or ln.startswith("@"):
                    continue
                words.extend(ln.split())
        w = np.zeros((len(words), beat), np.uint8)
        for i, h in enumerate(words):
            v = int(re.sub(r"[_]", "", h), 16)
            if v >> (8 * beat):
                raise StreamfoldError(f"{path} line {i + 1}: {h} is wider than the {beat * 8}-bit stream",
                                      hint="the weights file does not match the DMA plan")
            w[i] = np.frombuffer(v.to_bytes(beat, "little"), np.uint8)
        w = w.reshape(-1)
    if w.size != want:
        raise StreamfoldError(f"weight DMA {entry['name']}: {path} has {w.size} bytes, the DMA reads {want} "
                              f"({entry['frame_beats']} beats of {beat} bytes)",
                              hint="the weights file and the stitched design come from different builds")
    return w


def write_driver(out_dir, plan, model_name="accelerator", fclk_mhz=100.0, base_dir=None):
    """driver.py, driver_base.py, validate.py and (with external weights)
    runtime_weights/<dma>.npy in out_dir (weights files relative to
    base_dir, the stitched design's folder). Returns the io_shape_dict."""
    os.makedirs(out_dir, exist_ok=True)
    shapes = io_shape_dict(plan)
    with open(os.path.join(_TEMPLATES, "driver.py")) as f:
        drv = f.read()
    drv = drv.replace("@@IO_SHAPE_DICT@@", _render(shapes)).replace("@@FCLK_MHZ@@", repr(float(fclk_mhz)))
    drv = drv.replace("@@MODEL@@", model_name)
    with open(os.path.join(_TEMPLATES, "validate.py")) as f:
        val = f.read().replace("@@MODEL@@", model_name)
    for name, text in (("driver.py", drv), ("driver_base.py", driver_base_source()), ("validate.py", val)):
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text)
    ws = [d for d in plan if d["kind"] == "weights"]
    if ws:
        wd = os.path.join(out_dir, "runtime_weights")
        os.makedirs(wd, exist_ok=True)
        for d in ws:
            np.save(os.path.join(wd, d["name"] + ".npy"), weight_bytes(d, base_dir))
    return shapes
