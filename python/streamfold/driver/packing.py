"""Bit packing of folded tensors into AXI-Stream beats / DMA buffers.

One routine serves the Verilator harness, the stitched simulation and the
PYNQ driver, so the bytes a simulation consumes are the bytes the board gets.
Format (FINN's finnpy_to_packed_bytearray with reverse_inner=True,
reverse_endian=True): each innermost folded vector becomes one beat of
ceil(E*bits/8) bytes; element 0 sits in the least significant bits and byte 0
is the least significant byte. BIPOLAR travels as {0,1}; FIXED<w,i> as its
integer code (value / scale). Needs only numpy, so the driver files can carry
it onto a PYNQ image.
"""
from __future__ import annotations

import re

import numpy as np


def _dtype_info(dt):
    """(bits, signed, kind, scale) of a QONNX datatype given by name or object."""
    name = dt if isinstance(dt, str) else getattr(dt, "name", None)
    if name is None:
        raise TypeError(f"not a datatype: {dt!r}")
    name = str(name).upper()
    if name == "BIPOLAR":
        return 1, False, "bipolar", 1.0
    if name == "BINARY":
        return 1, False, "int", 1.0
    if name == "TERNARY":
        return 2, True, "int", 1.0
    m = re.fullmatch(r"(U?)INT(\d+)", name)
    if m:
        return int(m.group(2)), m.group(1) == "", "int", 1.0
    m = re.fullmatch(r"FIXED<(\d+),\s*(-?\d+)>", name)
    if m:
        w, i = int(m.group(1)), int(m.group(2))
        return w, True, "int", 2.0 ** -(w - i)
    raise ValueError(f"datatype {name} cannot be packed (integer, bipolar, ternary or fixed-point only)")


def packed_bytes(elements, dt):
    """Bytes per beat of `elements` values of datatype dt."""
    bits = _dtype_info(dt)[0]
    return (elements * bits + 7) // 8


def pack(folded, dt):
    """uint8 array (..., ceil(E*bits/8)) from a folded array (..., E) of dt values."""
    bits, signed, kind, scale = _dtype_info(dt)
    a = np.asarray(folded)
    if kind == "bipolar":
        codes = ((a.astype(np.int64) + 1) // 2).astype(np.uint64)
    else:
        v = a / scale if scale != 1.0 else a
        codes = np.rint(v).astype(np.int64).astype(np.uint64)
    if bits < 64:
        codes &= np.uint64((1 << bits) - 1)
    e = a.shape[-1]
    nbytes = (e * bits + 7) // 8
    if bits == 8:  # fast path: one byte per element
        return codes.astype(np.uint8).reshape(a.shape[:-1] + (nbytes,))
    # Little-endian bit expansion: element i's bit b goes to stream bit i*bits+b.
    shifts = np.arange(bits, dtype=np.uint64)
    bitarr = ((codes[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)
    bitarr = bitarr.reshape(a.shape[:-1] + (e * bits,))
    pad = nbytes * 8 - e * bits
    if pad:
        bitarr = np.concatenate([bitarr, np.zeros(a.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.packbits(bitarr, axis=-1, bitorder="little")


def unpack(packed, dt, elements):
    """Folded float32 array (..., elements) of dt values from packed beats (..., nbytes)."""
    bits, signed, kind, scale = _dtype_info(dt)
    p = np.asarray(packed, dtype=np.uint8)
    if bits == 8 and p.shape[-1] == elements:
        codes = p.astype(np.int64)
    else:
        bitarr = np.unpackbits(p, axis=-1, bitorder="little")[..., : elements * bits]
        bitarr = bitarr.reshape(p.shape[:-1] + (elements, bits)).astype(np.int64)
        codes = (bitarr << np.arange(bits, dtype=np.int64)).sum(axis=-1)
    if kind == "bipolar":
        return (2 * codes - 1).astype(np.float32)
    if signed:
        codes = np.where(codes >= (1 << (bits - 1)), codes - (1 << bits), codes)
    out = codes.astype(np.float64) * scale if scale != 1.0 else codes
    return out.astype(np.float32)
