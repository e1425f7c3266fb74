"""Brevitas topologies of the streamfold model zoo.

Imported lazily by streamfold.zoo (needs torch and brevitas). Every model
takes image-like float input in [0, 1] with a batch axis; the FINN-style
models (TFC/SFC/LFC/CNV) map it to [-1, 1] with ``2x - 1`` inside forward(),
exactly as FINN's BNN-PYNQ models do, so that the exported graph starts with
the scalar Mul/Sub that streamlining has to absorb.
"""
from __future__ import annotations

import torch
from torch import nn

import brevitas.nn as qnn
from brevitas.quant import (Int8WeightPerChannelFloat, Int8WeightPerTensorFloat, Int32Bias,
                            Uint8ActPerTensorFloat)
from brevitas.core.restrict_val import RestrictValueType

from ._quant import FinnActQuant, FinnWeightQuant


# ---------------------------------------------------------------- FINN family
def _init_finn_weights(model: nn.Module) -> None:
    """The FINN quantizers have a constant weight scale of 1, so PyTorch's
    default init (|w| << 0.5) would round every multi-bit weight to 0.
    BNN-PYNQ initializes uniformly in [-1, 1] (and clips there in training)."""
    for m in model.modules():
        if isinstance(m, (qnn.QuantLinear, qnn.QuantConv2d)):
            nn.init.uniform_(m.weight, -1.0, 1.0)


class FC(nn.Module):
    """FINN's TFC/SFC/LFC: three hidden layers of equal width. Hidden
    activations and the input use the same bit width, as in BNN-PYNQ
    (a1 -> bipolar input and hidden activations)."""

    def __init__(self, width: int, weight_bits: int, act_bits: int, in_bits: int | None = None,
                 in_features: int = 784, num_classes: int = 10, depth: int = 3):
        super().__init__()
        in_bits = act_bits if in_bits is None else in_bits
        self.input_quant = qnn.QuantIdentity(act_quant=FinnActQuant, bit_width=in_bits)
        layers = []
        for _ in range(depth):
            layers += [
                qnn.QuantLinear(in_features, width, bias=False,
                                weight_quant=FinnWeightQuant, weight_bit_width=weight_bits),
                nn.BatchNorm1d(width),
                qnn.QuantIdentity(act_quant=FinnActQuant, bit_width=act_bits),
            ]
            in_features = width
        self.features = nn.Sequential(*layers)
        self.classifier = qnn.QuantLinear(in_features, num_classes, bias=False,
                                          weight_quant=FinnWeightQuant,
                                          weight_bit_width=weight_bits)
        _init_finn_weights(self)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = 2.0 * x - 1.0
        x = self.input_quant(x)
        return self.classifier(self.features(x))


class CNV(nn.Module):
    """FINN's VGG-like CIFAR-10 network. Unpadded 3x3 convs shrink 32 -> 1:
    32-30-28-pool-14-12-10-pool-5-3-1, so the flatten is 256 wide."""

    CONVS = [(64, False), (64, True), (128, False), (128, True), (256, False), (256, False)]

    def __init__(self, weight_bits: int, act_bits: int, in_bits: int = 8, num_classes: int = 10):
        super().__init__()
        # 8-bit input with a power-of-two scale of 2^-7 covering [-1, 1): the
        # 2x-1 mapped pixels then quantize exactly like FINN's CNV input.
        self.input_quant = qnn.QuantIdentity(
            act_quant=FinnActQuant, bit_width=in_bits, min_val=-1.0,
            max_val=1.0 - 2.0 ** (-7), narrow_range=False,
            restrict_scaling_type=RestrictValueType.POWER_OF_TWO)
        layers, in_ch = [], 3
        for out_ch, pool in self.CONVS:
            layers += [
                qnn.QuantConv2d(in_ch, out_ch, 3, bias=False,
                                weight_quant=FinnWeightQuant, weight_bit_width=weight_bits),
                nn.BatchNorm2d(out_ch, eps=1e-4),
                qnn.QuantIdentity(act_quant=FinnActQuant, bit_width=act_bits),
            ]
            if pool:
                layers.append(nn.MaxPool2d(2))
            in_ch = out_ch
        self.conv_features = nn.Sequential(*layers)
        fcs, in_f = [], 256
        for out_f in (512, 512):
            fcs += [
                qnn.QuantLinear(in_f, out_f, bias=False,
                                weight_quant=FinnWeightQuant, weight_bit_width=weight_bits),
                nn.BatchNorm1d(out_f, eps=1e-4),
                qnn.QuantIdentity(act_quant=FinnActQuant, bit_width=act_bits),
            ]
            in_f = out_f
        fcs.append(qnn.QuantLinear(in_f, num_classes, bias=False,
                                   weight_quant=FinnWeightQuant, weight_bit_width=weight_bits))
        self.linear_features = nn.Sequential(*fcs)
        _init_finn_weights(self)

    def forward(self, x):
        x = 2.0 * x - 1.0
        x = self.conv_features(self.input_quant(x))
        return self.linear_features(torch.flatten(x, 1))


# ------------------------------------------------- float-scaled (Brevitas default) family
def _conv(cin, cout, k, bits, per_channel=True, **kw):
    wq = Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat
    return qnn.QuantConv2d(cin, cout, k, weight_quant=wq, weight_bit_width=bits, **kw)


def _linear(fin, fout, bits, per_channel=True, **kw):
    wq = Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat
    return qnn.QuantLinear(fin, fout, weight_quant=wq, weight_bit_width=bits, **kw)


class LeNet5(nn.Module):
    """LeNet-5 on 1x28x28: the first conv pads by 2 to recover the classic
    32x32 geometry (28-pool-14-10-pool-5, flatten 400). Biases instead of BN,
    as in the original. The input quant is unsigned 8-bit (pixels are >= 0,
    and it gives the zoo an unsigned Quant that is not preceded by a Relu)."""

    def __init__(self, bits: int = 4):
        super().__init__()
        self.input_quant = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8)
        self.features = nn.Sequential(
            _conv(1, 6, 5, bits, padding=2, bias=True), qnn.QuantReLU(bit_width=bits),
            nn.MaxPool2d(2),
            _conv(6, 16, 5, bits, bias=True), qnn.QuantReLU(bit_width=bits),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            _linear(400, 120, bits, bias=True), qnn.QuantReLU(bit_width=bits),
            _linear(120, 84, bits, bias=True), qnn.QuantReLU(bit_width=bits),
            _linear(84, 10, bits, bias=True),
        )

    def forward(self, x):
        x = self.features(self.input_quant(x))
        return self.classifier(torch.flatten(x, 1))


class EmotionCNN(nn.Module):
    """FER-style 7-class CNN on 1x48x48. The spec fixes the flatten at 1024 =
    256 x 2 x 2, which three 2x2 pools (48 -> 6) cannot reach. Choice: the
    first conv has stride 2 (48 -> 24, also 4x less work on the widest
    feature map) and the last pool is 3x3/3 (6 -> 2); the other two pools
    stay 2x2. Spatial sizes: 48 -s2-> 24 -p2-> 12 -p2-> 6 -p3-> 2."""

    def __init__(self, bits: int):
        super().__init__()
        self.input_quant = qnn.QuantIdentity(bit_width=8)

        def block(cin, cout, stride=1):
            return [_conv(cin, cout, 3, bits, stride=stride, padding=1, bias=False),
                    nn.BatchNorm2d(cout), qnn.QuantReLU(bit_width=bits)]

        self.features = nn.Sequential(
            *block(1, 32, stride=2), *block(32, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
            *block(64, 128), *block(128, 128), nn.MaxPool2d(2),
            *block(128, 256), *block(256, 256), nn.MaxPool2d(3), nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            _linear(1024, 256, bits, bias=False), nn.BatchNorm1d(256), qnn.QuantReLU(bit_width=bits),
            _linear(256, 7, bits, bias=True),
        )

    def forward(self, x):
        x = self.features(self.input_quant(x))
        return self.classifier(torch.flatten(x, 1))


class Dnn2FpgaCNN(nn.Module):
    """Small MNIST CNN, everything int8: 28 -c3-> 26 -c3-> 24 -p2-> 12,
    flatten 12*12*12 = 1728. Per-tensor weight scales; biases are Int32Bias
    (scale = input scale x weight scale), the usual int8 deployment recipe,
    so the export has Quant nodes on biases too. That needs QuantTensors
    flowing between layers, hence return_quant_tensor=True throughout."""

    def __init__(self):
        super().__init__()
        kw = dict(per_channel=False, bias=True, bias_quant=Int32Bias)
        self.input_quant = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.features = nn.Sequential(
            _conv(1, 12, 3, 8, **kw), qnn.QuantReLU(bit_width=8, return_quant_tensor=True),
            _conv(12, 12, 3, 8, **kw), qnn.QuantReLU(bit_width=8, return_quant_tensor=True),
            nn.MaxPool2d(2),
        )
        self.fc = _linear(1728, 10, 8, **kw)

    def forward(self, x):
        x = self.features(self.input_quant(x))
        return self.fc(torch.flatten(x, 1))


class ResidualBlock(nn.Module):
    """Stem conv, then conv-BN-QuantReLU twice with an identity skip, the
    way FINN-targeted residual nets are written in Brevitas: the stem's and
    the body's last activation share one QuantReLU instance, so both
    branches of the Add carry the same scale and the Add is an integer Add
    after streamlining. The sum is re-quantized, then a 4x4 TruncAvgPool2d
    (exports AveragePool + Trunc) and an FC. Input 1x3x16x16."""

    def __init__(self, ch: int = 8, bits: int = 4):
        super().__init__()
        self.input_quant = qnn.QuantIdentity(bit_width=8)
        self.shared_act = qnn.QuantReLU(bit_width=bits)
        self.stem = nn.Sequential(_conv(3, ch, 3, bits, padding=1, bias=False),
                                  nn.BatchNorm2d(ch), self.shared_act)
        self.body = nn.Sequential(
            _conv(ch, ch, 3, bits, padding=1, bias=False), nn.BatchNorm2d(ch),
            qnn.QuantReLU(bit_width=bits),
            _conv(ch, ch, 3, bits, padding=1, bias=False), nn.BatchNorm2d(ch),
            self.shared_act,
        )
        # TruncAvgPool2d needs a QuantTensor input to know the scale/bit width.
        self.add_quant = qnn.QuantIdentity(bit_width=bits, return_quant_tensor=True)
        self.pool = qnn.TruncAvgPool2d(kernel_size=4, return_quant_tensor=False)
        self.fc = _linear(ch * 4 * 4, 10, bits, bias=True)

    def forward(self, x):
        x = self.stem(self.input_quant(x))
        x = self.add_quant(self.body(x) + x)
        return self.fc(torch.flatten(self.pool(x), 1))


class DwsBlock(nn.Module):
    """Depthwise-separable block: depthwise 3x3 (groups=C) and pointwise 1x1,
    each followed by BN and QuantReLU; then 2x2 max pool and a classifier.
    Input 1x8x12x12 (C=8)."""

    def __init__(self, ch: int = 8, out_ch: int = 16, bits: int = 4):
        super().__init__()
        self.input_quant = qnn.QuantIdentity(bit_width=8)
        self.dw = _conv(ch, ch, 3, bits, padding=1, groups=ch, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu1 = qnn.QuantReLU(bit_width=bits)
        self.pw = _conv(ch, out_ch, 1, bits, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu2 = qnn.QuantReLU(bit_width=bits)
        self.pool = nn.MaxPool2d(2)
        self.fc = _linear(out_ch * 6 * 6, 10, bits, bias=True)

    def forward(self, x):
        x = self.relu1(self.bn1(self.dw(self.input_quant(x))))
        x = self.relu2(self.bn2(self.pw(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


# ------------------------------------------------------------------ registry
_FC_WIDTH = {"tfc": 64, "sfc": 256, "lfc": 1024}
_WA = {"w1a1": (1, 1), "w1a2": (1, 2), "w2a2": (2, 2)}


def _registry():
    """name -> constructor. Input shapes live in streamfold.zoo (torch-free)."""
    reg = {}
    for fam, width in _FC_WIDTH.items():
        for tag, (w, a) in _WA.items():
            reg[f"{fam}_{tag}"] = lambda width=width, w=w, a=a: FC(width, w, a)
    for tag, (w, a) in _WA.items():
        reg[f"cnv_{tag}"] = lambda w=w, a=a: CNV(w, a)
    reg["lenet5_w4a4"] = lambda: LeNet5(4)
    for b in (8, 4, 2):
        reg[f"emotion_cnn_{b}b"] = lambda b=b: EmotionCNN(b)
    reg["dnn2fpga_cnn"] = Dnn2FpgaCNN
    reg["residual_block"] = ResidualBlock
    reg["dws_block"] = DwsBlock
    return reg


REGISTRY = _registry()
