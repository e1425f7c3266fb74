"""The mixed proof: a network whose HW layers alternate between HLS and RTL
(chosen per node name in a specialize_layers_config_file, FINN's format)
runs node by node with execute_onnx(backend="cppsim") - HLS layers in cppsim,
RTL layers in Verilator, exchanging the same packed beats - and equals the
reference. CI: the depthwise-separable block (FMPadding, SWG depthwise,
VVAU, MVAU, MaxPool), whose RTL layers' Verilator builds test_rtl_zoo shares;
`make test-full`: LeNet-5 and an MLP too, with the alternation both ways."""
import json

import numpy as np
import pytest

import rtl_zoo
from test_rtl_zoo import FPS


def _mixed(name, first, tmp_path):
    fps = FPS.get(name, 100_000)
    _, _, rtl_child = rtl_zoo.folded(name, fps)
    names = [n.name for n in rtl_child.graph.node]
    styles = {nm: (first if i % 2 == 0 else ("rtl" if first == "hls" else "hls")) for i, nm in enumerate(names)}
    p = tmp_path / "specialize.json"
    p.write_text(json.dumps({nm: {"preferred_impl_style": s} for nm, s in styles.items()}))
    _, parent, child = rtl_zoo.folded(name, fps, specialize_layers_config_file=str(p))
    got_styles = {n.name: n.get_attr("preferred_impl_style").decode() for n in child.graph.node}
    assert got_styles == styles
    return parent, child


@pytest.mark.parametrize("name,first", [
    ("dws_block", "hls"),
    pytest.param("dws_block", "rtl", marks=pytest.mark.full),
    pytest.param("lenet5_w4a4", "hls", marks=pytest.mark.full),
    pytest.param("lenet5_w4a4", "rtl", marks=pytest.mark.full),
    pytest.param("tfc_w2a2", "rtl", marks=pytest.mark.full),
])
def test_mixed_hls_rtl_equals_reference(name, first, tmp_path):
    parent, child = _mixed(name, first, tmp_path)
    x = rtl_zoo.inputs(name, 2, seed=4)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    got = rtl_zoo.run_parent(rtl_zoo.with_child(parent, child), x, backend="cppsim")
    np.testing.assert_array_equal(got, want)
