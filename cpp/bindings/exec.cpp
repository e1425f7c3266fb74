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
