// Compiling the plan: one Step per node (a MatMul and the MultiThreshold that
// reads it share one), with a packed storage layout decided statically for
// every integer activation the kernels can keep packed.
#include "exec/engine/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "ops/op.h"

namespace sf::engine {

namespace {

constexpr double kI32 = 2147483647.0;

bool all_integer(const std::vector<double>& v) {
  for (double x : v)
    if (!(std::isfinite(x) && x == std::floor(x))) return false;
  return true;
}

int bits_for(int64_t span) {
  int b = 1;
  while (b < 62 && (int64_t(1) << b) - 1 < span) ++b;
  return b;
}

// Sorted thresholds per row and the count -> value table out_scale * count +
// out_bias of a MultiThreshold (or of a HW layer's activation).
MtPlan plan_thresholds(const Tensor& t, float sc, float bi, int node, const OpDef* def) {
  MtPlan p;
  p.node = node;
  p.def = def;
  const std::vector<double> v = t.to_double();
  p.rows = t.shape()[0];
  const int64_t steps = t.shape()[1];
  p.rbeg.assign(1, 0);
  for (int64_t r = 0; r < p.rows; ++r) {
    std::vector<double> row;
    for (int64_t b = 0; b < steps; ++b)
      if (!std::isnan(v[(size_t)(r * steps + b)])) row.push_back(v[(size_t)(r * steps + b)]);
    std::sort(row.begin(), row.end());  // a count of t <= x does not depend on order
    p.fthr.insert(p.fthr.end(), row.begin(), row.end());
    p.rbeg.push_back((int64_t)p.fthr.size());
    p.tmax = std::max(p.tmax, (int)row.size());
  }
  // The reference computes (float)(out_scale * (float)count + out_bias) in
  // float32 with no fused multiply-add; volatile keeps it that way here.
  p.lut.resize((size_t)steps + 1);
  for (int64_t c = 0; c <= steps; ++c) {
    volatile float scaled = sc * (float)c;
    p.lut[(size_t)c] = (float)(scaled + bi);
  }
  return p;
}

MtPlan plan_thresholds(const Node& mt, const OpDef* def, int node, const Tensor& t) {
  MtPlan p = plan_thresholds(t, mt.get_float("out_scale", 1.0f), mt.get_float("out_bias", 0.0f), node, def);
  p.layout = mt.get_string("data_layout", "");
  return p;
}

// FINN's HW-layer activation (MVAU, VVAU, Thresholding): ActVal + count, or
// 2 * count - 1 for a BIPOLAR output; channels last.
MtPlan plan_hw_thresholds(const Node& n, const OpDef* def, int node, const Tensor& t, const DataType& odt) {
  const bool bip = odt.kind() == DataType::Kind::BIPOLAR;
  MtPlan p = plan_thresholds(t, bip ? 2.0f : 1.0f, bip ? -1.0f : (float)n.get_int("ActVal", 0), node, def);
  p.last_axis = true;
  return p;
}

// Packed output when every reachable count maps to a value of the output
// type (a code), channels are last, and no value is -0.0 (decoding would
// lose the sign the reference keeps).
void plan_packed_output(MtPlan& p, const DataType& out_dt, int64_t channels, int64_t rank) {
  if (rank < 2 || mt_axis(p, rank) != rank - 1) return;
  auto L = natural_layout(out_dt, channels);
  if (!L) return;
  std::vector<int32_t> code;
  for (int c = 0; c <= p.tmax; ++c) {
    const float v = p.lut[(size_t)c];
    if (!out_dt.allowed(v) || (v == 0 && std::signbit(v))) return;
    const double q = ((double)v - (double)L->lo) / (double)L->step;
    if (q != std::floor(q) || q < 0 || q >= (1 << L->bits)) return;
    code.push_back((int32_t)q);
  }
  p.packs = L;
  p.code = std::move(code);
}

// The epilogues' linear count guess for n channels, from each row's first
// and last real threshold, and its margin measured on the thresholds as the
// kernel compares them (thr[t*ld + c]).
template <class Elem>
void guess_from(const MtPlan& p, int64_t n, const Elem* thr, int64_t ld, int T, std::vector<float>& g0,
                std::vector<float>& ginv, std::vector<float>& gdev) {
  std::vector<float> first((size_t)n, 0.0f), last((size_t)n, 0.0f);
  std::vector<int> cnt((size_t)n);
  for (int64_t c = 0; c < n; ++c) {
    const int64_t r = p.rows == 1 ? 0 : c, b = p.rbeg[(size_t)r], e = p.rbeg[(size_t)r + 1];
    cnt[(size_t)c] = (int)(e - b);
    if (e > b) {
      first[(size_t)c] = (float)p.fthr[(size_t)b];
      last[(size_t)c] = (float)p.fthr[(size_t)(e - 1)];
    }
  }
  fill_guess(first.data(), last.data(), cnt.data(), n, g0, ginv);
  fill_guess_margin(thr, ld, cnt.data(), n, T, g0, ginv, gdev);
}

// Integer thresholds [T][Npad] for the GEMM epilogue: ceil(t), clamped to
// int32 (the plan proves |dot| < 2^31 - 1, so the clamps never change a
// compare), INT32_MAX padding.
void fill_int_thresholds(Epilogue& e, const MtPlan& p) {
  e.T = p.tmax;
  e.thr.assign((size_t)(e.T * e.Npad), std::numeric_limits<int32_t>::max());
  for (int64_t n = 0; n < e.N; ++n) {
    const int64_t r = p.rows == 1 ? 0 : n;
    for (int64_t k = p.rbeg[(size_t)r]; k < p.rbeg[(size_t)r + 1]; ++k) {
      const double c = std::ceil(p.fthr[(size_t)k]);
      const int32_t t = c >= kI32 ? std::numeric_limits<int32_t>::max()
                        : c <= -kI32 ? std::numeric_limits<int32_t>::min() : (int32_t)c;
      e.thr[(size_t)((k - p.rbeg[(size_t)r]) * e.Npad + n)] = t;
    }
  }
  e.lut = p.lut;
  guess_from(p, e.N, e.thr.data(), e.Npad, e.T, e.g0, e.ginv, e.gdev);
  if (p.packs) {
    e.code = p.code;
    e.identity = identity_codes(e.code);
  }
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// One threshold and a 1-bit packed output on a one-plane popcount GEMM with
// no per-row term: each output bit is a compare of the raw count with a
// per-column bound (dot = A*P + C*CW + D >= t solved for P), which the
// kernel does in registers.
void plan_bit_output(Step& s) {
  const Epilogue& e = s.epi;
  if (s.kind != Kind::GEMM || s.gk == Gk::WIDE || s.need_ra || e.B != 0 || e.T != 1 || e.A == 0 || !s.mt.packs ||
      s.mt.packs->rep != Rep::PLANES || s.mt.packs->bits != 1 || e.code.size() < 2)
    return;
  // The popcount kernel decides bits itself for one-plane operands; the
  // int8 kernels' sums go through bits_from_sums.
  if (s.gk == Gk::PLANES && (s.pw.planes != 1 || !(s.xor_mode || s.in_L.bits == 1))) return;
  const int64_t cols = s.gk == Gk::PLANES ? s.pw.blocks * kBitBlock : e.Npad;
  const int32_t c0 = e.code[0], c1 = e.code[1];
  // cond = dot >= t; the bit is cond (c1 == 1) or its negation.
  const bool ge = (e.A > 0) != (c1 == 0 && c0 == 1);
  const int64_t always = ge ? INT64_MIN : INT64_MAX, never = ge ? INT64_MAX : INT64_MIN;
  s.bit_q.assign((size_t)std::max(cols, e.Npad), never);
  for (int64_t n = 0; n < e.N; ++n) {
    const int32_t t = e.thr[(size_t)n];
    if (c0 == c1 || t == std::numeric_limits<int32_t>::max()) {  // the bit is constant: code[0]
      s.bit_q[(size_t)n] = c0 ? always : never;
      continue;
    }
    const int64_t u = (int64_t)t - (int64_t)e.C * e.CW[(size_t)n] - e.D;
    int64_t q;
    if (e.A > 0) {
      q = -floor_div(-u, e.A);  // ceil(u / A): cond <=> P >= q
      if (!ge) q -= 1;          // !cond <=> P <= q - 1
    } else {
      q = floor_div(u, e.A);    // cond <=> P <= floor(u / A)
      if (ge) q += 1;           // !cond <=> P >= q + 1
    }
    s.bit_q[(size_t)n] = q;
  }
  s.bit_out = true;
  s.bit_le = !ge;
  s.label += s.gk == Gk::PLANES ? " (bit output in the popcount kernel)" : " (bit output)";
}

// The smallest float32 that is >= t: for float x, x >= t exactly when
// x >= round_up(t) (NaN compares false either way).
float round_up_to_float(double t) {
  float f = (float)t;
  if ((double)f < t) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

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
  auto static_shape = [&](const std::string& name) -> std::optional<Shape> {
    const ValueInfo* vi = g.find_value_info(name);
    if (!vi || !vi->shape_known()) return std::nullopt;
    return vi->shape();
  };
  // The packed layout planned for each slot that will hold packed data.
  std::unordered_map<int, Layout> packed;
  auto packed_of = [&](const std::string& name) -> const Layout* {
    auto it = packed.find(slot_of(name));
    return it == packed.end() ? nullptr : &it->second;
  };

  // Packed storage for integer results in [lo, hi] over C channels: the
  // graph's annotation of `name` when it holds them all, else the smallest
  // integer type that does; nullopt (float32 results) when codes would not
  // fit 8 bits.
  auto result_layout = [&](const std::string& name, double lo, double hi, int64_t C) -> std::optional<Layout> {
    DataType dt = g.get_datatype(name);
    if (!dt.is_integer() || dt.kind() == DataType::Kind::BIPOLAR || dt.min() > lo || dt.max() < hi)
      dt = DataType::smallest_for_range(lo, hi);
    if (!dt.is_integer() || dt.kind() == DataType::Kind::BIPOLAR) return std::nullopt;
    return natural_layout(dt, C);
  };

  const auto& reg = OpRegistry::instance();
  std::vector<bool> fused(g.nodes.size(), false);
  std::unordered_map<int, size_t> im2col_step;  // packed Im2Col output slot -> its step
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
    if (!n.outputs.empty())
      if (auto sh = static_shape(n.outputs[0])) s->out_shape = *sh;
    const bool qonnx = domain_family(n.domain) == OpDomain::QONNX;
    const bool is_mm = (n.op_type == "MatMul" && domain_family(n.domain) == OpDomain::ONNX) ||
                       (n.op_type == "XnorPopcountMatMul" && qonnx);
    const bool is_mt = n.op_type == "MultiThreshold" && qonnx;
    const Tensor* w = is_mm && n.inputs.size() == 2 ? g.get_initializer(n.inputs[1]) : nullptr;
    const Layout* in_packed = n.inputs.empty() || n.inputs[0].empty() ? nullptr : packed_of(n.inputs[0]);
    const std::optional<Shape> in_shape =
        n.inputs.empty() || n.inputs[0].empty() ? std::nullopt : static_shape(n.inputs[0]);
    // Batched runs scale axis 0; shapes that do not lead with the batch
    // cannot be planned statically.
    const bool batch_lead = in_shape && !in_shape->empty() && (*in_shape)[0] == model_batch_ &&
                            !s->out_shape.empty() && s->out_shape[0] == model_batch_;

    // The dense GEMM a MatMul-like node computes: K x N integer weights.
    const std::string& op = n.op_type;
    const bool fdf = domain_family(n.domain) == OpDomain::FPGADATAFLOW;
    const bool is_hw_mm = fdf && (op == "MVAU" || op == "VVAU");
    std::vector<double> wv;
    DataType adt, wdt;
    bool xnor = false, gemm = false;
    int64_t K = 0, N = 0;
    if (is_mm && w && w->rank() == 2) {
      wv = w->to_double();
      adt = g.get_datatype(n.inputs[0]);
      wdt = g.get_datatype(n.inputs[1]);
      xnor = n.op_type == "XnorPopcountMatMul";
      K = w->shape()[0];
      N = w->shape()[1];
      gemm = true;
    } else if (is_hw_mm && n.inputs.size() >= 2 && g.get_initializer(n.inputs[1]) && in_shape && !in_shape->empty()) {
      const Tensor& wt = *g.get_initializer(n.inputs[1]);
      // The layer's declared types when the graph leaves the tensors unannotated.
      adt = g.get_datatype(n.inputs[0]);
      if (!adt.is_integer()) adt = DataType::from_name(n.get_string("inputDataType", "FLOAT32"));
      wdt = g.get_datatype(n.inputs[1]);
      if (!wdt.is_integer()) wdt = DataType::from_name(n.get_string("weightDataType", "FLOAT32"));
      const std::vector<double> raw = wt.to_double();
      if (op == "MVAU" && wt.rank() == 2 && wt.shape()[0] == n.get_int("MW", -1) && wt.shape()[1] == n.get_int("MH", -1)) {
        wv = raw;
        K = wt.shape()[0];
        N = wt.shape()[1];
        xnor = n.get_int("binaryXnorMode", 0) != 0;
        gemm = true;
      } else if (op == "VVAU") {
        // Depthwise: the taps of channel c (Im2Col order: tap-major) meet
        // column c only, as a dense (taps * C, C) matrix with zeros elsewhere.
        const auto kd = n.get_ints("Kernel", {});
        const int64_t C = n.get_int("Channels", -1), taps = kd.size() == 2 ? kd[0] * kd[1] : -1;
        if (C > 0 && taps > 0 && wt.numel() == C * taps && in_shape->back() == C * taps) {
          K = taps * C;
          N = C;
          wv.assign((size_t)(K * N), 0.0);
          for (int64_t c = 0; c < C; ++c)
            for (int64_t t = 0; t < taps; ++t) wv[(size_t)((t * C + c) * N + c)] = raw[(size_t)(c * taps + t)];
          gemm = true;
        }
      }
      if (gemm && n.get_int("noActivation", 0) == 0) {  // thresholds must be a constant table
        const Tensor* t = n.inputs.size() == 3 ? g.get_initializer(n.inputs[2]) : nullptr;
        gemm = t && t->rank() == 2 && (t->shape()[0] == 1 || t->shape()[0] == N);
      }
    }
    if (gemm) {
      // An FC head reading a whole (N, H, W, C) map as one vector (FINN's MVAU
      // after AbsorbFlattenIntoMVAU): the rows of the map merge into one.
      Layout flat_L;
      const Layout* gemm_in = in_packed;
      if (is_hw_mm && in_shape && in_shape->size() >= 2 && batch_lead && shape_numel(*in_shape) == K * model_batch_ &&
          (in_shape->back() != K || s->out_shape.size() < in_shape->size())) {
        s->flat_in = true;
        if (in_packed) {
          auto L = reshape_layout(*in_packed, in_shape->back(), K);
          s->pre_L = *in_packed;
          if (L) flat_L = *L;
          gemm_in = L ? &flat_L : nullptr;
        }
      }
      bool ok = all_integer(wv) && adt.is_integer() && K > 0 && N > 0;
      // Weights outside the annotated type would make the fast path wrong.
      for (size_t i = 0; ok && !xnor && i < wv.size(); ++i) ok = wdt.allowed(wv[i]);
      if (ok && xnor) {
        ok = adt.kind() == DataType::Kind::BINARY;
        for (size_t i = 0; ok && i < wv.size(); ++i) ok = wv[i] == 0 || wv[i] == 1;
      }
      if (ok) {
        s->kind = Kind::GEMM;
        s->K = K;
        s->N = N;
        s->a_dt = adt;
        const double wmin = *std::min_element(wv.begin(), wv.end()), wmax = *std::max_element(wv.begin(), wv.end());
        bool w_bip = true;
        for (double x : wv) w_bip &= x == -1 || x == 1;
        std::optional<Layout> L;
        if (gemm_in && gemm_in->channels() == K && gemm_in->dt == adt) L = *gemm_in;
        else L = natural_layout(adt, K);
        Epilogue& e = s->epi;
        e.N = N;
        e.Npad = (N + kStrip - 1) / kStrip * kStrip;
        e.CW.assign((size_t)e.Npad, 0);
        // Weight codes cw = (w - lw) / sw: bipolar weights need one plane.
        const int64_t sw = w_bip && !xnor ? 2 : 1, lw = xnor ? 0 : w_bip ? -1 : (int64_t)wmin;
        const int pw = bits_for(((int64_t)wmax - lw) / sw);
        const double amax = std::max(std::fabs(adt.min()), std::fabs(adt.max()));
        const double wabs = std::max(std::fabs(wmin), std::fabs(wmax));
        bool planned = false;
        if (L && L->rep == Rep::PLANES && (xnor || pw <= kMaxPlanes)) {
          s->gk = Gk::PLANES;
          s->in_L = *L;
          s->xor_mode = xnor || (adt.kind() == DataType::Kind::BIPOLAR && w_bip);
          const int64_t segw = L->seg_words * 64;
          // Weight row k sits at bit (k / seg_c) * segw + k % seg_c of the
          // packed input row; the other bits are segment padding.
          s->pw = pack_weight_planes(L->plane_words(), N, s->xor_mode ? 1 : pw, [&](int64_t kb, int64_t j) -> uint32_t {
            const int64_t seg = kb / segw, within = kb % segw;
            if (within >= L->seg_c) return 0;
            const double x = wv[(size_t)((seg * L->seg_c + within) * N + j)];
            return s->xor_mode ? (uint32_t)(x > 0) : (uint32_t)(((int64_t)x - lw) / sw);
          });
          s->pw.K = K;
          const double la = (double)L->lo, sa = (double)L->step;
          double pmax;
          if (s->xor_mode) {
            // XnorPopcountMatMul counts matches (K - mismatches); bipolar
            // products are K - 2 * mismatches.
            e.A = xnor ? -1 : -2;
            e.D = (int32_t)K;
            pmax = (double)K * (xnor ? 1 : 2) + (double)K;
          } else {
            // (sa*ca + la)(sw*cw + lw) summed over k.
            e.A = (int32_t)(sa * sw);
            e.B = (int32_t)(sa * lw);
            e.C = (int32_t)(la * sw);
            s->need_ra = e.B != 0;
            for (int64_t j = 0; j < N; ++j) {
              int64_t cw = 0;
              for (int64_t k = 0; k < K; ++k) cw += ((int64_t)wv[(size_t)(k * N + j)] - lw) / sw;
              e.CW[(size_t)j] = (int32_t)cw;
            }
            const double kd = (double)K, ca = (double)((1 << L->bits) - 1), cwm = (double)((1 << pw) - 1);
            e.D = (int32_t)std::clamp(kd * la * (double)lw, -kI32, kI32);
            pmax = std::fabs(e.A) * kd * ca * cwm + std::fabs(e.B) * kd * ca + std::fabs(e.C) * kd * cwm +
                   std::fabs(kd * la * (double)lw);
          }
          planned = pmax < kI32 && (double)K * amax * wabs < kI32;
          if (planned) {
            const int pa = s->xor_mode ? 1 : L->bits;
            s->label += fmt::format(": {} K={} N={} ({} x {}, {} x {} planes)", s->xor_mode ? "xor-popcount" : "and-popcount",
                                    K, N, adt.name(), xnor ? "BINARY" : wdt.name(), pa, s->pw.planes);
            const double rows = in_shape ? (double)shape_numel(*in_shape) / (double)K : 1.0;
            bin_words_ += rows * (double)s->pw.words * pa * s->pw.planes * (double)N / (double)model_batch_;
          }
        }
        if (!planned && !xnor) {
          // Byte codes x integer weights: dot = sa * sum(ca * w) + la * sum(w).
          auto LB = make_layout(Rep::BYTES, adt, 1, K);
          e = Epilogue{};
          e.N = N;
          e.Npad = (N + kStrip - 1) / kStrip * kStrip;
          e.CW.assign((size_t)e.Npad, 0);
          if (LB && wabs <= 32767) {
            e.A = (int32_t)LB->step;
            e.C = (int32_t)LB->lo;
            double cwmax = 0;
            for (int64_t j = 0; j < N; ++j) {
              int64_t cw = 0;
              for (int64_t k = 0; k < K; ++k) cw += (int64_t)wv[(size_t)(k * N + j)];
              e.CW[(size_t)j] = (int32_t)std::clamp<int64_t>(cw, INT32_MIN, INT32_MAX);
              cwmax = std::max(cwmax, std::fabs((double)cw));
            }
            const double pmax = (double)K * 255.0 * wabs;
            if (pmax * std::fabs(e.A) + cwmax * std::fabs(e.C) < kI32 && (double)K * amax * wabs < kI32) {
              s->in_L = *LB;
              planned = true;
              const bool vnni = (isa_ == Isa::AVX512 && vnni_available()) || (isa_ == Isa::AVX2 && avxvnni_available());
              if (wmin >= -128 && wmax <= 127 && vnni) {
                s->gk = Gk::VNNI;
                s->ps8 = pack_weight_s8(K, N, [&](int64_t k, int64_t j) { return (int8_t)wv[(size_t)(k * N + j)]; });
                s->label += fmt::format(": u8 x s8 {} K={} N={} ({} x {})", isa_ == Isa::AVX512 ? "vnni" : "avx-vnni", K,
                                        N, adt.name(), wdt.name());
              } else {
                s->gk = Gk::I16;
                s->pi16 = pack_weight_i16(K, N, [&](int64_t k, int64_t j) { return (int16_t)wv[(size_t)(k * N + j)]; });
                s->label += fmt::format(": int16 madd K={} N={} ({} x {})", K, N, adt.name(), wdt.name());
              }
            }
          }
        }
        if (!planned && !xnor && (double)K * amax * wabs < 4.0e18) {
          s->gk = Gk::WIDE;
          s->ww.assign(wv.begin(), wv.end());  // exact: the weights are integers
          s->label += fmt::format(": int64 K={} N={} ({} x {})", K, N, adt.name(), wdt.name());
          planned = true;
        }
        if (!planned) s->kind = Kind::FALLBACK;
        // A packed Im2Col read only by this GEMM is gathered tile by tile
        // inside it rather than materialized.
        auto ic = im2col_step.find(s->in[0]);
        if (planned && s->gk != Gk::WIDE && ic != im2col_step.end() && g.find_consumers(n.inputs[0]).size() == 1 &&
            steps_[ic->second]->out_L->same(s->in_L)) {
          bool is_out = false;
          for (const auto& o : g.outputs) is_out |= o.name == n.inputs[0];
          if (!is_out) {
            s->conv_step = (int)ic->second;
            steps_[ic->second]->fused = true;
            steps_[ic->second]->label += " (fused into " + n.name + ")";
            s->label += " with fused im2col";
          }
        }
      }
      if (s->kind == Kind::GEMM) {
        // HW layers carry their own thresholds; otherwise fuse a MultiThreshold that is the sole reader of the accumulator
        // and thresholds along its last axis.
        const std::string& acc = n.outputs[0];
        auto cons = g.find_consumers(acc);
        bool is_out = false;
        for (const auto& o : g.outputs) is_out |= o.name == acc;
        const int64_t rank = (int64_t)s->out_shape.size();
        if (is_hw_mm && n.get_int("noActivation", 0) == 0) {
          DataType odt = g.get_datatype(acc);
          if (!odt.is_integer()) odt = DataType::from_name(n.get_string("outputDataType", "FLOAT32"));
          s->mt = plan_hw_thresholds(n, s->def, ni, *g.get_initializer(n.inputs[2]), odt);
          s->mt.in_node = true;
          if (s->gk != Gk::WIDE) {
            plan_packed_output(s->mt, odt, N, rank);
            fill_int_thresholds(s->epi, s->mt);
          }
          s->label += " + thresholds" + (s->mt.packs ? fmt::format(" -> packed {}", s->mt.packs->dt.name()) : "");
        } else if (cons.size() == 1 && !is_out && rank >= 2) {
          const Node& mt = g.nodes[(size_t)cons[0]];
          const Tensor* thr = mt.inputs.size() == 2 ? g.get_initializer(mt.inputs[1]) : nullptr;
          if (mt.op_type == "MultiThreshold" && domain_family(mt.domain) == OpDomain::QONNX && mt.inputs[0] == acc &&
              thr && thr->rank() == 2 && (thr->shape()[0] == 1 || thr->shape()[0] == N) && mt.outputs.size() == 1 &&
              channel_axis_of(mt.get_string("data_layout", ""), rank) == rank - 1) {
            s->mt = plan_thresholds(mt, &reg.get(mt), cons[0], *thr);
            if (s->gk != Gk::WIDE) {
              plan_packed_output(s->mt, g.get_datatype(mt.outputs[0]), N, rank);
              fill_int_thresholds(s->epi, s->mt);
            }
            s->mt_acc_slot = slot_of(acc);
            fused[(size_t)cons[0]] = true;
            s->label += " + " + mt.name + (s->mt.packs ? fmt::format(" -> packed {}", s->mt.packs->dt.name()) : "");
          }
        }
        plan_bit_output(*s);
        const std::string& final_out = s->mt.node >= 0 && !s->mt.in_node ? g.nodes[(size_t)s->mt.node].outputs[0] : acc;
        s->out.push_back(slot_of(final_out));
        if (s->mt.packs) packed[s->out[0]] = *s->mt.packs;
        if (auto sh = static_shape(final_out)) s->out_shape = *sh;
      }
    } else if ((is_mt || (fdf && op == "Thresholding")) && n.inputs.size() == 2 && g.get_initializer(n.inputs[1]) &&
               g.get_initializer(n.inputs[1])->rank() == 2) {
      s->kind = Kind::THRESH;
      if (is_mt) {
        s->mt = plan_thresholds(n, s->def, ni, *g.get_initializer(n.inputs[1]));
      } else {
        DataType odt = g.get_datatype(n.outputs[0]);
        if (!odt.is_integer()) odt = DataType::from_name(n.get_string("outputDataType", "FLOAT32"));
        s->mt = plan_hw_thresholds(n, s->def, ni, *g.get_initializer(n.inputs[1]), odt);
      }
      for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
      const int64_t rank = (int64_t)s->out_shape.size();
      const int64_t C = rank ? s->out_shape.back() : 0;
      if (rank >= 2 && (s->mt.rows == 1 || s->mt.rows == C) && batch_lead)
        plan_packed_output(s->mt, g.get_datatype(n.outputs[0]), C, rank);
      if (s->mt.packs) {
        FloatThresholds& f = s->fthr;
        f.C = C;
        f.Cpad = (C + kStrip - 1) / kStrip * kStrip;
        f.T = s->mt.tmax;
        f.thr.assign((size_t)(f.T * f.Cpad), std::numeric_limits<float>::quiet_NaN());
        for (int64_t c = 0; c < C; ++c) {
          const int64_t r = s->mt.rows == 1 ? 0 : c;
          for (int64_t k = s->mt.rbeg[(size_t)r]; k < s->mt.rbeg[(size_t)r + 1]; ++k)
            f.thr[(size_t)((k - s->mt.rbeg[(size_t)r]) * f.Cpad + c)] = round_up_to_float(s->mt.fthr[(size_t)k]);
        }
        f.code = s->mt.code;
        guess_from(s->mt, C, f.thr.data(), f.Cpad, f.T, f.g0, f.ginv, f.gdev);
        packed[s->out[0]] = *s->mt.packs;
        s->label += fmt::format(": thresholds -> packed {}", s->mt.packs->dt.name());
        // An NCHW -> NHWC Transpose read only by these thresholds: the step
        // reads the NCHW map itself (a tile transpose in cache) instead.
        const int tp = g.find_producer(n.inputs[0]);
        bool t_out = false;
        for (const auto& o : g.outputs) t_out |= o.name == n.inputs[0];
        if (tp >= 0 && !t_out && rank == 4 && g.find_consumers(n.inputs[0]).size() == 1) {
          const Node& t = g.nodes[(size_t)tp];
          if (t.op_type == "Transpose" && domain_family(t.domain) == OpDomain::ONNX && t.inputs.size() == 1 &&
              t.get_ints("perm", {}) == std::vector<int64_t>{0, 2, 3, 1}) {
            for (size_t k = 0; k < steps_.size(); ++k)
              if (steps_[k]->node == tp && steps_[k]->kind == Kind::FALLBACK) {
                s->nchw_step = (int)k;
                steps_[k]->fused = true;
                steps_[k]->label += " (fused into " + n.name + ")";
                s->label += " reading NCHW";
              }
          }
        }
      } else {
        s->label += ": thresholds";
      }
    } else {
      for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
      if (in_packed && batch_lead && in_shape && n.outputs.size() == 1) {
        const Shape& is = *in_shape;
        const Shape& os = s->out_shape;
        if (n.op_type == "Im2Col" && qonnx && is.size() == 4 && os.size() == 4) {
          const auto st = n.get_ints("stride", {}), k = n.get_ints("kernel_size", {}),
                     d = n.get_ints("dilations", {1, 1}), p = n.get_ints("pad_amount", {0, 0, 0, 0});
          const int64_t pv = n.get_int("pad_value", 0);
          const int64_t pc = (pv - in_packed->lo) / in_packed->step;
          if (st.size() == 2 && k.size() == 2 && d.size() == 2 && p.size() == 4 && in_packed->dt.allowed((double)pv) &&
              pc >= 0 && pc < 256 && (pv - in_packed->lo) % in_packed->step == 0 && os[3] == k[0] * k[1] * is[3]) {
            s->kind = Kind::IM2COL;
            s->in_L = *in_packed;
            s->in_shape = is;
            s->im2col = {k[0], k[1], st[0], st[1], d[0], d[1], p[0], p[1], p[2], p[3], (uint8_t)pc};
            s->out_L = im2col_layout(*in_packed, k[0], k[1]);
          }
        } else if (n.op_type == "MaxPoolNHWC" && qonnx && is.size() == 4 && os.size() == 4 && os[3] == is[3] &&
                   !n.has_attr("dilations")) {
          const auto k = n.get_ints("kernel_shape", {}), st = n.get_ints("strides", {1, 1}),
                     p = n.get_ints("pads", {0, 0, 0, 0});
          bool ok = k.size() == 2 && st.size() == 2 && p.size() == 4;
          // Every window must hold a real pixel (padding never wins a max).
          for (int64_t oy = 0; ok && oy < os[1]; ++oy) ok = oy * st[0] - p[0] + k[0] > 0 && oy * st[0] - p[0] < is[1];
          for (int64_t ox = 0; ok && ox < os[2]; ++ox) ok = ox * st[1] - p[1] + k[1] > 0 && ox * st[1] - p[1] < is[2];
          if (ok) {
            s->kind = Kind::MAXPOOL;
            s->in_L = *in_packed;
            s->in_shape = is;
            s->pool = {k[0], k[1], st[0], st[1], p[0], p[1]};
            s->out_L = *in_packed;
          }
        } else if (fdf && op == "ConvolutionInputGenerator" && is.size() == 4 && os.size() == 4) {
          const auto k = n.get_ints("ConvKernelDim", {}), st = n.get_ints("Stride", {1, 1}),
                     d = n.get_ints("Dilation", {1, 1});
          if (k.size() == 2 && st.size() == 2 && d.size() == 2 && os[3] == k[0] * k[1] * is[3] &&
              os[1] == (is[1] - d[0] * (k[0] - 1) - 1) / st[0] + 1 && os[2] == (is[2] - d[1] * (k[1] - 1) - 1) / st[1] + 1) {
            s->kind = Kind::IM2COL;
            s->in_L = *in_packed;
            s->in_shape = is;
            s->im2col = {k[0], k[1], st[0], st[1], d[0], d[1], 0, 0, 0, 0, 0};
            s->out_L = im2col_layout(*in_packed, k[0], k[1]);
          }
        } else if (fdf && op == "StreamingMaxPool" && is.size() == 4 && os.size() == 4 && os[3] == is[3]) {
          // Windows of PoolDim at stride PoolDim; with CeilMode the last ones
          // are cut by the image edge (they still hold a real pixel).
          const auto k = n.get_ints("PoolDim", {});
          if (k.size() == 2 && (os[1] - 1) * k[0] < is[1] && (os[2] - 1) * k[1] < is[2]) {
            s->kind = Kind::MAXPOOL;
            s->in_L = *in_packed;
            s->in_shape = is;
            s->pool = {k[0], k[1], k[0], k[1], 0, 0};
            s->out_L = *in_packed;
          }
        } else if (fdf && op == "FMPadding" && is.size() == 4 && os.size() == 4) {
          const auto p = n.get_ints("Padding", {});
          const int64_t pv = n.get_int("PadValue", 0);
          const int64_t pc = (pv - in_packed->lo) / in_packed->step;
          if (p.size() == 4 && in_packed->dt.allowed((double)pv) && (pv - in_packed->lo) % in_packed->step == 0 &&
              pc >= 0 && pc < 256 && os == Shape{is[0], is[1] + p[0] + p[2], is[2] + p[1] + p[3], is[3]}) {
            s->kind = Kind::PAD;
            s->in_L = *in_packed;
            s->in_shape = is;
            std::copy(p.begin(), p.end(), s->pad);
            s->pad_code = (uint8_t)pc;
            s->out_L = *in_packed;
          }
        } else if (((qonnx && op == "QuantAvgPool2d" && n.get_string("data_layout", "NCHW") == "NHWC") ||
                    (fdf && (op == "Pool" || op == "GlobalAccPool"))) &&
                   is.size() == 4 && os.size() == 4) {
          // Integer pooling: exact sums of codes (see packed_ops.h).
          const double lo = in_packed->dt.min(), hi = in_packed->dt.max();
          auto bitlen = [](uint64_t v) { int b = 0; for (; v; v >>= 1) ++b; return b; };
          double kk = 0;
          bool ok = false;
          if (op == "QuantAvgPool2d") {
            const int64_t k = n.get_int("kernel", 0), st = n.get_int("stride", 0), ib = n.get_int("ibits", 0),
                          ob = n.get_int("obits", 0);
            // The reference sums in float32: exact below 2^22 (it rounds the
            // mean back to the sum).
            ok = k >= 1 && st >= 1 && ib >= 1 && ib <= 32 && ob >= 1 && ob <= 32 && os[3] == is[3] &&
                 os[1] == (is[1] - k) / st + 1 && os[2] == (is[2] - k) / st + 1 &&
                 std::max(std::fabs(lo), std::fabs(hi)) * (double)(k * k) < 4194304.0;
            if (ok) {
              kk = (double)(k * k);
              s->win = {k, k, st, st, os[1], os[2]};
              s->reduce = {Reduce::SUM, std::max(0, bitlen(((uint64_t(1) << ib) - 1) * (uint64_t)(k * k)) - (int)ob)};
            }
          } else if (op == "Pool") {
            const auto k = n.get_ints("KernelSize", {});
            const int64_t C = n.get_int("Channels", -1);
            const std::string fn = n.get_string("Function", "MaxPool");
            ok = k.size() == 2 && C > 0 && is[3] == k[0] * k[1] * C && os[3] == C && os[1] == is[1] && os[2] == is[2];
            if (ok) {
              s->taps = k[0] * k[1];
              kk = (double)s->taps;
              if (fn == "MaxPool") s->reduce = {Reduce::MAX, 0};
              else if (fn == "AccPool") s->reduce = {Reduce::SUM, 0};
              else if (fn == "AvgPool") s->reduce = {Reduce::MEAN, 0};
              else if (fn == "QuantAvgPool") {
                const DataType idt = DataType::from_name(n.get_string("InputDataType", "FLOAT32"));
                const DataType odt = n.has_attr("OutputDataType") ? DataType::from_name(n.get_string("OutputDataType")) : idt;
                const int sh = bitlen(((uint64_t(1) << idt.bitwidth()) - 1) * (uint64_t)s->taps) - odt.bitwidth();
                s->reduce = {Reduce::SUM, std::max(0, sh)};
              } else {
                ok = false;
              }
            }
          } else {  // GlobalAccPool
            ok = os == Shape{is[0], 1, 1, is[3]};
            if (ok) {
              kk = (double)(is[1] * is[2]);
              s->win = {is[1], is[2], is[1], is[2], 1, 1};
              s->reduce = {Reduce::SUM, 0};
            }
          }
          if (ok) {
            s->kind = Kind::POOL;
            s->in_L = *in_packed;
            s->in_shape = is;
            const double sc = std::ldexp(1.0, -s->reduce.shift);
            if (s->reduce.op == Reduce::MAX) s->out_L = natural_layout(in_packed->dt, os[3]);
            else if (s->reduce.op == Reduce::SUM)
              s->out_L = result_layout(n.outputs[0], std::floor(kk * lo * sc), std::floor(kk * hi * sc), os[3]);
          }
        } else if ((n.op_type == "Reshape" || n.op_type == "Flatten") && domain_family(n.domain) == OpDomain::ONNX &&
                   !is.empty() && !os.empty() && shape_numel(is) == shape_numel(os)) {
          if (auto L = reshape_layout(*in_packed, is.back(), os.back())) {
            s->kind = Kind::RESHAPE;
            s->in_L = *in_packed;
            s->in_shape = is;
            s->out_L = *L;
          }
        }
        if (s->out_L) {
          packed[s->out[0]] = *s->out_L;
          if (s->kind == Kind::IM2COL) im2col_step[s->out[0]] = steps_.size();
          s->label += fmt::format(": packed {}", n.op_type);
        } else if (s->kind == Kind::POOL) {
          s->label += fmt::format(": packed {} -> float32", n.op_type);
        }
      }
      if (s->kind == Kind::FALLBACK && fdf && n.inputs.size() == 1 &&
          (op == "DuplicateStreams" || op == "StreamingFIFO" || op == "StreamingDataWidthConverter")) {
        // Values pass through unchanged: every output shares the input's storage.
        bool same = in_shape.has_value();
        for (const auto& o : n.outputs) {
          auto sh = static_shape(o);
          same &= sh && in_shape && *sh == *in_shape;
        }
        if (same) {
          s->kind = Kind::ALIAS;
          for (int o : s->out)
            if (in_packed && o >= 0) packed[o] = *in_packed;
          s->label += ": pass-through";
        }
      } else if (s->kind == Kind::FALLBACK && ((fdf && op == "AddStreams") || (op == "Add" && domain_family(n.domain) == OpDomain::ONNX)) &&
                 n.inputs.size() == 2 && n.outputs.size() == 1 && batch_lead && !g.get_initializer(n.inputs[1])) {
        // A residual add of two packed maps of one shape.
        const Layout* b_packed = packed_of(n.inputs[1]);
        const auto b_shape = static_shape(n.inputs[1]);
        if (in_packed && b_packed && b_shape && *b_shape == *in_shape && s->out_shape == *in_shape) {
          s->kind = Kind::ADD;
          s->in_L = *in_packed;
          s->in_L2 = *b_packed;
          s->in_shape = *in_shape;
          s->out_L = result_layout(n.outputs[0], in_packed->dt.min() + b_packed->dt.min(),
                                   in_packed->dt.max() + b_packed->dt.max(), in_shape->back());
          if (s->out_L) packed[s->out[0]] = *s->out_L;
          s->label += s->out_L ? fmt::format(": packed add -> {}", s->out_L->dt.name()) : ": packed add -> float32";
        }
      } else if (s->kind == Kind::FALLBACK && ((fdf && op == "LabelSelect") || (op == "TopK" && domain_family(n.domain) == OpDomain::ONNX)) &&
                 in_shape && !in_shape->empty() && batch_lead) {
        const int64_t rank = (int64_t)in_shape->size(), dim = in_shape->back();
        int64_t k = -1;
        if (op == "LabelSelect") {
          k = n.get_int("K", -1);
          s->label_select = true;
        } else if (n.inputs.size() == 2 && g.get_initializer(n.inputs[1]) && g.get_initializer(n.inputs[1])->numel() == 1) {
          const int64_t axis = n.get_int("axis", -1);
          if (axis == -1 || axis == rank - 1) k = g.get_initializer(n.inputs[1])->to_int64()[0];
          s->largest = n.get_int("largest", 1) == 1;
          s->sorted = n.get_int("sorted", 1) == 1;
        }
        if (k >= 1 && k <= dim) {
          s->kind = Kind::TOPK;
          s->topk = k;
          s->in_shape = *in_shape;
          s->label += fmt::format(": top-{} of {}", k, dim);
        }
      }
    }
    if (s->kind == Kind::FALLBACK) {
      if (is_mm || is_mt || is_hw_mm || (fdf && op == "Thresholding")) {
        fallbacks_.push_back(n.name);
        if (opts.warn)
          std::fprintf(stderr, "streamfold engine: %s runs on the reference implementation (not specialized)\n",
                       n.label().c_str());
      }
      s->out.clear();
      for (const auto& o : n.outputs) s->out.push_back(o.empty() ? -1 : slot_of(o));
      s->label = n.name + ": reference " + n.op_type;
    }
    steps_.push_back(std::move(s));
  }
  // Batch slices (Engine::run) need the batch in front of every runtime
  // input and graph output.
  sliceable_ = !rt.empty();
  for (const auto* vi : rt) sliceable_ &= vi->has_shape && !vi->dims.empty() && vi->dims[0].value == model_batch_;
  for (const auto& o : g.outputs) {
    auto sh = static_shape(o.name);
    sliceable_ &= sh && !sh->empty() && (*sh)[0] == model_batch_;
  }
  profile_ = opts.profile;
  step_ns_ = std::vector<std::atomic<int64_t>>(steps_.size());
  for (const auto& o : g.outputs)
    if (!slot.count(o.name))
      throw ModelError(fmt::format("graph output '{}' is produced by no node", o.name), "check the model", o.name);
}

std::vector<std::pair<std::string, double>> Engine::profile() const {
  std::vector<std::pair<std::string, double>> r;
  if (!profile_) return r;
  for (size_t i = 0; i < steps_.size(); ++i) r.emplace_back(steps_[i]->label, (double)step_ns_[i].load() * 1e-9);
  return r;
}

std::vector<std::string> Engine::plan() const {
  std::vector<std::string> r;
  for (const auto& s : steps_) r.push_back(s->label);
  return r;
}

}  // namespace sf::engine
