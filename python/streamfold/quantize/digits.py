"""Small float models on scikit-learn's 8x8 digits, for the optimizer's demo,
CLI and tests: an MLP and a CNN, a fixed train/test split, and the bundled
trained weights (examples/models/digits_{mlp,cnn}_float.pt, made by
examples/train_digits.py; trained here when absent, ~10 s).

Inputs are float32 (N, 1, 8, 8) in [0, 1] (pixel / 16).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

BUNDLED = Path(__file__).resolve().parents[3] / "examples" / "models"
N_TRAIN = 1400


class DigitsMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                 nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"mlp": DigitsMLP, "cnn": DigitsCNN}


def split():
    """(x_train, y_train, x_test, y_test) as torch tensors: a fixed shuffle
    of the 1797 digits, 1400 train / 397 test."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    p = np.random.default_rng(0).permutation(len(x))
    x, y = torch.from_numpy(x[p]), torch.from_numpy(y[p])
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def batches(x, y, size=64):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def train_float(name, epochs=30, seed=0):
    """Train the float model ``name`` ("mlp" or "cnn") on the train split."""
    xtr, ytr, _, _ = split()
    torch.manual_seed(seed)
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2 if name == "mlp" else 3e-3)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def pretrained(name):
    """The float model ``name`` with the bundled weights (trained now if the
    file is missing)."""
    path = BUNDLED / f"digits_{name}_float.pt"
    model = MODELS[name]()
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    return train_float(name)
