"""The HLS back end on the zoo: every model specialized entirely to HLS
(FINN's specialize_layers_config_file with Defaults hls for all) runs node by
node in cppsim (execute_onnx backend="cppsim") and equals the reference
execution of the folded network, and, for the MLPs, whose outputs are exact
integers, Brevitas itself. CI runs an MLP and the depthwise-separable block
(SWG depthwise order, VVAU, MaxPool); `make test-full` all models.

Measured cppsim compile per layer on this machine (2 cores, shared): 0.8-1.5 s
with the precompiled ap_int.h (FMPadding/SWG ~0.8 s, MVAU/VVAU ~1.4 s)."""
import json

import numpy as np
import pytest

from streamfold import zoo

import rtl_zoo
from test_rtl_zoo import CNNS, FPS, MLPS

CI = {"tfc_w1a1"}  # dws_block runs mixed in CI (test_hls_mixed); the rest: make test-full


def all_hls_config(tmp_path_factory):
    p = tmp_path_factory.getbasetemp() / "specialize_all_hls.json"
    p.write_text(json.dumps({"Defaults": {"preferred_impl_style": ["hls", ["all"]]}}))
    return str(p)


def _marks(name):
    return pytest.param(name, marks=() if name in CI else pytest.mark.full)


@pytest.mark.parametrize("name", [_marks(n) for n in MLPS + CNNS])
def test_all_hls_cppsim_equals_reference(name, tmp_path_factory):
    _, parent, child = rtl_zoo.folded(name, FPS.get(name, 100_000),
                                      specialize_layers_config_file=all_hls_config(tmp_path_factory))
    styles = {n.name: n.get_attr("preferred_impl_style") for n in child.graph.node}
    assert set(styles.values()) == {b"hls"}, styles
    x = rtl_zoo.inputs(name, 2, seed=3)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    got = rtl_zoo.run_parent(rtl_zoo.with_child(parent, child), x, backend="cppsim")
    np.testing.assert_array_equal(got, want)
    if name in MLPS:  # exact integers: Brevitas itself must agree
        np.testing.assert_array_equal(got, np.asarray(zoo.reference_forward(name, x)).reshape(got.shape))
