// Execution and inference bindings. Long C++ work runs without the GIL.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "exec/executor.h"
#include "exec/infer.h"
#include "ops/op.h"

namespace sf::py_bind {

void bind_exec(py::module_& m) {
  m.def(
      "execute",
      [](const Model& model, const py::dict& inputs, bool full_context) {
        TensorMap in = dict_to_tensors(inputs);
        TensorMap out;
        {
          py::gil_scoped_release nogil;
          out = execute_model(model, in, ExecOptions{full_context});
          in.clear();  // deleters of borrowed arrays take the GIL themselves
        }
        return tensors_to_dict(out);
      },
      py::arg("model"), py::arg("inputs"), py::arg("full_context") = false);

  // One node on the reference executor, its inputs from `inputs` or the
  // model's initializers: the host side of node-by-node simulation.
  m.def(
      "execute_node",
      [](const Model& model, const std::string& node_name, const py::dict& inputs) {
        const int idx = model.graph.find_node(node_name);
        if (idx < 0) throw ModelError(fmt::format("no node named '{}'", node_name), "check the node name", node_name);
        const Node& node = model.graph.nodes[(size_t)idx];
        TensorMap in = dict_to_tensors(inputs);
        TensorMap out;
        {
          py::gil_scoped_release nogil;
          const OpDef& def = OpRegistry::instance().get(node);
          ExecCtx ec{node, model.opset_version(""), {}, {}};
          if (ec.onnx_opset < 0) ec.onnx_opset = model.opset_version("ai.onnx");
          for (const auto& name : node.inputs) {
            if (name.empty()) {
              ec.in.push_back(nullptr);
              continue;
            }
            auto it = in.find(name);
            const Tensor* t = it != in.end() ? &it->second : model.graph.get_initializer(name);
            if (!t) op_fail(node, fmt::format("input '{}' has no value", name), "pass it in the inputs dict");
            ec.in.push_back(t);
          }
          run_node(def, ec);
          for (size_t k = 0; k < node.outputs.size() && k < ec.out.size(); ++k)
            if (!node.outputs[k].empty()) out[node.outputs[k]] = std::move(ec.out[k]);
          in.clear();
        }
        return tensors_to_dict(out);
      },
      py::arg("model"), py::arg("node_name"), py::arg("inputs"));

  m.def("infer_shapes", &infer_shapes, py::arg("model"), py::call_guard<py::gil_scoped_release>());
  m.def("infer_datatypes", &infer_datatypes, py::arg("model"), py::arg("allow_scaledint") = false,
        py::call_guard<py::gil_scoped_release>());
  m.def("topological_order", [](const Model& mdl) { return topological_order(mdl.graph); });

  m.def("supported_ops", []() {
    std::vector<std::pair<std::string, std::string>> r;
    for (const OpDef* d : OpRegistry::instance().all()) r.emplace_back(canonical_domain(d->domain), d->op_type);
    return r;
  });
  m.def("is_supported_op", [](const std::string& op_type, const std::string& domain) {
    return OpRegistry::instance().find(op_type, domain) != nullptr;
  });
}

}  // namespace sf::py_bind
