"""Brevitas quantizer recipes and calibration helpers shared by the zoo.

Imported only from inside zoo functions: it pulls in torch and brevitas.
"""
from __future__ import annotations

import torch
from torch import nn
from dependencies import value

from brevitas.core.bit_width import BitWidthImplType
from brevitas.core.function_wrapper import TensorClamp
from brevitas.core.quant import QuantType
from brevitas.core.restrict_val import FloatToIntImplType, RestrictValueType
from brevitas.core.scaling import ScalingImplType
from brevitas.core.zero_point import ZeroZeroPoint
import warnings
with warnings.catch_warnings():
    # brevitas.graph warns at import about an optional CUDA kernel package.
    warnings.simplefilter("ignore")
    from brevitas.graph.calibrate import calibration_mode
from brevitas.inject import ExtendedInjector
from brevitas.quant.solver import ActQuantSolver, WeightQuantSolver


class _FinnConstQuant(ExtendedInjector):
    """Constant-scale, narrow, signed quantizer in the style of FINN's BNN-PYNQ
    models. The scale is a fixed constant so the exported Quant nodes carry
    scale 1 (weights) or max_val/(2^(b-1)-1) (activations); at bit_width 1
    the quant type switches to BINARY, which exports as BipolarQuant."""
    bit_width_impl_type = BitWidthImplType.CONST
    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    zero_point_impl = ZeroZeroPoint
    float_to_int_impl_type = FloatToIntImplType.ROUND
    scaling_per_output_channel = False
    narrow_range = True
    signed = True

    @value
    def quant_type(bit_width):
        if bit_width is None:
            return QuantType.FP
        if bit_width == 1:
            return QuantType.BINARY
        return QuantType.INT


class FinnWeightQuant(_FinnConstQuant, WeightQuantSolver):
    scaling_const = 1.0


class FinnActQuant(_FinnConstQuant, ActQuantSolver):
    # Binary quant needs an explicit clamp implementation; INT quant ignores it.
    tensor_clamp_impl = TensorClamp
    min_val = -1.0
    max_val = 1.0


def randomize_bn_affine(model: nn.Module, gen: torch.Generator, beta_mean: float = 0.0) -> None:
    """Give every BatchNorm a non-trivial gamma/beta. Default BN (gamma 1,
    beta 0, mean 0, var 1) exports as an identity whose constants the ONNX
    optimizer even deduplicates, which hides bugs in BN folding."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.bias.copy_(beta_mean + 0.3 * torch.randn(m.num_features, generator=gen))


def _batchnorms(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def calibrate(model: nn.Module, batches) -> None:
    """Make scales and BN statistics match the data the model will see.

    1. Activation quantizers with runtime-statistics scales (Brevitas' float
       scaled quantizers) are initialised with calibration_mode. BNs run in
       train mode meanwhile so the float path stays normalised.
    2. BN running stats are then recomputed with quantization enabled, one BN
       at a time in network order, so that each BN sees the quantized
       distribution produced by the already-calibrated layers before it. The
       float path cannot be used for this: in binarized nets the quantized
       pre-BN sums have a completely different range than the float ones.
    """
    batches = list(batches)
    model.eval()
    bns = _batchnorms(model)
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
        bn.train()
    with calibration_mode(model):
        for x in batches:
            model(x)
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.train()
        for x in batches:
            model(x)
        bn.eval()
        bn.momentum = 0.1
    model.eval()
