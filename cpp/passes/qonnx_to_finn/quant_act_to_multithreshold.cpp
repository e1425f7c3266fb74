// ConvertQuantActToMultiThreshold: an activation quantizer (Quant/IntQuant/
// BipolarQuant on a non-constant input, bit width <= max_bits) becomes
//   MultiThreshold(out_dtype = its integer type) -> [Add(bias)] -> [Mul(scale)]
// as FINN does (DESIGN.md §5): a preceding Relu whose only reader is the
// quantizer is absorbed (MultiThreshold reads the Relu's input); per-channel
// scales give (C, B) thresholds; bipolar quantizers give one threshold with
// out_scale 2 and out_bias -1. Add and Mul are left out where they would be
// identities.
//
// As in FINN, a signed quantizer's MultiThreshold counts from 0 while its
// out_dtype names the quantizer's type (INTb), and the Add supplies the
// negative offset; AbsorbSignBiasIntoMultiThreshold later folds that Add into
// out_bias, after which the annotation holds. The Add's output is annotated
// with the range it really has.
//
// Thresholds are exact rather than FINN's closed form: FINN's float64
// s/2 + s*k rounded to float32 agrees with the quantizer everywhere except
// within an ulp of a step, where the quantizer's float32 x/scale and its
// half-to-even rounding decide. Here each threshold is the smallest float32
// input at which the quantizer itself (same float32 arithmetic, same clamp
// and rounding mode) reaches the next level, found by bisection over the
// float32 line. So MultiThreshold's count reproduces the quantizer's level
// for every float32 input, and the outputs (level - zeropt) * scale are the
// same float32 products: bit-exact. The thresholds differ from FINN's by at
// most one ulp, and only at such boundaries.
#include <algorithm>
#include <fmt/format.h>
#include <limits>

#include "ops/op.h"
#include "ops/quant/quant_common.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/qonnx_to_finn.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

constexpr const char* kPass = "ConvertQuantActToMultiThreshold";

// One channel of a quantizer, evaluated exactly as the reference kernel does
// with float32 data and parameters.
struct Level {
  bool sign_only = false;  // BipolarQuant, or Quant with 1 signed bit
  bool divide = true;      // false for BipolarQuant (no x/scale)
  bool relu = false;
  float s = 1, z = 0, lo = 0, hi = 0;
  qnt::RoundingMode mode = qnt::RoundingMode::ROUND;

  double operator()(float x) const {
    if (relu) x = x > 0 ? x : 0.f;
    float y = x;
    if (divide) {
      y = x / s;
      y = y + z;
    }
    if (sign_only) return y >= 0.f ? 1.0 : -1.0;
    if (y > hi) y = hi;
    if (y < lo) y = lo;
    return qnt::apply_rounding(mode, y);
  }
};

struct Plan {
  std::vector<float> thresholds;  // rows x steps
  int64_t rows = 1, steps = 0;
  std::vector<float> bias;        // per row: first level - zeropt (bipolar: -zeropt)
  bool bipolar = false;
  bool relu = false;
  DataType out_dtype;
};

// Parameter value of row c. A parameter varies along one axis at most (the
// rows' axis), so its flat order is the row order.
float param_at(const Tensor& p, int64_t c) {
  const std::vector<float> v = p.to_float();
  return v.size() == 1 ? v[0] : v[(size_t)c];
}

std::optional<Plan> plan_channels(const std::vector<Level>& rows_in, bool relu, std::string& why) {
  Plan p;
  p.relu = relu;
  p.rows = (int64_t)rows_in.size();
  p.bipolar = rows_in[0].sign_only;
  for (size_t c = 0; c < rows_in.size(); ++c) {
    Level f = rows_in[c];
    f.relu = relu;
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> t;
    float bias;
    if (p.bipolar) {
      auto up = [&](float x) { return f(x) > 0 ? 1.0 : 0.0; };
      if (up(-inf) != 0 || up(inf) != 1) {
        why = "its output never changes sign";
        return std::nullopt;
      }
      t = exact_thresholds(up, 0, 1);
      bias = -f.z;
    } else {
      const double first = f(-inf), last = f(inf);
      if (!(last > first)) {
        why = fmt::format("its output has a single level ({})", first);
        return std::nullopt;
      }
      t = exact_thresholds(f, first, last);
      bias = (float)(first - f.z);
    }
    if (c == 0) p.steps = (int64_t)t.size();
    if ((int64_t)t.size() != p.steps) {
      why = fmt::format("channel {} has {} levels but channel 0 has {}", c, t.size() + 1, p.steps + 1);
      return std::nullopt;
    }
    p.thresholds.insert(p.thresholds.end(), t.begin(), t.end());
    p.bias.push_back(bias);
  }
  return p;
}

// MultiThreshold's channel axis for a rank-r input without data_layout.
size_t default_channel_axis(size_t r) { return r == 3 ? 2 : 1; }

std::string layout_with_channel_at(size_t r, size_t axis) {
  std::string s(r, 'X');
  s[0] = 'N';
  const char* rest = "HWDUVT";
  for (size_t k = 1, j = 0; k < r; ++k)
    if (k != axis) s[k] = rest[j++ % 6];
  s[axis] = 'C';
  return s;
}

bool convert_one(Model& m, int qi, const QuantActOptions& opt) {
  Graph& g = m.graph;
  const Node q = g.nodes[qi];
  const std::string name = q.name.empty() ? q.op_type : q.name;
  const bool bipolar_op = q.op_type == "BipolarQuant";
  const size_t n_params = bipolar_op ? 2 : 4;
  if (q.inputs.size() < n_params) return false;
  std::vector<const Tensor*> prm(n_params, nullptr);
  for (size_t i = 1; i < n_params; ++i) {
    prm[i] = g.get_initializer(q.inputs[i]);
    if (!prm[i]) {
      note_refusal(q.name, kPass, fmt::format("input {} ('{}') is not a constant", i, q.inputs[i]));
      return false;
    }
  }
  // Copies (sharing buffers): adding initializers below may move the originals.
  const Tensor scale = *prm[1];
  const std::optional<Tensor> zp_copy = bipolar_op ? std::nullopt : std::optional<Tensor>(*prm[2]);
  const Tensor* zp = zp_copy ? &*zp_copy : nullptr;
  const ElemType bw_type = bipolar_op ? ElemType::FLOAT : prm[3]->type();
  const int64_t bw = bipolar_op ? 1 : qnt::bitwidth_value(q, *prm[3], "bitwidth (input 3)");
  if (bw > opt.max_bits) {
    note_refusal(q.name, kPass,
                 fmt::format("bit width {} is above {} ({} thresholds per channel)", bw, opt.max_bits,
                             (1ull << std::min<int64_t>(bw, 63)) - 1));
    return false;
  }
  const std::string x = q.inputs[0];
  auto xs = tensor_shape(g, x);
  auto xt = q2f::tensor_elem_type(g, x);
  if (!xs || !xt) {
    note_refusal(q.name, kPass, fmt::format("the shape of '{}' is unknown; run InferShapes first", x));
    return false;
  }
  if (*xt != ElemType::FLOAT || scale.type() != ElemType::FLOAT || (zp && zp->type() != ElemType::FLOAT)) {
    note_refusal(q.name, kPass, "only float32 data, scale and zero point convert exactly");
    return false;
  }
  const size_t r = xs->size();
  if (r < 2) {
    note_refusal(q.name, kPass, fmt::format("its input {} has rank {}; MultiThreshold needs rank >= 2",
                                            shape_str(*xs), r));
    return false;
  }
  // Per-channel parameters must vary along one axis only: MultiThreshold's.
  std::vector<size_t> axes;
  for (size_t i = 1; i < n_params; ++i) {
    if (i == 3) continue;
    for (size_t a : q2f::varying_axes(prm[i]->shape(), r))
      if (std::find(axes.begin(), axes.end(), a) == axes.end()) axes.push_back(a);
  }
  if (axes.size() > 1) {
    note_refusal(q.name, kPass, "its scale or zero point varies along more than one axis");
    return false;
  }
  for (float v : scale.to_float())
    if (!(v > 0) || !std::isfinite(v)) {
      note_refusal(q.name, kPass, fmt::format("scale {} is not finite and positive", v));
      return false;
    }
  const size_t axis = axes.empty() ? default_channel_axis(r) : axes[0];
  const int64_t rows = axes.empty() ? 1 : (*xs)[axis];

  std::vector<Level> levels((size_t)rows);
  const bool is_signed = bipolar_op ? true : qnt::bool_attr(q, "signed", true);
  const bool narrow = bipolar_op ? false : qnt::bool_attr(q, "narrow", false);
  for (int64_t c = 0; c < rows; ++c) {
    Level& f = levels[(size_t)c];
    f.divide = !bipolar_op;
    f.sign_only = bipolar_op || (bw == 1 && is_signed);
    f.s = param_at(scale, c);
    f.z = zp ? param_at(*zp, c) : 0.f;
    if (!bipolar_op) {
      f.mode = qnt::rounding_mode_attr(q, "ROUND");
      f.lo = (float)qnt::bound_as_stored(qnt::min_int(is_signed, narrow, bw), bw_type);
      f.hi = (float)qnt::bound_as_stored(qnt::max_int(is_signed, narrow, bw), bw_type);
      if (f.z != std::nearbyint(f.z) || std::fabs(f.z) > 1e6) {
        note_refusal(q.name, kPass, fmt::format("zero point {} is not a (small) integer", f.z));
        return false;
      }
    }
  }

  const int relu_idx = g.find_producer(x);
  const bool can_fuse = relu_idx >= 0 && g.nodes[relu_idx].op_type == "Relu" &&
                        domain_family(g.nodes[relu_idx].domain) == OpDomain::ONNX &&
                        single_consumer(g, x) == qi;
  std::string why;
  std::optional<Plan> plan;
  if (can_fuse) plan = plan_channels(levels, true, why);
  if (!plan) plan = plan_channels(levels, false, why);
  if (!plan) {
    note_refusal(q.name, kPass, why);
    return false;
  }
  plan->out_dtype = bipolar_op ? DataType::bipolar() : qnt::int_datatype(is_signed, bw, true);

  const bool need_add = std::any_of(plan->bias.begin(), plan->bias.end(), [](float b) { return b != 0.f; });
  const bool need_mul = !qnt::all_equal(&scale, 1.0);
  const std::string out = q.outputs.at(0);
  const std::string mt_in = plan->relu ? g.nodes[relu_idx].inputs.at(0) : x;

  auto fresh = [&](const std::string& suffix) {
    const std::string t = unique_tensor_name(g, out + suffix);
    set_tensor_shape(g, t, ElemType::FLOAT, *xs);
    return t;
  };
  const std::string mt_out = (need_add || need_mul) ? fresh("_mt") : out;
  const std::string add_out = need_add ? (need_mul ? fresh("_biased") : out) : mt_out;

  std::vector<Node> nodes;
  Node mt = make_node("MultiThreshold", {mt_in, ""}, {mt_out}, unique_node_name(g, name + "_mt"), q2f::kQonnxDomain);
  mt.set_string("out_dtype", plan->out_dtype.name());
  if (plan->bipolar) {
    mt.set_float("out_scale", 2.0f);
    mt.set_float("out_bias", -1.0f);
  }
  if (rows > 1 && axis != default_channel_axis(r)) mt.set_string("data_layout", layout_with_channel_at(r, axis));
  const std::string thr = unique_tensor_name(g, name + "_thresholds");
  g.set_initializer(thr, Tensor::from_vector<float>({plan->rows, plan->steps}, plan->thresholds));
  mt.inputs[1] = thr;
  nodes.push_back(mt);
  g.set_datatype(mt_out, plan->out_dtype);

  Shape per_row(r, 1);
  per_row[axis] = rows;
  if (need_add) {
    const bool uniform = std::all_of(plan->bias.begin(), plan->bias.end(), [&](float b) { return b == plan->bias[0]; });
    const std::string bn = unique_tensor_name(g, name + "_bias");
    g.set_initializer(bn, uniform ? Tensor::scalar<float>(plan->bias[0])
                                  : Tensor::from_vector<float>(per_row, plan->bias));
    nodes.push_back(make_node("Add", {mt_out, bn}, {add_out}, unique_node_name(g, name + "_bias")));
    if (!need_mul) {
      double lo = plan->bias[0], hi = plan->bias[0];
      for (float b : plan->bias) lo = std::min<double>(lo, b), hi = std::max<double>(hi, b);
      const double span = plan->bipolar ? 0 : (double)plan->steps;
      // a bipolar plan yields exactly {-1, +1} when the bias is uniform 0
      g.set_datatype(add_out, plan->bipolar ? (lo == 0 && hi == 0 ? DataType::bipolar()
                                                                  : DataType::smallest_for_range(lo - 1, hi + 1))
                                            : DataType::smallest_for_range(lo, hi + span));
    }
  }
  if (need_mul) {
    const std::string sn = unique_tensor_name(g, name + "_scale");
    g.set_initializer(sn, scale.numel() == 1 ? Tensor::scalar<float>(scale.to_float()[0]) : scale);
    nodes.push_back(make_node("Mul", {add_out, sn}, {out}, unique_node_name(g, name + "_scale")));
  }

  g.nodes.erase(g.nodes.begin() + qi);
  g.nodes.insert(g.nodes.begin() + qi, nodes.begin(), nodes.end());
  if (plan->relu) g.nodes.erase(g.nodes.begin() + (relu_idx < qi ? relu_idx : relu_idx + (int)nodes.size() - 1));
  remove_unused_tensors(g);
  return true;
}

}  // namespace

bool convert_quant_act_to_multithreshold(Model& m, const QuantActOptions& opt) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!q2f::is_quantizer(n) || q2f::all_inputs_constant(g, n)) continue;
    if (g.get_initializer(n.inputs.at(0))) continue;
    if (convert_one(m, i, opt)) return true;
  }
  return false;
}

namespace {
bool convert_default(Model& m) { return convert_quant_act_to_multithreshold(m, QuantActOptions{}); }
}  // namespace

SF_REGISTER_PASS("ConvertQuantActToMultiThreshold", "qonnx_to_finn",
                 "activation Quant/BipolarQuant (<= 8 bits) -> MultiThreshold [-> Add bias] [-> Mul scale]",
                 convert_default);

}  // namespace sf
