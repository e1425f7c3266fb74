// HW-layer cost bindings: per-node estimates and stream shapes for the
// Python folding and report code (builder/folding.py, builder/estimates.py).
#include <pybind11/stl.h>

#include "bindings/common.h"
#include "codegen/fifo_sizing.h"
#include "codegen/stitch.h"
#include "ops/hw/ext_weights.h"
#include "ops/hw/hls_emit.h"
#include "ops/hw/rtl_emit.h"
#include "passes/folding/hw_cost.h"

namespace sf::py_bind {

namespace {
py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}
}  // namespace

void bind_hw(py::module_& m) {
  m.def(
      "hw_estimate",
      [](const Model& model, const std::string& node) {
        const HwEstimate e = folding::estimate_node(model, node);
        py::dict d;
        d["cycles"] = e.cycles;
        d["lut"] = e.lut;
        d["ff"] = e.ff;
        d["bram18"] = e.bram18;
        d["uram"] = e.uram;
        d["dsp"] = e.dsp;
        return d;
      },
      py::arg("model"), py::arg("node_name"));
  m.def(
      "hw_schedule",
      [](const Model& model, const std::string& node) {
        const hw::Schedule s = rtl::node_schedule(model, node);
        py::dict d;
        d["in_beats"] = s.in_beats;
        d["out_beats"] = s.out_beats;
        d["need"] = s.need;
        d["gap"] = s.gap;
        d["latency"] = s.latency;
        d["hold"] = s.hold;
        d["hold_offset"] = s.hold_offset;
        d["in_gap"] = s.in_gap;
        d["joint_inputs"] = s.joint_inputs;
        return d;
      },
      py::arg("model"), py::arg("node_name"));
  m.def(
      "hw_schedule_times",
      [](const Model& model, const std::string& node, int64_t frames,
         const std::vector<std::vector<int64_t>>& arrivals) {
        const hw::ScheduleTimes t = hw::run_schedule(rtl::node_schedule(model, node), frames, arrivals, node);
        py::dict d;
        d["in_take"] = t.in_take;
        d["out_take"] = t.out_take;
        return d;
      },
      py::arg("model"), py::arg("node_name"), py::arg("frames"), py::arg("arrivals"));
  m.def(
      "fifo_characterize",
      [](const Model& model, int64_t frames, double in_rate) {
        rtl::FifoCharacterization r;
        {
          py::gil_scoped_release nogil;
          r = rtl::characterize_fifos(model, frames, in_rate);
        }
        py::dict d;
        d["max_occupancy"] = r.max_occupancy;
        d["cycles"] = r.cycles;
        return d;
      },
      py::arg("model"), py::arg("frames"), py::arg("in_rate"));
  m.def(
      "hw_stream_shapes",
      [](const Model& model, const std::string& node) {
        const hw::StreamShapes s = folding::stream_shapes_node(model, node);
        py::dict d;
        d["normal_in"] = shape_tuple(s.normal_in);
        d["folded_in"] = shape_tuple(s.folded_in);
        d["normal_out"] = shape_tuple(s.normal_out);
        d["folded_out"] = shape_tuple(s.folded_out);
        d["in_width"] = s.in_width;
        d["out_width"] = s.out_width;
        return d;
      },
      py::arg("model"), py::arg("node_name"));
  m.def(
      "hw_validate", [](const Model& model, const std::string& node) { folding::validate_node(model, node); },
      py::arg("model"), py::arg("node_name"));
  m.def(
      "rtl_emit_layer",
      [](const Model& model, const std::string& node, const std::string& dir) { rtl::emit_layer(model, node, dir); },
      py::arg("model"), py::arg("node_name"), py::arg("dir"));
  m.def("rtl_ops", []() {
    std::vector<std::string> ops;
    for (const OpDef* d : OpRegistry::instance().all())
      if (d->emit_rtl) ops.push_back(d->op_type);
    return ops;
  });
  m.def(
      "rtl_library_source",
      [](const std::string& module) -> py::object {
        const std::string* s = rtl::library_source(module);
        return s ? py::object(py::str(*s)) : py::object(py::none());
      },
      py::arg("module"));
  m.def("rtl_library_modules", &rtl::library_modules);
  m.def(
      "hls_emit_layer",
      [](const Model& model, const std::string& node, const std::string& dir, const std::string& part,
         double clk_ns) { hls::emit_layer(model, node, dir, part, clk_ns); },
      py::arg("model"), py::arg("node_name"), py::arg("dir"), py::arg("fpga_part") = "", py::arg("clk_ns") = 10.0);
  m.def("hls_ops", []() {
    std::vector<std::string> ops;
    for (const OpDef* d : OpRegistry::instance().all())
      if (d->emit_hls) ops.push_back(d->op_type);
    return ops;
  });
  m.def(
      "hls_library_source",
      [](const std::string& header) -> py::object {
        const std::string* s = hls::library_source(header);
        return s ? py::object(py::str(*s)) : py::object(py::none());
      },
      py::arg("header"));
  m.def("hls_library_headers", &hls::library_headers);
  m.def(
      "rtl_stitch",
      [](const Model& model, const std::string& dir, bool monitors, const std::string& top) {
        rtl::StitchOptions o;
        o.monitors = monitors;
        o.top = top;
        rtl::stitch_design(model, dir, o);
      },
      py::arg("model"), py::arg("dir"), py::arg("monitors") = false, py::arg("top") = "finn_design");
  m.def(
      "rtl_external_weights",
      [](const Model& model, const std::string& node) {
        const int idx = model.graph.find_node(node);
        if (idx < 0) throw ModelError("no node named '" + node + "'", "check the node name", node);
        const rtl::ExternalWeights e = rtl::external_weights(model, model.graph.nodes[(size_t)idx]);
        const int nbytes = rtl::tdata_width(e.width) / 8;
        std::string buf(e.words.size() * (size_t)nbytes, '\0');
        for (size_t b = 0; b < e.words.size(); ++b) e.words[b].bytes((uint8_t*)buf.data() + b * (size_t)nbytes, nbytes);
        py::dict d;
        d["node"] = e.node;
        d["width"] = e.width;
        d["tdata_width"] = nbytes * 8;
        d["pass_beats"] = e.pass_beats;
        d["repeat"] = e.repeat;
        d["data"] = py::bytes(buf);
        return d;
      },
      py::arg("model"), py::arg("node_name"));
  m.def(
      "is_hw_node", [](const Node& n) { return folding::is_hw_node(n); }, py::arg("node"));
}

}  // namespace sf::py_bind
