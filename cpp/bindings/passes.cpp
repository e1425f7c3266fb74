// Pass bindings: apply one pass, list passes, run a verified pipeline.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "passes/pass.h"

namespace sf::py_bind {

namespace {
TensorMap to_tensor_map(const py::dict& d) {
  TensorMap r;
  for (auto item : d) {
    std::string name = item.first.cast<std::string>();
    r[name] = numpy_to_tensor(item.second, fmt::format("input '{}'", name));
  }
  return r;
}
}  // namespace

void bind_passes(py::module_& m) {
  m.def("apply_pass", [](Model& model, const std::string& name) { return apply_pass(model, name); },
        py::arg("model"), py::arg("name"), py::call_guard<py::gil_scoped_release>());
  m.def("list_passes", []() {
    std::vector<std::tuple<std::string, std::string, std::string>> r;
    for (const PassDef* d : PassRegistry::instance().all()) r.emplace_back(d->name, d->group, d->doc);
    return r;
  });
  m.def(
      "run_pipeline",
      [](Model& model, const std::vector<std::string>& passes, const py::list& verify_inputs, double rtol,
         double atol) {
        VerifyOptions v;
        v.enabled = py::len(verify_inputs) > 0;
        v.rtol = rtol;
        v.atol = atol;
        for (auto d : verify_inputs) v.inputs.push_back(to_tensor_map(d.cast<py::dict>()));
        PipelineReport rep;
        {
          py::gil_scoped_release nogil;
          rep = run_pipeline(model, passes, v);
          v.inputs.clear();
        }
        py::list steps;
        for (const auto& p : rep.passes) {
          py::dict s;
          s["name"] = p.name;
          s["seconds"] = p.seconds;
          s["changed"] = p.changed;
          steps.append(s);
        }
        py::dict r;
        r["passes"] = steps;
        r["ok"] = rep.ok;
        if (!rep.ok) {
          py::dict f;
          f["pass"] = rep.failure.pass;
          f["tensor"] = rep.failure.tensor;
          f["index"] = rep.failure.index;
          f["flat_index"] = rep.failure.flat_index;
          f["before"] = rep.failure.before;
          f["after"] = rep.failure.after;
          f["message"] = rep.failure.message();
          r["failure"] = f;
        }
        return r;
      },
      py::arg("model"), py::arg("passes"), py::arg("verify_inputs") = py::list(), py::arg("rtol") = 1e-5,
      py::arg("atol") = 1e-6);
}

}  // namespace sf::py_bind
