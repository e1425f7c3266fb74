"""IR, ONNX I/O, ModelWrapper and DataType: round trips and qonnx interop."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import DataType, ModelWrapper


def small_model(with_annotation=True):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) - 5, "w")
    b = numpy_helper.from_array(np.array([0.5, -1, 2], dtype=np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [x], [y], [w, b],
                          value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 3])])
    if with_annotation:
        qa = onnx.TensorAnnotation()
        qa.tensor_name = "w"
        e = qa.quant_parameter_tensor_names.add()
        e.key, e.value = "finn_datatype", "INT4"
        qa2 = onnx.TensorAnnotation()
        qa2.tensor_name = "x"
        for k, v in (("finn_datatype", "UINT8"), ("tensor_layout", "['N', 'C']")):
            e = qa2.quant_parameter_tensor_names.add()
            e.key, e.value = k, v
        g.quantization_annotation.extend([qa, qa2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")
    m.ir_version = 8
    helper.set_model_props(m, {"author": "streamfold"})
    return m


class TestDataType:
    def test_names_and_ranges(self):
        assert DataType["INT4"].min() == -8 and DataType["INT4"].max() == 7
        assert DataType["UINT3"].max() == 7 and DataType["UINT3"].bitwidth() == 3
        assert DataType["BIPOLAR"].min() == -1 and DataType["BIPOLAR"].bitwidth() == 1
        assert DataType["TERNARY"].bitwidth() == 2
        assert DataType["UINT1"] == DataType["BINARY"]
        assert DataType["UINT1"].get_canonical_name() == "BINARY"
        assert DataType["INT64"].bitwidth() == 64
        assert DataType["FIXED<8,4>"].scale_factor() == 1 / 16
        assert DataType["FIXED<8,4>"].allowed(0.0625) and not DataType["FIXED<8,4>"].allowed(0.03)
        assert DataType["SCALEDINT<8>"].bitwidth() == 8
        assert DataType["FLOAT32"].allowed(0.123)

    @pytest.mark.parametrize("bad", ["INT0", "UINT65", "int4", "FIXED<4,8>", "FOO", ""])
    def test_bad_names(self, bad):
        with pytest.raises(sf.ModelError):
            DataType[bad]

    def test_allowed(self):
        assert DataType["BIPOLAR"].allowed(-1) and not DataType["BIPOLAR"].allowed(0)
        assert DataType["INT3"].allowed(-4) and not DataType["INT3"].allowed(4)
        assert not DataType["UINT2"].allowed(1.5)

    def test_smallest(self):
        assert DataType.get_smallest_possible(1) == DataType["BINARY"]
        assert DataType.get_smallest_possible(3) == DataType["UINT2"]
        assert DataType.get_smallest_possible(-1) == DataType["BIPOLAR"]
        assert DataType.get_smallest_possible(-3) == DataType["INT3"]
        assert DataType.smallest_for_range(-1, 0) == DataType["TERNARY"]
        assert DataType.smallest_for_range(0, 255) == DataType["UINT8"]
        assert DataType.smallest_for_range(-128, 127) == DataType["INT8"]

    def test_matches_qonnx(self):
        from qonnx.core.datatype import DataType as QDT

        for name in ["BINARY", "BIPOLAR", "TERNARY", "FIXED<8,3>"] + \
                [f"INT{b}" for b in range(1, 65)] + [f"UINT{b}" for b in range(2, 65)]:
            ours, theirs = DataType[name], QDT[name]
            assert ours.bitwidth() == theirs.bitwidth(), name
            assert ours.min() == pytest.approx(theirs.min()), name
            assert ours.max() == pytest.approx(theirs.max()), name
            assert ours.signed() == theirs.signed(), name
            assert ours.get_canonical_name() == theirs.get_canonical_name(), name
        for v in [0, 1, 2, 3, 7, 8, -1, -2, -3, -8, -9, 255, 256, -129, 2**20]:
            assert DataType.get_smallest_possible(v).name == QDT.get_smallest_possible(v).get_canonical_name(), v


class TestRoundTrip:
    def test_preserves_everything(self, tmp_path):
        m = small_model()
        mw = ModelWrapper(m)
        p = tmp_path / "m.onnx"
        mw.save(p)
        back = onnx.load(p)
        onnx.checker.check_model(back)
        assert back.ir_version == 8 and back.producer_name == "test"
        assert [(o.domain, o.version) for o in back.opset_import] == [("", 17)]
        assert {p.key: p.value for p in back.metadata_props} == {"author": "streamfold"}
        assert [v.name for v in back.graph.value_info] == ["h"]
        assert len(back.graph.quantization_annotation) == 2
        np.testing.assert_array_equal(numpy_helper.to_array(back.graph.initializer[0]),
                                      numpy_helper.to_array(m.graph.initializer[0]))

    def test_qonnx_reads_our_files(self, tmp_path):
        from qonnx.core.modelwrapper import ModelWrapper as QMW
        from qonnx.core.onnx_exec import execute_onnx as q_exec

        mw = ModelWrapper(small_model())
        mw.set_tensor_datatype("h", DataType["INT16"])
        p = tmp_path / "m.onnx"
        mw.save(p)
        q = QMW(str(p))
        assert q.get_tensor_datatype("w").get_canonical_name() == "INT4"
        assert q.get_tensor_datatype("x").get_canonical_name() == "UINT8"
        assert q.get_tensor_datatype("h").get_canonical_name() == "INT16"
        assert q.get_tensor_layout("x") == ["N", "C"]
        x = np.random.default_rng(0).integers(0, 255, (1, 4)).astype(np.float32)
        np.testing.assert_array_equal(q_exec(q, {"x": x})["y"], sf.execute_onnx(mw, {"x": x})["y"])
        # save -> qonnx -> ours changes nothing
        p2 = tmp_path / "m2.onnx"
        q.save(str(p2))
        again = ModelWrapper(p2)
        assert again.get_tensor_datatype("h") == DataType["INT16"]
        assert again.get_tensor_layout("x") == ["N", "C"]
        assert again.to_bytes() == ModelWrapper(again.to_bytes()).to_bytes()

    def test_load_from_all_sources(self, tmp_path):
        m = small_model()
        p = tmp_path / "m.onnx"
        onnx.save(m, p)
        a = ModelWrapper(m)
        for src in (str(p), p, m.SerializeToString(), a):
            assert ModelWrapper(src).to_bytes() == a.to_bytes()

    def test_typed_initializer_fields(self):
        # initializers stored in float_data/int64_data rather than raw_data
        m = small_model()
        w = m.graph.initializer[0]
        vals = numpy_helper.to_array(w).flatten().tolist()
        w.ClearField("raw_data")
        w.float_data.extend(vals)
        np.testing.assert_array_equal(ModelWrapper(m).get_initializer("w").flatten(), vals)


class TestModelWrapper:
    def test_queries(self):
        mw = ModelWrapper(small_model())
        assert mw.get_tensor_datatype("w") == DataType["INT4"]
        assert mw.get_tensor_datatype("h") == DataType["FLOAT32"]
        assert mw.get_tensor_layout("x") == ["N", "C"]
        assert mw.get_tensor_shape("x") == [1, 4]
        assert mw.get_tensor_shape("w") == [4, 3]
        assert mw.find_producer("h").name == "mm"
        assert [n.name for n in mw.find_consumers("h")] == ["add"]
        assert mw.find_producer("x") is None
        assert [n.op_type for n in mw.graph.node] == ["MatMul", "Add"]
        assert mw.get_nodes_by_op_type("Add")[0].name == "add"
        assert set(mw.get_all_tensor_names()) == {"x", "w", "b", "h", "y"}

    def test_setters_and_copy(self):
        mw = ModelWrapper(small_model())
        mw2 = mw.copy()
        mw2.set_tensor_datatype("h", "INT8")
        mw2.set_initializer("b", np.zeros(3, np.float32))
        mw2.set_tensor_layout("h", ["N", "C"])
        assert mw.get_tensor_datatype("h") == DataType["FLOAT32"]
        assert mw.get_initializer("b")[0] == 0.5 and mw2.get_initializer("b")[0] == 0
        assert mw2.get_tensor_layout("h") == ["N", "C"]
        with pytest.raises(sf.ModelError):
            mw.get_tensor_datatype("nope")

    def test_initializer_is_zero_copy_view(self):
        mw = ModelWrapper(small_model())
        a = mw.get_initializer("w")
        b = mw.get_initializer("w")
        assert a.ctypes.data == b.ctypes.data

    def test_infer_shapes_and_datatypes(self):
        mw = ModelWrapper(small_model())
        mw = mw.transform(sf.transformation.InferShapes())
        assert mw.get_tensor_shape("h") == [1, 3]
        mw = mw.transform(sf.transformation.InferDataTypes())
        # UINT8 x INT4 -> signed accumulation, like qonnx
        assert mw.get_tensor_datatype("h") == DataType["INT32"]
        assert mw.get_tensor_datatype("y") == DataType["FLOAT32"]  # float bias

    def test_full_exec_context(self):
        mw = ModelWrapper(small_model())
        x = np.ones((1, 4), np.float32)
        ctx = sf.execute_onnx(mw, {"x": x}, return_full_exec_context=True)
        assert set(ctx) >= {"x", "w", "b", "h", "y"}
        np.testing.assert_array_equal(ctx["h"], x @ mw.get_initializer("w"))
