"""Run the accelerator @@MODEL@@ (built by streamfold) on .npy data, or
measure its throughput. FINN's command line:

  python driver.py --exec_mode execute --inputfile input.npy --outputfile output.npy
  python driver.py --exec_mode throughput_test --batchsize 1000      (writes nw_metrics.txt)
  python driver.py ... --platform sim     (the board-less system simulation, no board needed)

The bitfile defaults to ../bitfile/finn-accel.bit next to this folder (where
the deployment package puts it), the external weights to runtime_weights/
next to this file.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver_base import DataType, DriverError, FINNExampleOverlay  # noqa: E402

# The accelerator's I/O (FINN's io_shape_dict): datatypes, shapes with batch 1
# (normal NHWC / folded / packed bytes), DMA names and external weights.
io_shape_dict = @@IO_SHAPE_DICT@@

fclk_mhz = @@FCLK_MHZ@@  # the clock the accelerator was built for
default_platform = "zynq-iodma"
default_bitfile = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bitfile", "finn-accel.bit")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Execute the accelerator on numpy inputs, or run a throughput test")
    ap.add_argument("--exec_mode", default="execute", choices=["execute", "throughput_test"],
                    help='"execute" (functional: inputfile -> outputfile) or "throughput_test"')
    ap.add_argument("--platform", default=default_platform, choices=["zynq-iodma", "sim", "alveo"],
                    help="zynq-iodma: the board; sim: the board-less system simulation")
    ap.add_argument("--batchsize", type=int, default=None,
                    help="frames per run (default: the input file's first dimension, 1 for throughput_test)")
    ap.add_argument("--bitfile", default=default_bitfile, help="the .bit (its .hwh beside it)")
    ap.add_argument("--inputfile", nargs="*", default=["input.npy"], help="input .npy file(s), one per input")
    ap.add_argument("--outputfile", nargs="*", default=["output.npy"], help="output .npy file(s), one per output")
    ap.add_argument("--runtime_weight_dir", default="runtime_weights/",
                    help="folder of the external weights (one .npy per weight DMA)")
    a = ap.parse_args(argv)
    try:
        ins = []
        if a.exec_mode == "execute":
            for f in a.inputfile:
                try:
                    ins.append(np.load(f))
                except OSError as e:
                    raise DriverError(f"cannot read input file {f}: {e}", hint="pass --inputfile x.npy")
        bs = a.batchsize or (ins[0].shape[0] if ins and ins[0].ndim else 1)
        accel = FINNExampleOverlay(bitfile_name=a.bitfile, platform=a.platform, io_shape_dict=io_shape_dict,
                                   batch_size=bs, fclk_mhz=fclk_mhz, runtime_weight_dir=a.runtime_weight_dir)
        if a.exec_mode == "execute":
            for f in a.outputfile:
                if os.path.exists(f):
                    os.remove(f)  # never leave a stale result behind a failed run
            outs = accel.execute(ins if len(ins) > 1 else ins[0])
            outs = outs if isinstance(outs, list) else [outs]
            if len(a.outputfile) < len(outs):
                raise DriverError(f"{len(outs)} outputs but {len(a.outputfile)} --outputfile name(s)",
                                  hint="name one file per output")
            for f, y in zip(a.outputfile, outs):
                np.save(f, y)
            print(f"Results written to {', '.join(a.outputfile[:len(outs)])}")
        else:
            if os.path.exists("nw_metrics.txt"):
                os.remove("nw_metrics.txt")
            res = accel.throughput_test()
            with open("nw_metrics.txt", "w") as f:
                f.write(str(res))
            for k, v in res.items():
                print(f"{k}: {v}")
            print("Results written to nw_metrics.txt")
    except Exception as e:  # noqa: BLE001 - streamfold's and the driver's errors carry a hint: one clear message
        if not isinstance(e, DriverError) and not hasattr(e, "hint"):
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
