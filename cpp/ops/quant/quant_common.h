// Shared by the QONNX quantizers (Quant, BipolarQuant, Trunc). The reference
// is qonnx's NumPy code, so the helpers reproduce NumPy's exact float
// behaviour: the precision an expression runs in (type promotion), signed
// zeros from np.sign, and the order of each rounding step. Any deviation
// shows up as off-by-one integers on rounding ties in real models.
#pragma once
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace sf::qnt {

enum class RoundingMode { ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN };

// Reads `rounding_mode` (case-insensitive; HALF_EVEN is an alias of ROUND, as
// in qonnx). Unknown names are a ModelError naming the node and the value.
RoundingMode rounding_mode_attr(const Node& n, const char* dflt);

// A 0/1 attribute; anything else is a ModelError.
bool bool_attr(const Node& n, const char* name, bool dflt);

// np.sign: +0.0 for both zeros, NaN for NaN. The +0.0 matters: UP, HALF_UP
// and HALF_DOWN multiply by it, which decides the sign of zero outputs.
template <typename T>
inline T np_sign(T v) {
  if (v > T(0)) return T(1);
  if (v < T(0)) return T(-1);
  if (v == T(0)) return T(0);
  return v;
}

// Each mode spelled the way qonnx spells it in NumPy, in precision T, so ties
// and signed zeros land exactly where qonnx puts them (e.g. HALF_UP adds 0.5
// in T, which rounds 0.49999997f + 0.5f up to 1 in float32).
template <typename T>
inline T apply_rounding(RoundingMode m, T v) {
  static_assert(std::is_floating_point_v<T>);
  switch (m) {
    case RoundingMode::ROUND: return std::nearbyint(v);  // half-to-even in the default FP environment
    case RoundingMode::CEIL: return std::ceil(v);
    case RoundingMode::FLOOR: return std::floor(v);
    case RoundingMode::UP: return np_sign(v) * std::ceil(std::fabs(v));
    case RoundingMode::DOWN: return std::trunc(v);
    case RoundingMode::HALF_UP: return np_sign(v) * std::floor(std::fabs(v) + T(0.5));
    case RoundingMode::HALF_DOWN: return np_sign(v) * std::ceil(std::fabs(v) - T(0.5));
  }
  return v;
}

// Integer limits of a `bw`-bit quantizer as exact doubles; callers convert them
// to their working precision, which is what NumPy's astype(y.dtype) does.
double min_int(bool is_signed, bool narrow, int64_t bw);
double max_int(bool is_signed, bool narrow, int64_t bw);

// qonnx evaluates 2**bitwidth - 1 in the bit width's own dtype, so a float32
// bit width stores the bound rounded to float32 (2^b for b >= 25) even when the
// data runs in float64.
double bound_as_stored(double exact, ElemType bw_type);

// NumPy promotes float32 with these (as strongly typed arrays) to float64;
// an expression touching one of them runs in double in qonnx.
bool promotes_to_double(ElemType t);

template <typename T>
std::vector<T> values_as(const Tensor& t) {
  if constexpr (std::is_same_v<T, float>) {
    if (t.type() == ElemType::FLOAT) {
      const float* p = t.data<float>();
      return std::vector<float>(p, p + t.numel());
    }
  }
  if constexpr (std::is_same_v<T, double>) {
    if (t.type() == ElemType::DOUBLE) {
      const double* p = t.data<double>();
      return std::vector<double>(p, p + t.numel());
    }
  }
  std::vector<double> d = t.to_double();
  return std::vector<T>(d.begin(), d.end());
}

// Read access in precision T without copying when the storage already is T.
template <typename T>
class Values {
 public:
  explicit Values(const Tensor& t) {
    if (t.type() == ElemTypeOf<T>::value) {
      p_ = t.data<T>();
    } else {
      own_ = values_as<T>(t);
      p_ = own_.data();
    }
  }
  T operator[](int64_t i) const { return p_[i]; }

 private:
  std::vector<T> own_;
  const T* p_ = nullptr;
};

// A bit width input: one element, finite, integral, in [1, max_bits].
int64_t bitwidth_value(const Node& n, const Tensor& t, const std::string& field, int64_t max_bits = 64);
// Every element finite and > 0 (scales).
void check_positive_scale(const Node& n, const Tensor& t, const std::string& field);
// Every element finite (zero points).
void check_finite(const Node& n, const Tensor& t, const std::string& field);

// Shapes of per-tensor / per-channel parameters must broadcast onto the data
// shape without growing it; returns nothing, fails naming the field.
void check_broadcasts_to(const Node& n, const Shape& data, const Shape& param, const std::string& field);

// True when `t` is known (non-null) and every element equals v.
bool all_equal(const Tensor* t, double v);

// The integer datatype of a `bw`-bit quantizer. With bipolar_1bit, a signed
// 1-bit quantizer is BIPOLAR (Quant's special case); otherwise INT1.
DataType int_datatype(bool is_signed, int64_t bw, bool bipolar_1bit);

// Output shape of elementwise quantizers: the data shape, after checking that
// every parameter whose shape is known broadcasts onto it.
void infer_same_shape(InferCtx& c, const std::vector<std::pair<size_t, std::string>>& params);

}  // namespace sf::qnt
