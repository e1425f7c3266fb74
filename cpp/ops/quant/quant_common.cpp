#include "ops/quant/quant_common.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "exec/broadcast.h"

namespace sf::qnt {

namespace {
const char* const kModeNames[] = {"ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"};
}

RoundingMode rounding_mode_attr(const Node& n, const char* dflt) {
  std::string s = n.get_string("rounding_mode", dflt);
  std::string u = s;
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char ch) { return (char)std::toupper(ch); });
  if (u == "HALF_EVEN") return RoundingMode::ROUND;
  for (int i = 0; i < 7; ++i)
    if (u == kModeNames[i]) return (RoundingMode)i;
  op_fail(n, fmt::format("rounding_mode '{}' is not a known rounding mode", s),
          "use one of ROUND (half-to-even), CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN (case-insensitive)");
}

bool bool_attr(const Node& n, const char* name, bool dflt) {
  int64_t v = n.get_int(name, dflt ? 1 : 0);
  if (v != 0 && v != 1)
    op_fail(n, fmt::format("attribute '{}' = {} must be 0 or 1", name, v), fmt::format("set {} to 0 or 1", name));
  return v == 1;
}

// ldexp keeps the bounds exact; converting them to the working precision then
// rounds once, as NumPy's astype does.
double min_int(bool is_signed, bool narrow, int64_t bw) {
  if (!is_signed) return 0.0;
  double m = -std::ldexp(1.0, (int)(bw - 1));
  return narrow ? m + 1.0 : m;
}

double max_int(bool is_signed, bool narrow, int64_t bw) {
  if (is_signed) return std::ldexp(1.0, (int)(bw - 1)) - 1.0;
  return std::ldexp(1.0, (int)bw) - (narrow ? 2.0 : 1.0);
}

double bound_as_stored(double exact, ElemType bw_type) {
  if (bw_type == ElemType::FLOAT || bw_type == ElemType::FLOAT16) return (double)(float)exact;
  return exact;
}

bool promotes_to_double(ElemType t) {
  switch (t) {
    case ElemType::DOUBLE:
    case ElemType::INT32:
    case ElemType::UINT32:
    case ElemType::INT64:
    case ElemType::UINT64: return true;
    default: return false;
  }
}

int64_t bitwidth_value(const Node& n, const Tensor& t, const std::string& field, int64_t max_bits) {
  if (t.numel() != 1)
    op_fail(n, fmt::format("{} must be a scalar, but has shape {}", field, shape_str(t.shape())),
            "a quantizer has one bit width; give it as a scalar initializer");
  double v = t.item_double();
  if (!std::isfinite(v) || v != std::floor(v))
    op_fail(n, fmt::format("{} = {} is not an integer", field, v), "bit widths are whole numbers of bits");
  if (v < 1 || v > (double)max_bits)
    op_fail(n, fmt::format("{} = {} is out of range", field, v),
            fmt::format("bit widths must be between 1 and {}", max_bits));
  return (int64_t)v;
}

void check_positive_scale(const Node& n, const Tensor& t, const std::string& field) {
  std::vector<double> v = t.to_double();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]) || v[i] <= 0)
      op_fail(n, fmt::format("{} has the value {} at flat index {}", field, v[i], i),
              "scales must be finite and > 0; check the exported quantizer parameters");
}

void check_finite(const Node& n, const Tensor& t, const std::string& field) {
  std::vector<double> v = t.to_double();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      op_fail(n, fmt::format("{} has the non-finite value {} at flat index {}", field, v[i], i),
              "zero points must be finite");
}

void check_broadcasts_to(const Node& n, const Shape& data, const Shape& param, const std::string& field) {
  bool ok = param.size() <= data.size();
  for (size_t k = 0; ok && k < param.size(); ++k) {
    int64_t d = data[data.size() - param.size() + k];
    ok = param[k] == 1 || param[k] == d;
  }
  if (!ok)
    op_fail(n, fmt::format("{} of shape {} does not broadcast to the input shape {}", field, shape_str(param),
                           shape_str(data)),
            "use a scalar for per-tensor or a shape like (C,1,1) (NCHW) / (C,) (channels-last) for per-channel");
}

bool all_equal(const Tensor* t, double v) {
  if (!t) return false;
  for (double x : t->to_double())
    if (x != v) return false;
  return true;
}

DataType int_datatype(bool is_signed, int64_t bw, bool bipolar_1bit) {
  if (bw == 1 && is_signed && bipolar_1bit) return DataType::bipolar();
  return is_signed ? DataType::sint((int)bw) : DataType::uint((int)bw);
}

void infer_same_shape(InferCtx& c, const std::vector<std::pair<size_t, std::string>>& params) {
  const Shape& x = c.shape(0);
  for (const auto& [i, field] : params)
    if (c.has_input(i) && c.in[i].shape) check_broadcasts_to(c.node, x, *c.in[i].shape, field);
  c.set_out(0, ElemType::FLOAT, x);
}

}  // namespace sf::qnt
