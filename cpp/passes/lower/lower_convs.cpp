// LowerConvsToMatMul: Conv (NCHW, constant weight) becomes
//   Transpose(NCHW->NHWC) -> Im2Col -> MatMul(W') [-> Add(corr)] [-> Add(bias)] -> Transpose(NHWC->NCHW)
// with W' the (KH*KW*C, M) matrix whose rows follow Im2Col's (kh, kw, c)
// order, so the conv becomes the matrix product FINN's MVAU/VVAU run.
//
// Covered: 2-D and 1-D convs, any pads/strides/dilations/auto_pad, 1x1 convs
// (no Im2Col when kernel 1, stride 1, no pad), groups: the weight becomes
// block-diagonal (zeros outside a channel's group), which is exact since the
// zeros add nothing; group == C == M is marked depthwise (Im2Col depthwise=1
// plus FINN's "dw" sparsity annotation) as FINN does. Weights may be an
// initializer or come from a Quant/BipolarQuant on initializers (raw QONNX):
// then the quantizer's inputs are rearranged the same way, so the quantizer
// still produces the exact same numbers, now in MatMul layout.
//
// Padding: Conv pads with 0. When 0 is not a value of the input's datatype
// (BIPOLAR), Im2Col pads with a legal value p instead (-1) and a constant
// Add restores the exact result: conv(pad0(x)) = conv(pad_p(x)) + sum over
// padded taps of W * (0 - p). That keeps Im2Col's output BIPOLAR, so the
// MatMul can later become an XnorPopcountMatMul.
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "ops/conv/spatial.h"
#include "ops/reshape/movement.h"
#include "passes/lower/lower_util.h"

namespace sf {
namespace {
using namespace lower;

constexpr const char* kPass = "LowerConvsToMatMul";

struct Geometry {
  int64_t N, C, H, W, M, group, cg, mg;
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, OH, OW;
  bool one_d;
  int64_t K() const { return kh * kw * C; }
  bool padded() const { return pt + pl + pb + pr > 0; }
  bool needs_im2col() const { return padded() || kh != 1 || kw != 1 || sh != 1 || sw != 1; }
  bool depthwise() const { return group > 1 && group == C && M == C; }
};

// Broadcasts `t` (numpy rules, right-aligned) to `to`; nullopt if it cannot.
std::optional<Tensor> broadcast_to(const Tensor& t, const Shape& to) {
  if (t.rank() > (int64_t)to.size()) return std::nullopt;
  const size_t lead = to.size() - t.shape().size();
  const std::vector<int64_t> st = movement::strides_of(t.shape());
  std::vector<int64_t> strides(to.size(), 0);
  for (size_t k = 0; k < t.shape().size(); ++k) {
    const int64_t d = t.shape()[k];
    if (d != 1 && d != to[lead + k]) return std::nullopt;
    strides[lead + k] = d == 1 ? 0 : st[k];
  }
  Tensor out(t.type(), to);
  movement::copy_strided(t, 0, strides, out);
  return out;
}

// (M, C/group, KH, KW) -> (KH*KW*C, M): row (kh, kw, c), column m. Entries
// outside output channel m's group hold zero for weights; for quantizer
// parameters (fill_in_group) they repeat a value of m's own group, which is
// as good as any legal parameter because the weight there is 0.
Tensor to_matmul_layout(const Tensor& w4, const Geometry& g, bool fill_in_group) {
  const size_t es = elem_size(w4.type());
  const auto* src = static_cast<const uint8_t*>(w4.raw());
  Tensor out(w4.type(), {g.K(), g.M});  // zero-filled
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t m = 0; m < g.M; ++m) {
    const int64_t grp = m / g.mg;
    for (int64_t c = 0; c < g.C; ++c) {
      const bool inside = c / g.cg == grp;
      if (!inside && !fill_in_group) continue;
      const int64_t cl = inside ? c - grp * g.cg : 0;
      for (int64_t y = 0; y < g.kh; ++y)
        for (int64_t x = 0; x < g.kw; ++x) {
          const int64_t s = ((m * g.cg + cl) * g.kh + y) * g.kw + x;
          const int64_t d = ((y * g.kw + x) * g.C + c) * g.M + m;
          std::memcpy(dst + d * es, src + s * es, es);
        }
    }
  }
  return out;
}

// A quantizer parameter rearranged like the weight. Single values stay
// single (rank <= 1 so they do not lift the product's rank); per-output-
// channel ones become (1, M); anything else is expanded to (K, M).
std::optional<Tensor> param_to_matmul(const Tensor& p, const Shape& w_shape, const Geometry& g) {
  if (p.numel() == 1) return p.rank() <= 2 ? p : p.reshaped({});
  auto full = broadcast_to(p, w_shape);
  if (!full) return std::nullopt;
  const Tensor f4 = full->reshaped({g.M, g.cg, g.kh, g.kw});
  const size_t es = elem_size(p.type());
  const int64_t per = g.cg * g.kh * g.kw;
  const auto* b = static_cast<const uint8_t*>(f4.raw());
  bool per_channel = true;
  for (int64_t m = 0; m < g.M && per_channel; ++m)
    for (int64_t i = 1; i < per && per_channel; ++i)
      per_channel = std::memcmp(b + (m * per + i) * es, b + m * per * es, es) == 0;
  if (!per_channel) return to_matmul_layout(f4, g, true);
  Tensor out(p.type(), {1, g.M});
  for (int64_t m = 0; m < g.M; ++m) std::memcpy(static_cast<uint8_t*>(out.raw()) + m * es, b + m * per * es, es);
  return out;
}

struct WeightSource {
  int quant = -1;          // index of the Quant/BipolarQuant producing the conv weight, or -1
  std::string value_name;  // the initializer with the weight values
  Tensor value;
};

class ConvLowering {
 public:
  ConvLowering(Model& m, int idx) : m_(m), g_(m.graph), conv_(m.graph.nodes[idx]), idx_(idx) {}

  bool run() {
    if (!read_geometry() || !read_weights()) return false;
    const DataType in_dt = g_.get_datatype(conv_.inputs[0]);
    // The value Im2Col pads with, and the correction that makes up for it.
    int64_t pad_value = 0;
    if (geo_.padded() && !in_dt.allowed(0.0)) {
      if (!in_dt.is_integer()) return refuse(fmt::format("input datatype {} cannot hold the padding value 0", in_dt.name()));
      pad_value = (int64_t)in_dt.min();
    }
    std::optional<Tensor> corr;
    if (pad_value != 0 && !(corr = pad_correction(pad_value))) return false;
    if (geo_.needs_im2col() && ((geo_.H == 1 && (geo_.kh != 1 || geo_.pt + geo_.pb)) ||
                                (geo_.W == 1 && (geo_.kw != 1 || geo_.pl + geo_.pr))))
      return refuse("Im2Col cannot slide a window along an axis of size 1 (height or width is 1 but the kernel or "
                    "padding uses that axis)");
    if (!rewrite_weights()) return false;
    emit(in_dt, pad_value, corr);
    return true;
  }

 private:
  bool refuse(const std::string& why) {
    note_refusal(conv_.name, kPass, why);
    return false;
  }

  bool read_geometry() {
    if (conv_.inputs.size() < 2 || conv_.inputs[1].empty()) return refuse("Conv has no weight input");
    auto xs = tensor_shape(g_, conv_.inputs[0]);
    if (!xs) return refuse("the input shape is unknown; run InferShapes first");
    if (xs->size() != 3 && xs->size() != 4)
      return refuse(fmt::format("only 1-D and 2-D convs are lowered (input {})", shape_str(*xs)));
    geo_.one_d = xs->size() == 3;
    geo_.N = (*xs)[0];
    geo_.C = (*xs)[1];
    geo_.H = geo_.one_d ? 1 : (*xs)[2];
    geo_.W = xs->back();
    return true;
  }

  bool read_weights() {
    const std::string& wn = conv_.inputs[1];
    if (const Tensor* w = g_.get_initializer(wn)) {
      if (is_graph_input(g_, wn)) return refuse("the weight is also a graph input, so it may be overridden at run time");
      src_.value_name = wn;
      src_.value = *w;
    } else {
      const int p = g_.find_producer(wn);
      if (p < 0) return refuse("the weight is neither an initializer nor produced by a quantizer");
      const Node& q = g_.nodes[p];
      if (!is_qonnx_op(q, "Quant") && !is_qonnx_op(q, "IntQuant") && !is_qonnx_op(q, "BipolarQuant"))
        return refuse(fmt::format("the weight comes from {}, not from an initializer or a Quant", q.label()));
      for (size_t i = 0; i < q.inputs.size(); ++i)
        if (!q.inputs[i].empty() && !g_.get_initializer(q.inputs[i]))
          return refuse(fmt::format("input {} of the weight quantizer {} is not constant", i, q.name));
      if (!single_use(g_, wn)) return refuse("the quantized weight is shared with other nodes");
      src_.quant = p;
      src_.value_name = q.inputs[0];
      src_.value = *g_.get_initializer(q.inputs[0]);
    }
    const Shape& ws = src_.value.shape();
    if ((int64_t)ws.size() != (geo_.one_d ? 3 : 4) || ws[0] < 1)
      return refuse(fmt::format("weight shape {} does not fit the input", shape_str(ws)));
    geo_.M = ws[0];
    geo_.group = conv_.get_int("group", 1);
    if (geo_.group < 1 || geo_.C % geo_.group || geo_.M % geo_.group || ws[1] * geo_.group != geo_.C)
      return refuse(fmt::format("weight {} and group {} do not match {} input channels", shape_str(ws), geo_.group, geo_.C));
    geo_.cg = geo_.C / geo_.group;
    geo_.mg = geo_.M / geo_.group;
    // Window geometry exactly as the Conv op computes it (auto_pad included).
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    spatial::Window win;
    try {
      const Shape sp = geo_.one_d ? Shape{geo_.W} : Shape{geo_.H, geo_.W};
      win = spatial::window_geometry(conv_, sp, kernel, false);
    } catch (const ModelError& e) {
      return refuse(std::string("invalid conv geometry: ") + e.what());
    }
    const size_t a = geo_.one_d ? 0 : 1;  // index of the width axis in win
    geo_.kw = win.kernel[a], geo_.sw = win.stride[a], geo_.dw = win.dil[a];
    geo_.pl = win.pad_b[a], geo_.pr = win.pad_e[a], geo_.OW = win.out[a];
    if (geo_.one_d) {
      geo_.kh = geo_.sh = geo_.dh = 1, geo_.pt = geo_.pb = 0, geo_.OH = 1;
    } else {
      geo_.kh = win.kernel[0], geo_.sh = win.stride[0], geo_.dh = win.dil[0];
      geo_.pt = win.pad_b[0], geo_.pb = win.pad_e[0], geo_.OH = win.out[0];
    }
    if (auto os = tensor_shape(g_, conv_.outputs[0])) {
      const Shape want = geo_.one_d ? Shape{geo_.N, geo_.M, geo_.OW} : Shape{geo_.N, geo_.M, geo_.OH, geo_.OW};
      if (*os != want)
        return refuse(fmt::format("annotated output shape {} disagrees with the computed {}", shape_str(*os), shape_str(want)));
    }
    if (src_.quant >= 0 && geo_.group > 1 && !block_zeros_stay_zero()) return false;
    return true;
  }

  // Block-sparse weights put zeros through the weight quantizer: they must
  // come out as exactly 0 (BipolarQuant and 1-bit signed Quant map 0 to +s).
  bool block_zeros_stay_zero() {
    const Node& q = g_.nodes[src_.quant];
    if (is_qonnx_op(q, "BipolarQuant")) return refuse("grouped conv with a BipolarQuant weight: its zeros would become +scale");
    for (double s : g_.get_initializer(q.inputs[1])->to_double())
      if (!std::isfinite(s) || s == 0) return refuse("grouped conv whose weight scale is zero or not finite");
    for (double z : g_.get_initializer(q.inputs[2])->to_double())
      if (z != 0) return refuse("grouped conv whose weight quantizer has a non-zero zero point");
    const bool sgn = q.get_int("signed", 1) != 0;
    for (double b : g_.get_initializer(q.inputs[3])->to_double())
      if (b == 1 && sgn) return refuse("grouped conv with a 1-bit signed (bipolar) weight quantizer");
    return true;
  }

  // conv(pad0(x)) - conv(pad_p(x)) = sum over padded taps of W * (0 - p):
  // a constant (1, OH, OW, M) tensor in NHWC.
  std::optional<Tensor> pad_correction(int64_t p) {
    Tensor w = src_.value;
    if (src_.quant >= 0) {
      try {
        w = eval_const_node(m_, g_.nodes[src_.quant]).at(0);
      } catch (const StreamfoldError& e) {
        refuse(std::string("cannot evaluate the weight quantizer: ") + e.what());
        return std::nullopt;
      }
    }
    const std::vector<double> wv = w.to_double();
    std::vector<double> acc((size_t)(geo_.OH * geo_.OW * geo_.M), 0.0);
    for (int64_t oy = 0; oy < geo_.OH; ++oy)
      for (int64_t ox = 0; ox < geo_.OW; ++ox)
        for (int64_t y = 0; y < geo_.kh; ++y)
          for (int64_t x = 0; x < geo_.kw; ++x) {
            const int64_t iy = oy * geo_.sh + y * geo_.dh - geo_.pt, ix = ox * geo_.sw + x * geo_.dw - geo_.pl;
            if (iy >= 0 && iy < geo_.H && ix >= 0 && ix < geo_.W) continue;
            for (int64_t mo = 0; mo < geo_.M; ++mo)
              for (int64_t cl = 0; cl < geo_.cg; ++cl)
                acc[(oy * geo_.OW + ox) * geo_.M + mo] += wv[((mo * geo_.cg + cl) * geo_.kh + y) * geo_.kw + x] * (double)(-p);
          }
    return Tensor::from_vector<double>({1, geo_.OH, geo_.OW, geo_.M}, acc).cast(w.type());
  }

  // Weight (and quantizer parameters) into MatMul layout, under the same names
  // where the conv was their only reader.
  bool rewrite_weights() {
    const Shape ws = src_.value.shape();
    const Tensor w4 = src_.value.reshaped({geo_.M, geo_.cg, geo_.kh, geo_.kw});
    const Tensor wm = to_matmul_layout(w4, geo_, false);
    if (src_.quant < 0) {
      weight_ = replace_initializer_for(g_, src_.value_name, idx_, wm);
      src_.value_name = weight_;
    } else {
      Node& q = g_.nodes[src_.quant];
      std::vector<std::pair<size_t, Tensor>> params;
      for (size_t i = 1; i < q.inputs.size(); ++i) {
        if (q.inputs[i].empty()) continue;
        auto p = param_to_matmul(*g_.get_initializer(q.inputs[i]), ws, geo_);
        if (!p) return refuse(fmt::format("quantizer parameter {} does not broadcast to the weight", q.inputs[i]));
        params.emplace_back(i, *p);
      }
      const std::string old_value = q.inputs[0];
      q.inputs[0] = replace_initializer_for(g_, old_value, src_.quant, wm);
      for (auto& [i, t] : params) {
        const std::string old = q.inputs[i];
        if (t.shape() != g_.get_initializer(old)->shape()) q.inputs[i] = replace_initializer_for(g_, old, src_.quant, t);
      }
      weight_ = conv_.inputs[1];
      set_tensor_shape(g_, weight_, elem_type_of(g_, weight_), {geo_.K(), geo_.M});
      src_.value_name = q.inputs[0];
    }
    if (geo_.depthwise())
      g_.set_annotation(src_.value_name, "tensor_sparsity",
                        fmt::format("{{'dw': {{'kernel_shape': [{}, {}]}}}}", geo_.kh, geo_.kw));
    return true;
  }

  void emit(const DataType& in_dt, int64_t pad_value, const std::optional<Tensor>& corr) {
    const std::string& x = conv_.inputs[0];
    const std::string& y = conv_.outputs[0];
    const std::string base = conv_.name.empty() ? std::string("Conv") : conv_.name;
    const ElemType et = elem_type_of(g_, x);
    const DataType out_dt = g_.get_datatype(y);
    const Geometry& G = geo_;
    std::vector<Node> nodes;
    auto node = [&](const std::string& op, std::vector<std::string> in, std::string out, const std::string& role,
                    const std::string& domain = "") -> Node& {
      nodes.push_back(make_node(op, std::move(in), {std::move(out)}, unique_node_name(g_, base + "_" + role), domain));
      return nodes.back();
    };
    auto shape_const = [&](const Shape& s) {
      return new_initializer(g_, base + "_shape", Tensor::from_vector<int64_t>({(int64_t)s.size()}, s));
    };
    // 1-D: (N, C, W) -> (N, W, C) and, for Im2Col, (N, 1, W, C).
    const bool mm3 = G.one_d && !G.needs_im2col();
    std::string cur;
    if (G.one_d) {
      const std::string t3 = new_tensor(g_, base + "_in_nwc", et, {G.N, G.W, G.C}, in_dt, {"N", "W", "C"});
      node("Transpose", {x}, t3, "transpose_in").set_ints("perm", {0, 2, 1});
      cur = t3;
      if (!mm3) {
        const std::string t4 = new_tensor(g_, base + "_in_nhwc", et, {G.N, 1, G.W, G.C}, in_dt, kLayoutNHWC);
        node("Reshape", {t3, shape_const({G.N, 1, G.W, G.C})}, t4, "reshape_in");
        cur = t4;
      }
    } else {
      cur = new_tensor(g_, base + "_in_nhwc", et, {G.N, G.H, G.W, G.C}, in_dt, kLayoutNHWC);
      node("Transpose", {x}, cur, "transpose_in").set_ints("perm", kToNHWC);
    }
    if (G.needs_im2col()) {
      const std::string cols = new_tensor(g_, base + "_im2col", et, {G.N, G.OH, G.OW, G.K()}, in_dt, kLayoutNHWC);
      Node& ic = node("Im2Col", {cur}, cols, "im2col", kQonnxDomain);
      ic.set_ints("stride", {G.sh, G.sw});
      ic.set_ints("kernel_size", {G.kh, G.kw});
      ic.set_string("input_shape", fmt::format("({},{},{},{})", G.N, G.H, G.W, G.C));
      ic.set_ints("pad_amount", {G.pt, G.pl, G.pb, G.pr});
      ic.set_int("pad_value", pad_value);
      ic.set_int("depthwise", G.depthwise() ? 1 : 0);
      ic.set_ints("dilations", {G.dh, G.dw});
      cur = cols;
    }
    const Shape nhwc_out = mm3 ? Shape{G.N, G.OW, G.M} : Shape{G.N, G.OH, G.OW, G.M};
    const std::vector<std::string> out_layout = mm3 ? std::vector<std::string>{"N", "W", "C"} : kLayoutNHWC;
    // MatMul, then the optional padding correction and bias, each into a
    // fresh NHWC tensor; datatypes of the in-between ones come from the op
    // rules, the last one carries the conv output's datatype.
    struct Step {
      std::string op, operand, role;
    };
    std::vector<Step> steps = {{"MatMul", weight_, "matmul"}};
    if (corr) steps.push_back({"Add", new_initializer(g_, base + "_pad_correction", *corr), "pad_correction"});
    if (conv_.inputs.size() > 2 && !conv_.inputs[2].empty()) steps.push_back({"Add", conv_.inputs[2], "bias"});
    std::vector<size_t> by_rule;
    for (size_t s = 0; s < steps.size(); ++s) {
      const bool last = s + 1 == steps.size();
      const std::string in = cur;
      cur = new_tensor(g_, base + "_" + steps[s].role + "_out", et, nhwc_out, last ? out_dt : DataType(), out_layout);
      node(steps[s].op, {in, steps[s].operand}, cur, steps[s].role);
      if (!last) by_rule.push_back(nodes.size() - 1);
    }
    if (G.one_d && !mm3) {
      const std::string r3 = new_tensor(g_, base + "_out_nwc", et, {G.N, G.OW, G.M}, out_dt, {"N", "W", "C"});
      node("Reshape", {cur, shape_const({G.N, G.OW, G.M})}, r3, "reshape_out");
      cur = r3;
    }
    node("Transpose", {cur}, y, "transpose_out").set_ints("perm", G.one_d ? std::vector<int64_t>{0, 2, 1} : kToNCHW);
    // unique_node_name only sees inserted nodes: disambiguate among the new ones.
    for (size_t i = 0; i < nodes.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (nodes[j].name == nodes[i].name) nodes[i].name += "_" + std::to_string(i);
    const std::string old_weight = conv_.inputs[1];
    g_.nodes.erase(g_.nodes.begin() + idx_);
    g_.nodes.insert(g_.nodes.begin() + idx_, nodes.begin(), nodes.end());
    for (size_t k : by_rule) annotate_by_rule(m_, g_.nodes[idx_ + k]);
    if (src_.quant < 0) drop_if_unused(g_, old_weight);
  }

  Model& m_;
  Graph& g_;
  Node conv_;  // a copy: the node is erased while we still read it
  int idx_;
  Geometry geo_{};
  WeightSource src_;
  std::string weight_;
};

bool lower_convs_to_matmul(Model& m) {
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    if (!is_onnx_op(m.graph.nodes[i], "Conv")) continue;
    if (ConvLowering(m, (int)i).run()) return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("LowerConvsToMatMul", "lower",
                 "Conv -> Transpose, Im2Col, MatMul (weights in (kh,kw,c) x M layout), Transpose", lower_convs_to_matmul);

}  // namespace sf
