"""Train the float digits MLP and CNN used by streamfold.quantize's demo,
CLI and tests (scikit-learn's load_digits, 1400 train / 397 test), ~15 s.

    python examples/train_digits.py     # writes examples/models/digits_{mlp,cnn}_float.pt
"""
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("streamfold") is None:
    sys.path.insert(0, str(HERE.parent / "python"))

from streamfold.quantize import digits  # noqa: E402


def main():
    torch.set_num_threads(1)
    _, _, xte, yte = digits.split()
    info = {}
    for name in digits.MODELS:
        t0 = time.time()
        model = digits.train_float(name)
        acc = digits.accuracy(model, xte, yte)
        torch.save(model.state_dict(), HERE / "models" / f"digits_{name}_float.pt")
        info[name] = {"float_test_accuracy": acc, "train_seconds": round(time.time() - t0, 1),
                      "recipe": "Adam, 30 epochs, batch 64, seed 0 (streamfold.quantize.digits.train_float)"}
        print(f"{name}: float test accuracy {acc:.4f} ({time.time() - t0:.0f} s)")
    (HERE / "models" / "digits_float.json").write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
