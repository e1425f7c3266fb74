#include "exec/infer.h"

#include <fmt/format.h>
#include <map>
#include <unordered_map>

#include "exec/executor.h"
#include "ops/op.h"

namespace sf {

namespace {
// Constant values small enough to evaluate during inference. They let shape
// subgraphs (Shape -> Gather -> Concat -> Reshape) resolve without a separate
// constant-folding pass.
constexpr int64_t kFoldLimit = 1 << 16;

int64_t opset_of(const Model& m) {
  int64_t v = m.opset_version("");
  return v > 0 ? v : 1000;
}
}  // namespace

void infer_shapes(Model& m) {
  Graph& g = m.graph;
  const auto order = topological_order(g);
  const auto& reg = OpRegistry::instance();
  std::unordered_map<std::string, TensorInfo> info;
  std::unordered_map<std::string, Tensor> folded;  // owns evaluated constants
  for (const auto& vi : g.inputs) {
    TensorInfo ti;
    ti.elem_type = vi.elem_type;
    if (vi.shape_known()) ti.shape = vi.shape();
    info[vi.name] = ti;
  }
  for (const auto& [name, t] : g.initializers) {
    TensorInfo ti;
    ti.elem_type = t.type();
    ti.shape = t.shape();
    ti.value = &t;
    info[name] = ti;
  }
  const int64_t opset = opset_of(m);
  for (int idx : order) {
    const Node& node = g.nodes[idx];
    const OpDef& def = reg.get(node);
    if (node.inputs.size() < def.min_inputs || node.inputs.size() > def.max_inputs)
      op_fail(node, fmt::format("has {} inputs, but {} takes {} to {}", node.inputs.size(), node.op_type,
                                def.min_inputs, def.max_inputs),
              "fix the node's inputs");
    if (def.validate) def.validate(node);
    InferCtx ic{node, m, {}, {}};
    for (const auto& in : node.inputs) ic.in.push_back(in.empty() ? TensorInfo{} : info[in]);
    ic.out.resize(node.outputs.size());
    try {
      def.infer_shape(ic);
    } catch (const ModelError& e) {
      if (!e.where().empty()) throw;
      throw ModelError(fmt::format("{}: {}", node.label(), e.what()), e.hint(), node.name);
    }
    // Evaluate small all-constant nodes (and Shape, whose value is its
    // input's shape) so downstream shape arithmetic is known.
    bool all_const = true;
    int64_t in_elems = 0;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node.inputs[k].empty()) continue;
      if (!ic.in[k].value) all_const = false;
      else in_elems += ic.in[k].value->numel();
    }
    bool is_shape = node.op_type == "Shape" && domain_family(node.domain) == OpDomain::ONNX && ic.in[0].shape;
    if ((all_const && in_elems <= kFoldLimit) || is_shape) {
      ExecCtx ec{node, opset, {}, {}};
      Tensor shape_only;
      if (is_shape) {
        shape_only = Tensor::wrap(ic.in[0].elem_type, *ic.in[0].shape, nullptr, nullptr);
        ec.in.push_back(&shape_only);
      } else {
        for (size_t k = 0; k < node.inputs.size(); ++k) ec.in.push_back(node.inputs[k].empty() ? nullptr : ic.in[k].value);
      }
      try {
        def.execute(ec);
        for (size_t k = 0; k < node.outputs.size() && k < ec.out.size(); ++k)
          if (!node.outputs[k].empty() && ec.out[k].numel() <= kFoldLimit) {
            folded[node.outputs[k]] = ec.out[k];
            ic.out[k].value = &folded[node.outputs[k]];
          }
      } catch (const StreamfoldError&) {
        // Evaluation is only an aid; execution reports real errors later.
      }
    }
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty()) info[node.outputs[k]] = ic.out[k];
  }
  // Write back: graph outputs in place, everything else into value_info.
  auto write = [&](ValueInfo& vi) {
    auto it = info.find(vi.name);
    if (it == info.end()) return;
    if (it->second.elem_type != ElemType::UNDEFINED) vi.elem_type = it->second.elem_type;
    if (it->second.shape) vi.set_shape(*it->second.shape);
  };
  for (auto& vi : g.outputs) write(vi);
  std::map<std::string, bool> is_io;
  for (const auto& vi : g.inputs) is_io[vi.name] = true;
  for (const auto& vi : g.outputs) is_io[vi.name] = true;
  std::vector<ValueInfo> vis;
  for (const auto& node : g.nodes)
    for (const auto& o : node.outputs) {
      if (o.empty() || is_io.count(o)) continue;
      ValueInfo vi;
      if (const ValueInfo* old = g.find_value_info(o)) vi = *old;
      vi.name = o;
      write(vi);
      vis.push_back(vi);
    }
  g.value_info = std::move(vis);
}

void infer_datatypes(Model& m, bool allow_scaledint) {
  Graph& g = m.graph;
  const auto order = topological_order(g);
  const auto& reg = OpRegistry::instance();
  for (int idx : order) {
    const Node& node = g.nodes[idx];
    const OpDef& def = reg.get(node);
    DataTypeCtx dc{node, m, {}, {}, {}};
    for (const auto& in : node.inputs) {
      dc.in.push_back(in.empty() ? DataType() : g.get_datatype(in));
      dc.in_value.push_back(in.empty() ? nullptr : g.get_initializer(in));
    }
    for (const auto& o : node.outputs) dc.out_current.push_back(o.empty() ? DataType() : g.get_datatype(o));
    std::vector<DataType> out;
    if (def.infer_datatype) {
      try {
        out = def.infer_datatype(dc);
      } catch (const ModelError& e) {
        if (!e.where().empty()) throw;
        throw ModelError(fmt::format("{}: {}", node.label(), e.what()), e.hint(), node.name);
      }
    } else {
      // Like qonnx: without a rule, keep a non-float annotation already set.
      out = dc.out_current;
    }
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      DataType dt = k < out.size() ? out[k] : DataType();
      if (dt.kind() == DataType::Kind::SCALEDINT && !allow_scaledint) dt = DataType();
      g.set_datatype(node.outputs[k], dt);
    }
  }
}

}  // namespace sf
