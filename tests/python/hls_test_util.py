"""Shared helpers of the HLS layer tests (test_hls_*.py): a single node's
cppsim against the reference execution of the same node, bit-exactly, on
every output.

    from hls_test_util import check_cppsim, node_model, rand_values
    m = node_model("Thresholding", [("x", (2, 8), "INT4")], [("y", (2, 8))], {"T": thr}, NumChannels=8, ...)
    check_cppsim(m, {"x": x})

Graph builders and value generators are the RTL tests' (rtl_stream_util),
so both back ends are tested on the same graphs. cppsim compiles are cached
by content hash (the weights are not part of it), so a test that draws new
weights or data for a design it has built before costs one run (~10 ms).
"""
import numpy as np

import streamfold as sf
from streamfold import cppsim
from rtl_stream_util import HW, node_model, rand_values  # noqa: F401  (re-exported)


def check_cppsim(model, xs, node_name=None, workdir=None):
    """cppsim of node `node_name` (default: the graph's only/first node) on
    the inputs xs ({input name: array, batch first}) equals the reference
    execution on every output. Returns the CppsimResult."""
    node = model.graph.node[0] if node_name is None else model.get_node_from_name(node_name)
    want = sf.execute_onnx(model, xs)
    arrays = [xs[i] for i in node.input if i in xs]
    r = cppsim.simulate_node(model, node.name, arrays, workdir=workdir)
    assert len(r.outputs) == len(node.output)
    for j, (got, o) in enumerate(zip(r.outputs, node.output)):
        np.testing.assert_array_equal(got, want[o], err_msg=f"{node.name} output {j} ({o})")
    return r


def emit(model, tmp_path, node_name=None):
    """Emit the node's HLS layer folder under tmp_path; returns (folder, manifest)."""
    node = model.graph.node[0] if node_name is None else model.get_node_from_name(node_name)
    d = cppsim.emit_node(model, node.name, tmp_path / f"code_gen_ipgen_{node.name}")
    return d, cppsim.load_manifest(d)


# ---- H2's helpers (data-movement ops) go below this line ------------------


def same_beats_as_rtl(model, xs, tmp_path, node_name=None):
    """The node's HLS layer (cppsim) and its RTL layer (Verilator), fed the
    same packed input beats, give identical output beats -- not only equal
    values once each harness has undone its layer's stream order. That is
    what lets a network mix HLS and RTL layers node by node. The two
    manifests must also agree on stream names, widths and beat orders."""
    from streamfold import rtlsim
    from streamfold.rtlsim import _out_beats, _pack_node_inputs

    node = model.graph.node[0] if node_name is None else model.get_node_from_name(node_name)
    hd = cppsim.emit_node(model, node.name, tmp_path / f"hls_{node.name}")
    rd = rtlsim.emit_node(model, node.name, tmp_path / f"rtl_{node.name}")
    hman, rman = cppsim.load_manifest(hd), rtlsim.load_manifest(rd)
    keys = ("name", "width", "order_shape", "order_perm")
    for side in ("inputs", "outputs"):
        assert [[s[k] for k in keys] for s in hman[side]] == [[s[k] for k in keys] for s in rman[side]], side
    arrays = [xs[i] for i in node.input if i in xs]
    beats_in, n, ss = _pack_node_inputs(model, node, hman, arrays)
    beats_out, frame_beats = _out_beats(hman, ss, n)
    got_hls = cppsim.simulate_layer(hd, beats_in, n, beats_out)
    got_rtl, _ = rtlsim.simulate_layer(rd, beats_in, beats_out, frame_beats)
    assert len(got_hls) == len(got_rtl) == len(node.output)
    for j, (a, b) in enumerate(zip(got_hls, got_rtl)):
        np.testing.assert_array_equal(a, b, err_msg=f"{node.name} output {j}: HLS and RTL beats differ")
