"""streamfold demo: the bundled Fashion-MNIST TFC-w1a1 through streamfold.

Loads the bundled QONNX model, prints its summary, runs the full Fashion-MNIST
test set through streamfold's executor, and compares every prediction with
the Brevitas (PyTorch) forward pass of the same trained network.
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import streamfold as sf  # noqa: E402
from streamfold.cli import print_model_summary  # noqa: E402
from streamfold.data import load_fashion_mnist  # noqa: E402

MODEL = HERE / "models" / "tfc_w1a1_fmnist"


def brevitas_logits(images):
    """Logits of the trained Brevitas module (the reference) on preprocessed images."""
    import torch

    from streamfold.zoo.models import FC

    torch.set_num_threads(os.cpu_count() or 1)
    module = FC(64, 1, 1)
    module.load_state_dict(torch.load(MODEL.with_suffix(".pt"), map_location="cpu"))
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(images)).numpy()


def main():
    info = json.loads(MODEL.with_suffix(".json").read_text())
    print(f"streamfold {sf.__version__} demo: {MODEL.with_suffix('.onnx').name}")
    print_model_summary(str(MODEL.with_suffix(".onnx")))

    images, labels = load_fashion_mnist("test")
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    model = sf.ModelWrapper(MODEL.with_suffix(".onnx"))
    in_name = model.graph.input[0].name
    out_name = model.graph.output[0].name

    t0 = time.perf_counter()
    ours = np.concatenate([sf.execute_onnx(model, {in_name: x[i:i + 1]})[out_name] for i in range(len(x))])
    dt = time.perf_counter() - t0
    ref = brevitas_logits(x)

    pred, ref_pred = ours.argmax(1), ref.argmax(1)
    acc = float((pred == labels).mean())
    agree = float((pred == ref_pred).mean())
    print(f"\nFashion-MNIST test set: {len(x)} images through streamfold's reference executor "
          f"in {dt:.2f} s ({len(x) / dt:,.0f} images/s, batch 1)")
    print(f"  top-1 accuracy (streamfold):        {acc * 100:.2f} %   (recorded at training: "
          f"{info.get('test_accuracy', float('nan')) * 100:.2f} %)")
    print(f"  agreement with Brevitas (top-1):    {agree * 100:.2f} %")
    print(f"  max |logit difference| vs Brevitas: {np.abs(ours - ref).max():.3g}")
    if agree < 1.0:
        print("ERROR: streamfold disagrees with Brevitas", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
