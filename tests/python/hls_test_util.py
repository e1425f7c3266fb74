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
