// Moves of Mul/Add towards the MultiThresholds that will absorb them: past
// data-movement and pooling ops, past each other (Add after Mul), past forks
// and elementwise adds; and MaxPool past MultiThreshold so pooling runs on
// the narrow quantized values.
#include <cmath>
#include <fmt/format.h>
#include <set>

#include "ops/op.h"
#include "passes/streamline/reorder.h"

namespace sf::streamline {

int sole_reader_at(const Graph& g, const std::string& tensor, size_t pos) {
  const int p = single_consumer(g, tensor);
  if (p < 0) return -1;
  const Node& n = g.nodes[p];
  if (pos >= n.inputs.size() || n.inputs[pos] != tensor) return -1;
  for (size_t k = 0; k < n.inputs.size(); ++k)
    if (k != pos && n.inputs[k] == tensor) return -1;
  return p;
}

void swap_linear_past(Model& m, const Linear& l, int p_idx, size_t pos, const Tensor& new_c) {
  Graph& g = m.graph;
  Node P = g.nodes[p_idx];
  const Node L = g.nodes[l.idx];
  const std::string y = P.outputs[0];
  const auto ys = tensor_shape(g, y);
  const std::string t = unique_tensor_name(g, y + (l.is_mul ? "_prescale" : "_prebias"));
  P.inputs[pos] = l.data;
  P.outputs[0] = t;
  const std::string cn = new_c.raw() == l.c->raw() && new_c.shape() == l.c->shape()
                             ? l.cname
                             : add_const(g, l.cname, new_c);
  g.nodes[l.idx] = P;
  g.nodes[p_idx] = make_node(L.op_type, {t, cn}, {y}, L.name, L.domain);
  if (ys) set_tensor_shape(g, t, ElemType::FLOAT, *ys);
  refresh_datatypes(m, {t, y});
  tidy(g);
}

namespace {

constexpr int64_t kMaxExpand = 1 << 22;

// Ops where every output element is a copy of one input element: any
// elementwise op by a constant commutes with them once the constant has been
// moved the same way.
const std::set<std::string> kCopyOps = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity",
                                        "Slice", "Gather", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
                                        "Resize"};
const std::set<std::string> kPoolOps = {"MaxPool", "GlobalMaxPool", "AveragePool", "GlobalAveragePool"};

bool has_extra_outputs(const Graph& g, const Node& n) {
  for (size_t k = 1; k < n.outputs.size(); ++k)
    if (!n.outputs[k].empty() && (!g.find_consumers(n.outputs[k]).empty() || is_graph_output(g, n.outputs[k])))
      return true;
  return false;
}

// The constant, broadcast to the data shape, sent through the copy op P:
// the constant that sits after P. nullopt unless it is scalar or per-channel.
std::optional<Tensor> transform_const(const Model& m, const Node& P, const Linear& l, const Shape& ys,
                                      std::string& why) {
  const Graph& g = m.graph;
  const int64_t numel = shape_numel(l.shape);
  if (numel > kMaxExpand) {
    why = "the tensor is too large to move a per-channel constant through";
    return std::nullopt;
  }
  const auto vals = l.c->to_double();
  const int64_t a = l.layout.axis;
  int64_t inner = 1;
  for (size_t d = (size_t)a + 1; d < l.shape.size(); ++d) inner *= l.shape[d];
  std::vector<float> e((size_t)numel);
  for (int64_t i = 0; i < numel; ++i) e[(size_t)i] = (float)vals[(size_t)((i / inner) % l.shape[a])];
  Model tmp;
  tmp.opset_imports = m.opset_imports;
  Node q = P;
  q.inputs[0] = "__sf_expanded_const";
  tmp.graph.set_initializer(q.inputs[0], Tensor::from_vector<float>(l.shape, e));
  for (size_t k = 1; k < q.inputs.size(); ++k) {
    if (q.inputs[k].empty()) continue;
    const Tensor* t = g.get_initializer(q.inputs[k]);
    if (!t) {
      why = fmt::format("input {} ('{}') of {} is not constant", k, q.inputs[k], node_id(P));
      return std::nullopt;
    }
    tmp.graph.set_initializer(q.inputs[k], *t);
  }
  q.outputs.resize(1);
  Tensor r;
  try {
    r = eval_const_node(tmp, q).at(0);
  } catch (const StreamfoldError& err) {
    why = fmt::format("evaluating {} on the constant failed: {}", node_id(P), err.what());
    return std::nullopt;
  }
  if (r.shape() != ys) {
    why = "the op does not preserve the tensor";
    return std::nullopt;
  }
  Tensor c = compress_const(r);
  const ConstLayout nl = const_layout(c.shape(), ys);
  if (nl.kind == ConstLayout::Other) {
    why = fmt::format("after {} the constant would be a full {} tensor, not per-channel", node_id(P),
                      shape_str(c.shape()));
    return std::nullopt;
  }
  return c;
}

// Pad values read from attributes (opset < 11) or inputs (>= 11).
bool pad_params(const Graph& g, const Node& P, std::vector<int64_t>& pads, double& value, bool& has_axes) {
  has_axes = P.inputs.size() > 3 && !P.inputs[3].empty();
  value = 0;
  if (P.has_attr("pads")) {
    pads = P.get_ints("pads");
    value = P.get_float("value", 0.f);
    return true;
  }
  const Tensor* pt = const_input(g, P, 1);
  if (!pt) return false;
  pads = pt->to_int64();
  if (P.inputs.size() > 2 && !P.inputs[2].empty()) {
    const Tensor* v = const_input(g, P, 2);
    if (!v || v->numel() != 1) return false;
    value = v->item_double();
  }
  return true;
}

bool move_scalar_linear_past_invariants(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveScalarLinearPastInvariants";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l) continue;
    const int p = sole_reader_at(g, l->out, 0);
    if (p < 0) continue;
    const Node& P = g.nodes[p];
    if (domain_family(P.domain) != OpDomain::ONNX) continue;
    const bool copy = kCopyOps.count(P.op_type) > 0, pool = kPoolOps.count(P.op_type) > 0,
               pad = P.op_type == "Pad";
    if (!copy && !pool && !pad) continue;
    const bool maxpool = P.op_type == "MaxPool" || P.op_type == "GlobalMaxPool";
    if (maxpool && l->is_mul) continue;  // MoveMulPastMaxPool's case (needs a sign check)
    const std::string who = node_id(g.nodes[i]);
    auto refuse = [&](const std::string& why) {
      note_refusal(who, pass, fmt::format("{} {} cannot move past {}: {}", l->kind(), who, node_id(P), why));
    };
    if (has_extra_outputs(g, P)) continue;
    const auto ys = tensor_shape(g, P.outputs[0]);
    if (!ys) {
      refuse("the shape of its output is unknown (run InferShapes first)");
      continue;
    }
    if (l->layout.kind == ConstLayout::Other) {
      refuse(fmt::format("its constant {} is neither scalar nor per-channel", shape_str(l->c->shape())));
      continue;
    }
    if (!all_finite(*l->c)) {
      refuse("its constant is not finite");
      continue;
    }
    const bool scalar = l->layout.kind == ConstLayout::Scalar;
    std::optional<Tensor> newc;
    if (copy) {
      if (P.op_type == "Resize" && P.get_string("mode", "nearest") != "nearest") {
        refuse(fmt::format("Resize mode '{}' interpolates; only 'nearest' copies values",
                           P.get_string("mode", "nearest")));
        continue;
      }
      if (scalar) {
        newc = fit_rank(*l->c, (int64_t)ys->size());
      } else {
        std::string why;
        newc = transform_const(m, P, *l, *ys, why);
        if (!newc) {
          refuse(why);
          continue;
        }
      }
    } else if (pool) {
      // Pooling works per channel (axis 1), so a per-channel constant stays
      // one; the averaging ops are linear, MaxPool commutes with any Add.
      if (!scalar && l->layout.axis != 1) {
        refuse(fmt::format("its constant varies along axis {}, which {} pools over", l->layout.axis, node_id(P)));
        continue;
      }
      if (P.op_type == "AveragePool" && !l->is_mul && P.get_int("count_include_pad", 0) != 0) {
        bool padded = P.get_string("auto_pad", "NOTSET") != "NOTSET" && P.get_string("auto_pad", "NOTSET") != "VALID";
        for (int64_t v : P.get_ints("pads", {})) padded = padded || v != 0;
        if (padded) {
          refuse("AveragePool counts zero padding (count_include_pad=1), which would not receive the Add");
          continue;
        }
      }
      newc = *l->c;
    } else {
      std::vector<int64_t> pads;
      double value = 0;
      bool has_axes = false;
      if (!pad_params(g, P, pads, value, has_axes)) {
        refuse("its pads or pad value are not constant");
        continue;
      }
      const std::string mode = P.get_string("mode", "constant");
      if (mode == "constant" && !(l->is_mul && value == 0)) {
        refuse(l->is_mul ? fmt::format("it pads with {:g}, which a Mul would rescale", value)
                         : "the constant border would not receive the Add");
        continue;
      }
      if (!scalar) {
        const int64_t a = l->layout.axis, r = (int64_t)ys->size();
        if (has_axes || (int64_t)pads.size() != 2 * r || pads[a] != 0 || pads[a + r] != 0) {
          refuse(fmt::format("it pads axis {}, along which the constant varies", a));
          continue;
        }
      }
      newc = *l->c;
    }
    swap_linear_past(m, *l, p, 0, *newc);
    return true;
  }
  return false;
}

// (x + a) * m  ==  x*m + a*m  (float rounding aside).
bool move_add_past_mul(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto a = match_linear(g, (int)i);
    if (!a || a->is_mul) continue;
    const int p = sole_reader_at(g, a->out, 0);
    if (p < 0) continue;
    auto mu = match_linear(g, p);
    if (!mu || !mu->is_mul || mu->data != a->out) continue;
    if (!all_finite(*a->c) || !all_finite(*mu->c)) {
      note_refusal(node_id(g.nodes[i]), "MoveAddPastMul", "its constant or the Mul's is not finite");
      continue;
    }
    const Tensor am = bcast_const(*a->c, *mu->c, [](double x, double y) { return x * y; });
    // Mul first (reusing its constant), then Add(a*m).
    const Node A = g.nodes[i], M = g.nodes[p];
    const std::string y = mu->out;
    const std::string t = unique_tensor_name(g, y + "_prebias");
    const std::string cn = add_const(g, a->cname + "_scaled", am);
    g.nodes[i] = make_node("Mul", {a->data, mu->cname}, {t}, M.name, M.domain);
    g.nodes[p] = make_node("Add", {t, cn}, {y}, A.name, A.domain);
    set_tensor_shape(g, t, ElemType::FLOAT, mu->shape);
    refresh_datatypes(m, {t, y});
    tidy(g);
    return true;
  }
  return false;
}

// (x*m) + (y*m) -> (x+y)*m and (x+a) + (y+b) -> (x+y) + (a+b).
bool move_linear_past_eltwise_add(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveLinearPastEltwiseAdd";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node E = g.nodes[i];
    if (!is_onnx(E, "Add") || E.inputs.size() != 2 || const_input(g, E, 0) || const_input(g, E, 1)) continue;
    if (E.inputs[0] == E.inputs[1]) continue;
    auto l1 = match_linear_producer(g, E.inputs[0]);
    auto l2 = match_linear_producer(g, E.inputs[1]);
    if (!l1 || !l2 || l1->is_mul != l2->is_mul) continue;
    if (single_consumer(g, l1->out) != (int)i || single_consumer(g, l2->out) != (int)i) continue;
    const auto es = tensor_shape(g, E.outputs[0]);
    const std::string who = node_id(E);
    if (!es || *es != l1->shape || *es != l2->shape) {
      note_refusal(who, pass, "its two inputs do not have the same known shape (the Add broadcasts)");
      continue;
    }
    Tensor c;
    if (l1->is_mul) {
      const Tensor diff = bcast_const(*l1->c, *l2->c, [](double x, double y) { return x == y ? 0.0 : 1.0; });
      bool same = true;
      for (double d : diff.to_double()) same = same && d == 0;
      if (!same) {
        note_refusal(who, pass,
                     fmt::format("its inputs are scaled by different constants ({} by [{}], {} by [{}])",
                                 node_id(g.nodes[l1->idx]), preview(l1->c->to_double()),
                                 node_id(g.nodes[l2->idx]), preview(l2->c->to_double())));
        continue;
      }
      c = bcast_const(*l1->c, *l2->c, [](double x, double) { return x; });
    } else {
      c = bcast_const(*l1->c, *l2->c, [](double x, double y) { return x + y; });
    }
    const Node L1 = g.nodes[l1->idx];
    const std::string y = E.outputs[0];
    const std::string t = unique_tensor_name(g, y + (l1->is_mul ? "_prescale" : "_prebias"));
    const std::string cn = add_const(g, l1->cname, c);
    Node E2 = E;
    E2.inputs = {l1->data, l2->data};
    E2.outputs = {t};
    g.nodes[i] = E2;
    g.nodes[l1->idx] = make_node(L1.op_type, {t, cn}, {y}, L1.name, L1.domain);
    g.nodes.erase(g.nodes.begin() + l2->idx);
    set_tensor_shape(g, t, ElemType::FLOAT, *es);
    refresh_datatypes(m, {t, y});
    tidy(g);
    return true;
  }
  return false;
}

// x -> L -> {A, B}  becomes  x -> L1 -> A, x -> L2 -> B, so that each branch
// can move or absorb its own copy.
bool move_linear_past_fork(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l) continue;
    const auto readers = g.find_consumers(l->out);
    if (readers.size() < 2) continue;
    const Node L = g.nodes[i];
    if (is_graph_output(g, l->out)) {
      note_refusal(node_id(L), "MoveLinearPastFork", "its output is also a graph output");
      continue;
    }
    std::vector<Node> clones;
    std::vector<std::string> outs;
    for (size_t k = 0; k < readers.size(); ++k) {
      const std::string t = unique_tensor_name(g, fmt::format("{}_{}", l->out, k));
      set_tensor_shape(g, t, ElemType::FLOAT, l->shape);
      for (auto& in : g.nodes[readers[k]].inputs)
        if (in == l->out) in = t;
      clones.push_back(make_node(L.op_type, {l->data, l->cname}, {t},
                                 unique_node_name(g, fmt::format("{}_{}", L.name.empty() ? L.op_type : L.name, k)),
                                 L.domain));
      g.nodes.push_back(clones.back());  // reserve the name for the next unique_node_name
      outs.push_back(t);
    }
    g.nodes.resize(g.nodes.size() - clones.size());
    g.nodes.erase(g.nodes.begin() + (long)i);
    g.nodes.insert(g.nodes.begin() + (long)i, clones.begin(), clones.end());
    refresh_datatypes(m, outs);
    tidy(g);
    return true;
  }
  return false;
}

// max(x*s) == s*max(x) exactly for s >= 0 (rounding is monotone), per channel too.
bool move_mul_past_maxpool(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveMulPastMaxPool";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto l = match_linear(g, (int)i);
    if (!l || !l->is_mul) continue;
    const int p = sole_reader_at(g, l->out, 0);
    if (p < 0) continue;
    const Node& P = g.nodes[p];
    if (!is_onnx(P, "MaxPool") && !is_onnx(P, "GlobalMaxPool")) continue;
    const std::string who = node_id(g.nodes[i]);
    if (has_extra_outputs(g, P)) {
      note_refusal(who, pass, fmt::format("{} also returns indices, which a rescaling could change", node_id(P)));
      continue;
    }
    if (l->layout.kind == ConstLayout::Other || (l->layout.kind == ConstLayout::Channel && l->layout.axis != 1)) {
      note_refusal(who, pass,
                   fmt::format("{} has {} scale that varies along axes {} pools over", who,
                               describe_layout(l->layout, *l->c), node_id(P)));
      continue;
    }
    const auto v = l->c->to_double();
    std::vector<double> neg;
    bool nan = false;
    for (double x : v) {
      if (x < 0) neg.push_back(x);
      nan = nan || std::isnan(x);
    }
    if (!neg.empty() || nan) {
      note_refusal(who, pass,
                   fmt::format("{} has {} scale of {} values with {} negative (e.g. {}) but sits before {}, which "
                               "would need a non-negative scale",
                               who, l->layout.kind == ConstLayout::Scalar ? "a scalar" : "a per-channel", v.size(),
                               neg.size(), preview(neg, 3), node_id(P)));
      continue;
    }
    swap_linear_past(m, *l, p, 0, *l->c);
    return true;
  }
  return false;
}

// MultiThreshold is monotone non-decreasing in x when out_scale >= 0, so it
// commutes with max: MT(maxpool(x)) == maxpool(MT(x)), and MaxPool's -inf
// padding maps to MT's lowest level, which never wins a max.
bool move_maxpool_past_multithreshold(Model& m) {
  Graph& g = m.graph;
  const char* pass = "MoveMaxPoolPastMultiThreshold";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node P = g.nodes[i];
    if (!is_onnx(P, "MaxPool") || P.inputs.empty() || P.outputs.empty() || has_extra_outputs(g, P)) continue;
    const int q = sole_reader_at(g, P.outputs[0], 0);
    if (q < 0 || !is_multithreshold(g.nodes[q])) continue;
    const Node T = g.nodes[q];
    const std::string who = node_id(P);
    const auto xs = tensor_shape(g, P.inputs[0]);
    const auto ys = tensor_shape(g, T.outputs[0]);
    const Tensor* thr = const_input(g, T, 1);
    if (!xs || !ys || !thr || thr->rank() != 2) continue;
    if (T.get_float("out_scale", 1.f) < 0) {
      note_refusal(who, pass, fmt::format("{} has a negative out_scale, so it is not monotone", node_id(T)));
      continue;
    }
    if (thr->shape()[0] > 1 && mt_channel_axis(T, (int64_t)xs->size()) != 1) {
      note_refusal(who, pass,
                   fmt::format("{} has per-channel thresholds on axis {} (data_layout '{}'), but MaxPool's channels "
                               "are on axis 1",
                               node_id(T), mt_channel_axis(T, (int64_t)xs->size()), T.get_string("data_layout", "")));
      continue;
    }
    const std::string y = T.outputs[0];
    const std::string t = unique_tensor_name(g, y + "_prepool");
    Node T2 = T, P2 = P;
    T2.inputs[0] = P.inputs[0];
    T2.outputs[0] = t;
    P2.inputs[0] = t;
    P2.outputs[0] = y;
    g.nodes[i] = T2;
    g.nodes[q] = P2;
    set_tensor_shape(g, t, ElemType::FLOAT, *xs);
    refresh_datatypes(m, {t, y});
    tidy(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS("MoveScalarLinearPastInvariants", "streamline",
                 "Mul/Add by a scalar or per-channel constant past reshapes, transposes, slices, pads and pooling",
                 move_scalar_linear_past_invariants);
SF_REGISTER_PASS("MoveAddPastMul", "streamline", "(x + a) * m -> x*m + a*m", move_add_past_mul);
SF_REGISTER_PASS("MoveLinearPastEltwiseAdd", "streamline",
                 "x*m + y*m -> (x+y)*m and (x+a) + (y+b) -> (x+y) + (a+b)", move_linear_past_eltwise_add);
SF_REGISTER_PASS("MoveLinearPastFork", "streamline", "duplicate a Mul/Add whose output feeds several nodes",
                 move_linear_past_fork);
SF_REGISTER_PASS("MoveMulPastMaxPool", "streamline", "Mul by a non-negative scalar/per-channel scale past MaxPool",
                 move_mul_past_maxpool);
SF_REGISTER_PASS("MoveMaxPoolPastMultiThreshold", "streamline",
                 "MaxPool -> MultiThreshold becomes MultiThreshold -> MaxPool (monotone thresholds)",
                 move_maxpool_past_multithreshold);

}  // namespace sf::streamline
