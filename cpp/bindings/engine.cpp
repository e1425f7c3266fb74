// Fast-engine bindings: compile once, run many times without the GIL.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "exec/engine/engine.h"
#include "ir/errors.h"

namespace sf::py_bind {

void bind_engine(py::module_& m) {
  using engine::Engine;
  using engine::EngineOptions;
  py::class_<Engine>(m, "Engine")
      .def(py::init([](const Model& model, const std::string& isa, int threads, bool warn, bool profile) {
             EngineOptions o;
             o.isa = isa;
             o.threads = threads;
             o.warn = warn;
             o.profile = profile;
             return std::make_unique<Engine>(model, o);
           }),
           py::arg("model"), py::arg("isa") = "auto", py::arg("threads") = 0, py::arg("warn") = true,
           py::arg("profile") = false,
           py::call_guard<py::gil_scoped_release>())
      .def("run",
           [](const Engine& e, const py::dict& inputs) {
             TensorMap in = dict_to_tensors(inputs);
             TensorMap out;
             {
               py::gil_scoped_release nogil;
               out = e.run(in);
               in.clear();
             }
             return tensors_to_dict(out);
           },
           py::arg("inputs"))
      .def_property_readonly("isa", [](const Engine& e) { return std::string(engine::isa_name(e.isa())); })
      .def_property_readonly("threads", &Engine::threads)
      .def_property_readonly("fallback_nodes", &Engine::fallback_nodes)
      .def_property_readonly("binary_words_per_image", &Engine::binary_words_per_image)
      .def("plan", &Engine::plan)
      .def("profile", &Engine::profile);

  m.def("engine_isas", []() {
    std::vector<std::string> r;
    for (auto i : engine::available_isas()) r.push_back(engine::isa_name(i));
    return r;
  });
  m.def("engine_best_isa", []() { return std::string(engine::isa_name(engine::best_isa())); });
  m.def("engine_int8_dot", []() {
    // The int8 dot-product instructions each path uses on this CPU.
    py::dict d;
    d["avx512"] = engine::vnni_available() ? "vnni" : "int16";
    d["avx2"] = engine::avxvnni_available() ? "avx-vnni" : "int16";
    d["scalar"] = "int16";
    return d;
  });
  m.def(
      "popcount_peak_words_per_s",
      [](const std::string& isa, double seconds) {
        return engine::popcount_peak_words_per_s(engine::parse_isa(isa), seconds);
      },
      py::arg("isa") = "auto", py::arg("seconds") = 0.3, py::call_guard<py::gil_scoped_release>());
}

}  // namespace sf::py_bind
