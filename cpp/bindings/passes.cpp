// Pass bindings: apply one pass, list passes, run a verified pipeline.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "passes/lower/lower.h"
#include "passes/pass.h"
#include "passes/pipeline.h"

namespace sf::py_bind {

void bind_passes(py::module_& m) {
  m.def("apply_pass", [](Model& model, const std::string& name) { return apply_pass(model, name); },
        py::arg("model"), py::arg("name"), py::call_guard<py::gil_scoped_release>());
  m.def("insert_topk", &insert_topk, py::arg("model"), py::arg("k") = 1, py::arg("axis") = -1,
        py::arg("largest") = true, py::arg("sorted") = true, py::call_guard<py::gil_scoped_release>());
  m.def("list_passes", []() {
    std::vector<std::tuple<std::string, std::string, std::string>> r;
    for (const PassDef* d : PassRegistry::instance().all()) r.emplace_back(d->name, d->group, d->doc);
    return r;
  });
  m.def("step_passes", &step_passes, py::arg("step"));
  m.def("clear_refusals", &clear_refusals);
  m.def("refusals_for", [](const std::string& node) {
    std::vector<std::pair<std::string, std::string>> r;
    for (const auto& x : refusals_for(node)) r.emplace_back(x.pass, x.reason);
    return r;
  });
  m.def("check_streamlined_form", [](const Model& model) {
    py::list r;
    for (const auto& v : check_streamlined_form(model)) {
      py::dict d;
      d["node"] = v.node;
      d["op_type"] = v.op_type;
      d["why"] = v.why;
      d["inputs"] = v.inputs;
      d["outputs"] = v.outputs;
      d["refusals"] = v.refusals;
      d["hint"] = v.hint;
      d["float_head"] = v.float_head;
      d["message"] = v.message();
      r.append(d);
    }
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
        for (auto d : verify_inputs) v.inputs.push_back(dict_to_tensors(d.cast<py::dict>()));
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
          s["boundary_flips"] = p.boundary_flips;
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
