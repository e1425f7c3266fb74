"""Top-1 accuracy of the accelerator @@MODEL@@ on the Fashion-MNIST test set
(the IDX files of Debian's dataset-fashion-mnist package), on the board or
with --platform sim:

  python validate.py --batchsize 100
  python validate.py --platform sim --limit 500

Images go in as they are stored (28x28 uint8, 0..255), reshaped to the
accelerator's input shape. When host-side nodes sit in front of the
accelerator (e.g. the input quantizer of a binarized network), the build
tabulated what they make of each pixel value into preprocess.npy (the model
input being pixel / 255), and the images go through that table. The prediction is the output itself when the
accelerator ends in a top-1 label (one value per image), else the argmax of
its outputs. Needs numpy (and pynq on the board) only.
"""
import argparse
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import default_bitfile, fclk_mhz, io_shape_dict  # noqa: E402
from driver_base import DriverError, FINNExampleOverlay  # noqa: E402

DATASET_ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {"images": "t10k-images-idx3-ubyte", "labels": "t10k-labels-idx1-ubyte"}


def read_idx(root, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            break
    else:
        raise DriverError(f"Fashion-MNIST file {stem}[.gz] not found in {root}",
                          hint="apt-get install dataset-fashion-mnist, or pass --dataset_root DIR")
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DriverError(f"{path} is not an IDX file of bytes", hint="check --dataset_root")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Validate top-1 accuracy on the Fashion-MNIST test set")
    ap.add_argument("--batchsize", type=int, default=100, help="images per accelerator run")
    ap.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist"],
                    help="the data set (Fashion-MNIST test set, 10000 images)")
    ap.add_argument("--platform", default="zynq-iodma", choices=["zynq-iodma", "sim", "alveo"],
                    help="zynq-iodma: the board; sim: the board-less system simulation")
    ap.add_argument("--bitfile", default=default_bitfile, help="the .bit (its .hwh beside it)")
    ap.add_argument("--dataset_root", default=os.environ.get("STREAMFOLD_FASHION_MNIST", DATASET_ROOT),
                    help="folder of the IDX files (gzipped or not)")
    ap.add_argument("--runtime_weight_dir", default="runtime_weights/",
                    help="folder of the external weights (one .npy per weight DMA)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N test images")
    a = ap.parse_args(argv)
    try:
        imgs = read_idx(a.dataset_root, FILES["images"])
        labels = read_idx(a.dataset_root, FILES["labels"])
        if a.limit:
            imgs, labels = imgs[: a.limit], labels[: a.limit]
        total = imgs.shape[0]
        shape = tuple(io_shape_dict["ishape_normal"][0])
        per = int(np.prod(shape[1:]))
        if per != imgs[0].size:
            raise DriverError(f"the accelerator takes {shape[1:]} per image, Fashion-MNIST images are 28x28",
                              hint="validate.py is for accelerators of 28x28 grayscale inputs")
        table = None
        pre = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preprocess.npy")
        if os.path.isfile(pre):
            table = np.load(pre)
        bs = max(1, min(a.batchsize, total))
        accel = FINNExampleOverlay(bitfile_name=a.bitfile, platform=a.platform, io_shape_dict=io_shape_dict,
                                   batch_size=bs, fclk_mhz=fclk_mhz, runtime_weight_dir=a.runtime_weight_dir)
        ok = 0
        nb = -(-total // bs)
        for b in range(nb):
            x = imgs[b * bs:(b + 1) * bs].reshape(-1, per)
            if table is not None:  # the host-side nodes, pixel by pixel
                x = table[x] if table.ndim == 1 else table[x, np.arange(per)]
            y = np.asarray(accel.execute(x.reshape((x.shape[0],) + shape[1:])))
            y = y.reshape(x.shape[0], -1)
            pred = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
            exp = labels[b * bs:(b + 1) * bs]
            ok += int((pred == exp).sum())
            done = min((b + 1) * bs, total)
            print(f"batch {b + 1} / {nb} : total OK {ok} NOK {done - ok}", flush=True)
        print(f"Final accuracy: {100.0 * ok / total:f}")
    except Exception as e:  # noqa: BLE001 - streamfold's and the driver's errors carry a hint: one clear message
        if not isinstance(e, DriverError) and not hasattr(e, "hint"):
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
