"""streamfold.driver.pack / unpack against finn-plus's finn.util.data_packing
(finnpy_to_packed_bytearray / packed_bytearray_to_finnpy with
reverse_inner=True, reverse_endian=True): the bytes the driver hands the DMA."""
import numpy as np
import pytest
from finn.util.data_packing import finnpy_to_packed_bytearray, packed_bytearray_to_finnpy
from qonnx.core.datatype import DataType

from streamfold.driver import pack, unpack
from streamfold.driver.packing import PackingError, unpack_codes
from streamfold.errors import InputError

SMALL = ["BIPOLAR", "BINARY", "TERNARY"] + [f"{s}INT{b}" for b in range(1, 9) for s in ("", "U") if (s, b) != ("", 1)]
# beat lengths: odd SIMD/PE, short beats (one unit) and long ones (grouped), one element
SIMDS = [1, 2, 3, 5, 7, 8, 9, 11, 16, 17, 25, 49]


def _values(dt, shape, rng):
    q = DataType[dt]
    if dt == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    lo, hi = int(q.min()), int(q.max())
    if q.is_fixed_point():
        sf = q.scale_factor()
        lo, hi = round(lo / sf), round(hi / sf)
        x = rng.integers(lo, hi, size=shape, endpoint=True) * sf
    else:
        lo, hi = max(lo, -(1 << 24)), min(hi, 1 << 24)  # FINN packs through float32
        x = rng.integers(lo, hi, size=shape, endpoint=True)
    x = x.astype(np.float32)
    x.reshape(-1)[0] = lo * (q.scale_factor() if q.is_fixed_point() else 1)  # both range ends
    x.reshape(-1)[-1] = hi * (q.scale_factor() if q.is_fixed_point() else 1)
    return x


def _check(dt, shape, rng, container=None):
    q = DataType[dt]
    x = _values(dt, shape, rng)
    if container is not None:
        x = x.astype(container)
    ref = finnpy_to_packed_bytearray(x, q, reverse_inner=True, reverse_endian=True)
    got = pack(x, dt)
    assert got.dtype == np.uint8 and got.shape == ref.shape, (dt, shape)
    assert (got == ref).all(), (dt, shape)
    back = unpack(got, dt, shape[-1])
    assert back.dtype == np.float32 and (back == x.astype(np.float32)).all(), (dt, shape)
    try:  # FINN's own unpack (it fails on some inputs, e.g. 8-bit FIXED)
        ref_back = packed_bytearray_to_finnpy(np.ascontiguousarray(ref), q, shape, reverse_inner=True,
                                              reverse_endian=True)
    except Exception:
        return
    assert (ref_back == back).all(), (dt, shape)


@pytest.mark.parametrize("dt", SMALL)
def test_pack_bytes_equal_finn_1_to_8_bits(dt):
    rng = np.random.default_rng(len(dt) * 31 + sum(map(ord, dt)))
    for e in SIMDS:
        _check(dt, (2, 3, e), rng)
        _check(dt, (1, e), rng)


@pytest.mark.parametrize("dt", ["INT9", "UINT12", "INT16", "UINT16", "INT18", "INT24", "UINT25", "INT32",
                                "UINT32", "INT40", "FIXED<8,3>", "FIXED<6,2>", "FIXED<16,8>"])
def test_pack_bytes_equal_finn_wide_and_fixed(dt):
    rng = np.random.default_rng(7)
    for e in (1, 2, 3, 7, 17):
        _check(dt, (3, e), rng)


@pytest.mark.parametrize("dt,container", [("UINT8", np.uint8), ("INT8", np.int8), ("INT16", np.int16),
                                          ("UINT4", np.uint8), ("INT3", np.int64), ("BINARY", np.bool_),
                                          ("UINT8", np.int32)])
def test_pack_integer_containers(dt, container):
    """Arrays handed in as integers (FINN's fast-path containers) pack to the same bytes."""
    _check(dt, (4, 2, 6), np.random.default_rng(3), container)


def test_float32_values():
    x = np.array([[1.5, -2.25, 3e9, 0.0]], np.float32)
    p = pack(x, "FLOAT32")
    assert p.tobytes() == x.astype("<f4").tobytes()
    assert (unpack(p, "FLOAT32", 4) == x).all()


def test_unpack_takes_folded_shape_and_padding():
    x = _values("INT5", (2, 4, 3), np.random.default_rng(0))
    p = pack(x, "INT5")
    assert (unpack(p, "INT5", x.shape) == x).all()
    # a DMA buffer wider than the beat's bytes (stream padded further) unpacks the same
    wide = np.concatenate([p, np.full(p.shape[:-1] + (3,), 0xFF, np.uint8)], axis=-1)
    assert (unpack(wide, "INT5", 3) == x).all()
    assert unpack_codes(p, "INT5", 3).dtype.kind == "i"


def test_pack_scalar_and_empty():
    assert pack(np.float32(3), "UINT4").tolist() == [3]
    assert pack(np.zeros((0, 5), np.float32), "INT3").shape == (0, 2)


@pytest.mark.parametrize("dt,bad", [("UINT4", 16), ("UINT4", -1), ("INT4", 8), ("INT4", 2.5), ("BIPOLAR", 0),
                                    ("UINT8", 256), ("UINT8", np.nan), ("FIXED<4,2>", 0.3)])
def test_values_outside_the_datatype_are_refused(dt, bad):
    x = np.zeros((2, 3), np.float32) + (1 if dt == "BIPOLAR" else 0)
    x[1, 2] = bad
    with pytest.raises(PackingError) as e:
        pack(x, dt)
    assert dt in str(e.value) and e.value.hint
    assert isinstance(e.value, InputError)  # inside streamfold: the typed error


def test_unknown_datatype_and_wrong_buffers():
    with pytest.raises(PackingError, match="FLOAT16"):
        pack(np.zeros(3), "FLOAT16")
    with pytest.raises(PackingError, match="uint8"):
        unpack(np.zeros((2, 3), np.int32), "INT4", 3)
    with pytest.raises(PackingError, match="needs 2 bytes"):
        unpack(np.zeros((2, 1), np.uint8), "INT4", 3)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 32), signed=st.booleans(), e=st.integers(1, 70), rows=st.integers(0, 5),
       seed=st.integers(0, 2**16), container=st.sampled_from(["float32", "float64", "int64", "native"]))
def test_random_widths_shapes_and_containers_equal_finn(bits, signed, e, rows, seed, container):
    dt = ("INT" if signed else "UINT") + str(bits) if (bits > 1 or not signed) else "BIPOLAR"
    rng = np.random.default_rng(seed)
    x = _values(dt, (rows, e), rng) if rows else np.zeros((0, e), np.float32)
    if container == "native" and dt != "BIPOLAR":
        x = x.astype(f"{'i' if signed else 'u'}{max(1, -(-bits // 8)) if bits <= 8 else (2 if bits <= 16 else 4)}")
    elif container != "native":
        x = x.astype(container)
    ref = finnpy_to_packed_bytearray(x, DataType[dt], reverse_inner=True, reverse_endian=True)
    got = pack(x, dt)
    assert got.shape == ref.shape and (got == ref).all()
    assert (unpack(got, dt, e) == x.astype(np.float32)).all()
