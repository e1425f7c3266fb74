// InsertDWC and InsertFIFO (FINN's names and rules): the plumbing between
// stitched HW layers. InsertDWC puts a StreamingDataWidthConverter wherever a
// producer's beat width differs from its consumer's; InsertFIFO puts a
// StreamingFIFO of depth max(producer outFIFODepths, consumer inFIFODepths) on
// every stream where that is above 2 (each layer's output skid buffer already
// holds two beats), including the graph's inputs and outputs.
#include <fmt/format.h>

#include "ops/hw/common.h"
#include "passes/pass.h"
#include "passes/rewrite.h"
#include "passes/to_hw/to_hw_util.h"

namespace sf {
namespace {

bool is_hw_layer(const Node& n) { return domain_family(n.domain) == OpDomain::FPGADATAFLOW; }

bool streamed(const Graph& g, const std::string& t) { return !t.empty() && !g.get_initializer(t); }

int64_t depth_at(const Node& n, const char* attr, size_t i) {
  const auto v = n.get_ints(attr, {2});
  if (v.empty()) return 2;
  return i < v.size() ? v[i] : v.back();
}

DataType stream_dtype(const Graph& g, const std::string& t, const Node& user) {
  const DataType dt = g.get_datatype(t);
  if (!dt.is_integer() && dt.kind() != DataType::Kind::BIPOLAR)
    throw ModelError(fmt::format("stream {} into {} has datatype {}, not an integer type", t, user.name, dt.name()),
                     "run InferDataTypes; HW streams carry integers", t);
  return dt;
}

// The normal shape a converter or FIFO on tensor t reports: the tensor's own
// shape when `elems` (every width involved, in elements) divide its last axis,
// else the flat (1, numel) view (an FC head reading a whole map as one vector).
Shape plumbing_shape(const Graph& g, const std::string& t, std::initializer_list<int64_t> elems) {
  auto s = to_hw::known_shape(g, t);
  if (!s || s->empty()) throw ModelError(fmt::format("tensor {} has no known shape", t), "run InferShapes", t);
  bool ok = true;
  for (int64_t e : elems) ok = ok && e > 0 && s->back() % e == 0;
  if (ok) return *s;
  return Shape{(*s)[0], shape_numel(*s) / (*s)[0]};
}

bool insert_dwc(Model& m) {
  Graph& g = m.graph;
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    const Node c = g.nodes[ci];
    if (!is_hw_layer(c) || c.op_type == "StreamingDataWidthConverter") continue;
    for (size_t j = 0; j < c.inputs.size(); ++j) {
      const std::string& t = c.inputs[j];
      if (!streamed(g, t)) continue;
      const int pi = g.find_producer(t);
      if (pi < 0 || !is_hw_layer(g.nodes[pi]) || g.nodes[pi].op_type == "StreamingDataWidthConverter") continue;
      // Widths from elements per beat x this tensor's element width: a
      // layer with inputs of different types (AddStreams) streams each at its
      // own width, which stream_shapes' single in_width cannot say.
      const DataType dt = stream_dtype(g, t, c);
      const int64_t b = dt.bitwidth();
      const int64_t in_w = hw::stream_shapes(g.nodes[pi]).folded_out.back() * b;
      const int64_t out_w = hw::stream_shapes(c).folded_in.back() * b;
      if (in_w == out_w) continue;
      const Shape shape = plumbing_shape(g, t, {in_w / b, out_w / b});
      const std::string out = unique_tensor_name(g, t + "_dwc");
      Node d = to_hw::hw_node(g, "StreamingDataWidthConverter", {t}, {out});
      d.set_int("inWidth", in_w);
      d.set_int("outWidth", out_w);
      d.set_string("dataType", dt.name());
      d.set_ints("shape", shape);
      const auto ts = to_hw::known_shape(g, t);
      set_tensor_shape(g, out, ElemType::FLOAT, *ts);
      g.set_datatype(out, dt);
      g.nodes[ci].inputs[j] = out;
      g.nodes.insert(g.nodes.begin() + (long)ci, d);
      return true;
    }
  }
  return false;
}

Node make_fifo(Graph& g, const std::string& in, const std::string& out, int64_t depth, const Shape& folded,
               const DataType& dt) {
  Node f = to_hw::hw_node(g, "StreamingFIFO", {in}, {out});
  f.set_int("depth", depth);
  f.set_ints("folded_shape", folded);
  f.set_string("dataType", dt.name());
  f.set_ints("normal_shape", *to_hw::known_shape(g, in));
  f.set_string("ram_style", "auto");
  f.set_string("impl_style", "rtl");
  return f;
}

bool insert_fifo(Model& m) {
  Graph& g = m.graph;
  auto fifo_between = [&](const std::string& t, int64_t depth, const Shape& folded, const Node& user,
                          size_t at) {
    const std::string out = unique_tensor_name(g, t + "_fifo");
    Node f = make_fifo(g, t, out, depth, folded, stream_dtype(g, t, user));
    set_tensor_shape(g, out, ElemType::FLOAT, *to_hw::known_shape(g, t));
    g.set_datatype(out, g.get_datatype(t));
    return std::make_pair(f, out);
  };
  // Edges into HW layers (from a layer or from a graph input).
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    const Node c = g.nodes[ci];
    if (!is_hw_layer(c) || c.op_type == "StreamingFIFO") continue;
    size_t sj = 0;
    for (size_t j = 0; j < c.inputs.size(); ++j) {
      const std::string& t = c.inputs[j];
      if (!streamed(g, t)) continue;
      const size_t stream_idx = sj++;
      const int pi = g.find_producer(t);
      if (pi >= 0 && (!is_hw_layer(g.nodes[pi]) || g.nodes[pi].op_type == "StreamingFIFO")) continue;
      int64_t depth = depth_at(c, "inFIFODepths", stream_idx);
      Shape folded = hw::stream_shapes(c).folded_in;
      if (pi >= 0) {
        const Node& p = g.nodes[pi];
        size_t k = 0;
        while (k < p.outputs.size() && p.outputs[k] != t) ++k;
        depth = std::max(depth, depth_at(p, "outFIFODepths", k));
        folded = hw::stream_shapes(p).folded_out;
      }
      if (depth <= 2) continue;
      auto [f, out] = fifo_between(t, depth, folded, c, ci);
      g.nodes[ci].inputs[j] = out;
      g.nodes.insert(g.nodes.begin() + (long)ci, f);
      return true;
    }
  }
  // Graph outputs written by HW layers.
  for (ValueInfo& vo : g.outputs) {
    const int pi = g.find_producer(vo.name);
    if (pi < 0 || !is_hw_layer(g.nodes[pi]) || g.nodes[pi].op_type == "StreamingFIFO") continue;
    const Node p = g.nodes[pi];
    size_t k = 0;
    while (k < p.outputs.size() && p.outputs[k] != vo.name) ++k;
    const int64_t depth = depth_at(p, "outFIFODepths", k);
    if (depth <= 2) continue;
    // The layer now writes a new tensor; the FIFO writes the graph output.
    const std::string mid = unique_tensor_name(g, vo.name + "_pre_fifo");
    set_tensor_shape(g, mid, ElemType::FLOAT, *to_hw::known_shape(g, vo.name));
    g.set_datatype(mid, g.get_datatype(vo.name));
    g.nodes[pi].outputs[k] = mid;
    Node f = make_fifo(g, mid, vo.name, depth, hw::stream_shapes(p).folded_out, stream_dtype(g, mid, p));
    g.nodes.insert(g.nodes.begin() + pi + 1, f);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("InsertDWC", "fifo", "a StreamingDataWidthConverter between layers whose stream widths differ",
                 insert_dwc);
SF_REGISTER_PASS("InsertFIFO", "fifo",
                 "a StreamingFIFO on every stream whose inFIFODepths/outFIFODepths ask for more than 2 beats",
                 insert_fifo);

}  // namespace sf
