#include "passes/pass.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>

#include "ir/errors.h"

#include <mutex>

namespace sf {

namespace {
std::mutex g_refusal_mu;
std::vector<Refusal>& refusal_log() {
  static std::vector<Refusal> log;
  return log;
}
}  // namespace

void note_refusal(const std::string& node, const std::string& pass, const std::string& reason) {
  std::lock_guard<std::mutex> lk(g_refusal_mu);
  auto& log = refusal_log();
  for (const auto& r : log)
    if (r.node == node && r.pass == pass && r.reason == reason) return;
  if (log.size() < 10000) log.push_back({node, pass, reason});
}

std::vector<Refusal> refusals_for(const std::string& node) {
  std::lock_guard<std::mutex> lk(g_refusal_mu);
  std::vector<Refusal> r;
  for (const auto& x : refusal_log())
    if (x.node == node) r.push_back(x);
  return r;
}

void clear_refusals() {
  std::lock_guard<std::mutex> lk(g_refusal_mu);
  refusal_log().clear();
}

PassRegistry& PassRegistry::instance() {
  static PassRegistry r;
  return r;
}

void PassRegistry::add(PassDef def) {
  for (auto& d : defs_)
    if (d.name == def.name) {
      d = std::move(def);
      return;
    }
  defs_.push_back(std::move(def));
}

const PassDef* PassRegistry::find(const std::string& name) const {
  for (const auto& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (std::tolower(a[i - 1]) != std::tolower(b[j - 1]))});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

const PassDef& PassRegistry::get(const std::string& name) const {
  if (const PassDef* d = find(name)) return *d;
  std::vector<std::pair<size_t, std::string>> close;
  for (const auto& d : defs_) close.emplace_back(edit_distance(name, d.name), d.name);
  std::sort(close.begin(), close.end());
  std::string hint = "see streamfold.transformation.list_passes()";
  if (!close.empty() && close[0].first <= std::max<size_t>(3, name.size() / 3))
    hint = fmt::format("did you mean '{}'?", close[0].second);
  throw ConfigError(fmt::format("there is no pass named '{}'", name), hint, name);
}

std::vector<const PassDef*> PassRegistry::all() const {
  std::vector<const PassDef*> r;
  for (const auto& d : defs_) r.push_back(&d);
  return r;
}

bool apply_pass(Model& m, const PassDef& def, int max_iters) {
  bool any = false;
  for (int it = 0; it < max_iters; ++it) {
    bool changed = def.fn(m);
    any |= changed;
    if (!changed || !def.fixpoint) return any;
  }
  throw ModelError(fmt::format("pass {} did not reach a fixpoint after {} applications", def.name, max_iters),
                   "this is a streamfold bug: please report it with the model");
}

bool apply_pass(Model& m, const std::string& name) { return apply_pass(m, PassRegistry::instance().get(name)); }

std::string VerifyFailure::message() const {
  if (flat_index < 0)
    return fmt::format("pass {} changed the model's function: tensor '{}' changed shape or disappeared", pass, tensor);
  return fmt::format("pass {} changed the model's function: tensor '{}' differs first at index {}: {} before, {} after",
                     pass, tensor, index, before, after);
}

namespace {

std::string unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t k = s.size(); k-- > 0;) {
    idx[k] = s[k] ? flat % s[k] : 0;
    flat = s[k] ? flat / s[k] : 0;
  }
  return shape_str(idx);
}

// Integer-valued tensors must match exactly; others within tolerance scaled
// by the tensor's magnitude (rescaling passes move rounding around).
bool tensors_equal(const Tensor& a, const Tensor& b, double rtol, double atol, int64_t& bad) {
  bad = -1;
  if (a.shape() != b.shape()) return false;
  auto va = a.to_double(), vb = b.to_double();
  bool integral = true;
  double mag = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    integral &= va[i] == std::round(va[i]) && vb[i] == std::round(vb[i]);
    mag = std::max(mag, std::fabs(va[i]));
  }
  for (size_t i = 0; i < va.size(); ++i) {
    bool same = (std::isnan(va[i]) && std::isnan(vb[i])) || va[i] == vb[i];
    if (!same && !integral) same = std::fabs(va[i] - vb[i]) <= atol + rtol * std::max(mag, 1.0);
    if (!same) {
      bad = (int64_t)i;
      return false;
    }
  }
  return true;
}

}  // namespace

bool compare_outputs(const TensorMap& a, const TensorMap& b, const std::vector<std::string>& order, double rtol,
                     double atol, VerifyFailure& f) {
  for (const auto& name : order) {
    auto ia = a.find(name), ib = b.find(name);
    if (ia == a.end() || ib == b.end()) continue;
    int64_t bad;
    if (!tensors_equal(ia->second, ib->second, rtol, atol, bad)) {
      f.tensor = name;
      f.flat_index = bad;
      if (bad >= 0) {
        f.index = unravel(bad, ia->second.shape());
        f.before = ia->second.to_double()[bad];
        f.after = ib->second.to_double()[bad];
      }
      return false;
    }
  }
  return true;
}

namespace {

// Feeds the same values by position to a model whose graph inputs may have
// been renamed (GiveReadableTensorNames).
TensorMap remap_inputs(const TensorMap& in, const Model& from, const Model& to) {
  const auto a = from.graph.runtime_inputs();
  const auto b = to.graph.runtime_inputs();
  TensorMap r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    auto it = in.find(a[i]->name);
    if (it != in.end()) r[b[i]->name] = it->second;
  }
  return r;
}

bool is_quantizer(const Node& n) {
  return n.op_type == "MultiThreshold" || n.op_type == "Quant" || n.op_type == "BipolarQuant";
}

// See VerifyOptions::allow_boundary_flips. Returns the number of flipped
// elements, or -1 if the difference is not such a flip.
int64_t boundary_flips(const Model& after, const TensorMap& ca, const TensorMap& cb, const std::string& tensor) {
  const Graph& g = after.graph;
  int p = g.find_producer(tensor);
  if (p < 0 || !is_quantizer(g.nodes[p])) return -1;
  const std::string& qin = g.nodes[p].inputs.at(0);
  auto ib = ca.find(qin);
  if (ib == ca.end()) ib = cb.find(qin);
  if (ib == cb.end()) return -1;
  bool integral_input = true;
  for (double v : ib->second.to_double()) integral_input &= v == std::round(v);
  if (integral_input) return -1;
  auto a = ca.at(tensor).to_double(), b = cb.at(tensor).to_double();
  std::vector<double> levels = a;
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  double step = 0;
  for (size_t i = 1; i < levels.size(); ++i) {
    double d = levels[i] - levels[i - 1];
    if (d > 0 && (step == 0 || d < step)) step = d;
  }
  if (step == 0) step = 1;
  int64_t flips = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (std::fabs(std::fabs(a[i] - b[i]) - step) > 1e-6 * std::max(1.0, step)) return -1;
    ++flips;
  }
  return flips <= std::max<int64_t>(2, (int64_t)a.size() / 1000) ? flips : -1;
}

// Graph outputs are compared by position (a pass may rename them), and the
// report then names the earliest intermediate that differs. `inputs` are
// keyed by the names of `before`'s graph inputs.
bool verify_step(const Model& before, const Model& after, const std::vector<TensorMap>& inputs, double rtol,
                 double atol, bool allow_flips, int64_t& flips, VerifyFailure& f) {
  for (const auto& in : inputs) {
    TensorMap ca = execute_model(before, in, ExecOptions{true});
    TensorMap cb = execute_model(after, remap_inputs(in, before, after), ExecOptions{true});
    TensorMap oa, ob;
    std::vector<std::string> pos;
    if (before.graph.outputs.size() != after.graph.outputs.size()) {
      f.tensor = "<graph outputs>";
      return false;
    }
    for (size_t i = 0; i < after.graph.outputs.size(); ++i) {
      std::string key = after.graph.outputs[i].name;
      oa[key] = ca.at(before.graph.outputs[i].name);
      ob[key] = cb.at(after.graph.outputs[i].name);
      pos.push_back(key);
    }
    if (compare_outputs(oa, ob, pos, rtol, atol, f)) continue;
    VerifyFailure out_fail = f;
    // earliest common intermediate (in the new graph's order) that differs
    std::vector<std::string> order;
    for (int i : topological_order(after.graph))
      for (const auto& o : after.graph.nodes[i].outputs) order.push_back(o);
    if (!compare_outputs(ca, cb, order, rtol, atol, f)) {
      int64_t n = allow_flips ? boundary_flips(after, ca, cb, f.tensor) : -1;
      if (n < 0) return false;
      flips += n;
      continue;
    }
    f = out_fail;
    return false;
  }
  return true;
}

}  // namespace

PipelineReport run_pipeline(Model& m, const std::vector<std::string>& passes, const VerifyOptions& verify) {
  PipelineReport rep;
  const auto& reg = PassRegistry::instance();
  std::vector<const PassDef*> defs;
  for (const auto& p : passes) defs.push_back(&reg.get(p));  // unknown names fail before any work
  std::vector<TensorMap> inputs = verify.inputs;  // re-keyed as graph inputs get renamed
  for (const PassDef* def : defs) {
    Model before;
    if (verify.enabled) before = m;
    auto t0 = std::chrono::steady_clock::now();
    bool changed = apply_pass(m, *def);
    auto t1 = std::chrono::steady_clock::now();
    rep.passes.push_back({def->name, std::chrono::duration<double>(t1 - t0).count(), changed});
    if (verify.enabled && changed) {
      VerifyFailure f;
      if (!verify_step(before, m, inputs, verify.rtol, verify.atol, verify.allow_boundary_flips,
                       rep.passes.back().boundary_flips, f)) {
        f.pass = def->name;
        rep.ok = false;
        rep.failure = f;
        return rep;
      }
    }
    // even a pass reporting "no change" may have renamed graph inputs
    if (verify.enabled)
      for (auto& in : inputs) in = remap_inputs(in, before, m);
  }
  return rep;
}

}  // namespace sf
