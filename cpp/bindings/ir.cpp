// IR bindings: DataType, the model structs (read/write fields), ONNX I/O.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "ir/errors.h"
#include "ir/graph.h"
#include "ir/onnx_io.h"

namespace sf::py_bind {

namespace {

ElemType numpy_elem_type(const py::dtype& dt, const std::string& what) {
  const char k = dt.kind();
  const auto n = dt.itemsize();
  if (k == 'f' && n == 4) return ElemType::FLOAT;
  if (k == 'f' && n == 8) return ElemType::DOUBLE;
  if (k == 'f' && n == 2) return ElemType::FLOAT16;
  if (k == 'i' && n == 1) return ElemType::INT8;
  if (k == 'i' && n == 2) return ElemType::INT16;
  if (k == 'i' && n == 4) return ElemType::INT32;
  if (k == 'i' && n == 8) return ElemType::INT64;
  if (k == 'u' && n == 1) return ElemType::UINT8;
  if (k == 'u' && n == 2) return ElemType::UINT16;
  if (k == 'u' && n == 4) return ElemType::UINT32;
  if (k == 'u' && n == 8) return ElemType::UINT64;
  if (k == 'b') return ElemType::BOOL;
  throw InputError(fmt::format("{} has NumPy dtype '{}', which streamfold cannot use", what,
                               py::str(dt).cast<std::string>()),
                   "use a numeric array, e.g. x.astype(np.float32)");
}

py::dtype numpy_dtype(ElemType t) {
  switch (t) {
    case ElemType::FLOAT: return py::dtype::of<float>();
    case ElemType::DOUBLE: return py::dtype::of<double>();
    case ElemType::FLOAT16: return py::dtype("float16");
    case ElemType::INT8: return py::dtype::of<int8_t>();
    case ElemType::INT16: return py::dtype::of<int16_t>();
    case ElemType::INT32: return py::dtype::of<int32_t>();
    case ElemType::INT64: return py::dtype::of<int64_t>();
    case ElemType::UINT8: return py::dtype::of<uint8_t>();
    case ElemType::UINT16: return py::dtype::of<uint16_t>();
    case ElemType::UINT32: return py::dtype::of<uint32_t>();
    case ElemType::UINT64: return py::dtype::of<uint64_t>();
    case ElemType::BOOL: return py::dtype::of<bool>();
    default: throw ModelError(fmt::format("tensor type {} has no NumPy equivalent", elem_type_name(t)));
  }
}

}  // namespace

Tensor numpy_to_tensor(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::array>(obj)) {
    if (py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj) || py::isinstance<py::list>(obj))
      throw InputError(fmt::format("{} must be a NumPy array, got {}", what,
                                   py::str(py::type::of(obj).attr("__name__")).cast<std::string>()),
                       "wrap it with np.asarray(value, dtype=np.float32)");
    throw InputError(fmt::format("{} must be a NumPy array, got {}", what,
                                 py::str(py::type::of(obj).attr("__name__")).cast<std::string>()),
                     "convert it with np.asarray(...)");
  }
  py::array a = py::reinterpret_borrow<py::array>(obj);
  ElemType et = numpy_elem_type(a.dtype(), what);
  if (!(a.flags() & py::array::c_style) || !a.dtype().attr("isnative").cast<bool>())
    a = py::module_::import("numpy").attr("ascontiguousarray")(a, a.dtype().attr("newbyteorder")("="));
  Shape shape(a.shape(), a.shape() + a.ndim());
  // The Tensor owns a reference to the array; dropping it needs the GIL,
  // which the deleter takes (tensors may die inside GIL-free C++ work).
  auto* keep = new py::object(a);
  std::shared_ptr<void> owner(keep, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  return Tensor::wrap(et, shape, const_cast<void*>(a.data()), owner);
}

py::array tensor_to_numpy(const Tensor& t) {
  auto* holder = new std::shared_ptr<void>(t.owner());
  py::capsule cap(holder, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  return py::array(numpy_dtype(t.type()), shape, t.raw(), cap);
}

std::map<std::string, Tensor> dict_to_tensors(const py::dict& d) {
  std::map<std::string, Tensor> r;
  for (auto item : d) {
    if (!py::isinstance<py::str>(item.first))
      throw InputError("input names must be strings", "pass a dict like {'global_in': x}");
    std::string name = item.first.cast<std::string>();
    r[name] = numpy_to_tensor(item.second, fmt::format("input '{}'", name));
  }
  return r;
}

py::dict tensors_to_dict(const std::map<std::string, Tensor>& m) {
  py::dict r;
  for (const auto& [k, v] : m) r[py::str(k)] = tensor_to_numpy(v);
  return r;
}

void bind_ir(py::module_& m) {
  // ---- DataType (qonnx method names) ----
  py::class_<DataType>(m, "DataType")
      .def_static("__class_getitem__", &DataType::from_name, "DataType['INT4']")
      .def_static("from_name", &DataType::from_name)
      .def_static("is_valid_name", &DataType::is_valid_name)
      .def_static("smallest_for_range", &DataType::smallest_for_range)
      .def_static("get_smallest_possible",
                  [](double v) { return DataType::smallest_for_range(v, v); },
                  "Smallest integer type holding value (unsigned preferred), as qonnx")
      .def_static("get_accumulator_dt_cands", []() {
        std::vector<std::string> r;
        for (const auto& t : DataType::all_integer_types()) r.push_back(t.name());
        return r;
      })
      .def("get_canonical_name", &DataType::name)
      .def_property_readonly("name", &DataType::name)
      .def("bitwidth", &DataType::bitwidth)
      .def("min", &DataType::min)
      .def("max", &DataType::max)
      .def("allowed", &DataType::allowed)
      .def("is_integer", &DataType::is_integer)
      .def("is_fixed_point", &DataType::is_fixed_point)
      .def("is_float", &DataType::is_float)
      .def("signed", &DataType::is_signed)
      .def("scale_factor", &DataType::scale_factor)
      .def("int_bits", &DataType::int_bits)
      .def("get_num_possible_values",
           [](const DataType& d) -> double {
             if (!d.is_integer()) throw ModelError(d.name() + " is not an integer type");
             return d.kind() == DataType::Kind::BIPOLAR ? 2.0 : d.max() - d.min() + 1;
           })
      .def("__eq__", [](const DataType& a, const DataType& b) { return a == b; })
      .def("__eq__", [](const DataType& a, const py::object& b) {
        // qonnx DataTypes and names compare by canonical name
        if (py::isinstance<py::str>(b)) return a.name() == b.cast<std::string>();
        if (py::hasattr(b, "get_canonical_name")) return a.name() == b.attr("get_canonical_name")().cast<std::string>();
        return false;
      })
      .def("__hash__", [](const DataType& d) { return py::hash(py::str(d.name())); })
      .def("__repr__", [](const DataType& d) { return fmt::format("DataType['{}']", d.name()); })
      .def("__str__", &DataType::name)
      .def(py::pickle([](const DataType& d) { return d.name(); },
                      [](const std::string& s) { return DataType::from_name(s); }));

  py::class_<Dim>(m, "Dim").def_readwrite("value", &Dim::value).def_readwrite("param", &Dim::param);

  py::class_<ValueInfo>(m, "ValueInfo")
      .def(py::init<>())
      .def_readwrite("name", &ValueInfo::name)
      .def_property("elem_type", [](const ValueInfo& v) { return (int)v.elem_type; },
                    [](ValueInfo& v, int t) { v.elem_type = (ElemType)t; })
      .def_readwrite("has_shape", &ValueInfo::has_shape)
      .def_property("shape",
                    [](const ValueInfo& v) -> py::object {
                      if (!v.has_shape) return py::none();
                      py::list l;
                      for (const auto& d : v.dims) {
                        if (d.value >= 0) l.append(d.value);
                        else if (!d.param.empty()) l.append(d.param);
                        else l.append(py::none());
                      }
                      return l;
                    },
                    [](ValueInfo& v, const Shape& s) { v.set_shape(s); })
      .def("__repr__", [](const ValueInfo& v) { return fmt::format("<ValueInfo {}>", v.name); });

  py::class_<Attribute>(m, "Attribute")
      .def_readonly("name", &Attribute::name)
      .def_property_readonly("type", [](const Attribute& a) { return (int)a.type; })
      .def_property_readonly("value", [](const Attribute& a) -> py::object {
        switch (a.type) {
          case AttrType::FLOAT: return py::float_(a.f);
          case AttrType::INT: return py::int_(a.i);
          case AttrType::STRING: return py::bytes(a.s);
          case AttrType::TENSOR: return tensor_to_numpy(a.t);
          case AttrType::FLOATS: return py::cast(a.floats);
          case AttrType::INTS: return py::cast(a.ints);
          case AttrType::STRINGS: {
            py::list l;
            for (const auto& s : a.strings) l.append(py::bytes(s));
            return l;
          }
          case AttrType::TENSORS: {
            py::list l;
            for (const auto& t : a.tensors) l.append(tensor_to_numpy(t));
            return l;
          }
          default: return py::bytes(a.raw);
        }
      })
      .def("__repr__", [](const Attribute& a) { return fmt::format("<Attribute {}>", a.name); });

  py::class_<Node>(m, "Node")
      .def(py::init<>())
      .def_readwrite("name", &Node::name)
      .def_readwrite("op_type", &Node::op_type)
      .def_readwrite("domain", &Node::domain)
      .def_readwrite("input", &Node::inputs)
      .def_readwrite("output", &Node::outputs)
      .def_readonly("attribute", &Node::attrs)
      .def("has_attr", &Node::has_attr)
      .def("get_attr", [](const Node& n, const std::string& name) -> py::object {
        const Attribute* a = n.attr(name);
        if (!a) return py::none();
        return py::cast(*a).attr("value");
      })
      .def("set_int", &Node::set_int)
      .def("set_float", &Node::set_float)
      .def("set_string", &Node::set_string)
      .def("set_ints", &Node::set_ints)
      .def("set_floats", &Node::set_floats)
      .def("remove_attr", &Node::remove_attr)
      .def("__repr__", [](const Node& n) { return fmt::format("<Node {}>", n.label()); });

  py::class_<Graph>(m, "Graph")
      .def_readwrite("name", &Graph::name)
      .def_readonly("node", &Graph::nodes)
      .def_readonly("input", &Graph::inputs)
      .def_readonly("output", &Graph::outputs)
      .def_readonly("value_info", &Graph::value_info)
      .def_property_readonly("initializer_names", [](const Graph& g) {
        std::vector<std::string> r;
        for (const auto& [n, t] : g.initializers) r.push_back(n);
        return r;
      })
      .def_readonly("quantization_annotation", &Graph::quant_annotation);

  py::class_<Model>(m, "Model")
      .def(py::init<>())
      .def("copy", [](const Model& m) {
        // Deep copy: tensors get their own buffers so later in-place edits
        // of one model never leak into the other.
        Model c = m;
        for (auto& [n, t] : c.graph.initializers) t = t.clone();
        return c;
      })
      .def_readwrite("ir_version", &Model::ir_version)
      .def_readwrite("producer_name", &Model::producer_name)
      .def_readwrite("producer_version", &Model::producer_version)
      .def_readwrite("doc_string", &Model::doc_string)
      .def_readwrite("metadata_props", &Model::metadata_props)
      .def_property_readonly("opset_imports", [](const Model& m) {
        std::vector<std::pair<std::string, int64_t>> r;
        for (const auto& o : m.opset_imports) r.emplace_back(o.domain, o.version);
        return r;
      })
      .def("opset_version", &Model::opset_version)
      .def("set_opset_version", &Model::set_opset_version)
      .def_property_readonly("graph", [](Model& m) -> Graph& { return m.graph; }, py::return_value_policy::reference_internal)
      // graph editing used by the Python ModelWrapper
      .def("get_initializer", [](const Model& m, const std::string& n) -> py::object {
        const Tensor* t = m.graph.get_initializer(n);
        if (!t) return py::none();
        return tensor_to_numpy(*t);
      })
      .def("set_initializer", [](Model& m, const std::string& n, py::handle arr) {
        // Copy: the model must not alias a caller's array that may change later.
        m.graph.set_initializer(n, numpy_to_tensor(arr, fmt::format("initializer '{}'", n)).clone());
      })
      .def("remove_initializer", [](Model& m, const std::string& n) { return m.graph.remove_initializer(n); })
      .def("get_annotation", [](const Model& m, const std::string& t, const std::string& k) {
        return m.graph.get_annotation(t, k);
      })
      .def("set_annotation", [](Model& m, const std::string& t, const std::string& k, const std::string& v) {
        m.graph.set_annotation(t, k, v);
      })
      .def("remove_annotation", [](Model& m, const std::string& t, const std::string& k) {
        m.graph.remove_annotation(t, k);
      })
      .def("get_datatype", [](const Model& m, const std::string& t) { return m.graph.get_datatype(t); })
      .def("set_datatype", [](Model& m, const std::string& t, const DataType& d) { m.graph.set_datatype(t, d); })
      .def("get_layout", [](const Model& m, const std::string& t) { return m.graph.get_layout(t); })
      .def("set_layout", [](Model& m, const std::string& t, const std::vector<std::string>& l) {
        m.graph.set_layout(t, l);
      })
      .def("find_producer", [](const Model& m, const std::string& t) { return m.graph.find_producer(t); })
      .def("find_consumers", [](const Model& m, const std::string& t) { return m.graph.find_consumers(t); })
      .def("find_node", [](const Model& m, const std::string& n) { return m.graph.find_node(n); })
      .def("find_value_info", [](const Model& m, const std::string& t) -> py::object {
        const ValueInfo* v = m.graph.find_value_info(t);
        if (!v) return py::none();
        return py::cast(*v);
      })
      .def("set_value_info", [](Model& m, const ValueInfo& vi) {
        if (ValueInfo* v = m.graph.find_value_info(vi.name)) *v = vi;
        else m.graph.value_info.push_back(vi);
      })
      .def("set_node", [](Model& m, int idx, const Node& n) {
        if (idx < 0 || idx >= (int)m.graph.nodes.size()) throw py::index_error("node index out of range");
        m.graph.nodes[idx] = n;
      })
      .def("all_tensor_names", [](const Model& m) { return m.graph.all_tensor_names(); })
      .def("runtime_input_names", [](const Model& m) {
        std::vector<std::string> r;
        for (const auto* vi : m.graph.runtime_inputs()) r.push_back(vi->name);
        return r;
      })
      .def("to_bytes", [](const Model& m) { return py::bytes(save_model_bytes(m)); })
      .def("save", [](const Model& m, const std::string& path) { save_model_file(m, path); });

  m.def("load_model_file", &load_model_file, py::arg("path"), py::call_guard<py::gil_scoped_release>());
  m.def("load_model_bytes", [](const py::bytes& b) {
    std::string s = b;
    py::gil_scoped_release nogil;
    return load_model_bytes(s);
  });
}

}  // namespace sf::py_bind
