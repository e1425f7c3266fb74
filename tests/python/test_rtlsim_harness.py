"""The RTL simulation machinery itself: packing against FINN's, the Verilator
harness (gaps, stalls, cycle counts, deadlock and protocol diagnosis), the
content-hash build cache, and the RTL build steps' errors. Layer tests live in
test_rtl_<op>.py."""
import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold as sf
from streamfold import rtlsim
from streamfold.driver import pack, unpack

SKID = sf._core.rtl_library_source("sf_skid")


def _layer(tmp_path, body, name="T", width=16):
    """A hand-written layer folder: a top with FINN ports and `body` inside."""
    d = tmp_path / name
    d.mkdir()
    (d / "sf_skid.sv").write_text(SKID)
    (d / f"{name}.v").write_text(f"""module {name} (input wire ap_clk, input wire ap_rst_n,
  input wire [{width - 1}:0] in0_V_TDATA, input wire in0_V_TVALID, output wire in0_V_TREADY,
  output wire [{width - 1}:0] out_V_TDATA, output wire out_V_TVALID, input wire out_V_TREADY);
{body}
endmodule
""")
    s = lambda n: {"name": n, "width": width, "tdata_width": width, "order_shape": [], "order_perm": []}  # noqa
    (d / "sf_layer.json").write_text(json.dumps({"node": name, "op_type": "X", "top": name,
                                                 "sources": [f"{name}.v", "sf_skid.sv"], "mem_files": [],
                                                 "inputs": [s("in0_V")], "outputs": [s("out_V")]}))
    return str(d)


SKID_BODY = """  sf_skid #(.W(16)) core(.clk(ap_clk), .rst_n(ap_rst_n), .in_tdata(in0_V_TDATA), .in_tvalid(in0_V_TVALID),
    .in_tready(in0_V_TREADY), .out_tdata(out_V_TDATA), .out_tvalid(out_V_TVALID), .out_tready(out_V_TREADY));"""


@pytest.fixture(scope="module")
def skid_layer(tmp_path_factory):
    return _layer(tmp_path_factory.mktemp("skid"), SKID_BODY)


@settings(max_examples=12, deadline=None)
@given(gap=st.sampled_from([0.0, 0.3, 0.9]), stall=st.sampled_from([0.0, 0.5, 0.95]), seed=st.integers(0, 2**31),
       n=st.integers(1, 300))
def test_skid_passes_every_beat_under_gaps_and_stalls(skid_layer, gap, stall, seed, n):
    x = np.random.default_rng(seed).integers(0, 256, size=(n, 2), dtype=np.uint8)
    out, stats = rtlsim.simulate_layer(skid_layer, [x], [n], [1], gap, stall, seed, rand_reset=True)
    assert (out[0] == x).all()
    assert not stats["deadlock"]


def test_ideal_stream_is_one_beat_per_cycle(skid_layer):
    x = np.arange(200, dtype=np.uint8).reshape(100, 2)
    out, stats = rtlsim.simulate_layer(skid_layer, [x], [100], [10])
    done = stats["frame_done"][0]
    assert np.diff(done).tolist() == [10] * 9          # II = 1
    assert done[0] - stats["first_in"] == 11            # 10 beats + 1 register


def test_same_verilog_shares_one_build(tmp_path, skid_layer):
    other = _layer(tmp_path, SKID_BODY)
    assert rtlsim.build_layer(other) == rtlsim.build_layer(skid_layer)


def test_deadlock_names_the_stalled_stream(tmp_path):
    d = _layer(tmp_path, "  assign in0_V_TREADY = 1'b1;\n  assign out_V_TVALID = 1'b0;\n  assign out_V_TDATA = 16'd0;")
    with pytest.raises(rtlsim.DeadlockError, match="out_V: 0 of 5 beats"):
        rtlsim.simulate_layer(d, [np.zeros((5, 2), np.uint8)], [5], [5], timeout=200)


def test_extra_output_beats_are_a_protocol_error(tmp_path):
    d = _layer(tmp_path, "  assign in0_V_TREADY = 1'b1;\n  assign out_V_TVALID = 1'b1;\n  assign out_V_TDATA = 16'd7;")
    with pytest.raises(rtlsim.SimulationError, match="more beats than expected"):
        rtlsim.simulate_layer(d, [np.zeros((5, 2), np.uint8)], [3], [3])


def test_missing_memory_file_is_an_error(tmp_path, skid_layer):
    d = tmp_path / "m"
    shutil.copytree(skid_layer, d)
    man = json.loads((d / "sf_layer.json").read_text())
    man["mem_files"] = ["T_weights.dat"]
    (d / "sf_layer.json").write_text(json.dumps(man))
    with pytest.raises(rtlsim.SimulationError, match="memory init file missing: T_weights.dat"):
        rtlsim.simulate_layer(str(d), [np.zeros((1, 2), np.uint8)], [1], [1])


def test_lint_and_yosys_on_the_skid(skid_layer):
    assert rtlsim.lint_layer(skid_layer) == []
    r = rtlsim.synth_layer(skid_layer)
    assert r["FF"] >= 2 * 16 and r["BRAM_18K"] == 0 and r["DSP"] == 0
    assert "Yosys" in r["tool"]


# ---------------------------------------------------------------- packing
@settings(max_examples=60, deadline=None)
@given(dt=st.sampled_from(["BIPOLAR", "BINARY", "TERNARY", "INT2", "INT3", "UINT3", "INT4", "UINT5", "INT7",
                           "UINT8", "INT8", "INT12", "UINT16"]),
       e=st.integers(1, 19), rows=st.integers(1, 4), seed=st.integers(0, 1000))
def test_pack_equals_finn(dt, e, rows, seed):
    from finn.util.data_packing import finnpy_to_packed_bytearray
    from qonnx.core.datatype import DataType

    q = DataType[dt]
    x = np.random.default_rng(seed).integers(int(q.min()), int(q.max()) + 1, size=(rows, e)).astype(np.float32)
    if dt == "BIPOLAR":
        x = np.where(x >= 0, 1, -1).astype(np.float32)
    ref = finnpy_to_packed_bytearray(x, q, reverse_endian=True, reverse_inner=True)
    got = pack(x, dt)
    assert got.shape == ref.shape and (got == ref).all()
    assert (unpack(got, dt, e) == x).all()


def test_pack_fixed_point():
    x = np.array([[0.5, -0.25, 1.75]], np.float32)
    assert (unpack(pack(x, "FIXED<4,2>"), "FIXED<4,2>", 3) == x).all()


# ---------------------------------------------------------------- errors
def test_unknown_op_has_no_rtl_error():
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="Relu_0")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = sf.ModelWrapper(helper.make_model(g))
    with pytest.raises(sf.UnsupportedOpError, match="Relu_0.*no RTL implementation"):
        rtlsim.emit_node(m, "Relu_0", "/tmp/never")
    assert not os.path.exists("/tmp/never")
