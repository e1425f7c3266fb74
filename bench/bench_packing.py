"""Driver packing speed: streamfold.driver.pack / unpack against finn-plus's
finn.util.data_packing (finnpy_to_packed_bytearray / packed_bytearray_to_finnpy,
reverse_inner=True, reverse_endian=True), side by side on the same arrays.

Each case is a folded tensor the PYNQ driver packs (inputs) or unpacks
(outputs): batch N, folded shape, datatype, container dtype of the numpy array
handed in (float32 is what execute() usually gets; uint8/int8 is FINN's
"fast path" container). Both results are checked to be identical before
timing. Time is the best of --repeat runs of a loop lasting >= --seconds / repeat.

Usage: PYTHONPATH=python python3 bench/bench_packing.py [--batch 1 100] [--seconds 1.0] [--repeat 5]
"""
import argparse
import time

import numpy as np
from finn.util.data_packing import finnpy_to_packed_bytearray, packed_bytearray_to_finnpy
from qonnx.core.datatype import DataType

from streamfold.driver import pack, unpack

# (label, folded shape without batch, datatype, container)
CASES = [
    ("CNV input", (32, 32, 1, 3), "UINT8", "float32"),
    ("CNV input, uint8", (32, 32, 1, 3), "UINT8", "uint8"),
    ("TFC input", (16, 49), "UINT8", "float32"),
    ("LFC input bipolar", (1, 832), "BIPOLAR", "float32"),
    ("binary, odd SIMD 49", (16, 49), "BINARY", "float32"),
    ("INT2 SIMD 9", (28, 28, 1, 9), "INT2", "float32"),
    ("UINT3 SIMD 7", (64, 7), "UINT3", "float32"),
    ("UINT4 SIMD 16", (32, 32, 4, 16), "UINT4", "float32"),
    ("INT5 SIMD 3", (32, 32, 1, 3), "INT5", "float32"),
    ("INT7 SIMD 11", (100, 11), "INT7", "float32"),
    ("INT8 SIMD 32", (32, 32, 2, 32), "INT8", "float32"),
    ("label UINT8", (1, 1), "UINT8", "float32"),
    ("INT18 logits PE 2", (5, 2), "INT18", "float32"),
    ("INT24 logits", (10, 1), "INT24", "float32"),
]


def data(shape, dt, container, rng):
    q = DataType[dt]
    if dt == "BIPOLAR":
        x = rng.choice([-1, 1], size=shape)
    else:
        x = rng.integers(int(q.min()), int(q.max()), size=shape, endpoint=True)
    return x.astype(container)


def best(fn, seconds, repeat):
    fn()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.05:
        fn()
        n += 1
    per = (time.perf_counter() - t0) / n
    loops = max(1, int(seconds / repeat / per))
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        ts.append((time.perf_counter() - t0) / loops)
    return min(ts)


def fmt(s):
    return f"{s * 1e6:,.0f} us" if s < 1e-2 else f"{s * 1e3:,.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 100])
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="streamfold's value check on (the driver's default)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"| case | N | folded shape | dt | in | pack sf | pack FINN | x | unpack sf | unpack FINN | x |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in a.batch:
        for label, shape, dt, container in CASES:
            q = DataType[dt]
            x = data((n,) + shape, dt, container, rng)
            ref = finnpy_to_packed_bytearray(x, q, reverse_inner=True, reverse_endian=True)
            got = pack(x, dt, check=a.check)
            assert got.shape == ref.shape and (got == ref).all(), label
            refc = np.ascontiguousarray(ref)
            try:
                uf = packed_bytearray_to_finnpy(refc, q, x.shape, reverse_inner=True, reverse_endian=True)
            except Exception:
                uf = None
            us = unpack(got, dt, x.shape)
            assert (us == x.astype(np.float32)).all(), label
            assert uf is None or (uf == us).all(), label
            tp_s = best(lambda: pack(x, dt, check=a.check), a.seconds, a.repeat)
            tp_f = best(lambda: finnpy_to_packed_bytearray(x, q, reverse_inner=True, reverse_endian=True),
                        a.seconds, a.repeat)
            tu_s = best(lambda: unpack(got, dt, x.shape), a.seconds, a.repeat)
            tu_f = best(lambda: packed_bytearray_to_finnpy(refc, q, x.shape, reverse_inner=True,
                                                           reverse_endian=True), a.seconds, a.repeat) \
                if uf is not None else None
            print(f"| {label} | {n} | {shape} | {dt} | {container} | {fmt(tp_s)} | {fmt(tp_f)} | "
                  f"{tp_f / tp_s:.1f} | {fmt(tu_s)} | {fmt(tu_f) if tu_f else 'fails'} | "
                  f"{(tu_f / tu_s) if tu_f else float('nan'):.1f} |", flush=True)


if __name__ == "__main__":
    main()
