#include "exec/executor.h"

#include <fmt/format.h>
#include <set>
#include <unordered_map>

#include "ops/op.h"

namespace sf {

std::vector<int> topological_order(const Graph& g) {
  const size_t n = g.nodes.size();
  std::unordered_map<std::string, int> producer;
  for (size_t i = 0; i < n; ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = (int)i;
  std::set<std::string> available;
  for (const auto& vi : g.inputs) available.insert(vi.name);
  for (const auto& [name, t] : g.initializers) available.insert(name);

  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> deps;
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        throw ModelError(fmt::format("node {} reads tensor '{}', which nothing produces", g.nodes[i].label(), in),
                         "add the missing initializer or graph input", g.nodes[i].name);
      deps.insert(it->second);
    }
    pending[i] = (int)deps.size();
    for (int d : deps) users[d].push_back((int)i);
  }
  // Kahn's algorithm, always taking the lowest-index ready node, so a sorted
  // graph keeps its order.
  std::set<int> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert((int)i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (order.size() != n) {
    std::string stuck;
    for (size_t i = 0; i < n && stuck.size() < 200; ++i)
      if (pending[i] > 0) stuck += (stuck.empty() ? "" : ", ") + g.nodes[i].name;
    throw ModelError(fmt::format("the graph has a cycle through nodes {}", stuck),
                     "ONNX graphs must be acyclic; re-export the model");
  }
  return order;
}

int64_t check_model_inputs(const Graph& g, const TensorMap& inputs, bool any_batch) {
  auto rt = g.runtime_inputs();
  std::string expected;
  for (const auto* vi : rt) expected += (expected.empty() ? "'" : ", '") + vi->name + "'";
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const auto* vi : rt) known |= vi->name == name;
    if (!known)
      throw InputError(fmt::format("'{}' is not an input of the model", name),
                       fmt::format("the model's inputs are {}", expected));
  }
  int64_t batch = -1;
  for (const auto* vi : rt) {
    auto it = inputs.find(vi->name);
    if (it == inputs.end())
      throw InputError(fmt::format("input '{}' was not given", vi->name),
                       fmt::format("pass a value for every model input: {}", expected));
    const Tensor& t = it->second;
    if (vi->elem_type != ElemType::UNDEFINED && t.type() != vi->elem_type)
      throw InputError(fmt::format("input '{}' is {}, but the model expects {}", vi->name, elem_type_name(t.type()),
                                   elem_type_name(vi->elem_type)),
                       fmt::format("convert it first, e.g. x.astype(np.{})", elem_type_name(vi->elem_type)));
    if (!vi->has_shape) continue;
    bool ok = t.rank() == (int64_t)vi->dims.size() && (!any_batch || t.rank() >= 1);
    for (size_t k = 0; ok && k < vi->dims.size(); ++k)
      ok = vi->dims[k].value < 0 || vi->dims[k].value == t.shape()[k] ||
           (any_batch && k == 0 && vi->dims[0].value == 1);
    if (ok && any_batch && batch >= 0 && t.shape()[0] != batch) ok = false;
    if (!ok) {
      std::string want = "(";
      for (size_t k = 0; k < vi->dims.size(); ++k)
        want += (k ? ", " : "") + (vi->dims[k].value >= 0 ? std::to_string(vi->dims[k].value)
                                                           : (vi->dims[k].param.empty() ? "?" : vi->dims[k].param));
      want += ")";
      throw InputError(fmt::format("input '{}' has shape {}, but the model expects {}", vi->name,
                                   shape_str(t.shape()), want),
                       any_batch ? "only axis 0 (the batch) may differ from the model's shape, and only when the "
                                   "model's batch is 1"
                                 : "reshape the input, or change the model's batch size");
    }
    if (t.rank() >= 1) batch = t.shape()[0];
  }
  return batch;
}

void run_node(const OpDef& def, ExecCtx& ec) {
  const Node& node = ec.node;
  const size_t nin = node.inputs.size();
  if (nin < def.min_inputs || nin > def.max_inputs)
    op_fail(node, fmt::format("has {} inputs, but {} takes {} to {}", nin, node.op_type, def.min_inputs,
                              def.max_inputs),
            "fix the node's inputs");
  try {
    if (def.validate) def.validate(node);
    def.execute(ec);
  } catch (const UnsupportedOpError&) {
    throw;
  } catch (const ModelError& e) {
    if (!e.where().empty()) throw;
    throw ModelError(fmt::format("{}: {}", node.label(), e.what()), e.hint(), node.name);
  } catch (const StreamfoldError& e) {
    throw ModelError(fmt::format("{}: {}", node.label(), e.what()), e.hint(), node.name);
  } catch (const std::bad_alloc&) {
    throw StreamfoldError(fmt::format("{}: out of memory", node.label()), "use a smaller batch");
  } catch (const std::exception& e) {
    throw ModelError(fmt::format("{}: {}", node.label(), e.what()), "", node.name);
  }
}

TensorMap execute_model(const Model& model, const TensorMap& inputs, const ExecOptions& opts) {
  const Graph& g = model.graph;
  check_model_inputs(g, inputs, false);
  const std::vector<int> order = topological_order(g);
  const auto& reg = OpRegistry::instance();
  // Resolve every op before running anything: an unsupported op fails fast.
  std::vector<const OpDef*> defs(g.nodes.size());
  for (int i : order) defs[i] = &reg.get(g.nodes[i]);
  int64_t opset = model.opset_version("");
  if (opset <= 0) opset = 1000;

  std::unordered_map<std::string, Tensor> ctx;
  for (const auto& [name, t] : g.initializers) ctx[name] = t;
  for (const auto& [name, t] : inputs) ctx[name] = t;

  // Free intermediates after their last reader unless the caller wants them.
  std::unordered_map<std::string, size_t> last_use;
  if (!opts.full_context)
    for (size_t step = 0; step < order.size(); ++step)
      for (const auto& in : g.nodes[order[step]].inputs) last_use[in] = step;
  std::set<std::string> keep;
  for (const auto& o : g.outputs) keep.insert(o.name);

  for (size_t step = 0; step < order.size(); ++step) {
    const Node& node = g.nodes[order[step]];
    const OpDef& def = *defs[order[step]];
    ExecCtx ec{node, opset, {}, {}};
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ec.in.push_back(nullptr);
        continue;
      }
      auto it = ctx.find(in);
      if (it == ctx.end())
        op_fail(node, fmt::format("input '{}' has no value", in), "add the missing initializer");
      ec.in.push_back(&it->second);
    }
    run_node(def, ec);
    if (ec.out.size() < node.outputs.size()) {
      // Ops may leave trailing optional outputs unset only if nobody names them.
      for (size_t k = ec.out.size(); k < node.outputs.size(); ++k)
        if (!node.outputs[k].empty())
          op_fail(node, fmt::format("output {} ('{}') is not produced by streamfold's {}", k, node.outputs[k],
                                    node.op_type),
                  "remove the unused optional output from the node");
    }
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty()) ctx[node.outputs[k]] = std::move(ec.out[k]);
    if (!opts.full_context)
      for (const auto& in : node.inputs) {
        auto lu = last_use.find(in);
        if (lu != last_use.end() && lu->second == step && !keep.count(in) && !g.get_initializer(in) &&
            !inputs.count(in))
          ctx.erase(in);
      }
  }

  TensorMap result;
  if (opts.full_context) {
    for (auto& [k, v] : ctx) result[k] = v;
  } else {
    for (const auto& o : g.outputs) {
      auto it = ctx.find(o.name);
      if (it == ctx.end())
        throw ModelError(fmt::format("graph output '{}' was not computed", o.name), "check the model", o.name);
      result[o.name] = it->second;
    }
  }
  return result;
}

}  // namespace sf
