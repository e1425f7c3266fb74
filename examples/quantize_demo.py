"""streamfold.quantize demo: the model optimizer on scikit-learn's digits,
then the bit-width study's table from the bundled models. No training of
float models (bundled); the QAT case fine-tunes for a few seconds.

    python examples/quantize_demo.py
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("streamfold") is None:
    sys.path.insert(0, str(HERE.parent / "python"))

import torch  # noqa: E402

from streamfold.quantize import digits, optimize  # noqa: E402


def show(title, r):
    print(f"\n{title}: stage {r.stage}, {'meets' if r.met else 'misses'} the target")
    print(f"  {'stage':8} {'accuracy':>9} {'size':>10} {'time':>7}  float layers")
    for h in r.history:
        print(f"  {h['stage']:8} {h['accuracy'] * 100:8.2f}% {h['size_bits'] / 8 / 1024:7.1f} KiB "
              f"{h['seconds']:6.1f}s  {', '.join(h['float_layers']) or '-'}")
    for name, why in r.host_layers():
        print(f"  host: {name}: {why}")


def main():
    torch.set_num_threads(1)
    xtr, ytr, xte, yte = digits.split()
    acc = lambda m: digits.accuracy(m, xte, yte)  # noqa: E731
    train = digits.batches(xtr, ytr)
    show("digits CNN, 8-bit PTQ (target: float - 1 point)",
         optimize(digits.pretrained("cnn"), xtr[:256], acc, acc(digits.pretrained("cnn")) - 0.01, 8, 8))
    show("digits MLP, 3-bit (target 97.5 %)",
         optimize(digits.pretrained("mlp"), xtr[:256], acc, 0.975, 3, 3, "minmax", train))
    show("digits CNN, 2-bit, mse calibration (target 97 %, PTQ then QAT)",
         optimize(digits.pretrained("cnn"), xtr[:256], acc, 0.97, 2, 2, "mse", train, stages=("ptq", "qat"),
                  qat_epochs=4))
    table = HERE / "emotion_study.md"
    if table.exists():
        print("\n" + table.read_text())


if __name__ == "__main__":
    main()
