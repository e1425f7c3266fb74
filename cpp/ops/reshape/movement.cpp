#include "ops/reshape/movement.h"

#include <cstring>
#include <fmt/format.h>

namespace sf::movement {

int64_t opset_of(const Model& m) {
  int64_t v = m.opset_version("");
  if (v <= 0) v = m.opset_version("ai.onnx");
  return v <= 0 ? kLatestOpset : v;
}

int64_t opset_of(const ExecCtx& c) { return c.onnx_opset <= 0 ? kLatestOpset : c.onnx_opset; }

int64_t norm_axis(const Node& n, int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    op_fail(n, fmt::format("{} = {} is out of range for an input of rank {}", what, axis, rank),
            fmt::format("use a value in [{}, {}]", -rank, rank - 1));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> norm_axes(const Node& n, const std::vector<int64_t>& axes, int64_t rank,
                               const std::string& what) {
  std::vector<int64_t> r;
  std::vector<bool> seen((size_t)std::max<int64_t>(rank, 0), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = norm_axis(n, axes[i], rank, fmt::format("{}[{}]", what, i));
    if (seen[a])
      op_fail(n, fmt::format("{} = {} names axis {} twice", what, ints_str(axes), a),
              fmt::format("list every axis at most once in '{}'", what));
    seen[a] = true;
    r.push_back(a);
  }
  return r;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + "]";
}

namespace {

// Fixed-size element moves compile to single loads/stores.
template <size_t E>
struct Mover {
  static void one(uint8_t* dst, const uint8_t* src) { std::memcpy(dst, src, E); }
};

template <size_t E>
void strided_rec(const uint8_t* src, int64_t off, uint8_t*& dst, const Shape& shape,
                 const std::vector<int64_t>& strides, size_t d) {
  const int64_t n = shape[d], st = strides[d];
  if (d + 1 == shape.size()) {
    if (st == 1) {
      std::memcpy(dst, src + off * (int64_t)E, (size_t)n * E);
      dst += n * E;
    } else {
      for (int64_t i = 0; i < n; ++i, dst += E) Mover<E>::one(dst, src + (off + i * st) * (int64_t)E);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) strided_rec<E>(src, off + i * st, dst, shape, strides, d + 1);
}

template <size_t E>
void mapped_rec(const uint8_t* src, int64_t off, bool fill_here, uint8_t*& dst,
                const std::vector<std::vector<int64_t>>& maps, const uint8_t* fill, size_t d) {
  const auto& m = maps[d];
  const bool last = d + 1 == maps.size();
  for (int64_t v : m) {
    const bool f = fill_here || v < 0;
    if (last) {
      Mover<E>::one(dst, f ? fill : src + (off + v) * (int64_t)E);
      dst += E;
    } else {
      mapped_rec<E>(src, f ? 0 : off + v, f, dst, maps, fill, d + 1);
    }
  }
}

template <typename Fn>
void dispatch_size(size_t esz, Fn&& fn) {
  switch (esz) {
    case 1: fn(std::integral_constant<size_t, 1>{}); break;
    case 2: fn(std::integral_constant<size_t, 2>{}); break;
    case 4: fn(std::integral_constant<size_t, 4>{}); break;
    case 8: fn(std::integral_constant<size_t, 8>{}); break;
    default: throw ModelError(fmt::format("unsupported element size {}", esz));
  }
}

}  // namespace

void copy_strided(const Tensor& in, int64_t base, const std::vector<int64_t>& strides, Tensor& out) {
  const Shape& shape = out.shape();
  if (out.numel() == 0) return;
  const size_t esz = elem_size(in.type());
  const auto* src = static_cast<const uint8_t*>(in.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  if (shape.empty()) {
    std::memcpy(dst, src + base * (int64_t)esz, esz);
    return;
  }
  dispatch_size(esz, [&](auto e) { strided_rec<decltype(e)::value>(src, base, dst, shape, strides, 0); });
}

void copy_mapped(const Tensor& in, const std::vector<std::vector<int64_t>>& maps, const void* fill,
                 Tensor& out) {
  if (out.numel() == 0) return;
  const size_t esz = elem_size(in.type());
  const auto* src = static_cast<const uint8_t*>(in.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  if (maps.empty()) {
    std::memcpy(dst, src, esz);
    return;
  }
  std::vector<uint8_t> zero(esz, 0);
  const auto* f = fill ? static_cast<const uint8_t*>(fill) : zero.data();
  dispatch_size(esz, [&](auto e) { mapped_rec<decltype(e)::value>(src, 0, false, dst, maps, f, 0); });
}

const Tensor& const_input(const InferCtx& c, size_t i, const std::string& role) {
  if (!c.has_input(i))
    op_fail(c.node, fmt::format("input {} ('{}') is missing", i, role),
            fmt::format("give the node its '{}' input", role));
  if (i >= c.in.size() || c.in[i].value == nullptr)
    op_fail(c.node,
            fmt::format("input {} ('{}', tensor '{}') must be a constant to infer the output shape", i, role,
                        c.node.inputs[i]),
            "make it an initializer (fold constants first, e.g. with FoldConstants) or export the model "
            "with static shapes");
  return *c.in[i].value;
}

std::vector<DataType> same_datatype_as_input0(const DataTypeCtx& c) {
  DataType dt = c.in.empty() ? DataType::float32() : c.in[0];
  return std::vector<DataType>(c.node.outputs.size(), dt);
}

std::vector<uint8_t> scalar_bytes(ElemType t, double v) {
  Tensor one = Tensor::scalar<double>(v).cast(t);
  const auto* p = static_cast<const uint8_t*>(one.raw());
  return std::vector<uint8_t>(p, p + elem_size(t));
}

}  // namespace sf::movement
