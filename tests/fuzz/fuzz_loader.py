"""atheris fuzz target for the model loader, inference and executor.

Any exception other than a StreamfoldError, or a crash, is a bug. Seeded with
a valid model so mutations explore real protobuf structure. Run longer with
`python tests/fuzz/fuzz_loader.py -max_total_time=600`.
"""
import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    import streamfold as sf
    from streamfold import _core


def seed_model():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    inits = [numpy_helper.from_array(np.ones((4, 3), np.float32), "w"),
             numpy_helper.from_array(np.array(0.5, np.float32), "s"),
             numpy_helper.from_array(np.array(0.0, np.float32), "z"),
             numpy_helper.from_array(np.array(4.0, np.float32), "b")]
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], domain="qonnx.custom_op.general",
                              signed=1, narrow=0, rounding_mode="ROUND"),
             helper.make_node("MatMul", ["q", "w"], ["m"]),
             helper.make_node("Relu", ["m"], ["y"])]
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


_SEED = None
_OPS = ["Relu", "MatMul", "Add", "Mul", "Quant", "Transpose", "Reshape", "Conv", "MaxPool", "Concat", "Slice",
        "Gather", "MultiThreshold", "Im2Col", "Trunc", "BipolarQuant", "Softmax", "TopK", "Pad", "Flatten"]


def structured_variant(fdp):
    """Edit a valid model's fields (op types, attributes, shapes, initializer
    contents) so the fuzzer reaches the ops' attribute and shape checks, which
    random bytes rarely get past the protobuf parser."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load_from_string(_SEED)
    g = m.graph
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        what = fdp.ConsumeIntInRange(0, 5)
        node = g.node[fdp.ConsumeIntInRange(0, len(g.node) - 1)]
        if what == 0:
            node.op_type = _OPS[fdp.ConsumeIntInRange(0, len(_OPS) - 1)]
            node.domain = "qonnx.custom_op.general" if fdp.ConsumeBool() else ""
        elif what == 1:
            name = ["perm", "axis", "kernel_shape", "pads", "strides", "group", "signed", "narrow", "k",
                    "dilations", "stride", "kernel_size", "axes"][fdp.ConsumeIntInRange(0, 12)]
            vals = [fdp.ConsumeIntInRange(-3, 5) for _ in range(fdp.ConsumeIntInRange(1, 4))]
            node.attribute.append(helper.make_attribute(name, vals if fdp.ConsumeBool() else vals[0]))
        elif what == 2:
            init = g.initializer[fdp.ConsumeIntInRange(0, len(g.initializer) - 1)]
            shape = [fdp.ConsumeIntInRange(0, 5) for _ in range(fdp.ConsumeIntInRange(0, 3))]
            vals = np.array([fdp.ConsumeFloatInRange(-1e4, 1e4) for _ in range(int(np.prod(shape)))],
                            np.float32).reshape(shape)
            init.CopyFrom(numpy_helper.from_array(vals, init.name))
        elif what == 3:
            dims = g.input[0].type.tensor_type.shape.dim
            if len(dims):
                dims[fdp.ConsumeIntInRange(0, len(dims) - 1)].dim_value = fdp.ConsumeIntInRange(0, 6)
        elif what == 4 and len(node.input):
            node.input[fdp.ConsumeIntInRange(0, len(node.input) - 1)] = ["x", "w", "s", "z", "b", "q", "m", ""][
                fdp.ConsumeIntInRange(0, 7)]
        elif what == 5:
            node.attribute.append(helper.make_attribute("rounding_mode", fdp.ConsumeUnicodeNoSurrogates(6)))
    return m.SerializeToString()


def one_input(data: bytes):
    if data and data[0] % 2 == 1:
        data = structured_variant(atheris.FuzzedDataProvider(data[1:]))
    try:
        m = _core.load_model_bytes(data)
        _core.infer_shapes(m)
        _core.infer_datatypes(m)
        m.to_bytes()
        names = m.runtime_input_names()
        if len(names) == 1:
            vi = m.find_value_info(names[0])
            shape = vi.shape if vi is not None else None
            if shape and all(isinstance(d, int) and 0 < d < 64 for d in shape):
                _core.execute(m, {names[0]: np.zeros(shape, np.float32)}, False)
    except sf.StreamfoldError:
        pass


if __name__ == "__main__":
    argv = list(sys.argv)
    import os
    import tempfile

    corpus = tempfile.mkdtemp(prefix="sf_fuzz_")
    with open(os.path.join(corpus, "seed.onnx"), "wb") as f:
        f.write(seed_model())
    _SEED = seed_model()
    atheris.Setup(argv + [corpus], one_input)
    atheris.Fuzz()
