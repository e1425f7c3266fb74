"""The bit-width study: the emotion-recognition CNN (the paper's Table I
layout) trained with Brevitas QAT at 32/8/4/2 bits, then run through streamfold.

    python examples/emotion_study.py train            # trains all four, ~35 min on one core
    python examples/emotion_study.py train --bits 4   # one bit width
    python examples/emotion_study.py table            # streamfold columns + the results table

FER2013 is not available here, so the data are Fashion-MNIST (Debian package
dataset-fashion-mnist): 28x28 grayscale like FER's 48x48, 10 classes instead
of 7. Adaptations, all forced by the input size or by the CPU budget:

- Input 1x28x28. The layout is kept: conv32-conv64-pool-drop,
  conv128-conv128-pool, conv256-conv256-pool-drop, FC 1024->256, FC->classes
  (every conv 3x3, pad 1, BN, ReLU). Without the 48x48 model's stride-2 first
  conv the pools 2, 2, 3 give 28 -> 14 -> 7 -> 2, so the flatten is still
  256 x 2 x 2 = 1024 at full width.
- Channel widths are scaled by WIDTH = 1/4 (8-16-32-32-64-64, FC 256->64): at
  full width one quantized epoch takes ~13 min on one core and the study has
  under an hour of a shared 2-core machine. The full-width weight memory is
  still reported (counted from the layout) for the Pynq-Z2 question.
- 5 epochs each (Adam, cosine), every bit width from scratch with the same
  seed and recipe, as the paper trains each precision separately.

32 bits is the float model (plain torch layers). At b = 8/4/2 bits the
weights (per-output-channel float scale) and the hidden ReLU activations are
b-bit; the input is quantized to 8 bits (unsigned, pixels are >= 0) at every
b; the last FC's bias stays float (it runs on the host with the final scale).

Preprocessing outside the graph: x = uint8_image / 255, shape (N, 1, 28, 28).

Outputs in examples/models/: emotion28_{fp32,w8a8,w4a4,w2a2}.onnx (QONNX,
batch 1), .json (recipe, Brevitas accuracy, training time) and
_brevitas_pred.npy (Brevitas' class for each of the 10000 test images), then
`table` adds the streamfold columns and writes examples/emotion_study.md.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
if importlib.util.find_spec("streamfold") is None:  # source checkout, not installed
    sys.path.insert(0, str(HERE.parent / "python"))

BITS = (32, 8, 4, 2)
WIDTH = 0.25
FULL_CHANNELS = (32, 64, 128, 128, 256, 256)
FULL_FC = 256
POOL_AFTER = {1: 2, 3: 2, 5: 3}      # conv index -> max-pool kernel
DROP_AFTER = (1, 5)                  # conv indices followed by Dropout(0.25)
NUM_CLASSES = 10
PAPER = {32: 64.69, 8: 64.55, 4: 63.81, 2: 57.09}  # the paper's FER2013 accuracies, for the trend only
PYNQ_Z2_BRAM_BITS = 140 * 36 * 1024  # 140 BRAM36 = 4.92 Mbit (2^20 bits)


def tag(bits: int) -> str:
    return "fp32" if bits == 32 else f"w{bits}a{bits}"


def weight_counts(width: float = WIDTH) -> list[int]:
    """Weights of each conv / FC (no BN, no bias), from the layout."""
    ch = [max(1, int(c * width)) for c in FULL_CHANNELS]
    fc = max(1, int(FULL_FC * width))
    counts, cin = [], 1
    for c in ch:
        counts.append(cin * c * 9)
        cin = c
    counts += [cin * 4 * fc, fc * NUM_CLASSES]
    return counts


def weight_memory_bits(bits: int, width: float = WIDTH) -> int:
    return sum(weight_counts(width)) * bits


def build_model(bits: int, width: float = WIDTH):
    """The Table I CNN at 28x28; bits 32 gives the float model."""
    import torch
    from torch import nn

    ch = [max(1, int(c * width)) for c in FULL_CHANNELS]
    fc = max(1, int(FULL_FC * width))
    q = bits < 32
    if q:
        import brevitas.nn as qnn
        from brevitas.quant import Int8WeightPerChannelFloat, Uint8ActPerTensorFloat

        def conv(cin, cout):
            return qnn.QuantConv2d(cin, cout, 3, padding=1, bias=False,
                                   weight_quant=Int8WeightPerChannelFloat, weight_bit_width=bits)

        def linear(fin, fout, bias):
            return qnn.QuantLinear(fin, fout, bias=bias, weight_quant=Int8WeightPerChannelFloat,
                                   weight_bit_width=bits)

        def relu():
            return qnn.QuantReLU(bit_width=bits)

        in_quant = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8)
    else:
        def conv(cin, cout):
            return nn.Conv2d(cin, cout, 3, padding=1, bias=False)

        def linear(fin, fout, bias):
            return nn.Linear(fin, fout, bias=bias)

        def relu():
            return nn.ReLU()

        in_quant = nn.Identity()

    layers, cin = [in_quant], 1
    for i, c in enumerate(ch):
        layers += [conv(cin, c), nn.BatchNorm2d(c), relu()]
        if i in POOL_AFTER:
            layers.append(nn.MaxPool2d(POOL_AFTER[i]))
        if i in DROP_AFTER:
            layers.append(nn.Dropout(0.25))
        cin = c
    layers += [nn.Flatten(), linear(cin * 4, fc, False), nn.BatchNorm1d(fc), relu(),
               linear(fc, NUM_CLASSES, True)]
    return nn.Sequential(*layers)


def to_input(images_u8):
    return (images_u8.astype(np.float32) / 255.0)[:, None]


def brevitas_predict(model, x, batch=500):
    import torch
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy())
    return np.concatenate(out).astype(np.uint8)


def train_one(bits, args, xtr, ytr, xte, yte):
    import torch
    import torch.nn.functional as F
    from streamfold.zoo import export_module

    torch.manual_seed(args.seed)
    model = build_model(bits, args.width)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = len(xtr) // args.batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps)
    gen = torch.Generator().manual_seed(args.seed)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr.astype(np.int64))
    history, t0 = [], time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for s in range(steps):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            loss = F.cross_entropy(model(xtr_t[idx]), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        probe = float((brevitas_predict(model, xte[:2000]) == yte[:2000]).mean())
        history.append({"epoch": epoch + 1, "loss": round(total / steps, 4),
                        "test_accuracy_first_2000": probe, "elapsed_s": round(time.time() - t0, 1)})
        print(f"[{tag(bits)}] epoch {epoch + 1}: loss {total / steps:.4f}, acc(first 2000 test) "
              f"{probe:.4f} ({time.time() - t0:.0f}s)", flush=True)
    train_s = time.time() - t0

    pred = brevitas_predict(model, xte)
    acc = float((pred == yte).mean())
    stem = MODELS / f"emotion28_{tag(bits)}"
    MODELS.mkdir(parents=True, exist_ok=True)
    export_module(model, (1, 1, 28, 28), stem.with_suffix(".onnx"))
    np.save(str(stem) + "_brevitas_pred.npy", pred)
    import brevitas
    info = {
        "model": stem.name, "bits": bits, "width": args.width,
        "channels": [max(1, int(c * args.width)) for c in FULL_CHANNELS],
        "fc": max(1, int(FULL_FC * args.width)),
        "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist), 60000 train / 10000 test",
        "preprocessing": "x = uint8_image / 255, float32 (N, 1, 28, 28)",
        "brevitas_accuracy": acc,
        "weights": sum(weight_counts(args.width)),
        "weight_memory_bits": weight_memory_bits(bits, args.width),
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": "Adam",
                     "lr": args.lr, "lr_schedule": "cosine to 0", "seed": args.seed, "threads": 1,
                     "train_seconds": round(train_s, 1), "history": history},
        "onnx_sha256": hashlib.sha256(stem.with_suffix(".onnx").read_bytes()).hexdigest(),
        "versions": {"torch": torch.__version__, "brevitas": brevitas.__version__},
    }
    stem.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"[{tag(bits)}] Brevitas test accuracy {acc:.4f}; trained in {train_s:.0f}s; wrote {stem}.*",
          flush=True)


def cmd_train(args):
    import torch
    from streamfold.data import load_fashion_mnist

    torch.set_num_threads(1)
    global MODELS
    if args.out is not None:
        MODELS = args.out
    xtr_u8, ytr = load_fashion_mnist("train", limit=args.limit)
    xte_u8, yte = load_fashion_mnist("test")
    xtr, xte = to_input(xtr_u8), to_input(xte_u8)
    for bits in args.bits:
        train_one(bits, args, xtr, ytr, xte, yte)


def streamfold_columns(bits, xte, yte):
    """Accuracy of the bundled export on the whole test set through the
    reference executor and the fast engine, and agreement with Brevitas."""
    import streamfold as sf

    stem = MODELS / f"emotion28_{tag(bits)}"
    m = sf.ModelWrapper(str(stem.with_suffix(".onnx")))
    iname, oname = m.graph.input[0].name, m.graph.output[0].name
    t0 = time.time()
    ref = np.concatenate([sf.execute_onnx(m, {iname: xte[i:i + 1]})[oname].argmax(1)
                          for i in range(len(xte))])
    ref_s = time.time() - t0
    eng = sf.Engine(m, threads=1)
    fast = np.concatenate([eng.run(xte[i:i + 500]).argmax(1) for i in range(0, len(xte), 500)])
    bpred = np.load(str(stem) + "_brevitas_pred.npy")
    return {"reference_accuracy": float((ref == yte).mean()),
            "fast_accuracy": float((fast == yte).mean()),
            "reference_agrees_with_brevitas": int((ref == bpred).sum()),
            "fast_agrees_with_reference": int((fast == ref).sum()),
            "reference_seconds": round(ref_s, 1),
            "fast_fallback_nodes": len(eng.fallback_nodes)}


WALL_CLOCK_MIN = 61  # 19:03 -> 20:04 UTC on the day of the study (three processes)


def fmt_mbit(bits):
    """Mbit as the board's 4.9 Mbit is counted: 2^20 bits."""
    return f"{bits / 2 ** 20:.2f}"


def cmd_table(args):
    from streamfold.data import load_fashion_mnist

    xte_u8, yte = load_fashion_mnist("test")
    xte = to_input(xte_u8)
    rows, total_train = [], 0.0
    for bits in BITS:
        p = MODELS / f"emotion28_{tag(bits)}.json"
        if not p.exists():
            print(f"missing {p}: run `train --bits {bits}` first", file=sys.stderr)
            continue
        info = json.loads(p.read_text())
        if args.refresh or "streamfold" not in info:
            info["streamfold"] = streamfold_columns(bits, xte, yte)
            p.write_text(json.dumps(info, indent=2) + "\n")
        total_train += info["training"]["train_seconds"]
        rows.append(info)
    lines = [
        "| bits (W/A) | paper (FER2013) | Brevitas acc. | streamfold reference | streamfold fast engine | agrees with Brevitas "
        "| weight memory (this width) | fits Pynq-Z2 on chip | full-width weight memory | fits |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for info in rows:
        b, s = info["bits"], info["streamfold"]
        mem = weight_memory_bits(b, info["width"])
        full = weight_memory_bits(b, 1.0)
        lines.append(
            f"| {'32 (float)' if b == 32 else f'{b}/{b}'} | {PAPER[b]:.2f} % | {info['brevitas_accuracy'] * 100:.2f} % "
            f"| {s['reference_accuracy'] * 100:.2f} % | {s['fast_accuracy'] * 100:.2f} % "
            f"| {s['reference_agrees_with_brevitas']}/{len(yte)} "
            f"| {fmt_mbit(mem)} Mbit | {'yes' if mem <= PYNQ_Z2_BRAM_BITS else 'no'} "
            f"| {fmt_mbit(full)} Mbit | {'yes' if full <= PYNQ_Z2_BRAM_BITS else 'no'} |")
    table = "\n".join(lines)
    epochs = rows[0]["training"]["epochs"] if rows else "?"
    text = (
        "# Bit-width study: the emotion-recognition CNN on Fashion-MNIST\n\n"
        "Made by `python examples/emotion_study.py train` then `... table`; see that script's docstring "
        "for the adaptations (28x28 input, channel width 1/4 of Table I, "
        f"{epochs} epochs per bit width, Fashion-MNIST instead of FER2013).\n\n"
        "Accuracies are top-1 on the full 10,000-image Fashion-MNIST test set. The streamfold columns run "
        "the bundled QONNX export (batch 1 for the reference executor, batches of 500 for the fast engine). "
        "Weight memory counts conv/FC weights at their bit width (BN and the last bias excluded); "
        f"Pynq-Z2 on chip = 140 BRAM36 = {fmt_mbit(PYNQ_Z2_BRAM_BITS)} Mbit (1 Mbit = 2^20 bits here), "
        "weights only, ignoring thresholds, FIFOs and packing losses. The full-width columns are "
        "the paper's channel counts (1,39 M weights), counted, not trained. The hardware (rtlsim / board) "
        "column follows once the back end exists.\n\n"
        f"{table}\n\nTraining time: {total_train / 60:.1f} min summed over the four runs ("
        + ", ".join(f"{tag(i['bits'])} {i['training']['train_seconds'] / 60:.1f}" for i in rows)
        + " min), each single-threaded on a shared 2-core machine (load average 9-13 from other jobs; "
        "up to three runs side by side; wall clock from the first start to the last finish: "
        f"{WALL_CLOCK_MIN} min). Measured on a lightly loaded core before the study: ~41 s per "
        "float epoch and ~98 s per 4-bit epoch, i.e. ~3.5 and ~8 min per model.\n")
    (HERE / "emotion_study.md").write_text(text.replace("1,39 M", f"{sum(weight_counts(1.0)) / 1e6:.2f} M"))
    print(text.replace("1,39 M", f"{sum(weight_counts(1.0)) / 1e6:.2f} M"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--bits", type=int, nargs="+", default=list(BITS), choices=BITS)
    tr.add_argument("--epochs", type=int, default=5)
    tr.add_argument("--batch-size", type=int, default=128)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--width", type=float, default=WIDTH)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--limit", type=int, default=None, help="train on the first N images (smoke test)")
    tr.add_argument("--out", type=Path, default=None, help="output folder (default examples/models)")
    tb = sub.add_parser("table")
    tb.add_argument("--refresh", action="store_true", help="recompute the streamfold columns")
    args = ap.parse_args()
    return cmd_train(args) if args.cmd == "train" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
