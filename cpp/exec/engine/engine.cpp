#include "exec/engine/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "ops/op.h"

namespace sf::engine {

namespace {

void build_thresholds(Step& s, const Node& mt, const Tensor& t) {
  const std::vector<double> v = t.to_double();
  s.rows = t.shape()[0];
  const int64_t steps = t.shape()[1];
  s.rbeg.assign(1, 0);
  for (int64_t r = 0; r < s.rows; ++r) {
    std::vector<double> row;
    for (int64_t b = 0; b < steps; ++b)
      if (!std::isnan(v[r * steps + b])) row.push_back(v[r * steps + b]);
    std::sort(row.begin(), row.end());  // a count of t <= x does not depend on order
    for (double x : row) {
      s.fthr.push_back(x);
      const double c = std::ceil(x);
      s.ithr.push_back(c >= 9.2e18 ? std::numeric_limits<int64_t>::max()
                                   : c <= -9.2e18 ? std::numeric_limits<int64_t>::min() : (int64_t)c);
    }
    s.rbeg.push_back((int64_t)s.fthr.size());
  }
  s.one_thr = steps >= 1;
  for (int64_t r = 0; r < s.rows; ++r) {
    const int64_t n = s.rbeg[(size_t)r + 1] - s.rbeg[(size_t)r];
    s.one_thr &= n <= 1;
    s.ithr1.push_back(n ? s.ithr[(size_t)s.rbeg[(size_t)r]] : std::numeric_limits<int64_t>::max());
    s.fthr1.push_back(n ? s.fthr[(size_t)s.rbeg[(size_t)r]] : std::numeric_limits<double>::quiet_NaN());
  }
  // The reference computes (float)(out_scale * (float)count + out_bias) in
  // float32 with no fused multiply-add; volatile keeps it that way here.
  const float sc = mt.get_float("out_scale", 1.0f), bi = mt.get_float("out_bias", 0.0f);
  s.lut.resize((size_t)steps + 1);
  for (int64_t c = 0; c <= steps; ++c) {
    volatile float scaled = sc * (float)c;
    s.lut[(size_t)c] = (float)(scaled + bi);
  }
  s.mt_layout = mt.get_string("data_layout", "");
}

bool all_integer(const Tensor& w) {
  for (double x : w.to_double())
    if (!(std::isfinite(x) && x == std::floor(x))) return false;
  return true;
}

double max_abs(const DataType& dt) { return std::max(std::fabs(dt.min()), std::fabs(dt.max())); }

}  // namespace

Engine::~Engine() = default;

Engine::Engine(const Model& model, const EngineOptions& opts) : model_(model) {
  std::string isa = opts.isa;
  if (isa.empty() || isa == "auto") {
    const char* env = std::getenv("SF_ENGINE_ISA");
    isa = env ? env : "auto";
  }
  isa_ = parse_isa(isa);
  threads_ = opts.threads > 0 ? opts.threads : std::max(1u, std::thread::hardware_concurrency());

  const Graph& g = model_.graph;
  auto rt = g.runtime_inputs();
  if (!rt.empty() && rt[0]->has_shape && !rt[0]->dims.empty() && rt[0]->dims[0].value > 0)
    model_batch_ = rt[0]->dims[0].value;

  auto& slot = slot_;
  auto slot_of = [&](const std::string& n) {
    auto it = slot.find(n);
    if (it != slot.end()) return it->second;
    const int id = (int)slot.size();
    slot[n] = id;
    return id;
  };
  for (const auto& [name, t] : g.initializers) slot_of(name);
  for (const auto& vi : g.inputs) slot_of(vi.name);

  const auto& reg = OpRegistry::instance();
  std::vector<bool> fused(g.nodes.size(), false);
  for (int ni : topological_order(g)) {
    if (fused[ni]) continue;
    const Node& n = g.nodes[ni];
    auto s = std::make_unique<Step>();
    s->node = ni;
    s->def = &reg.get(n);  // unsupported ops fail here, before any run
    s->label = n.name;
    for (const auto& in : n.inputs) {
      s->in.push_back(in.empty() ? -1 : slot_of(in));
      s->in_const.push_back(!in.empty() && g.get_initializer(in) != nullptr);
    }
    const bool qonnx = domain_family(n.domain) == OpDomain::QONNX;
    const bool is_mm = (n.op_type == "MatMul" && domain_family(n.domain) == OpDomain::ONNX) ||
                       (n.op_type == "XnorPopcountMatMul" && qonnx);
    const Tensor* w = is_mm && n.inputs.size() == 2 ? g.get_initializer(n.inputs[1]) : nullptr;
    bool expected_fallback = true;
    if (is_mm) {
      expected_fallback = false;
      const DataType adt = g.get_datatype(n.inputs[0]), wdt = g.get_datatype(n.inputs[1]);
      if (w && w->rank() == 2 && all_integer(*w)) {
        const int64_t K = w->shape()[0], N = w->shape()[1];
        const std::vector<double> wv = w->to_double();
        s->K = K;
        s->N = N;
        s->a_dt = adt;
        using DK = DataType::Kind;
        const bool xnor = n.op_type == "XnorPopcountMatMul";
        if (xnor || (adt.kind() == DK::BIPOLAR && wdt.kind() == DK::BIPOLAR) ||
            (adt.kind() == DK::BINARY && wdt.kind() == DK::BINARY)) {
          s->kind = Kind::BIN;
          s->mode = xnor ? BinMode::XNOR : adt.kind() == DK::BIPOLAR ? BinMode::BIPOLAR : BinMode::AND;
          if (xnor) s->a_dt = DataType::binary();
          s->pb = pack_weight_bits(K, N, [&](int64_t k, int64_t j) { return wv[(size_t)(k * N + j)] > 0; });
          s->label += fmt::format(": {}-popcount K={} N={}", xnor ? "xnor" : s->mode == BinMode::AND ? "and" : "xor",
                                  K, N);
        } else if (adt.is_integer() && wdt.is_integer()) {
          const double bound = (double)K * max_abs(adt) * max_abs(wdt);
          if (adt.bitwidth() <= 8 && wdt.bitwidth() <= 8 && bound < 2147483647.0) {
            s->kind = Kind::I16;
            s->pi = pack_weight_i16(K, N, [&](int64_t k, int64_t j) { return (int16_t)wv[(size_t)(k * N + j)]; });
            s->label += fmt::format(": int16 madd K={} N={} ({} x {})", K, N, adt.name(), wdt.name());
          } else if (bound < 4.0e18) {
            s->kind = Kind::WIDE;
            s->ww.assign(wv.begin(), wv.end());  // exact: the weights are integers
            s->label += fmt::format(": int64 K={} N={} ({} x {})", K, N, adt.name(), wdt.name());
          }
        }
        // Weights outside the annotated type would make the fast path wrong.
        if (s->kind != Kind::FALLBACK && !xnor)
          for (double x : wv)
            if (!wdt.allowed(x)) {
              s->kind = Kind::FALLBACK;
              break;
            }
      }
      // Fuse a MultiThreshold that is the sole reader of the accumulator.
      const std::string& acc = n.outputs[0];
      auto cons = g.find_consumers(acc);
      bool is_out = false;
      for (const auto& o : g.outputs) is_out |= o.name == acc;
      if (s->kind != Kind::FALLBACK && cons.size() == 1 && !is_out) {
        const Node& mt = g.nodes[cons[0]];
        const Tensor* thr = mt.inputs.size() == 2 ? g.get_initializer(mt.inputs[1]) : nullptr;
        if (mt.op_type == "MultiThreshold" && domain_family(mt.domain) == OpDomain::QONNX && mt.inputs[0] == acc &&
            thr && thr->rank() == 2 && (thr->shape()[0] == 1 || thr->shape()[0] == s->N) && mt.outputs.size() == 1) {
          s->mt_node = cons[0];
          s->mt_def = &reg.get(mt);
          build_thresholds(*s, mt, *thr);
          s->mt_acc_slot = slot_of(acc);
          fused[cons[0]] = true;
          s->label += " + " + mt.name;
        }
      }
      const std::string& final_out = s->mt_node >= 0 ? g.nodes[s->mt_node].outputs[0] : acc;
      s->out.push_back(slot_of(final_out));
      if (s->kind == Kind::BIN) {
        // Rows per image from the annotated input shape (OH*OW for a conv).
        const ValueInfo* vi = g.find_value_info(n.inputs[0]);
        const double rows = vi && vi->shape_known() && s->K ? (double)shape_numel(vi->shape()) / (double)s->K : 1.0;
        bin_words_ += rows * (double)s->pb.words * (double)s->N / (double)model_batch_;
      }
    } else if (n.op_type == "MultiThreshold" && qonnx && n.inputs.size() == 2 && g.get_initializer(n.inputs[1]) &&
               g.get_initializer(n.inputs[1])->rank() == 2) {
      expected_fallback = false;
      s->kind = Kind::THRESH;
      build_thresholds(*s, n, *g.get_initializer(n.inputs[1]));
      s->label += ": thresholds (binary search)";
      for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
    } else {
      for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
    }
    if (s->kind == Kind::FALLBACK) {
      if (!expected_fallback || (n.op_type == "MultiThreshold" && qonnx)) {
        fallbacks_.push_back(n.name);
        if (opts.warn)
          std::fprintf(stderr, "streamfold engine: %s runs on the reference implementation (not specialized)\n",
                       n.label().c_str());
      }
      if (is_mm) {  // give the slots back their plain meaning
        s->out.clear();
        for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
      }
      s->label = n.name + ": reference " + n.op_type;
    }
    steps_.push_back(std::move(s));
  }
  for (const auto& o : g.outputs)
    if (!slot.count(o.name))
      throw ModelError(fmt::format("graph output '{}' is produced by no node", o.name), "check the model", o.name);
}

std::vector<std::string> Engine::plan() const {
  std::vector<std::string> r;
  for (const auto& s : steps_) r.push_back(s->label);
  return r;
}

}  // namespace sf::engine
