"""Issue-5 proofs across models: the HW-layer graph is bit-exact with the
streamlined one on random Brevitas networks, and SetFolding gives a legal
folding for every zoo model at a range of targets that meets the target or
explains the best reachable rate, within the PYNQ-Z2's resources."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import streamfold as sf
from streamfold import _core, zoo
from streamfold.builder import steps
from streamfold.builder.boards import get_board
from streamfold.builder.folding import hw_nodes, set_folding
from streamfold.partition import create_dataflow_partition
from streamfold.transformation import run_pipeline
from streamfold.zoo import random_net


def to_hw(m, xs):
    name = m.graph.input[0].name
    hw, _ = run_pipeline(m, ["ConvertToHW"], verify_inputs=[{name: x} for x in xs])
    return hw


@settings(max_examples=int(os.environ.get("SF_HYPOTHESIS_EXAMPLES", 8)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_hw_graph_bit_exact(net):
    module, shape = net
    x = random_net.example_input(shape, n=2, seed=0)
    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(path))), check=False)
        xs = [x[i:i + 1] for i in range(len(x))]
        hw = to_hw(m, xs)  # every conversion verified bit-exact
        parent, children, _ = create_dataflow_partition(hw)
        inp = m.graph.input[0].name
        for xi in xs:
            want = sf.execute_onnx(m, {inp: xi})
            got = sf.execute_onnx(parent, {parent.graph.input[0].name: xi})
            for a, b in zip(want.values(), got.values()):
                np.testing.assert_array_equal(a, b)


FOLD_MODELS = zoo.list_models()



@pytest.mark.parametrize("name", FOLD_MODELS)
def test_set_folding_legal_and_within_budget(name):
    m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(zoo.export(name)))))
    x = zoo.example_input(name, n=1, seed=2)
    hw = to_hw(m, [x])
    _, children, _ = create_dataflow_partition(hw)
    child = children[0]
    budget = get_board("Pynq-Z2").budget(1.0)
    for target in (10, 1_000, 100_000, 10_000_000):
        folded, res = set_folding(child, target, clock_ns=10.0, board="Pynq-Z2")
        for _, n in hw_nodes(folded):  # every node's folding is legal
            _core.hw_validate(folded._model, n.name)
        assert res.met == (res.achieved_fps >= target)
        if not res.met:
            assert res.limiting_node and res.reason, res.message()
        if res.over_budget:
            # Only a design that cannot fit even fully folded may exceed the
            # board, and then the result says so (e.g. emotion_cnn_8b's 11 Mbit
            # of weights vs the Z-7020's 4.9 Mbit of BRAM).
            _, minimal = set_folding(child, 1e-6, clock_ns=10.0, board="Pynq-Z2")
            assert minimal.over_budget, res.message()
            assert "does not fit" in res.message()
        else:
            for k, v in res.resources.items():
                if k in budget:
                    assert v <= budget[k], f"{name} @ {target}: {k} {v} > {budget[k]}"
        # folding never changes the function
        got = sf.execute_onnx(folded, {folded.graph.input[0].name: sf.execute_onnx(
            hw, {hw.graph.input[0].name: x}, return_full_exec_context=True)[child.graph.input[0].name]})
        want = sf.execute_onnx(child, {child.graph.input[0].name: sf.execute_onnx(
            hw, {hw.graph.input[0].name: x}, return_full_exec_context=True)[child.graph.input[0].name]})
        for a, b in zip(got.values(), want.values()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["tfc_w1a1", "lfc_w1a2", "cnv_w1a1", "lenet5_w4a4"])
def test_hw_graph_runs_in_fast_engine(name):
    """The folded HW-layer child runs in the fast engine (batched) with the
    reference executor's results."""
    m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(zoo.export(name)))))
    xs = [zoo.example_input(name, n=1, seed=s) for s in range(3)]
    hw = to_hw(m, xs[:1])
    _, children, _ = create_dataflow_partition(hw)
    child, _ = set_folding(children[0], 1000, clock_ns=10.0, board="Pynq-Z2")
    cin = child.graph.input[0].name
    feed = np.concatenate([sf.execute_onnx(hw, {hw.graph.input[0].name: x}, return_full_exec_context=True)[cin]
                           for x in xs])
    want = np.concatenate([list(sf.execute_onnx(child, {cin: feed[i:i + 1]}).values())[0] for i in range(len(xs))])
    got = sf.Engine(child).run(feed)
    got = list(got.values())[0] if isinstance(got, dict) else got
    np.testing.assert_array_equal(got, want)
