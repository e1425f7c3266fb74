"""streamfold.quantize: from a float PyTorch model to a Brevitas-quantized one
that streamfold can compile, in three stages (DNN2FPGA's model optimizer).

    from streamfold.quantize import optimize
    r = optimize(float_model, calib_x, eval_fn, target_accuracy=0.95,
                 weight_bits=4, act_bits=4, calibration="percentile", train_data=batches)
    r.stage            # "ptq", "partial" or "qat": the first stage that met the target
    r.history          # accuracy, size in bits, time and float layers per stage
    r.host_layers()    # the layers left in float, and why they run on the host
    r.export_qonnx("model.onnx", calib_x[:1])

1. ptq: every Conv/Linear and activation quantized with Brevitas' graph
   quantization (brevitas.graph.quantize), scales from Brevitas'
   calibration_mode with the chosen statistic (minmax, percentile, mse).
2. partial: the layers whose quantization costs the most accuracy (measured:
   each layer alone quantized) stay in float, growing from the ends of the
   network inwards so the integer middle is one accelerator and the float
   layers run on the host before or after it. ``partial_rule="skip_conv"``
   is the paper's rule instead (every convolution stays float).
3. qat: Brevitas quantization-aware training from the fully quantized PTQ
   model, same quantizers and calibration; the result is fully integer.

Quantizers are the ones streamfold's FINN-style flow absorbs: activations of
2..8 bits with per-tensor float scales (unsigned after ReLU), weights with
per-tensor or per-channel float scales, 32-bit biases. Needs torch and
brevitas (``pip install streamfold[zoo]``).
"""
import importlib

# Lazy: `import streamfold.quantize` (e.g. by the CLI parser) must not pull in
# torch and brevitas; the names below load their module on first use.
_EXPORTS = {
    "optimize": "stages", "QuantizeResult": "stages", "sensitivity": "stages", "size_bits": "stages",
    "METADATA_KEY": "stages", "CALIBRATIONS": "recipe", "QuantSpec": "recipe", "act_quantizer": "recipe",
    "weight_quantizer": "recipe", "calibrate": "recipe", "compute_layers": "recipe", "quantize_model": "recipe",
    "trace": "recipe",
}
__all__ = sorted(_EXPORTS) + ["digits", "host", "recipe"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in ("digits", "host", "recipe"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
