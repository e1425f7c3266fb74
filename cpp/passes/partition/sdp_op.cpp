// StreamingDataflowPartition: the parent's call into one dataflow child
// model, serialized in the "model" attribute or (FINN's form) named there by
// its file path (see partition.h). Executing it
// runs the child with the reference executor, so a partitioned parent still
// runs end to end and the verification ladder covers the partition step.
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "exec/executor.h"
#include "ir/onnx_io.h"
#include "ops/op.h"
#include "passes/partition/partition.h"

namespace sf {
namespace {

// The "model" attribute comes in two forms (see partition.h): streamfold's
// serialized child, or FINN's path to the child's .onnx file. A path is short
// printable text naming a file; serialized ONNX always starts with a protobuf
// field tag (a control byte or a high bit) and is never a valid file name.
bool is_file_path_form(const std::string& s) {
  if (s.empty() || s.size() > 4096) return false;
  for (unsigned char ch : s)
    if (ch < 0x20 || ch >= 0x7f) return false;
  return true;
}

// Parsed children, keyed by the attribute (the bytes, or the path with the
// file's size and time): a parent runs the same child for every input, and
// parsing a CNN's weights each time would dominate.
std::shared_ptr<const Model> child_of(const Node& n) {
  const Attribute* a = n.attr("model");
  if (!a || a->type != AttrType::STRING || a->s.empty())
    op_fail(n, "attribute 'model' (the child ONNX model, serialized or as a file path) is missing",
            "create partitions with CreateDataflowPartition");
  std::string key = a->s;
  const bool path = is_file_path_form(a->s);
  if (path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(a->s, ec);
    if (ec)
      op_fail(n, fmt::format("attribute 'model' names the child model file '{}', which cannot be read", a->s),
              "FINN's partitions store the child's path: keep the child file where the parent expects it "
              "(relative paths are relative to the parent's folder when it is loaded from a file)");
    const auto t = std::filesystem::last_write_time(a->s, ec);
    key = fmt::format("path:{}:{}:{}", a->s, size, (long long)t.time_since_epoch().count());
  }
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const Model>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() > 64) cache.clear();
  auto m = std::make_shared<const Model>(path ? load_model_file(a->s) : load_model_bytes(a->s));
  cache.emplace(key, m);
  return m;
}

void check_ports(const Node& n, const Model& c) {
  if (c.graph.inputs.size() != n.inputs.size() || c.graph.outputs.size() != n.outputs.size())
    op_fail(n,
            fmt::format("has {} inputs / {} outputs but its child model has {} / {}", n.inputs.size(), n.outputs.size(),
                        c.graph.inputs.size(), c.graph.outputs.size()),
            "the node's inputs and outputs must list the child's graph inputs and outputs in order");
}

OpDef make_sdp_def() {
  OpDef d;
  d.op_type = kSdpOpType;
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = 0;
  d.max_inputs = 1024;
  d.validate = [](const Node& n) { check_ports(n, *child_of(n)); };
  d.infer_shape = [](InferCtx& c) {
    auto child = child_of(c.node);
    check_ports(c.node, *child);
    for (size_t i = 0; i < child->graph.outputs.size(); ++i) {
      const ValueInfo& vi = child->graph.outputs[i];
      c.set_out(i, vi.elem_type, vi.shape());
    }
  };
  d.infer_datatype = [](const DataTypeCtx& c) {
    auto child = child_of(c.node);
    std::vector<DataType> out;
    for (const auto& vi : child->graph.outputs) out.push_back(child->graph.get_datatype(vi.name));
    return out;
  };
  d.execute = [](ExecCtx& c) {
    auto child = child_of(c.node);
    check_ports(c.node, *child);
    TensorMap in;
    for (size_t i = 0; i < child->graph.inputs.size(); ++i) in[child->graph.inputs[i].name] = c.input(i);
    TensorMap out = execute_model(*child, in);
    c.out.clear();
    for (const auto& vi : child->graph.outputs) c.out.push_back(out.at(vi.name));
  };
  // The partition as one block: its slowest layer sets the pace of the
  // pipeline, and its resources add up. Folding proper works on the child.
  d.estimate = [](const Node& n, const Model& m) {
    auto child = child_of(n);
    HwEstimate e;
    for (const Node& k : child->graph.nodes) {
      const OpDef* def = OpRegistry::instance().find(k.op_type, k.domain);
      if (!def || !def->estimate) continue;  // stream views (Reshape) cost nothing
      const HwEstimate ke = def->estimate(k, *child);
      e.cycles = std::max(e.cycles, ke.cycles);
      e.lut += ke.lut;
      e.ff += ke.ff;
      e.bram18 += ke.bram18;
      e.uram += ke.uram;
      e.dsp += ke.dsp;
    }
    return e;
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(make_sdp_def());

}  // namespace sf
