"""Hypothesis strategy for random small Brevitas networks.

    from hypothesis import given
    from streamfold.zoo.random_net import random_qnn, example_input

    @given(random_qnn())
    def test_something(net):
        module, shape = net
        ...

The zoo covers realistic topologies; these cover the corners no zoo model
happens to hit, so that no pass only works on the zoo: channel counts that
are not multiples of 2, non-square inputs, bit widths 1..8 mixed per layer,
signed / unsigned / narrow / bipolar activations (1-bit only as bipolar: see
_act_spec), binary, ternary and
multi-bit weights with per-tensor or per-channel scales, biases (float or
Int32Bias), BN, max / float-average / truncated-average pooling, strides,
depthwise convolutions and residual adds.

Networks are tiny (export well under 2 s). Each module carries its plain-data
description as ``module.spec`` (also shown by ``repr``) so a failing example
can be rebuilt with ``build_from_spec(spec)``. Inputs are meant to be drawn
uniformly from [-1, 1] (``example_input``): that also exercises the clamp of
unsigned input quantizers.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

import brevitas.nn as qnn
from brevitas.quant import (Int8WeightPerChannelFloat, Int8WeightPerTensorFloat, Int32Bias,
                            Uint8ActPerTensorFloat)

from ._quant import FinnActQuant, FinnWeightQuant, calibrate, randomize_bn_affine

_ACT_KINDS = ("relu", "signed", "unsigned", "hardtanh", "bipolar")


# ------------------------------------------------------------------ strategy
@st.composite
def _act_spec(draw, allow_bipolar=True):
    kind = draw(st.sampled_from(_ACT_KINDS if allow_bipolar else _ACT_KINDS[:-1]))
    if kind == "bipolar":
        return {"kind": kind, "bits": 1, "narrow": False}
    # 1-bit only as bipolar: Brevitas 0.13's QONNX export turns *every* 1-bit
    # quantizer into BipolarQuant (+-s), so a 1-bit unsigned QuantReLU
    # ({0, s} in PyTorch) would export with different semantics.
    bits = draw(st.integers(2, 8))
    narrow = draw(st.booleans()) if kind in ("signed", "hardtanh") else False
    return {"kind": kind, "bits": bits, "narrow": narrow}


@st.composite
def _weight_spec(draw):
    bits = draw(st.integers(1, 8))
    if bits == 1:
        return {"bits": 1, "per_channel": False, "narrow": True}
    return {"bits": bits, "per_channel": draw(st.booleans()), "narrow": draw(st.booleans())}


@st.composite
def _bias_spec(draw):
    return draw(st.sampled_from([None, "float", "int32"]))


def _layer_act(draw, bn, bias):
    """Activation after a Gemm/Conv. A bipolar quantizer thresholds at 0,
    which lies on the accumulator grid when nothing off-grid (BN or a float
    bias) comes between: an exact-zero sum then becomes +-1e-8 depending on
    the summation order, and PyTorch and onnxruntime sum in different orders.
    The integer semantics are clear (0 -> +1) but no float reference can
    match them, so such nets are not generated."""
    return draw(_act_spec(allow_bipolar=bn or bias == "float"))


@st.composite
def _mlp_spec(draw):
    features = draw(st.integers(1, 24))
    layers = []
    width = features
    for _ in range(draw(st.integers(1, 3))):
        out = width if draw(st.integers(0, 3)) == 0 else draw(st.integers(1, 13))
        bias, bn = draw(_bias_spec()), draw(st.booleans())
        layers.append({
            "type": "linear", "out": out, "weight": draw(_weight_spec()), "bias": bias,
            "bn": bn, "act": _layer_act(draw, bn, bias),
            # identity skip is only possible when the width is unchanged
            "residual": out == width and draw(st.booleans()), "skip_act": draw(_act_spec()),
        })
        width = out
    return {"input_shape": (1, features), "input_act": draw(_act_spec()), "layers": layers,
            "head": _head(draw)}


def _head(draw):
    return {"out": draw(st.integers(1, 7)), "weight": draw(_weight_spec()), "bias": draw(_bias_spec())}


@st.composite
def _cnn_spec(draw):
    c = draw(st.integers(1, 5))
    h, w = draw(st.integers(3, 9)), draw(st.integers(3, 9))
    shape = (1, c, h, w)
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.sampled_from([k for k in (1, 2, 3) if k <= min(h, w)]))
        pad = draw(st.integers(0, k // 2))
        stride = draw(st.sampled_from([1, 2])) if min(h, w) >= 4 else 1
        depthwise = c > 1 and draw(st.integers(0, 3)) == 0
        out = c if depthwise else draw(st.integers(1, 9))
        h = (h + 2 * pad - k) // stride + 1
        w = (w + 2 * pad - k) // stride + 1
        residual = stride == 1 and out == c and k % 2 == 1 and pad == k // 2 and draw(st.booleans())
        pool = draw(st.sampled_from(["none", "max", "avg", "trunc"])) if min(h, w) >= 2 else "none"
        bias, bn = draw(_bias_spec()), draw(st.booleans())
        layers.append({
            "type": "conv", "out": out, "k": k, "pad": pad, "stride": stride,
            "groups": c if depthwise else 1, "weight": draw(_weight_spec()),
            "bias": bias, "bn": bn, "act": _layer_act(draw, bn, bias),
            "residual": residual, "skip_act": draw(_act_spec()), "pool": pool,
            # An average of quantized values is off the grid: requantize. Not
            # bipolar, for the same summation-order reason as _layer_act.
            "pool_act": draw(_act_spec(allow_bipolar=False)) if pool == "avg" else None,
        })
        if pool != "none":
            h, w = h // 2, w // 2
        c = out
    return {"input_shape": shape, "input_act": draw(_act_spec()), "layers": layers,
            "head": _head(draw)}


@st.composite
def random_qnn_spec(draw, kinds=("mlp", "cnn")):
    """Plain-data network description (JSON-able); see build_from_spec."""
    kind = draw(st.sampled_from(list(kinds)))
    spec = draw(_mlp_spec() if kind == "mlp" else _cnn_spec())
    spec["kind"] = kind
    spec["seed"] = draw(st.integers(0, 2**31 - 1))
    return spec


def random_qnn(kinds=("mlp", "cnn")):
    """Strategy of (torch module in eval mode, input shape with batch 1)."""
    return random_qnn_spec(kinds).map(lambda s: (build_from_spec(s), tuple(s["input_shape"])))


def example_input(shape, n: int = 1, seed: int = 0):
    """float32 input uniform in [-1, 1] of shape (n, *shape[1:])."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n,) + tuple(shape[1:])).astype(np.float32)


# ------------------------------------------------------------------ builder
def _make_act(spec, rqt=False):
    kind, bits = spec["kind"], spec["bits"]
    if kind == "bipolar":
        return qnn.QuantIdentity(act_quant=FinnActQuant, bit_width=1, return_quant_tensor=rqt)
    if kind == "relu":
        return qnn.QuantReLU(bit_width=bits, return_quant_tensor=rqt)
    if kind == "unsigned":
        return qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=bits,
                                 return_quant_tensor=rqt)
    if kind == "hardtanh":
        return qnn.QuantHardTanh(bit_width=bits, min_val=-1.0, max_val=1.0,
                                 narrow_range=spec["narrow"], return_quant_tensor=rqt)
    return qnn.QuantIdentity(bit_width=bits, narrow_range=spec["narrow"], return_quant_tensor=rqt)


def _weight_kwargs(wspec, bias):
    if wspec["bits"] == 1:
        kw = dict(weight_quant=FinnWeightQuant, weight_bit_width=1)
    else:
        wq = Int8WeightPerChannelFloat if wspec["per_channel"] else Int8WeightPerTensorFloat
        kw = dict(weight_quant=wq, weight_bit_width=wspec["bits"],
                  weight_narrow_range=wspec["narrow"])
    kw["bias"] = bias is not None
    if bias == "int32":
        kw["bias_quant"] = Int32Bias
    return kw


class _Residual(nn.Module):
    """body(x) + skip_quant(x), re-quantized. The skip gets its own quantizer
    so the Add sees two different scales, as in real quantized ResNets."""

    def __init__(self, body, skip_act, out_act):
        super().__init__()
        self.body, self.skip_quant, self.add_quant = body, skip_act, out_act

    def forward(self, x):
        return self.add_quant(self.body(x) + self.skip_quant(x))


class RandomQNN(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.stages = nn.Sequential(*_stages(spec))

    def forward(self, x):
        return self.stages(x)

    def extra_repr(self):
        return f"spec={self.spec!r}"


def _stages(spec):
    """Modules in order. A producer returns a QuantTensor exactly when its
    consumer needs one (Int32Bias needs the input scale, TruncAvgPool2d the
    input scale and bit width); everything else passes plain tensors."""
    conv = spec["kind"] == "cnn"
    layers = spec["layers"]
    consumers_need_qt = []  # per layer: does the layer's input need a QuantTensor?
    for layer in layers:
        consumers_need_qt.append(layer["bias"] == "int32")
    head_needs_qt = spec["head"]["bias"] == "int32"

    mods = [_make_act(spec["input_act"], rqt=consumers_need_qt[0] if layers else head_needs_qt)]
    cin = spec["input_shape"][1]
    flat = None
    for i, layer in enumerate(layers):
        next_needs_qt = consumers_need_qt[i + 1] if i + 1 < len(layers) else head_needs_qt
        pool = layer.get("pool", "none")
        # MaxPool passes a QuantTensor through; float AvgPool is followed by
        # its own re-quantizer which then decides.
        act_rqt = pool == "trunc" or (pool in ("max", "none") and next_needs_qt)
        wkw = _weight_kwargs(layer["weight"], layer["bias"])
        if conv:
            core = [qnn.QuantConv2d(cin, layer["out"], layer["k"], stride=layer["stride"],
                                    padding=layer["pad"], groups=layer["groups"], **wkw)]
            bn = nn.BatchNorm2d
        else:
            core = [qnn.QuantLinear(cin, layer["out"], **wkw)]
            bn = nn.BatchNorm1d
        if layer["bn"]:
            core.append(bn(layer["out"]))
        if layer["residual"]:
            core.append(_make_act(layer["act"]))
            # The re-quantizer after the Add reuses the block's activation
            # spec; the skip has its own quantizer.
            mods.append(_Residual(nn.Sequential(*core), _make_act(layer["skip_act"]),
                                  _make_act(layer["act"], rqt=act_rqt)))
        else:
            mods += core + [_make_act(layer["act"], rqt=act_rqt)]
        if pool == "max":
            mods.append(nn.MaxPool2d(2))
        elif pool == "avg":
            mods += [nn.AvgPool2d(2), _make_act(layer["pool_act"], rqt=next_needs_qt)]
        elif pool == "trunc":
            mods.append(qnn.TruncAvgPool2d(kernel_size=2, return_quant_tensor=next_needs_qt))
        cin = layer["out"]
    if conv:
        mods.append(nn.Flatten())
        flat = _flat_features(spec)
    head = spec["head"]
    mods.append(qnn.QuantLinear(flat or cin, head["out"], **_weight_kwargs(head["weight"], head["bias"])))
    return mods


def _flat_features(spec):
    _, c, h, w = spec["input_shape"]
    for layer in spec["layers"]:
        h = (h + 2 * layer["pad"] - layer["k"]) // layer["stride"] + 1
        w = (w + 2 * layer["pad"] - layer["k"]) // layer["stride"] + 1
        if layer["pool"] != "none":
            h, w = h // 2, w // 2
        c = layer["out"]
    return c * h * w


def build_from_spec(spec):
    """Deterministically build, initialize and calibrate the network of a spec."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec["seed"])
        model = RandomQNN(spec)
        for m in model.modules():
            # PyTorch's default bias init is ~1/sqrt(fan_in), negligible next
            # to the weighted sum; make biases matter so bias handling is tested.
            if isinstance(m, (qnn.QuantLinear, qnn.QuantConv2d)) and m.bias is not None:
                nn.init.uniform_(m.bias, -0.5, 0.5)
    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    randomize_bn_affine(model, gen)
    shape = tuple(spec["input_shape"])
    batches = [torch.rand((16,) + shape[1:], generator=gen) * 2 - 1 for _ in range(3)]
    calibrate(model, batches)
    return model.eval()
