"""A generated family of small residual Brevitas networks, the shape real
quantized ResNets have and random_net's residuals do not: the *quantized
block input* feeds both the skip and the convolution path.

    block input quantizer ─┬─ conv─BN─QuantReLU─conv─BN─[end quantizer] ─┐
                           └──────────────[skip quantizer]────────────────┴─ Add ─ QuantReLU

then a flatten and a QuantLinear head. What varies, from one integer seed:

- where the quantizers sit (``placement``):
  "end_shared": the body ends in the block input's own quantizer instance,
  the skip is the quantized input itself (the FINN recipe);
  "skip_shared": skip and body end share a quantizer of their own;
  "both_shared": the skip re-applies the block input's quantizer, which also
  ends the body;
  "separate": the body ends in its own quantizer and the skip is the input,
  so the Add joins two scales and no integer form exists: streamlining must
  refuse it with a StreamlineError that says to share a quantizer;
- whether the block input is signed (QuantIdentity) or unsigned;
- channel counts (block, middle), spatial size, bit widths, per-channel or
  per-tensor weight scales, one or two blocks.

``residual_spec(seed)`` is plain data (JSON-able, shown by repr);
``build_residual(spec)`` builds, initializes and calibrates the module
deterministically. Seeds cycle through the first block's placement and the
input signedness, so any 8 consecutive seeds cover every combination.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import brevitas.nn as qnn
from brevitas.quant import Int8WeightPerChannelFloat, Int8WeightPerTensorFloat, Uint8ActPerTensorFloat

from ._quant import calibrate, randomize_bn_affine

PLACEMENTS = ("end_shared", "skip_shared", "both_shared", "separate")
INTEGER_PLACEMENTS = PLACEMENTS[:3]  # one scale at the Add: streamlines to integers


def residual_spec(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    combo = seed % 8
    c = int(rng.integers(1, 7))
    blocks = []
    for b in range(int(rng.integers(1, 3))):
        blocks.append({
            "mid": int(rng.integers(1, 9)),
            # later blocks stay integer, so a spec's outcome is its first block's
            "placement": PLACEMENTS[combo % 4] if b == 0 else INTEGER_PLACEMENTS[int(rng.integers(0, 3))],
            "act_bits": int(rng.integers(2, 5)),
            "out_bits": int(rng.integers(2, 5)),
            "wbits": int(rng.integers(2, 5)),
            "per_channel": bool(rng.integers(0, 2)),
        })
    return {
        "seed": int(seed),
        "input_shape": (1, c, int(rng.integers(3, 7)), int(rng.integers(3, 7))),
        "input_signed": combo < 4,
        "input_bits": int(rng.integers(2, 9)),
        "blocks": blocks,
        "head_out": int(rng.integers(1, 6)),
    }


def _input_quant(signed: bool, bits: int):
    if signed:
        return qnn.QuantIdentity(bit_width=bits)
    return qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=bits)


def _conv(cin, cout, blk):
    wq = Int8WeightPerChannelFloat if blk["per_channel"] else Int8WeightPerTensorFloat
    return qnn.QuantConv2d(cin, cout, 3, padding=1, bias=False, weight_quant=wq, weight_bit_width=blk["wbits"])


class _Block(nn.Module):
    def __init__(self, c, blk, in_quant):
        super().__init__()
        # The block input's quantizer is applied by the caller; sharing a
        # quantizer instance between the two Add operands puts them on one scale.
        place = blk["placement"]
        own = _input_quant(True, blk["act_bits"])
        end = own if place in ("skip_shared", "separate") else in_quant
        skip = {"end_shared": nn.Identity(), "skip_shared": own, "both_shared": in_quant,
                "separate": nn.Identity()}[place]
        self.body = nn.Sequential(_conv(c, blk["mid"], blk), nn.BatchNorm2d(blk["mid"]),
                                  qnn.QuantReLU(bit_width=blk["act_bits"]),
                                  _conv(blk["mid"], c, blk), nn.BatchNorm2d(c), end)
        self.skip = skip
        self.out_quant = qnn.QuantReLU(bit_width=blk["out_bits"])

    def forward(self, x):
        return self.out_quant(self.body(x) + self.skip(x))


class ResidualQNN(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        _, c, h, w = spec["input_shape"]
        q = _input_quant(spec["input_signed"], spec["input_bits"])
        self.input_quant = q
        blocks = []
        for blk in spec["blocks"]:
            b = _Block(c, blk, q)
            blocks.append(b)
            q = b.out_quant  # the next block's input quantizer
        self.blocks = nn.ModuleList(blocks)
        self.head = qnn.QuantLinear(c * h * w, spec["head_out"], bias=True, weight_quant=Int8WeightPerTensorFloat,
                                    weight_bit_width=4)

    def forward(self, x):
        x = self.input_quant(x)
        for b in self.blocks:
            x = b(x)
        return self.head(torch.flatten(x, 1))

    def extra_repr(self):
        return f"spec={self.spec!r}"


def build_residual(spec) -> nn.Module:
    """Deterministically build, initialize and calibrate the network of a spec."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec["seed"])
        model = ResidualQNN(spec)
    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    randomize_bn_affine(model, gen)
    shape = tuple(spec["input_shape"])
    calibrate(model, [torch.rand((16,) + shape[1:], generator=gen) * 2 - 1 for _ in range(3)])
    return model.eval()


def streamlines_to_integers(spec) -> bool:
    return all(b["placement"] in INTEGER_PLACEMENTS for b in spec["blocks"])


__all__ = ["residual_spec", "build_residual", "ResidualQNN", "PLACEMENTS", "INTEGER_PLACEMENTS",
           "streamlines_to_integers"]
