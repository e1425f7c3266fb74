"""The default pipeline (step_qonnx_to_finn, step_tidy_up, step_streamline) on
every zoo model and on random Brevitas networks: every pass is verified to
keep the outputs (bit-exact where integer), the result is in canonical
integer form, and on 1000 Fashion-MNIST images the top-1 class is identical."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import streamfold as sf
from streamfold import zoo
from streamfold.builder import steps
from streamfold.zoo import random_net

MNIST_SHAPED = [n for n in zoo.list_models() if tuple(zoo.input_shape(n)[1:]) == (1, 28, 28)]


def run_steps(path, x, check=True):
    """The three steps, each verified pass by pass on every sample of x
    (exports have batch 1). tidy-up renames the graph input to global_in."""
    m = sf.ModelWrapper(path)

    def inputs(m):
        return [{m.graph.input[0].name: x[i:i + 1]} for i in range(len(x))]

    m = steps.step_qonnx_to_finn(m, verify_inputs=inputs(m))
    m = steps.step_tidy_up(m, verify_inputs=inputs(m))
    return steps.step_streamline(m, verify_inputs=inputs(m), check=check)


def predict(m, x):
    name, out = m.graph.input[0].name, m.graph.output[0].name
    return np.concatenate([sf.execute_onnx(m, {name: x[i:i + 1]})[out] for i in range(len(x))])


@pytest.mark.parametrize("name", zoo.list_models())
def test_zoo_streamlines_to_canonical_form(name):
    path = zoo.export(name)
    x = zoo.example_input(name, n=1, seed=7)
    m = run_steps(path, x)  # raises StreamlineError with diagnostics if not canonical
    assert not steps.streamlined_form_violations(m)
    assert not any(n.op_type in ("Quant", "BipolarQuant", "Conv", "BatchNormalization", "Gemm") for n in m.graph.node)
    # every MatMul weight is an integer initializer
    for n in m.graph.node:
        if n.op_type == "MatMul":
            assert m.get_tensor_datatype(n.input[1]).is_integer(), n.name
    # annotations tell the truth: every integer-typed tensor holds only values of its type
    ctx = sf.execute_onnx(m, {m.graph.input[0].name: zoo.example_input(name, n=1, seed=11)},
                          return_full_exec_context=True)
    for t, v in ctx.items():
        dt = m.get_tensor_datatype(t)
        if dt.is_integer():
            bad = [float(e) for e in np.unique(v) if not dt.allowed(float(e))]
            assert not bad, f"{name}: tensor {t} annotated {dt.name} holds {bad[:5]}"


@pytest.mark.parametrize("name", MNIST_SHAPED)
def test_streamlined_top1_identical_on_fashion_mnist(name):
    from streamfold.data import load_fashion_mnist

    images, _ = load_fashion_mnist("test", limit=1000)
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    path = zoo.export(name)
    m = run_steps(path, x[:1])
    before = predict(sf.ModelWrapper(path), x)
    after = predict(m, x)
    assert (before.argmax(1) == after.argmax(1)).all()
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(before).max()))


@settings(max_examples=int(os.environ.get("SF_HYPOTHESIS_EXAMPLES", 10)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=random_net.random_qnn())
def test_random_networks_preserve_function_pass_by_pass(net):
    module, shape = net
    x = random_net.example_input(shape, n=2, seed=0)
    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        m = run_steps(path, x, check=False)  # any pass changing outputs raises VerificationError
        ref = zoo.reference_forward(module, x)
        np.testing.assert_allclose(predict(m, x), ref, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(ref).max()))


def test_streamline_diagnostic_names_node_and_neighbours():
    """A float op that cannot be streamlined fails with the node, its
    neighbours and a hint."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="Sigmoid_0"),
             helper.make_node("MatMul", ["s", "w"], ["y"], name="MatMul_0")]
    w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    mp = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w]),
                           opset_imports=[helper.make_opsetid("", 17)])
    mp.ir_version = 8
    with pytest.raises(sf.StreamlineError) as e:
        steps.step_streamline(sf.ModelWrapper(mp))
    msg = str(e.value)
    assert "Sigmoid_0" in msg and "MatMul_0" in msg and "hint" in msg
    assert e.value.violations[0]["node"] == "Sigmoid_0"
