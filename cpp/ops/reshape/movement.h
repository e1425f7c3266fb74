// Shared machinery of the data-movement ops (reshape/, transpose/, slice/,
// pad/, concat/, split/, gather/, resize/, argmax/, topk/, reduce/, ...).
// Moving data never looks at values, so the copy kernels work on raw bytes of
// elem_size(): one implementation serves every element type, bool and float16
// included. The few ops that compare or add values use visit_numeric().
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/op.h"

namespace sf::movement {

// Stand-in for "the newest opset" when a model imports none (-1) or 0.
constexpr int64_t kLatestOpset = 1000;

int64_t opset_of(const Model& m);
int64_t opset_of(const ExecCtx& c);

// Maps axis in [-rank, rank) onto [0, rank); anything else is a ModelError
// naming the node and `what` (the attribute, e.g. "axis" or "axes[1]").
int64_t norm_axis(const Node& n, int64_t axis, int64_t rank, const std::string& what);
// Normalizes a list of axes and rejects duplicates.
std::vector<int64_t> norm_axes(const Node& n, const std::vector<int64_t>& axes, int64_t rank,
                               const std::string& what);

// Row-major element strides.
std::vector<int64_t> strides_of(const Shape& s);
int64_t prod(const Shape& s, size_t begin, size_t end);

std::string ints_str(const std::vector<int64_t>& v);  // "[1, -1, 3]"

// out[i_0..i_r] = in[base + sum_d i_d * strides[d]] (element units). Covers
// Transpose (permuted strides), Slice (scaled strides), Expand (0 strides).
void copy_strided(const Tensor& in, int64_t base, const std::vector<int64_t>& strides, Tensor& out);

// out[i_0..i_r] = in[sum_d maps[d][i_d]], where maps hold element offsets
// (index * stride) and a negative entry means "write `fill`" (elem_size bytes,
// may be null when no entry is negative). Covers Pad and nearest Resize.
void copy_mapped(const Tensor& in, const std::vector<std::vector<int64_t>>& maps, const void* fill,
                 Tensor& out);

// The constant value of input i for shape inference. Names the node and the
// input's role when it is absent or computed at run time.
const Tensor& const_input(const InferCtx& c, size_t i, const std::string& role);

// Shape inference helpers for ops whose outputs all equal input 0's datatype.
std::vector<DataType> same_datatype_as_input0(const DataTypeCtx& c);

// Bytes of a single value of type `t` holding `v` (value-converted), for
// fill values given as float attributes.
std::vector<uint8_t> scalar_bytes(ElemType t, double v);

// Calls f(const T* data, int64_t n) with T the element type of `t`; float16 is
// presented as float (converted copy), bool as uint8_t. Used by the ops that
// compare or accumulate (ArgMax, TopK, Reduce*).
template <typename F>
void visit_numeric(const Node& n, const Tensor& t, F&& f) {
  const int64_t cnt = t.numel();
  switch (t.type()) {
    case ElemType::FLOAT: f(static_cast<const float*>(t.raw()), cnt); break;
    case ElemType::DOUBLE: f(static_cast<const double*>(t.raw()), cnt); break;
    case ElemType::FLOAT16: {
      std::vector<float> tmp = t.to_float();
      f(static_cast<const float*>(tmp.data()), cnt);
      break;
    }
    case ElemType::INT8: f(static_cast<const int8_t*>(t.raw()), cnt); break;
    case ElemType::INT16: f(static_cast<const int16_t*>(t.raw()), cnt); break;
    case ElemType::INT32: f(static_cast<const int32_t*>(t.raw()), cnt); break;
    case ElemType::INT64: f(static_cast<const int64_t*>(t.raw()), cnt); break;
    case ElemType::UINT8: case ElemType::BOOL: f(static_cast<const uint8_t*>(t.raw()), cnt); break;
    case ElemType::UINT16: f(static_cast<const uint16_t*>(t.raw()), cnt); break;
    case ElemType::UINT32: f(static_cast<const uint32_t*>(t.raw()), cnt); break;
    case ElemType::UINT64: f(static_cast<const uint64_t*>(t.raw()), cnt); break;
    default:
      op_fail(n, "input of element type " + elem_type_name(t.type()) + " is not supported",
              "feed a numeric tensor");
  }
}

// A strict weak order that also holds with NaN (NaN sorts above everything),
// so std::sort and friends stay well-defined on any input.
template <typename T>
inline bool less_total(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);
  }
  return a < b;
}

}  // namespace sf::movement
