"""Build a quantized copy of a float torch model with Brevitas' own graph
quantization (brevitas.graph.quantize) and calibrate it with Brevitas'
calibration_mode.

What this module decides is only *which* Brevitas quantizers to use, so
that the result streams through streamfold's FINN-style flow:

- weights: Brevitas' Int8Weight{PerTensor,PerChannel}Float[MSE] at
  ``weight_bits`` (signed, narrow, float scale; the scale becomes a Mul after
  the MatMul that streamlining absorbs into the next thresholds);
- activations: QuantReLU with Uint8ActPerTensorFloat[MSE] (unsigned, zero
  point 0) at ``act_bits`` <= 8, so each becomes one MultiThreshold;
- the network input: an 8-bit QuantIdentity (unsigned when the calibration
  data are >= 0), the accelerator's input quantizer;
- biases: Int32Bias (scale = input scale x weight scale), absorbed into
  thresholds as well;
- no requantization of the last layer's output: its scale and bias run on
  the host after the accelerator, as in FINN.

Calibration ("minmax" | "percentile" | "mse") picks the statistic that sets
each activation scale (and, for "mse", the weight scales too):

- minmax:     scale = max|x| / q_max                (StatsOp.MAX, AbsMax)
- percentile: scale = |x|_(k) / q_max, the k-th smallest |x| with
              k = floor(p/100 * numel + 0.5), p = 99.999 by default
- mse:        the scale minimizing the mean squared quantization error,
              Brevitas' grid search between 0 and max|x|

with q_max = 2^b - 1 for unsigned activations, 2^(b-1) for signed ones
(Brevitas' IntScaling, not narrow) and 2^(b-1) - 1 for the (narrow) weights.
Over several calibration batches Brevitas averages the per-batch statistic.
tests/python/test_quantize_calibration.py checks each against numpy.

Layers left in float (``float_layers``) get their float weights back, and an
activation quantizer is kept only where it touches a quantized layer (it is
that layer's input or output). Float layers are meant to sit at the ends of
the network: streamfold's dataflow partition then keeps them on the host
before or after a single accelerator.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError

CALIBRATIONS = ("minmax", "percentile", "mse")


def _brevitas():
    """Import brevitas quietly (its graph package warns about an optional
    CUDA kernel package)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import brevitas.graph.calibrate  # noqa: F401
        import brevitas.graph.quantize  # noqa: F401
        import brevitas.nn  # noqa: F401
        import brevitas.quant  # noqa: F401
    import brevitas
    return brevitas


def check_bits(weight_bits, act_bits, input_bits=8):
    for key, b, lo in (("weight_bits", weight_bits, 2), ("act_bits", act_bits, 2), ("input_bits", input_bits, 2)):
        if not isinstance(b, int) or not lo <= b <= 8:
            raise ConfigError(f"{key}={b!r}: streamfold's dataflow flow takes {lo}..8 bits here",
                              hint="activations above 8 bits do not become thresholds (FINN's limit too); "
                                   "use 2..8", key=key)


def act_quantizer(signed: bool, calibration: str, percentile: float = 99.999):
    """The Brevitas activation quantizer (injector) for a calibration mode."""
    _brevitas()
    from brevitas.core.stats import StatsOp
    from brevitas.quant import (Int8ActPerTensorFloat, Int8ActPerTensorFloatMSE, Uint8ActPerTensorFloat,
                                Uint8ActPerTensorFloatMSE)
    if calibration == "minmax":
        return (Int8ActPerTensorFloat if signed else Uint8ActPerTensorFloat).let(scaling_stats_op=StatsOp.MAX)
    if calibration == "percentile":
        return (Int8ActPerTensorFloat if signed else Uint8ActPerTensorFloat).let(high_percentile_q=percentile)
    if calibration == "mse":
        return Int8ActPerTensorFloatMSE if signed else Uint8ActPerTensorFloatMSE
    raise ConfigError(f"calibration={calibration!r} is not one of {CALIBRATIONS}",
                      hint="pick minmax, percentile or mse", key="calibration")


def weight_quantizer(per_channel: bool, calibration: str):
    """Abs-max weight scales, or MSE-searched ones in "mse" mode."""
    _brevitas()
    from brevitas.quant import (Int8WeightPerChannelFloat, Int8WeightPerChannelFloatMSE, Int8WeightPerTensorFloat,
                                Int8WeightPerTensorFloatMSE)
    if calibration == "mse":
        return Int8WeightPerChannelFloatMSE if per_channel else Int8WeightPerTensorFloatMSE
    return Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat


@dataclass
class Layer:
    """One compute layer (Conv/Linear) of the traced model, in execution order."""
    name: str
    kind: str            # "Conv2d", "Linear", ...
    weights: int         # weight count
    biases: int


@dataclass
class QuantSpec:
    weight_bits: int = 8
    act_bits: int = 8
    input_bits: int = 8
    per_channel: bool = True
    calibration: str = "minmax"
    percentile: float = 99.999
    input_signed: bool = False
    float_layers: tuple = field(default_factory=tuple)


def _compute_types():
    return (nn.Conv1d, nn.Conv2d, nn.Linear)


def trace(model):
    """Brevitas' preprocessing: FX trace, BatchNorm merged into the
    preceding conv/linear, dropout removed. Returns a float GraphModule."""
    _brevitas()
    from brevitas.graph.quantize import preprocess_for_quantize
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = preprocess_for_quantize(copy.deepcopy(model).eval(), equalize_iters=0, merge_bn=True)
    # Brevitas sees through torch.flatten but not through an nn.Flatten
    # module: it would requantize after it, and that extra quantizer behind
    # the flatten blocks streamlining (a Transpose/Reshape between two
    # thresholds). Make every nn.Flatten a torch.flatten call.
    for node in list(gm.graph.nodes):
        if node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.Flatten):
            mod = gm.get_submodule(node.target)
            with gm.graph.inserting_after(node):
                call = gm.graph.call_function(torch.flatten, (node.args[0], mod.start_dim, mod.end_dim))
            node.replace_all_uses_with(call)
            gm.graph.erase_node(node)
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def compute_layers(traced) -> list[Layer]:
    from brevitas.graph.utils import get_module
    out = []
    for node in traced.graph.nodes:
        if node.op == "call_module":
            mod = get_module(traced, node.target)
            if isinstance(mod, _compute_types()):
                out.append(Layer(node.target, type(mod).__name__, mod.weight.numel(),
                                 mod.bias.numel() if mod.bias is not None else 0))
    return out


def _set_module(root, name, module):
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)


def _neighbours(graph, node, compute_names, forward):
    """Names of the nearest compute layers reached from ``node`` going
    forward (users) or backward (inputs), through any non-compute nodes."""
    found, stack, seen = set(), [node], set()
    while stack:
        n = stack.pop()
        nxt = list(n.users) if forward else list(n.all_input_nodes)
        for m in nxt:
            if m in seen:
                continue
            seen.add(m)
            if m.op == "call_module" and m.target in compute_names:
                found.add(m.target)
            else:
                stack.append(m)
    return found


def _is_reshape(graph_module, node):
    if node.op == "call_module":
        return isinstance(graph_module.get_submodule(node.target), nn.Flatten)
    if node.op == "call_function":
        return node.target in (torch.flatten, torch.reshape)
    if node.op == "call_method":
        return node.target in ("view", "reshape", "flatten")
    return False


def _sink_past_reshapes(gm, quant_node):
    """Move the input quantizer below a leading Flatten/reshape (an MLP's
    first op), as FINN's FC models have it: quantizer, then the first MatMul,
    with the flatten on the host before the accelerator. A quantizer above
    the flatten leaves a Reshape between two thresholds that streamlining
    cannot remove."""
    last = quant_node
    while len(last.users) == 1 and _is_reshape(gm, next(iter(last.users))):
        last = next(iter(last.users))
    if last is quant_node:
        return
    src = quant_node.args[0]
    quant_node.replace_all_uses_with(src)
    last.replace_all_uses_with(quant_node, delete_user_cb=lambda u: u is not quant_node)
    quant_node.args = (last,)
    last.append(quant_node)
    gm.graph.lint()


def quantize_model(traced, spec: QuantSpec):
    """A Brevitas-quantized copy of ``traced`` (from ``trace``) for ``spec``."""
    _brevitas()
    import brevitas.nn as qnn
    from brevitas.graph.quantize import COMPUTE_LAYER_MAP, quantize
    from brevitas.graph.utils import get_module
    from brevitas.quant import Int32Bias

    check_bits(spec.weight_bits, spec.act_bits, spec.input_bits)
    float_ref = traced
    names = [ly.name for ly in compute_layers(traced)]
    unknown = [n for n in spec.float_layers if n not in names]
    if unknown:
        raise ConfigError(f"float_layers {unknown} are not compute layers of the model",
                          hint=f"the compute layers are {names}", key="float_layers")
    wq = weight_quantizer(spec.per_channel, spec.calibration)
    cmap = {}
    for t in _compute_types():
        cls, kw = COMPUTE_LAYER_MAP[t]
        cmap[t] = (cls, {**kw, "weight_quant": wq, "weight_bit_width": spec.weight_bits,
                         "bias_quant": Int32Bias, "return_quant_tensor": True})
    relu_q = act_quantizer(False, spec.calibration, spec.percentile)
    amap = {nn.ReLU: (qnn.QuantReLU, {"act_quant": relu_q, "bit_width": spec.act_bits,
                                     "return_quant_tensor": True})}
    imap = {
        "signed": (qnn.QuantIdentity, {"act_quant": act_quantizer(True, spec.calibration, spec.percentile),
                                       "bit_width": spec.act_bits, "return_quant_tensor": True}),
        "unsigned": (qnn.QuantIdentity, {"act_quant": relu_q, "bit_width": spec.act_bits,
                                         "return_quant_tensor": True}),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantize(copy.deepcopy(traced), quant_identity_map=imap, compute_layer_map=cmap,
                     quant_act_map=amap, requantize_layer_handler_output=False)

    # The network input: input_bits, signed or not as the data are.
    for node in list(q.graph.nodes):
        if node.op == "placeholder":
            for user in list(node.users):
                if user.op == "call_module" and isinstance(get_module(q, user.target), qnn.QuantIdentity):
                    _set_module(q, user.target, qnn.QuantIdentity(
                        act_quant=act_quantizer(spec.input_signed, spec.calibration, spec.percentile),
                        bit_width=spec.input_bits, return_quant_tensor=True))
                    _sink_past_reshapes(q, user)

    if spec.float_layers:
        floats = set(spec.float_layers)
        quantized = set(names) - floats
        for name in floats:
            _set_module(q, name, copy.deepcopy(get_module(float_ref, name)))
        # Activation quantizers touching only float layers go float too.
        for node in q.graph.nodes:
            if node.op != "call_module" or node.target in names:
                continue
            mod = get_module(q, node.target)
            if not isinstance(mod, (qnn.QuantReLU, qnn.QuantIdentity)):
                continue
            adjacent = _neighbours(q.graph, node, set(names), True) | _neighbours(q.graph, node, set(names), False)
            if adjacent & quantized:
                continue
            _set_module(q, node.target, nn.ReLU() if isinstance(mod, qnn.QuantReLU) else nn.Identity())
        # A float layer fed by a quantized activation receives a QuantTensor.
        for name in floats:
            _set_module(q, name, _Dequant(get_module(q, name)))
    q.recompile()
    q.eval()
    return q


class _Dequant(nn.Module):
    """A float layer fed by a quantized activation: runs on the QuantTensor's
    dequantized value."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(getattr(x, "value", x))


def calibrate(model, batches):
    """Brevitas calibration_mode over the calibration batches (tensors)."""
    _brevitas()
    from brevitas.graph.calibrate import calibration_mode
    model.eval()
    with torch.no_grad(), calibration_mode(model):
        for x in batches:
            model(x)
    model.eval()
    return model
