"""Small real data sets that need no download.

- Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (IDX files,
  gzipped or not, under /usr/share/datasets/fashion-mnist/; override the
  directory with $STREAMFOLD_FASHION_MNIST).
- scikit-learn's bundled 8x8 digits.

Only numpy is needed (scikit-learn for load_digits).
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from .errors import StreamfoldError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# IDX type codes (third magic byte) -> numpy dtype; all multi-byte are big-endian.
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetNotFoundError(StreamfoldError, FileNotFoundError):
    """A data set is not installed; ``hint`` says how to install it."""


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.exists():
            return p
    raise DatasetNotFoundError(
        f"Fashion-MNIST file {stem}[.gz] not found in {directory}",
        hint="install the Debian package: `sudo apt-get install dataset-fashion-mnist`, "
             "or point $STREAMFOLD_FASHION_MNIST at a directory holding the four IDX files")


def read_idx(path, limit: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped). ``limit`` reads only the first
    items along axis 0, without decoding the rest."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
            raise ValueError(f"{path} is not an IDX file (magic {head.hex()})")
        dtype = np.dtype(_IDX_DTYPES[head[2]])
        ndim = head[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        if limit is not None:
            dims[0] = min(dims[0], int(limit))
        count = int(np.prod(dims))
        data = f.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"{path} is truncated: expected {count} items of shape {dims}")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def load_fashion_mnist(split: str = "test", limit: int | None = None, directory=None):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) of the given split
    ("train": 60000, "test": 10000), optionally only the first ``limit``."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    d = Path(directory or os.environ.get("STREAMFOLD_FASHION_MNIST") or FASHION_MNIST_DIR)
    img_stem, lbl_stem = _FILES[split]
    images = read_idx(_find(d, img_stem), limit)
    labels = read_idx(_find(d, lbl_stem), limit)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels in {d}")
    return images, labels


def load_digits():
    """scikit-learn's bundled 8x8 digits: (images uint8 (1797, 8, 8) with
    values 0..16, labels int64 (1797,)). Bundled with scikit-learn, no download."""
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn: `pip install scikit-learn`") from e
    d = _load()
    return d.images.astype(np.uint8), d.target.astype(np.int64)
