"""Model summaries: op counts, datatypes, parameters, MACs, weight memory.
Used by `streamfold info` and the demo."""
from __future__ import annotations

from collections import Counter

import numpy as np

from . import _core
from .core.modelwrapper import ModelWrapper

_MAC_OPS = {"MatMul", "Gemm", "Conv", "XnorPopcountMatMul"}
_QUANTIZERS = {"Quant", "BipolarQuant", "Trunc", "IntQuant"}


def _weight_source(mw, tensor):
    """(initializer name, bit width) behind a weight input, looking through a
    quantizer on a constant: the stored bits are the quantizer's."""
    if mw.get_initializer(tensor) is not None:
        dt = mw.get_tensor_datatype(tensor)
        return tensor, dt.bitwidth()
    prod = mw.find_producer(tensor)
    if prod is None or prod.op_type not in _QUANTIZERS:
        return None, None
    src = prod.input[0]
    if mw.get_initializer(src) is None:
        return None, None
    if prod.op_type == "BipolarQuant":
        return src, 1
    bw = mw.get_initializer(prod.input[3]) if len(prod.input) > 3 else None
    return src, int(np.asarray(bw).reshape(-1)[0]) if bw is not None else 32


def model_summary(model) -> dict:
    """A dict with ops, input/output datatypes and shapes, parameter count,
    MACs per inference and weight memory in bits."""
    mw = ModelWrapper(model)  # a copy: shape inference must not touch the caller's model
    shapes_ok = True
    try:
        _core.infer_shapes(mw._model)
    except Exception:  # summaries still list ops for models whose shapes cannot be inferred
        shapes_ok = False
    g = mw.graph
    ops = Counter((n.domain or "ai.onnx", n.op_type) for n in g.node)
    params = 0
    weight_bits = 0
    macs = 0
    layers = []
    seen = set()
    for n in g.node:
        if n.op_type not in _MAC_OPS and n.op_type != "BatchNormalization":
            continue
        for k, inp in enumerate(n.input[1:], start=1):
            src, bits = _weight_source(mw, inp) if inp else (None, None)
            if src is None or src in seen:
                continue
            seen.add(src)
            size = int(np.prod(mw.get_initializer(src).shape))
            params += size
            if n.op_type in _MAC_OPS and k == 1:
                weight_bits += size * bits
        if n.op_type in _MAC_OPS and shapes_ok:
            out_shape = mw.get_tensor_shape(n.output[0])
            wname = n.input[1]
            wshape = mw.get_tensor_shape(wname)
            if out_shape is None or wshape is None:
                continue
            if n.op_type == "Conv":
                group = n.get_attr("group") or 1
                k_elems = int(np.prod(wshape[1:]))  # Cin/group * kernel
                m = int(np.prod(out_shape)) * k_elems
            elif n.op_type == "Gemm":
                trans_b = n.get_attr("transB") or 0
                k_dim = wshape[1] if trans_b else wshape[0]
                m = int(np.prod(out_shape)) * k_dim
            else:
                m = int(np.prod(out_shape)) * wshape[-2]
            macs += m
            layers.append({"node": n.name, "op_type": n.op_type, "macs": m, "weight_shape": list(wshape)})

    def io(vis):
        return [{"name": v.name, "shape": v.shape, "datatype": mw.get_tensor_datatype(v.name).name}
                for v in vis if mw.get_initializer(v.name) is None]

    dts = Counter(mw.get_tensor_datatype(t).name for t in mw.get_all_tensor_names())
    return {
        "graph": g.name,
        "nodes": len(g.node),
        "ops": {f"{d}:{o}": c for (d, o), c in sorted(ops.items())},
        "inputs": io(g.input),
        "outputs": io(g.output),
        "datatypes": dict(sorted(dts.items())),
        "parameters": params,
        "macs": macs,
        "weight_bits": weight_bits,
        "layers": layers,
        "shapes_inferred": shapes_ok,
    }
