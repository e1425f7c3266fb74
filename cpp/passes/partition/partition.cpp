#include "passes/partition/partition.h"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <set>

#include "exec/executor.h"
#include "ir/onnx_io.h"
#include "ops/op.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

bool is_hw_layer(const Node& n) {
  return domain_family(n.domain) == OpDomain::FPGADATAFLOW && n.op_type != kSdpOpType;
}

bool is_view_op(const Node& n) {
  return domain_family(n.domain) == OpDomain::ONNX && (n.op_type == "Reshape" || n.op_type == "Flatten");
}

// A Reshape/Flatten fed by an HW layer and read only by HW layers.
bool stream_transparent(const Graph& g, const Node& n) {
  if (!is_view_op(n) || is_graph_output(g, n.outputs[0])) return false;
  const int p = g.find_producer(n.inputs[0]);
  if (p < 0 || !is_hw_layer(g.nodes[p])) return false;
  const auto cons = g.find_consumers(n.outputs[0]);
  if (cons.empty()) return false;
  for (int c : cons)
    if (!is_hw_layer(g.nodes[c])) return false;
  return true;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if ((unsigned char)ch < 0x20) {
      o += fmt::format("\\u{:04x}", (int)(unsigned char)ch);
      continue;
    }
    o += ch;
  }
  return o;
}

struct UnionFind {
  std::vector<int> p;
  explicit UnionFind(size_t n) : p(n) { std::iota(p.begin(), p.end(), 0); }
  int find(int x) { return p[x] == x ? x : p[x] = find(p[x]); }
  void unite(int a, int b) { p[find(a)] = find(b); }
};

Model build_child(const Model& m, const std::vector<int>& members, int id) {
  const Graph& g = m.graph;
  std::set<int> in_set(members.begin(), members.end());
  Model child = m;
  child.graph = Graph();
  Graph& cg = child.graph;
  cg.name = fmt::format("dataflow_partition_{}", id);
  std::set<std::string> seen_in, tensors;
  auto copy_vi = [&](std::vector<ValueInfo>& dst, const std::string& t) {
    const ValueInfo* vi = g.find_value_info(t);
    if (!vi)
      throw ModelError(fmt::format("tensor '{}' crossing into dataflow partition {} has no shape/type information", t, id),
                       "run InferShapes before CreateDataflowPartition");
    dst.push_back(*vi);
  };
  for (int idx : members) {
    const Node& n = g.nodes[idx];
    cg.nodes.push_back(n);
    for (const auto& t : n.inputs) {
      if (t.empty()) continue;
      tensors.insert(t);
      if (const Tensor* init = g.get_initializer(t)) {
        if (!cg.get_initializer(t)) cg.set_initializer(t, *init);
        continue;
      }
      const int p = g.find_producer(t);
      if ((p < 0 || !in_set.count(p)) && seen_in.insert(t).second) copy_vi(cg.inputs, t);
    }
    for (const auto& t : n.outputs) {
      if (t.empty()) continue;
      tensors.insert(t);
      bool external = is_graph_output(g, t);
      for (int c : g.find_consumers(t)) external = external || !in_set.count(c);
      if (external) copy_vi(cg.outputs, t);
      else if (const ValueInfo* vi = g.find_value_info(t)) cg.value_info.push_back(*vi);
    }
  }
  for (const auto& [t, kv] : g.quant_annotation)
    if (tensors.count(t)) cg.quant_annotation.push_back({t, kv});
  return child;
}

std::string host_reason(const Node& n, const std::string& where) {
  std::string why = fmt::format("no HW implementation for {}", n.op_type);
  const auto refusals = refusals_for(n.name);
  if (!refusals.empty()) why = fmt::format("not converted ({}: {})", refusals.back().pass, refusals.back().reason);
  return fmt::format("{}: {}; runs on the host {}", n.name, why, where);
}

}  // namespace

void partition_dataflow(const Model& m, PartitionResult& r) {
  const Graph& g = m.graph;
  const std::vector<int> order = topological_order(g);
  const size_t N = g.nodes.size();
  std::vector<bool> member(N, false);
  for (size_t i = 0; i < N; ++i) member[i] = is_hw_layer(g.nodes[i]) || stream_transparent(g, g.nodes[i]);
  // depth = host nodes on the longest path from the inputs. HW layers joined
  // only at equal depth: a path region -> host -> region would raise it.
  std::vector<int> depth(N, 0);
  for (int i : order)
    for (const auto& t : g.nodes[i].inputs) {
      const int p = t.empty() ? -1 : g.find_producer(t);
      if (p >= 0) depth[i] = std::max(depth[i], depth[p] + (member[p] ? 0 : 1));
    }
  UnionFind uf(N);
  for (int i : order) {
    if (!member[i]) continue;
    for (const auto& t : g.nodes[i].inputs) {
      const int p = t.empty() ? -1 : g.find_producer(t);
      if (p >= 0 && member[p] && depth[p] == depth[i]) uf.unite(i, p);
    }
  }
  std::vector<std::vector<int>> regions;
  std::vector<int> region_of_root(N, -1);
  for (int i : order) {
    if (!member[i]) continue;
    const int root = uf.find(i);
    if (region_of_root[root] < 0) {
      region_of_root[root] = (int)regions.size();
      regions.emplace_back();
    }
    regions[region_of_root[root]].push_back(i);
  }

  r.children.clear();
  r.cpu_nodes.clear();
  r.parent = m;
  Graph& pg = r.parent.graph;
  pg.nodes.clear();
  std::vector<bool> placed(regions.size(), false);
  for (int i : order) {
    if (!member[i]) {
      pg.nodes.push_back(g.nodes[i]);
      continue;
    }
    const int rid = region_of_root[uf.find(i)];
    if (placed[rid]) continue;
    placed[rid] = true;
    Model child = build_child(m, regions[rid], rid);
    std::vector<std::string> ins, outs;
    for (const auto& vi : child.graph.inputs) ins.push_back(vi.name);
    for (const auto& vi : child.graph.outputs) outs.push_back(vi.name);
    Node sdp = make_node(kSdpOpType, ins, outs, fmt::format("{}_{}", kSdpOpType, rid), "finn.custom_op.fpgadataflow");
    sdp.set_string("model", save_model_bytes(child));
    sdp.set_int("partition_id", rid);
    sdp.set_int("slr", -1);
    sdp.set_string("mem_port", "");
    sdp.set_int("device_id", 0);
    pg.nodes.push_back(sdp);
    r.children.push_back(std::move(child));
  }
  remove_unused_tensors(pg);
  // A host node feeding a later member of a region may sit after the region's
  // first node in `order`; the SDP must come after it.
  sort_graph(pg);

  // Where each host node runs relative to the accelerator(s).
  const size_t P = pg.nodes.size();
  std::vector<bool> feeds(P, false), fed(P, false);  // reaches an SDP / is reached from one
  for (size_t i = 0; i < P; ++i) fed[i] = pg.nodes[i].op_type == kSdpOpType;
  for (size_t i = 0; i < P; ++i)
    for (const auto& t : pg.nodes[i].inputs) {
      const int p = t.empty() ? -1 : pg.find_producer(t);
      if (p >= 0 && fed[p]) fed[i] = true;
    }
  for (size_t k = P; k-- > 0;) {
    for (const auto& t : pg.nodes[k].outputs)
      for (int c : pg.find_consumers(t))
        if (pg.nodes[c].op_type == kSdpOpType || feeds[c]) feeds[k] = true;
  }
  std::string json = "[";
  for (size_t i = 0; i < P; ++i) {
    const Node& n = pg.nodes[i];
    if (n.op_type == kSdpOpType) continue;
    const bool before = feeds[i] && !fed[i], after = fed[i] && !feeds[i];
    const std::string where = regions.empty() ? "(the model has no HW layers)"
                              : before        ? "before the accelerator"
                              : after         ? "after the accelerator"
                              : feeds[i]      ? "between dataflow partitions"
                                              : "beside the accelerator";
    CpuNode c{n.name, n.op_type, host_reason(n, where)};
    json += fmt::format("{}{{\"node\": \"{}\", \"op_type\": \"{}\", \"reason\": \"{}\"}}", r.cpu_nodes.empty() ? "" : ", ",
                        json_escape(c.node), json_escape(c.op_type), json_escape(c.reason));
    r.cpu_nodes.push_back(std::move(c));
  }
  json += "]";
  auto& md = r.parent.metadata_props;
  md.erase(std::remove_if(md.begin(), md.end(), [](const auto& kv) { return kv.first == kCpuNodesKey; }), md.end());
  md.push_back({kCpuNodesKey, json});
}

namespace {

bool create_dataflow_partition(Model& m) {
  bool any = false;
  for (const Node& n : m.graph.nodes) any = any || is_hw_layer(n);
  if (!any) return false;
  PartitionResult r;
  partition_dataflow(m, r);
  m = std::move(r.parent);
  return true;
}

}  // namespace

SF_REGISTER_PASS_ONCE("CreateDataflowPartition", "partition",
                      "move contiguous HW regions into StreamingDataflowPartition child models",
                      create_dataflow_partition);

}  // namespace sf
