#include "passes/streamline/common.h"

#include "ops/multithreshold/multithreshold.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <limits>

#include "ir/errors.h"
#include "ops/op.h"

namespace sf::streamline {

bool is_onnx(const Node& n, const char* op_type) {
  return n.op_type == op_type && domain_family(n.domain) == OpDomain::ONNX;
}

bool is_multithreshold(const Node& n) {
  return n.op_type == "MultiThreshold" && domain_family(n.domain) == OpDomain::QONNX;
}

std::string node_id(const Node& n) {
  if (!n.name.empty()) return n.name;
  return fmt::format("<{} writing '{}'>", n.op_type, n.outputs.empty() ? "" : n.outputs[0]);
}

int64_t mt_channel_axis(const Node& n, int64_t rank) { return multithreshold_channel_axis(n, rank); }

ElemType elem_type_of(const Graph& g, const std::string& t) {
  if (const Tensor* init = g.get_initializer(t)) return init->type();
  if (const ValueInfo* vi = g.find_value_info(t)) return vi->elem_type;
  return ElemType::UNDEFINED;
}

ConstLayout const_layout(const Shape& c, const Shape& data) {
  ConstLayout l;
  if (shape_numel(c) == 1) {
    l.kind = ConstLayout::Scalar;
    return l;
  }
  const int64_t off = (int64_t)data.size() - (int64_t)c.size();
  int64_t found = -1, count = 0;
  for (size_t d = 0; d < c.size(); ++d)
    if (c[d] > 1) {
      found = (int64_t)d + off;
      ++count;
    }
  if (count == 1) {
    l.kind = ConstLayout::Channel;
    l.axis = found;
  }
  return l;
}

std::string describe_layout(const ConstLayout& l, const Tensor& c) {
  switch (l.kind) {
    case ConstLayout::Scalar: return "a scalar";
    case ConstLayout::Channel: return fmt::format("a per-channel (axis {}, {} values)", l.axis, c.numel());
    default: return fmt::format("a {} (neither scalar nor per-channel)", shape_str(c.shape()));
  }
}

std::optional<Linear> match_linear(const Graph& g, int idx) {
  const Node& n = g.nodes[idx];
  const bool mul = is_onnx(n, "Mul");
  if (!mul && !is_onnx(n, "Add")) return std::nullopt;
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return std::nullopt;
  const Tensor* c0 = const_input(g, n, 0);
  const Tensor* c1 = const_input(g, n, 1);
  if ((c0 != nullptr) == (c1 != nullptr)) return std::nullopt;  // both or neither constant
  Linear l;
  l.idx = idx;
  l.is_mul = mul;
  l.name = n.name;
  l.c = c0 ? c0 : c1;
  l.cname = c0 ? n.inputs[0] : n.inputs[1];
  l.data = c0 ? n.inputs[1] : n.inputs[0];
  l.out = n.outputs[0];
  if (l.c->type() != ElemType::FLOAT) return std::nullopt;
  const ElemType dt = elem_type_of(g, l.data);
  if (dt != ElemType::FLOAT && dt != ElemType::UNDEFINED) return std::nullopt;
  auto ds = tensor_shape(g, l.data);
  if (!ds) return std::nullopt;
  l.shape = *ds;
  auto os = tensor_shape(g, l.out);
  if (os && *os != l.shape) return std::nullopt;
  const Shape& cs = l.c->shape();
  if (cs.size() > l.shape.size()) return std::nullopt;
  const size_t off = l.shape.size() - cs.size();
  for (size_t d = 0; d < cs.size(); ++d)
    if (cs[d] != 1 && cs[d] != l.shape[d + off]) return std::nullopt;
  l.layout = const_layout(cs, l.shape);
  return l;
}

std::optional<Linear> match_linear_producer(const Graph& g, const std::string& tensor) {
  const int p = g.find_producer(tensor);
  if (p < 0) return std::nullopt;
  return match_linear(g, p);
}

std::vector<double> layout_values(const Tensor& c) { return c.to_double(); }

Tensor channel_const(const std::vector<double>& v, int64_t rank, int64_t axis) {
  std::vector<float> f(v.begin(), v.end());
  if (v.size() == 1) return Tensor::from_vector<float>(rank > 0 ? Shape{1} : Shape{}, f);
  Shape s((size_t)rank, 1);
  s.at((size_t)axis) = (int64_t)v.size();
  return Tensor::from_vector<float>(s, f);
}

namespace {
std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}
}  // namespace

Tensor bcast_const(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
  const size_t r = std::max(a.shape().size(), b.shape().size());
  Shape sa(r, 1), sb(r, 1), so(r, 1);
  std::copy(a.shape().begin(), a.shape().end(), sa.begin() + (r - a.shape().size()));
  std::copy(b.shape().begin(), b.shape().end(), sb.begin() + (r - b.shape().size()));
  for (size_t d = 0; d < r; ++d) {
    if (sa[d] != sb[d] && sa[d] != 1 && sb[d] != 1)
      throw ModelError(fmt::format("constants of shapes {} and {} do not broadcast", shape_str(a.shape()),
                                   shape_str(b.shape())),
                       "this is a streamfold bug");
    so[d] = std::max(sa[d], sb[d]);
  }
  const auto va = a.to_double(), vb = b.to_double();
  const auto ta = strides_of(sa), tb = strides_of(sb), to = strides_of(so);
  std::vector<float> out((size_t)shape_numel(so));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i) {
    int64_t ia = 0, ib = 0, rem = i;
    for (size_t d = 0; d < r; ++d) {
      const int64_t q = rem / to[d];
      rem %= to[d];
      if (sa[d] != 1) ia += q * ta[d];
      if (sb[d] != 1) ib += q * tb[d];
    }
    out[(size_t)i] = (float)f(va[(size_t)ia], vb[(size_t)ib]);
  }
  return Tensor::from_vector<float>(so, out);
}

Tensor fit_rank(const Tensor& c, int64_t rank) {
  if (c.rank() <= rank) return c;
  Shape s(c.shape().end() - rank, c.shape().end());
  return c.reshaped(s);
}

Tensor compress_const(const Tensor& t) {
  Shape s = t.shape();
  std::vector<double> v = t.to_double();
  for (size_t d = 0; d < s.size(); ++d) {
    if (s[d] <= 1) continue;
    const auto st = strides_of(s);
    bool constant = true;
    for (int64_t i = 0; i < (int64_t)v.size() && constant; ++i) {
      const int64_t q = (i / st[d]) % s[d];
      if (q != 0) constant = v[(size_t)i] == v[(size_t)(i - q * st[d])];
    }
    if (!constant) continue;
    std::vector<double> nv;
    nv.reserve(v.size() / (size_t)s[d]);
    for (int64_t i = 0; i < (int64_t)v.size(); ++i)
      if ((i / st[d]) % s[d] == 0) nv.push_back(v[(size_t)i]);
    v = std::move(nv);
    s[d] = 1;
  }
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from_vector<float>(s, f);
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_double())
    if (!std::isfinite(v)) return false;
  return true;
}

std::string add_const(Graph& g, const std::string& base, const Tensor& t) {
  const std::string name = unique_tensor_name(g, base);
  g.set_initializer(name, t);
  return name;
}

void set_node_const(Graph& g, int idx, size_t input, const Tensor& t) {
  const std::string old = g.nodes[idx].inputs.at(input);
  const auto readers = g.find_consumers(old);
  int uses_here = 0;
  for (const auto& in : g.nodes[idx].inputs) uses_here += in == old;
  const bool exclusive = readers.size() == 1 && readers[0] == idx && uses_here == 1 && !is_graph_output(g, old) &&
                         !is_graph_input(g, old) && g.get_initializer(old);
  if (exclusive) {
    g.set_initializer(old, t);  // a new Tensor object: the old buffer is left alone
    return;
  }
  g.nodes[idx].inputs[input] = add_const(g, old.empty() ? "const" : old, t);
}

void refresh_datatypes(Model& m, const std::vector<std::string>& tensors) {
  Graph& g = m.graph;
  const auto& reg = OpRegistry::instance();
  std::deque<int> work;
  // The producer of each tensor (its inputs may have been rewired) and the
  // readers (their input may now be a different tensor).
  for (const auto& t : tensors) {
    const int p = g.find_producer(t);
    if (p >= 0) work.push_back(p);
    for (int c : g.find_consumers(t)) work.push_back(c);
  }
  // Each annotation can only change a bounded number of times in practice;
  // the budget guards against a rule that oscillates.
  size_t budget = 8 * g.nodes.size() + 64;
  while (!work.empty() && budget-- > 0) {
    const int idx = work.front();
    work.pop_front();
    const Node& node = g.nodes[idx];
    const OpDef* def = reg.find(node.op_type, node.domain);
    if (!def) continue;
    DataTypeCtx dc{node, m, {}, {}, {}};
    for (const auto& in : node.inputs) {
      dc.in.push_back(in.empty() ? DataType() : g.get_datatype(in));
      dc.in_value.push_back(in.empty() ? nullptr : g.get_initializer(in));
    }
    for (const auto& o : node.outputs) dc.out_current.push_back(o.empty() ? DataType() : g.get_datatype(o));
    std::vector<DataType> out;
    try {
      out = def->infer_datatype ? def->infer_datatype(dc) : dc.out_current;
    } catch (const StreamfoldError&) {
      continue;  // leave annotations as they are; InferDataTypes reports real problems
    }
    for (size_t k = 0; k < node.outputs.size() && k < out.size(); ++k) {
      const std::string& o = node.outputs[k];
      if (o.empty()) continue;
      DataType dt = out[k];
      if (dt.kind() == DataType::Kind::SCALEDINT) dt = DataType();
      if (g.get_datatype(o) == dt) continue;
      g.set_datatype(o, dt);
      for (int c : g.find_consumers(o)) work.push_back(c);
    }
  }
}

void tidy(Graph& g) {
  remove_unused_tensors(g);
  sort_graph(g);
}

namespace {
// Maps float32 onto uint32 so that the integer order is the float order
// (-inf lowest, +inf highest; NaNs fall outside [key(-inf), key(+inf)]).
uint32_t fkey(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
float funkey(uint32_t k) {
  const uint32_t b = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
}  // namespace

float threshold_preimage(double t, const std::function<float(float)>& f) {
  if (std::isnan(t)) return (float)t;
  const float ninf = -std::numeric_limits<float>::infinity(), pinf = std::numeric_limits<float>::infinity();
  if ((double)f(ninf) >= t) return ninf;
  if (!((double)f(pinf) >= t)) return std::numeric_limits<float>::quiet_NaN();  // never reached: never counts
  // Invariant: f(lo) < t <= f(hi). Monotonicity makes the boundary unique.
  uint32_t lo = fkey(ninf), hi = fkey(pinf);
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if ((double)f(funkey(mid)) >= t) hi = mid;
    else lo = mid;
  }
  return funkey(hi);
}

DataType smallest_type_for(const std::vector<double>& vals) {
  for (double v : vals)
    if (!std::isfinite(v) || v != std::floor(v)) return DataType();
  for (const DataType& t : DataType::all_integer_types()) {
    bool ok = true;
    for (double v : vals) ok = ok && t.allowed(v);
    if (ok) return t;
  }
  return DataType();
}

float no_fuse(float v) {
  volatile float keep = v;
  return keep;
}

std::optional<std::vector<double>> multithreshold_levels(const Graph& g, const std::string& tensor) {
  const int p = g.find_producer(tensor);
  if (p < 0 || !is_multithreshold(g.nodes[p]) || g.nodes[p].inputs.size() < 2) return std::nullopt;
  const Node& n = g.nodes[p];
  const auto ts = tensor_shape(g, n.inputs[1]);
  const ElemType xt = elem_type_of(g, n.inputs[0]);
  if (!ts || ts->size() != 2 || (xt != ElemType::FLOAT && xt != ElemType::UNDEFINED)) return std::nullopt;
  const float s = n.get_float("out_scale", 1.f), b = n.get_float("out_bias", 0.f);
  std::vector<double> levels;
  for (int64_t k = 0; k <= (*ts)[1]; ++k) levels.push_back(no_fuse(no_fuse(s * (float)k) + b));
  return levels;
}

std::string preview(const std::vector<double>& v, size_t n) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < n; ++i) s += (i ? ", " : "") + fmt::format("{:g}", v[i]);
  if (v.size() > n) s += ", ...";
  return s;
}

}  // namespace sf::streamline
