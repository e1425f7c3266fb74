"""Bit packing of folded tensors into AXI-Stream beats / DMA buffers.

One routine serves the Verilator harness, the stitched simulation and the
PYNQ driver, so the bytes a simulation consumes are the bytes the board gets.
Format (FINN's finnpy_to_packed_bytearray with reverse_inner=True,
reverse_endian=True): each innermost folded vector becomes one beat of
ceil(E*bits/8) bytes; element 0 sits in the least significant bits and byte 0
is the least significant byte. BIPOLAR travels as {0,1}; FIXED<w,i> as its
integer code (value / scale); FLOAT32 as its IEEE bits.

Speed: no bit-level expansion. Elements are grouped so that a group fills
whole bytes (g = 8/gcd(bits, 8) elements -> g*bits/8 bytes); each output byte
of a group is the OR of the shifted codes of the (at most two per element)
elements that overlap it, computed with one numpy operation per
(element, byte) pair over all groups at once. Widths that are whole bytes are
plain little-endian views, 1-bit widths are np.packbits.

This module needs only numpy and re: step_make_pynq_driver inlines its source
into the generated driver_base.py, which must run on a stock PYNQ image.
"""
from __future__ import annotations

import math
import re

import numpy as np

try:  # inside streamfold: the typed error; inlined into a driver file: a plain one
    from ..errors import InputError as PackingError
except ImportError:
    class PackingError(ValueError):
        """Data that does not fit the accelerator's datatype or shape."""

        def __init__(self, message, hint=""):
            super().__init__(f"{message}\n  hint: {hint}" if hint else message)
            self.hint = hint


_INFO = {}


def _dtype_info(dt):
    """(bits, signed, kind, scale) of a QONNX datatype given by name or object."""
    name = dt if isinstance(dt, str) else getattr(dt, "name", None)
    if name is None:
        raise TypeError(f"not a datatype: {dt!r}")
    r = _INFO.get(name)
    if r is None:
        r = _INFO[name] = _parse_dtype(str(name).upper())
    return r


def _parse_dtype(name):
    if name == "BIPOLAR":
        return 1, False, "bipolar", 1.0
    if name == "BINARY":
        return 1, False, "int", 1.0
    if name == "TERNARY":
        return 2, True, "int", 1.0
    if name == "FLOAT32":
        return 32, True, "float", 1.0
    m = re.fullmatch(r"(U?)INT(\d+)", name)
    if m and 1 <= int(m.group(2)) <= 64:
        return int(m.group(2)), m.group(1) == "", "int", 1.0
    m = re.fullmatch(r"FIXED<(\d+),\s*(-?\d+)>", name)
    if m and 1 <= int(m.group(1)) <= 64:
        w, i = int(m.group(1)), int(m.group(2))
        return w, True, "int", 2.0 ** -(w - i)
    raise PackingError(f"datatype {name} cannot be packed",
                       hint="integers of 1..64 bits, BIPOLAR, BINARY, TERNARY, FIXED<w,i> or FLOAT32")


def packed_bytes(elements, dt):
    """Bytes per beat of `elements` values of datatype dt."""
    bits = _dtype_info(dt)[0]
    return (elements * bits + 7) // 8


def _container(bits):
    for c in (8, 16, 32, 64):
        if bits <= c:
            return c
    raise PackingError(f"{bits}-bit values cannot be packed", hint="at most 64 bits per element")


def _range(bits, signed, kind):
    if kind == "bipolar":
        return -1, 1
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _codes(a, dt, bits, signed, kind, scale, check):
    """Unsigned container array whose low `bits` bits are each element's code."""
    c = _container(bits)
    ut = np.dtype(f"<u{c // 8}")
    if kind == "float":
        return np.ascontiguousarray(a, dtype="<f4").view("<u4")
    if kind == "bipolar":
        if a.dtype == np.bool_:
            return a.view(np.uint8)
        if check and a.size:
            ok = np.abs(a) == 1
            if not ok.all():
                raise PackingError(f"value {a[~ok].flat[0]} is not BIPOLAR (-1 or +1)",
                                   hint="binarize the data first")
        return (a > 0).view(np.uint8)
    if scale != 1.0:
        a = a * (1.0 / scale)  # a power of two: exact
    st = np.dtype(f"<i{c // 8}") if signed else ut
    if a.dtype == st:
        ints = a
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            ints = a.astype(st)
        # Non-integers, and values the container cannot hold, do not survive
        # the round trip (one pass; FINN asserts the same).
        if check and a.size and not np.array_equal(ints, a):
            bad = a.flat[np.flatnonzero(ints != a)[0]]
            lo, hi = _range(bits, signed, kind)
            raise PackingError(f"value {bad} is not a {dt} value (integer codes in [{lo}, {hi}]"
                               + (f" times {scale}" if scale != 1.0 else "") + ")",
                               hint="quantize to the accelerator's datatype first; FINN's packer refuses it too")
    if check and a.size and bits < c:  # the container holds more than dt
        lo, hi = _range(bits, signed, kind)
        mn, mx = ints.min(), ints.max()
        if mn < lo or mx > hi:
            raise PackingError(f"values out of range for {dt}: min {mn}, max {mx}, allowed [{lo}, {hi}]"
                               + (f" (codes; times {scale} as values)" if scale != 1.0 else ""),
                               hint="quantize or clip to the accelerator's datatype")
    u = ints.view(ut) if signed else ints
    if signed and bits < c:
        u = u & ut.type((1 << bits) - 1)
    return u


def _layout(e, bits):
    """How a beat of e elements is cut for the shift-or loops: (elements per
    unit, bytes per unit, units per beat). Short beats are one unit (one numpy
    operation per element and byte, no padding); long beats are cut into
    groups that fill whole bytes (g = 8/gcd(bits, 8) elements), so the number
    of numpy operations stays bounded and each runs over many groups."""
    g = 8 // math.gcd(bits, 8)
    if e <= 16 and g * bits > 8:  # (widths dividing 8 fill a byte per group: always grouped)
        return e, (e * bits + 7) // 8, 1
    return g, g * bits // 8, -(-e // g)


def pack(folded, dt, check=True):
    """uint8 array (..., ceil(E*bits/8)) from a folded array (..., E) of dt values.

    Byte-identical to FINN's finnpy_to_packed_bytearray(folded, dt,
    reverse_inner=True, reverse_endian=True). check=True refuses values that
    are not dt codes (as FINN does) at the cost of a min/max pass."""
    bits, signed, kind, scale = _dtype_info(dt)
    a = np.asarray(folded)
    if a.ndim == 0:
        a = a.reshape(1)
    e = a.shape[-1]
    lead = a.shape[:-1]
    nbytes = (e * bits + 7) // 8
    u = _codes(a, dt, bits, signed, kind, scale, check)
    if bits == 1:
        return np.packbits(u, axis=-1, bitorder="little")
    if bits % 8 == 0:  # whole bytes: the little-endian container, truncated
        c = u.dtype.itemsize
        b = np.ascontiguousarray(u).view(np.uint8).reshape(lead + (e, c))
        if c != bits // 8:
            b = b[..., : bits // 8]
        return np.ascontiguousarray(b).reshape(lead + (nbytes,))
    per, nb, units = _layout(e, bits)
    if units * per != e:  # pad the beat to whole groups with zero codes
        p = np.zeros(lead + (units * per,), u.dtype)
        p[..., :e] = u
        u = p
    u = u.reshape(lead + (units, per))
    out = np.zeros(lead + (units, nb), np.uint8)
    for j in range(per):
        lo = j * bits  # stream bit offset of element j within the unit
        col = u[..., j]
        for k in range(lo // 8, min(nb - 1, (lo + bits - 1) // 8) + 1):
            s = lo - 8 * k
            part = (col << u.dtype.type(s)) if s >= 0 else (col >> u.dtype.type(-s))
            if u.dtype != np.uint8:
                part = part.astype(np.uint8)  # wraps: keeps the byte's 8 bits
            out[..., k] |= part
    out = out.reshape(lead + (units * nb,))
    return out if units * nb == nbytes else np.ascontiguousarray(out[..., :nbytes])


def _sign_extend(u, bits, signed):
    """Signed integer array from unsigned codes (container dtype)."""
    c = u.dtype.itemsize * 8
    if not signed:
        return u
    st = np.dtype(f"<i{c // 8}")
    if bits == c:
        return u.view(st)
    sh = c - bits
    return (u << u.dtype.type(sh)).view(st) >> st.type(sh)


def unpack_codes(packed, dt, elements):
    """Integer codes (..., elements) (signed where dt is) from packed beats."""
    bits, signed, kind, scale = _dtype_info(dt)
    p = np.asarray(packed)
    if p.dtype != np.uint8:
        raise PackingError(f"packed data must be uint8, not {p.dtype}", hint="pass the DMA buffer's bytes")
    e = int(elements)
    lead = p.shape[:-1]
    nbytes = (e * bits + 7) // 8
    if p.shape[-1] < nbytes:
        raise PackingError(f"a beat of {e} x {dt} needs {nbytes} bytes, the data have {p.shape[-1]}",
                           hint="check the packed shape (oshape_packed)")
    if kind == "float":
        b = np.ascontiguousarray(p[..., : 4 * e]).view("<f4")
        return b.reshape(lead + (e,))
    c = _container(bits)
    ut = np.dtype(f"<u{c // 8}")
    if bits == 1:
        u = np.unpackbits(p, axis=-1, count=e, bitorder="little")
    elif bits % 8 == 0:
        bb = bits // 8
        b = p[..., : e * bb].reshape(lead + (e, bb))
        if bb != c // 8:
            w = np.zeros(lead + (e, c // 8), np.uint8)
            w[..., :bb] = b
            b = w
        u = np.ascontiguousarray(b).view(ut).reshape(lead + (e,))
    else:
        per, nb, units = _layout(e, bits)
        if units * nb <= p.shape[-1]:
            q = p[..., : units * nb]
        else:
            q = np.zeros(lead + (units * nb,), np.uint8)
            q[..., : p.shape[-1]] = p
        q = q.reshape(lead + (units, nb))
        u = np.empty(lead + (units, per), ut)
        mask = ut.type((1 << bits) - 1)
        for j in range(per):
            lo = j * bits
            acc = None
            for k in range(lo // 8, (lo + bits - 1) // 8 + 1):
                s = 8 * k - lo  # where byte k lands relative to element j's bit 0
                byte = q[..., k] if c == 8 else q[..., k].astype(ut)
                part = (byte << ut.type(s)) if s >= 0 else (byte >> ut.type(-s))
                acc = part if acc is None else (acc | part)
            u[..., j] = acc & mask
        u = u.reshape(lead + (units * per,))
        if units * per != e:
            u = u[..., :e]
    if kind == "bipolar":
        return u
    return _sign_extend(u, bits, signed)


def unpack(packed, dt, elements):
    """Folded float32 array (..., elements) of dt values from packed beats
    (..., nbytes); elements may also be the folded shape (its last entry is
    used, as FINN's packed_bytearray_to_finnpy takes output_shape). Equal to
    FINN's packed_bytearray_to_finnpy(..., reverse_inner=True, reverse_endian=True)."""
    shape = None
    if not np.isscalar(elements):
        shape = tuple(int(s) for s in elements)
        elements = shape[-1]
    bits, signed, kind, scale = _dtype_info(dt)
    v = unpack_codes(packed, dt, elements)
    if kind == "bipolar":
        out = v.astype(np.float32)
        out *= 2
        out -= 1
    elif scale != 1.0:
        out = (v * scale).astype(np.float32)
    else:
        out = v.astype(np.float32)
    return out.reshape(shape) if shape is not None else out
