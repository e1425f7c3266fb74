"""The Zynq system around the stitched accelerator: one IODMA per top-level
stream of finn_design (DESIGN §7.6).

`dma_plan` is the single description of those DMAs. The Vivado block design
(vivado.py), the PYNQ driver (pynq_steps.py) and the board-less system
simulation (rtlsim/system.py) all read it, so the cell names the driver asks
pynq for, the parameters the bitfile is built with and the ones simulated
cannot drift apart.

Order and names follow FINN: graph inputs idma0, idma1, ...; external weight
streams continue that numbering; graph outputs odma0, ....  Each DMA gets its
own 64 KiB AXI-lite window from 0x40000000 (M_AXI_GP0), aligned to itself.
"""
from __future__ import annotations

import math

from ..errors import StreamfoldError

AXIL_BASE = 0x4000_0000
AXIL_RANGE = 0x1_0000
MAX_BURST = 16  # beats of 8 bytes: AXI3-safe on the Zynq-7000 HP ports


def _bits(dt_name):
    from ..driver.packing import _dtype_info
    return _dtype_info(dt_name)[0]


def _shapes(shape, width, bits):
    """(normal, folded, packed) shapes for batch 1 of a stream whose beats
    carry width // bits elements of the innermost axis."""
    normal = [1] + [int(s) for s in shape[1:]]
    e = max(1, width // bits)
    c = normal[-1]
    if c % e == 0:
        folded = normal[:-1] + [c // e, e]
    else:  # a beat spans innermost vectors: fold the flattened frame
        total = math.prod(normal[1:])
        folded = [1, total // e, e]
    packed = folded[:-1] + [(width + 7) // 8]
    return normal, folded, packed


def dma_plan(model, stitched_dir):
    """One dict per top-level stream of the stitched design of dataflow child
    `model` (schema: /work/briefs/issue13.md, mirrored in DESIGN §7.6)."""
    from ..core.modelwrapper import ModelWrapper
    from ..rtlsim.stitched import load_design

    mw = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    man = load_design(stitched_dir)
    names = mw._model.runtime_input_names()
    data_ins = [s for s in man["inputs"] if not s.get("weights")]
    w_ins = [s for s in man["inputs"] if s.get("weights")]
    if len(data_ins) != len(names):
        raise StreamfoldError(f"the stitched design in {stitched_dir} has {len(data_ins)} data inputs but the model "
                              f"has {len(names)}", hint="run step_create_stitched_ip again on this model")
    plan = []

    def entry(name, kind, module, port, width, beats, repeat, tensor, dt, shapes, extra=None):
        k = len(plan)
        d = {"name": name, "kind": kind, "module": module, "stream": port, "sw": (width + 7) // 8 * 8,
             "width": width, "frame_beats": int(beats), "repeat": int(repeat),
             "params": {"SW": (width + 7) // 8 * 8, "FRAME_BEATS": int(beats), "MAX_BURST": MAX_BURST},
             "axilite": "s_axi_control", "aximm": "m_axi_gmem0", "addr": AXIL_BASE + k * AXIL_RANGE,
             "range": AXIL_RANGE, "tensor": tensor, "dtype": dt}
        if module == "sf_iodma_rd":
            # Weights: one pass in memory, re-read for every frame (FINN's "wrap"
            # burst mode); inputs: N frames back to back, each read once.
            d["params"]["REPEAT"] = int(repeat)
            d["params"]["WRAP"] = 1 if kind == "weights" else 0
            # weights: one pass in DDR, streamed N*REPEAT times (sf_iodma_rd's WRAP)
            d["params"]["WRAP"] = int(kind == "weights")
        if shapes is not None:
            d["shape_normal"], d["shape_folded"], d["shape_packed"] = shapes
        d["frame_bytes"] = int(beats) * d["sw"] // 8
        d.update(extra or {})
        plan.append(d)

    for i, (t, s) in enumerate(zip(names, data_ins)):
        dt = mw.get_tensor_datatype(t).name
        shapes = _shapes(mw.get_tensor_shape(t), s["width"], _bits(dt))
        entry(f"idma{i}", "input", "sf_iodma_rd", s["name"], s["width"], math.prod(shapes[1][:-1]), 1, t, dt,
              shapes)
    for j, s in enumerate(w_ins):
        entry(f"idma{len(names) + j}", "weights", "sf_iodma_rd", s["name"], s["width"], s["pass_beats"],
              s.get("repeat", 1), s.get("tensor", ""), s.get("dtype", ""), None,
              {"node": s["node"], "weights_file": s.get("weights_file")})
    for j, (o, s) in enumerate(zip(mw.graph.output, man["outputs"])):
        dt = mw.get_tensor_datatype(o.name).name
        shapes = _shapes(mw.get_tensor_shape(o.name), s["width"], _bits(dt))
        entry(f"odma{j}", "output", "sf_iodma_wr", s["name"], s["width"], math.prod(shapes[1][:-1]), 1, o.name, dt,
              shapes)
    return plan


__all__ = ["dma_plan", "AXIL_BASE", "AXIL_RANGE", "MAX_BURST"]
