// FoldQuantWeights: a quantizer whose inputs are all constant (a quantized
// weight or bias) is replaced by a constant.
//
// * Unit scale: the quantizer's output already is the integer tensor; it
//   becomes the initializer, annotated with the quantizer's integer datatype.
// * Weight of a Conv (input 1) or MatMul (input 1): the initializer holds the
//   integers I (zero point folded in, I = y - zeropt) with their integer
//   datatype, and Mul(scale) goes after the consumer, per output channel:
//   (1,C,1,1) for Conv, (1,N) for MatMul. A Conv bias moves behind the Mul as
//   an Add. Only this step changes float rounding (the scale is applied after
//   the accumulation instead of to each weight).
// * Anything else (biases, Mul/Add operands, Gather tables, ...): there is no
//   integer tensor to keep, so the quantizer's exact output becomes a float
//   initializer.
// A weight whose scale varies along an axis that cannot move behind its
// consumer, or whose integers cannot be recovered exactly, is refused (noted)
// and left as it is.
#include <cmath>
#include <fmt/format.h>

#include "exec/broadcast.h"
#include "ops/op.h"
#include "ops/quant/quant_common.h"
#include "passes/pass.h"
#include "passes/qonnx_to_finn/quant_util.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

constexpr const char* kPass = "FoldQuantWeights";

enum class Role { Weight, Other, Refuse };

// How the single consumer reads the quantized constant.
Role role_of(const Graph& g, const std::string& t, int& consumer, size_t& slot, std::string& why) {
  const auto cons = g.find_consumers(t);
  bool any_weight = false;
  for (int c : cons) {
    const Node& n = g.nodes[c];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k] != t) continue;
      const bool onnx = domain_family(n.domain) == OpDomain::ONNX;
      if (onnx && ((n.op_type == "Conv" && k == 1) || n.op_type == "MatMul")) {
        any_weight = true;
        consumer = c;
        slot = k;
      } else if (onnx && n.op_type == "Gemm" && k < 2) {
        why = fmt::format("it is operand {} of Gemm {}", k, n.name);
        return Role::Refuse;
      }
    }
  }
  if (!any_weight) return Role::Other;
  size_t reads = 0;
  for (int c : cons)
    for (const auto& in : g.nodes[c].inputs) reads += in == t;
  if (reads != 1) {
    why = fmt::format("it is a weight read {} times; a scale can move behind one reader only", reads);
    return Role::Refuse;
  }
  return Role::Weight;
}

struct IntWeights {
  Tensor ints;  // float32, integer values, shape of the quantized constant
  DataType dt;
};

// The integers I behind a quantized constant Q, checked so that
// float32(I * scale) reproduces Q exactly.
std::optional<IntWeights> recover_integers(const Model& m, const Node& q, const Tensor& out, std::string& why) {
  const Graph& g = m.graph;
  const Tensor& s = *g.get_initializer(q.inputs.at(1));
  const bool bipolar_op = q.op_type == "BipolarQuant";
  const Tensor* z = bipolar_op ? nullptr : g.get_initializer(q.inputs.at(2));
  if (s.type() != ElemType::FLOAT || (z && z->type() != ElemType::FLOAT) || out.type() != ElemType::FLOAT) {
    why = "scale and zero point must be float32";
    return std::nullopt;
  }
  const Shape& shape = out.shape();
  const std::vector<float> sv = s.to_float();
  const std::vector<float> zv = z ? z->to_float() : std::vector<float>{0.f};
  const Shape zshape = z ? z->shape() : Shape{};
  for (float zp : zv)
    if (zp != std::nearbyint(zp)) {
      why = fmt::format("zero point {} is not an integer, so the weights are not integers times the scale", zp);
      return std::nullopt;
    }
  const float* qv = out.data<float>();
  Tensor ints(ElemType::FLOAT, shape);
  float* iv = ints.data<float>();
  bool ok = true;
  int64_t bad = -1;
  for_each_broadcast(shape, {shape, s.shape()}, [&](int64_t i, const std::vector<int64_t>& o) {
    const float sc = sv[o[1]];
    const double r = std::nearbyint((double)qv[i] / (double)sc);
    const float rf = (float)r;
    if (std::fabs(r) > 16777216.0 || rf * sc != qv[i]) {
      if (ok) bad = i;
      ok = false;
    }
    iv[i] = rf == 0.f ? 0.f : rf;  // no -0 in integer tensors
  });
  if (!ok) {
    why = fmt::format("the quantized value {} at flat index {} is not an integer times the scale in float32",
                      qv[bad], bad);
    return std::nullopt;
  }
  DataType dt;
  double zmin = 0, zmax = 0;
  for (float zp : zv) {
    zmin = std::min<double>(zmin, zp);
    zmax = std::max<double>(zmax, zp);
  }
  if (bipolar_op) {
    dt = DataType::bipolar();
  } else {
    const bool is_signed = qnt::bool_attr(q, "signed", true), narrow = qnt::bool_attr(q, "narrow", false);
    const int64_t bw = qnt::bitwidth_value(q, *g.get_initializer(q.inputs.at(3)), "bitwidth (input 3)");
    const bool bipolar = bw == 1 && is_signed;
    const double lo = bipolar ? -1 : qnt::min_int(is_signed, narrow, bw);
    const double hi = bipolar ? 1 : qnt::max_int(is_signed, narrow, bw);
    if (zmin == 0 && zmax == 0) dt = qnt::int_datatype(is_signed, bw, true);
    else dt = DataType::smallest_for_range(lo - zmax, hi - zmin);
  }
  for (int64_t i = 0; i < ints.numel(); ++i)
    if (!dt.allowed(iv[i])) {
      why = fmt::format("recovered integer {} at flat index {} is outside {}", iv[i], i, dt.name());
      return std::nullopt;
    }
  return IntWeights{ints, dt};
}

// Scale values laid out for a Mul after the consumer: `axis` of a rank-`rank`
// output holds the channels (or a scalar when the scale is per tensor).
std::optional<Tensor> output_scale(const Tensor& s, size_t w_rank, size_t w_axis, size_t rank, size_t axis,
                                   std::string& why) {
  const auto var = q2f::varying_axes(s.shape(), w_rank);
  if (var.empty()) return Tensor::scalar<float>(s.to_float().at(0));
  if (var.size() != 1 || var[0] != w_axis) {
    why = fmt::format("the scale of shape {} varies along weight axis {}, but only axis {} (output channels) can "
                      "move behind the consumer",
                      shape_str(s.shape()), var.empty() ? -1 : (int64_t)var[0], w_axis);
    return std::nullopt;
  }
  Shape sh(rank, 1);
  sh[axis] = s.numel();
  return s.reshaped(sh).clone();
}

bool fold_one(Model& m, int qi, bool weights_pass) {
  Graph& g = m.graph;
  const Node q = g.nodes[qi];
  const std::string out_name = q.outputs.at(0);
  if (is_graph_output(g, out_name)) {
    note_refusal(q.name, kPass, "its output is a graph output");
    return false;
  }
  if (g.find_consumers(out_name).empty()) return false;  // dead; RemoveUnusedNodes-style cleanup is not ours
  int consumer = -1;
  size_t slot = 0;
  std::string why;
  const Role role = role_of(g, out_name, consumer, slot, why);
  const Tensor scale = *g.get_initializer(q.inputs.at(1));  // a copy: initializers may move below
  const bool unity = qnt::all_equal(&scale, 1.0);
  if (role == Role::Refuse && !unity) {
    note_refusal(q.name, kPass, why + "; run GemmToMatMul first for Gemm");
    return false;
  }
  const bool is_weight = role == Role::Weight && !unity;
  if (is_weight != weights_pass) return false;

  const Tensor qout = eval_const_node(m, q).at(0);
  if (!is_weight && !unity) {
    // Scaled values with no integer tensor to keep: the exact float result.
    g.nodes.erase(g.nodes.begin() + qi);
    g.set_initializer(out_name, qout);
    g.remove_annotation(out_name, "finn_datatype");
    return true;
  }
  auto iw = recover_integers(m, q, qout, why);
  if (!iw) {
    note_refusal(q.name, kPass, why);
    return false;
  }
  if (unity) {
    g.nodes.erase(g.nodes.begin() + qi);
    g.set_initializer(out_name, iw->ints);
    g.set_datatype(out_name, iw->dt);
    return true;
  }

  const Node& c = g.nodes[consumer];
  const size_t w_rank = qout.shape().size();
  auto out_shape = tensor_shape(g, c.outputs.at(0));
  size_t out_rank = out_shape ? out_shape->size() : 0;
  std::optional<Tensor> mul_scale;
  if (c.op_type == "Conv") {
    if (!out_shape) {
      note_refusal(q.name, kPass, fmt::format("the shape of {} is unknown; run InferShapes first", c.outputs[0]));
      return false;
    }
    mul_scale = output_scale(scale, w_rank, 0, out_rank, 1, why);
  } else if (slot == 1 && w_rank >= 2) {  // MatMul(x, W): columns are outputs
    if (!out_shape) {
      note_refusal(q.name, kPass, fmt::format("the shape of {} is unknown; run InferShapes first", c.outputs[0]));
      return false;
    }
    mul_scale = output_scale(scale, w_rank, w_rank - 1, out_rank, out_rank - 1, why);
    if (mul_scale && mul_scale->rank() > 0 && out_rank >= 2) {
      // (1, N) rather than (1, ..., 1, N): the shape FINN uses for MatMul scales.
      mul_scale = mul_scale->reshaped({1, mul_scale->numel()});
    }
  } else if (scale.numel() == 1) {  // vector weight or W on the left: only a per-tensor scale moves
    mul_scale = Tensor::scalar<float>(scale.to_float().at(0));
  } else {
    why = fmt::format("a per-element scale of shape {} on MatMul operand {} cannot move behind it",
                      shape_str(scale.shape()), slot);
  }
  if (!mul_scale) {
    note_refusal(q.name, kPass, why);
    return false;
  }
  // A Conv bias is added after the accumulation; it must stay after the
  // rescaling too, so it moves behind the Mul.
  std::optional<Tensor> bias;
  if (c.op_type == "Conv" && c.inputs.size() > 2 && !c.inputs[2].empty()) {
    const Tensor* b = g.get_initializer(c.inputs[2]);
    if (!b) {
      note_refusal(q.name, kPass,
                   fmt::format("Conv {} has a non-constant bias '{}'; run ExtractBiasFromConv first", c.name,
                               c.inputs[2]));
      return false;
    }
    Shape bs(out_rank, 1);
    bs[1] = b->numel();
    bias = b->reshaped(bs);
  }

  const std::string cname = c.name.empty() ? c.op_type : c.name;
  const std::string final_out = c.outputs[0];
  std::string bias_name;
  if (bias) {
    g.nodes[consumer].inputs.resize(2);
    bias_name = unique_tensor_name(g, cname + "_bias");
    g.set_initializer(bias_name, *bias);
  }
  g.nodes.erase(g.nodes.begin() + qi);
  if (consumer > qi) --consumer;
  g.set_initializer(out_name, iw->ints);
  g.set_datatype(out_name, iw->dt);

  const std::string acc = q2f::detach_output(g, consumer, 0, final_out + "_int");
  const std::string sname = unique_tensor_name(g, cname + "_wscale");
  g.set_initializer(sname, *mul_scale);
  std::string mul_out = final_out;
  if (bias) {
    mul_out = unique_tensor_name(g, final_out + "_scaled");
    set_tensor_shape(g, mul_out, ElemType::FLOAT, *out_shape);
  }
  int pos = consumer + 1;
  g.nodes.insert(g.nodes.begin() + pos++, make_node("Mul", {acc, sname}, {mul_out}, unique_node_name(g, cname + "_wscale")));
  if (bias)
    g.nodes.insert(g.nodes.begin() + pos, make_node("Add", {mul_out, bias_name}, {final_out}, unique_node_name(g, cname + "_bias")));
  return true;
}

bool fold_quant_weights(Model& m) {
  // Biases and other non-weight constants first, so that a Conv's quantized
  // bias is a plain initializer by the time its weight's scale moves past it.
  for (bool weights_pass : {false, true})
    for (int i = 0; i < (int)m.graph.nodes.size(); ++i)
      if (q2f::is_quant_init(m.graph, m.graph.nodes[i]) && fold_one(m, i, weights_pass)) return true;
  return false;
}

}  // namespace

SF_REGISTER_PASS("FoldQuantWeights", "qonnx_to_finn",
                 "fold quantized constants into integer initializers, scales moved behind Conv/MatMul",
                 fold_quant_weights);

}  // namespace sf
