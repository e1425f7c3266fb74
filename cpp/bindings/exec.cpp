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
        TensorMap in;
        for (auto item : inputs) {
          if (!py::isinstance<py::str>(item.first))
            throw InputError("input names must be strings", "pass a dict like {'global_in': x}");
          std::string name = item.first.cast<std::string>();
          in[name] = numpy_to_tensor(item.second, fmt::format("input '{}'", name));
        }
        TensorMap out;
        {
          py::gil_scoped_release nogil;
          out = execute_model(model, in, ExecOptions{full_context});
          in.clear();  // drop array references while the GIL is free is fine: deleters take it
        }
        py::dict r;
        for (auto& [k, v] : out) r[py::str(k)] = tensor_to_numpy(v);
        return r;
      },
      py::arg("model"), py::arg("inputs"), py::arg("full_context") = false);

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
