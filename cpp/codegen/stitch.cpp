#include "codegen/stitch.h"

#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <set>

#include "exec/executor.h"
#include "ops/hw/common.h"
#include "ops/hw/emit_util.h"
#include "ops/hw/ext_weights.h"
#include "ops/hw/rtl_emit.h"

namespace sf::rtl {
namespace {

namespace fs = std::filesystem;
using emit::json_str;

// One stream of the design: a tensor between two ports.
struct Wire {
  std::string name;        // Verilog wire prefix
  int width = -1;          // payload bits
  int producer = -1;       // node index, -1 = graph input
  int consumer = -1;       // node index, -1 = graph output
  std::vector<int64_t> order_shape, order_perm;
};

bool is_fifo(const Node& n) { return n.op_type == "StreamingFIFO"; }

// A uint8 .npy of shape (rows, cols) (format 1.0, C order).
void write_npy_u8(const fs::path& p, const std::vector<uint8_t>& data, size_t rows, size_t cols) {
  std::string h = fmt::format("{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {}), }}", rows, cols);
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream f(p, std::ios::binary);
  const char magic[] = "\x93NUMPY\x01\x00";
  f.write(magic, 8);
  const uint16_t hl = (uint16_t)h.size();
  const char hb[2] = {(char)(hl & 0xFF), (char)(hl >> 8)};
  f.write(hb, 2);
  f.write(h.data(), (std::streamsize)h.size());
  f.write((const char*)data.data(), (std::streamsize)data.size());
  if (!f) throw StreamfoldError(fmt::format("cannot write {}", p.string()), "check the output folder");
}

[[noreturn]] void stitch_fail(const std::string& where, const std::string& msg, const std::string& hint) {
  throw ModelError("cannot stitch the design: " + msg, hint, where);
}

}  // namespace

void stitch_design(const Model& m, const std::string& dir, const StitchOptions& opts) {
  const Graph& g = m.graph;
  fs::create_directories(dir);
  std::map<std::string, Wire> wires;
  auto wire_of = [&](const std::string& t) -> Wire& {
    auto it = wires.find(t);
    if (it == wires.end()) {
      Wire w;
      w.name = fmt::format("s{}", wires.size());
      it = wires.emplace(t, w).first;
    }
    return it->second;
  };
  auto streamed = [&](const Node& n) {
    std::vector<std::string> v;
    for (const std::string& t : n.inputs)
      if (!t.empty() && !g.get_initializer(t)) v.push_back(t);
    return v;
  };

  // Graph inputs and outputs become the top's s_axis_<i> / m_axis_<i>.
  std::map<std::string, std::string> rename;
  {
    int ni = 0, no = 0;
    for (const ValueInfo* vi : g.runtime_inputs()) rename[vi->name] = fmt::format("s_axis_{}", ni++);
    for (const ValueInfo& vo : g.outputs) rename[vo.name] = fmt::format("m_axis_{}", no++);
  }
  auto sig = [&](const std::string& t) {
    auto it = rename.find(t);
    return it != rename.end() ? it->second : wire_of(t).name;
  };
  // External weight streams (MVAU/VVAU mem_mode=external) become top-level
  // inputs s_axis_<k> numbered after the graph inputs, in instance order; a
  // DMA feeds each from DDR (ext_weights.h).
  const int n_graph_in = (int)g.runtime_inputs().size();
  std::string wports, wjson;
  int n_wstreams = 0;
  std::string srcs_json, mems_json, mon_ports, mon_json;
  std::set<std::string> files;
  std::vector<std::string> mem_files;
  std::string inst;
  for (int idx : topological_order(g)) {
    const Node& n = g.nodes[(size_t)idx];
    if (domain_family(n.domain) != OpDomain::FPGADATAFLOW)
      stitch_fail(n.name, fmt::format("{} is not an HW layer", n.label()),
                  "stitch the dataflow child (after step_create_dataflow_partition), not the parent");
    const std::vector<std::string> ins = streamed(n);
    if (is_fifo(n)) {
      // FIFOs are instantiated directly, so their occupancy monitor can be
      // brought out for sizing.
      const auto folded = n.get_ints("folded_shape");
      const int w = (int)(folded.back() * hw::dtype_attr(n, "dataType").bitwidth());
      const int64_t depth = std::max<int64_t>(2, n.get_int("depth"));
      const std::string rs = n.get_string("ram_style", "auto");
      const int bram = rs == "block" || (rs == "auto" && depth > 256);
      const int cw = hw::clog2(depth + 1) > 0 ? hw::clog2(depth + 1) : 1;
      Wire& wi = wire_of(ins.at(0));
      Wire& wo = wire_of(n.outputs.at(0));
      for (Wire* x : {&wi, &wo}) {
        if (x->width >= 0 && x->width != w)
          stitch_fail(n.name, fmt::format("{} is {} bits wide, its stream {} bits", n.name, w, x->width),
                      "set folded_shape and dataType from the producer");
        x->width = w;
      }
      if (wi.consumer >= 0) stitch_fail(ins[0], "tensor read by two layers", "insert DuplicateStreams");
      wi.consumer = idx;
      wo.producer = idx;
      wo.order_shape = wi.order_shape;
      wo.order_perm = wi.order_perm;
      const std::string mname = module_name(n.name);
      inst += fmt::format(
          "  sf_fifo #(.W({}), .DEPTH({}), .BRAM({})) {}_inst (\n    .clk(ap_clk), .rst_n(ap_rst_n),\n"
          "    .in_tdata({}_tdata[{}:0]), .in_tvalid({}_tvalid), .in_tready({}_tready),\n"
          "    .out_tdata({}_tdata[{}:0]), .out_tvalid({}_tvalid), .out_tready({}_tready),\n"
          "    .count({}), .maxcount({}));\n",
          w, depth, bram, mname, sig(ins[0]), w - 1, sig(ins[0]), sig(ins[0]), sig(n.outputs[0]), w - 1,
          sig(n.outputs[0]), sig(n.outputs[0]), opts.monitors ? "mon_" + mname + "_count" : "",
          opts.monitors ? "mon_" + mname + "_maxcount" : "");
      if (tdata_width(w) > w)
        inst += fmt::format("  assign {}_tdata[{}:{}] = '0;\n", sig(n.outputs[0]), tdata_width(w) - 1, w);
      if (opts.monitors) {
        mon_ports += fmt::format(",\n  output wire [{0}:0] mon_{1}_count,\n  output wire [{0}:0] mon_{1}_maxcount", cw - 1,
                                 mname);
        for (const char* k : {"count", "maxcount"})
          mon_json += fmt::format("{}{{\"name\": \"mon_{}_{}\", \"node\": {}, \"width\": {}}}",
                                  mon_json.empty() ? "" : ", ", mname, k, json_str(n.name), cw);
      }
      const std::string* fifo_src = library_source("sf_fifo");
      if (!fifo_src) stitch_fail(n.name, "the RTL library has no sf_fifo", "internal error: rebuild streamfold");
      files.insert("sf_fifo.sv");
      std::ofstream(fs::path(dir) / "sf_fifo.sv") << *fifo_src;
      continue;
    }
    const LayerInfo info = emit_layer_info(m, n, dir);
    for (const auto& s : info.sources) files.insert(s);
    for (const auto& f : info.mem_files) mem_files.push_back(f);
    std::vector<Stream> data_ins, w_ins;
    for (const Stream& s : info.ins) (s.weights ? w_ins : data_ins).push_back(s);
    if (data_ins.size() != ins.size())
      stitch_fail(n.name, fmt::format("{} has {} streamed inputs but its RTL {} input streams", n.name, ins.size(),
                                      data_ins.size()),
                  "internal error in the op's emitter");
    if (info.outs.size() != n.outputs.size())
      stitch_fail(n.name, fmt::format("{} has {} outputs but its RTL {} output streams", n.name, n.outputs.size(),
                                      info.outs.size()),
                  "internal error in the op's emitter");
    std::string conn = "    .ap_clk(ap_clk), .ap_rst_n(ap_rst_n)";
    for (const Stream& s : w_ins) {
      const std::string p = fmt::format("s_axis_{}", n_graph_in + n_wstreams++);
      const ExternalWeights ew = external_weights(m, n);
      if (ew.width != s.width || ew.pass_beats != s.pass_beats)
        stitch_fail(n.name, "the weight stream and the emitted layer disagree", "internal error in the op's emitter");
      const int nbytes = tdata_width(s.width) / 8;
      std::vector<uint8_t> packed(ew.words.size() * (size_t)nbytes);
      for (size_t b = 0; b < ew.words.size(); ++b) ew.words[b].bytes(packed.data() + b * (size_t)nbytes, nbytes);
      const std::string file = n.name + "_wstream.npy";
      write_npy_u8(fs::path(dir) / file, packed, ew.words.size(), (size_t)nbytes);
      wports += fmt::format(",\n  input  wire [{}:0] {}_tdata,\n  input  wire {}_tvalid,\n  output wire {}_tready",
                            tdata_width(s.width) - 1, p, p, p);
      wjson += fmt::format(
          ", {{\"name\": {0}, \"width\": {1}, \"tdata_width\": {2}, \"tdata\": \"{3}_tdata\", "
          "\"tvalid\": \"{3}_tvalid\", \"tready\": \"{3}_tready\", \"order_shape\": [], \"order_perm\": [], "
          "\"weights\": true, \"node\": {4}, \"pass_beats\": {5}, \"repeat\": {6}, \"weights_file\": {7}, "
          "\"tensor\": {8}, \"dtype\": {9}}}",
          json_str(p), s.width, tdata_width(s.width), p, json_str(n.name), s.pass_beats, s.repeat, json_str(file),
          json_str(n.inputs.at(1)), json_str(hw::dtype_attr(n, "weightDataType").name()));
      conn += fmt::format(",\n    .{0}_TDATA({1}_tdata), .{0}_TVALID({1}_tvalid), .{0}_TREADY({1}_tready)", s.name, p);
    }
    for (size_t j = 0; j < ins.size(); ++j) {
      Wire& w = wire_of(ins[j]);
      const Stream& s = data_ins[j];
      if (w.width >= 0 && w.width != s.width)
        stitch_fail(n.name, fmt::format("tensor {} is a {}-bit stream, but {} reads {}-bit beats", ins[j], w.width,
                                        n.name, s.width),
                    "run InsertDWC (step_set_fifo_depths does) before stitching");
      if (w.consumer >= 0)
        stitch_fail(ins[j], fmt::format("tensor {} is read by two layers", ins[j]),
                    "a stream has one reader; InferDuplicateStreamsLayer inserts DuplicateStreams");
      w.width = s.width;
      w.consumer = idx;
      if (!s.order_shape.empty()) {
        w.order_shape = s.order_shape;
        w.order_perm = s.order_perm;
      }
      conn += fmt::format(",\n    .{0}_TDATA({1}_tdata), .{0}_TVALID({1}_tvalid), .{0}_TREADY({1}_tready)", s.name,
                          sig(ins[j]));
    }
    for (size_t k = 0; k < info.outs.size(); ++k) {
      Wire& w = wire_of(n.outputs[k]);
      const Stream& s = info.outs[k];
      if (w.width >= 0 && w.width != s.width)
        stitch_fail(n.name, fmt::format("{} writes {}-bit beats to tensor {}, whose reader takes {}-bit beats", n.name,
                                        s.width, n.outputs[k], w.width),
                    "run InsertDWC (step_set_fifo_depths does) before stitching");
      w.width = s.width;
      w.producer = idx;
      if (!s.order_shape.empty()) {
        w.order_shape = s.order_shape;
        w.order_perm = s.order_perm;
      }
      conn += fmt::format(",\n    .{0}_TDATA({1}_tdata), .{0}_TVALID({1}_tvalid), .{0}_TREADY({1}_tready)", s.name,
                          sig(n.outputs[k]));
    }
    inst += fmt::format("  {} {}_inst (\n{}\n  );\n", info.top, info.top, conn);
  }

  // Top-level ports: the graph's runtime inputs and outputs, in graph order.
  std::string ports = "  input  wire ap_clk,\n  input  wire ap_rst_n";
  std::string ins_json, outs_json;
  auto port_json = [&](const std::string& p, const Wire& w) {
    return fmt::format(
        "{{\"name\": {0}, \"width\": {1}, \"tdata_width\": {2}, \"tdata\": \"{3}_tdata\", \"tvalid\": \"{3}_tvalid\", "
        "\"tready\": \"{3}_tready\", \"order_shape\": [{4}], \"order_perm\": [{5}]}}",
        json_str(p), w.width, tdata_width(w.width), p, fmt::join(w.order_shape, ", "), fmt::join(w.order_perm, ", "));
  };
  int ni = 0, no = 0;
  for (const ValueInfo* vi : g.runtime_inputs()) {
    auto it = wires.find(vi->name);
    if (it == wires.end() || it->second.consumer < 0)
      stitch_fail(vi->name, fmt::format("graph input {} feeds no HW layer", vi->name), "remove the unused input");
    const std::string p = fmt::format("s_axis_{}", ni++);
    ports += fmt::format(",\n  input  wire [{}:0] {}_tdata,\n  input  wire {}_tvalid,\n  output wire {}_tready",
                         tdata_width(it->second.width) - 1, p, p, p);
    ins_json += (ins_json.empty() ? "" : ", ") + port_json(p, it->second);
    it->second.producer = -2;
  }
  ports += wports;  // the weight streams, numbered after the graph inputs
  ins_json += wjson;
  for (const ValueInfo& vo : g.outputs) {
    auto it = wires.find(vo.name);
    if (it == wires.end() || it->second.producer < 0)
      stitch_fail(vo.name, fmt::format("graph output {} is not written by an HW layer", vo.name),
                  "stitch the dataflow child only");
    if (it->second.consumer >= 0)
      stitch_fail(vo.name, fmt::format("graph output {} is also read by a layer", vo.name), "insert DuplicateStreams");
    const std::string p = fmt::format("m_axis_{}", no++);
    ports += fmt::format(",\n  output wire [{}:0] {}_tdata,\n  output wire {}_tvalid,\n  input  wire {}_tready",
                         tdata_width(it->second.width) - 1, p, p, p);
    outs_json += (outs_json.empty() ? "" : ", ") + port_json(p, it->second);
    it->second.consumer = -2;
  }
  std::string decls;
  for (auto& [t, w] : wires) {
    if (w.producer == -1)
      stitch_fail(t, fmt::format("tensor {} has no producer in the design", t), "check the dataflow child's inputs");
    if (w.consumer == -1)
      stitch_fail(t, fmt::format("tensor {} is written but never read", t), "make it a graph output or remove it");
    if (!rename.count(t))
      decls += fmt::format("  wire [{}:0] {}_tdata;\n  wire {}_tvalid, {}_tready;\n", tdata_width(w.width) - 1, w.name,
                           w.name, w.name);
  }
  const std::string v = fmt::format(
      "// Generated by streamfold: the stitched accelerator, {} layer(s).\n"
      "module {} (\n{}{}\n);\n{}{}endmodule\n",
      g.nodes.size(), opts.top, ports, mon_ports, decls, inst);
  std::ofstream(fs::path(dir) / (opts.top + ".v")) << v;
  std::string list = opts.top + ".v\n";
  srcs_json = json_str(opts.top + ".v");
  for (const auto& f : files) {
    list += f + "\n";
    srcs_json += ", " + json_str(f);
  }
  std::ofstream(fs::path(dir) / "all_verilog_srcs.txt") << list;
  for (const auto& f : mem_files) mems_json += (mems_json.empty() ? "" : ", ") + json_str(f);
  std::ofstream(fs::path(dir) / "sf_design.json")
      << fmt::format("{{\n  \"node\": {0}, \"op_type\": \"stitched\", \"top\": {0},\n  \"sources\": [{1}],\n"
                     "  \"mem_files\": [{2}],\n  \"inputs\": [{3}],\n  \"outputs\": [{4}],\n  \"monitors\": [{5}]\n}}\n",
                     json_str(opts.top), srcs_json, mems_json, ins_json, outs_json, mon_json);
}

}  // namespace sf::rtl
