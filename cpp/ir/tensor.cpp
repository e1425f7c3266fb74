#include "ir/tensor.h"

#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include "ir/errors.h"

namespace sf {

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::FLOAT: case ElemType::INT32: case ElemType::UINT32: return 4;
    case ElemType::DOUBLE: case ElemType::INT64: case ElemType::UINT64: return 8;
    case ElemType::INT16: case ElemType::UINT16: case ElemType::FLOAT16: return 2;
    case ElemType::INT8: case ElemType::UINT8: case ElemType::BOOL: return 1;
    default:
      throw ModelError(fmt::format("tensor element type {} is not supported", elem_type_name(t)),
                       "streamfold handles numeric and bool tensors only");
  }
}

std::string elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::FLOAT: return "float32";
    case ElemType::DOUBLE: return "float64";
    case ElemType::FLOAT16: return "float16";
    case ElemType::INT8: return "int8";
    case ElemType::INT16: return "int16";
    case ElemType::INT32: return "int32";
    case ElemType::INT64: return "int64";
    case ElemType::UINT8: return "uint8";
    case ElemType::UINT16: return "uint16";
    case ElemType::UINT32: return "uint32";
    case ElemType::UINT64: return "uint64";
    case ElemType::BOOL: return "bool";
    case ElemType::STRING: return "string";
    case ElemType::UNDEFINED: return "undefined";
  }
  return fmt::format("onnx-type-{}", (int)t);
}

bool is_float_type(ElemType t) {
  return t == ElemType::FLOAT || t == ElemType::DOUBLE || t == ElemType::FLOAT16;
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  if (s.size() == 1) r += ",";
  return r + ")";
}

Tensor::Tensor(ElemType type, Shape shape) : type_(type), shape_(std::move(shape)) {
  for (auto d : shape_)
    if (d < 0) throw ModelError(fmt::format("negative dimension in tensor shape {}", shape_str(shape_)));
  size_t n = std::max<size_t>(nbytes(), 1);
  // calloc: zero-filled, and large buffers come straight from mmap'ed zero pages.
  void* p = std::calloc(n, 1);
  if (!p) throw StreamfoldError(fmt::format("out of memory allocating {} bytes", n));
  owner_ = std::shared_ptr<void>(p, std::free);
  data_ = p;
}

Tensor Tensor::wrap(ElemType type, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

void Tensor::check_type(ElemType t) const {
  if (t != type_)
    throw InputError(fmt::format("tensor holds {} but {} was requested", elem_type_name(type_), elem_type_name(t)),
                     "cast the tensor first (Tensor::cast)");
}

void Tensor::throw_size_mismatch(size_t got, int64_t want) {
  throw ModelError(fmt::format("{} values given for a tensor of {} elements", got, want));
}

Tensor Tensor::reshaped(const Shape& s) const {
  if (shape_numel(s) != numel())
    throw ModelError(fmt::format("cannot reshape {} to {}", shape_str(shape_), shape_str(s)));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(type_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

namespace {
// Reads element i of any numeric type as T.
template <typename T>
T read_as(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.type()) {
    case ElemType::FLOAT: return (T)static_cast<const float*>(p)[i];
    case ElemType::DOUBLE: return (T)static_cast<const double*>(p)[i];
    case ElemType::FLOAT16: return (T)half_to_float(static_cast<const uint16_t*>(p)[i]);
    case ElemType::INT8: return (T)static_cast<const int8_t*>(p)[i];
    case ElemType::INT16: return (T)static_cast<const int16_t*>(p)[i];
    case ElemType::INT32: return (T)static_cast<const int32_t*>(p)[i];
    case ElemType::INT64: return (T)static_cast<const int64_t*>(p)[i];
    case ElemType::UINT8: return (T)static_cast<const uint8_t*>(p)[i];
    case ElemType::UINT16: return (T)static_cast<const uint16_t*>(p)[i];
    case ElemType::UINT32: return (T)static_cast<const uint32_t*>(p)[i];
    case ElemType::UINT64: return (T)static_cast<const uint64_t*>(p)[i];
    case ElemType::BOOL: return (T)(static_cast<const uint8_t*>(p)[i] != 0);
    default: throw ModelError("non-numeric tensor cannot be converted");
  }
}

template <typename S>
void write_all(Tensor& out, const Tensor& in) {
  S* o = static_cast<S*>(out.raw());
  const int64_t n = in.numel();
  // Float -> int conversion truncates toward zero, like NumPy/onnxruntime Cast.
  if (in.type() == ElemType::DOUBLE) {
    for (int64_t i = 0; i < n; ++i) o[i] = (S)static_cast<const double*>(in.raw())[i];
  } else if (in.type() == ElemType::INT64) {
    for (int64_t i = 0; i < n; ++i) o[i] = (S)static_cast<const int64_t*>(in.raw())[i];
  } else if (in.type() == ElemType::UINT64) {
    for (int64_t i = 0; i < n; ++i) o[i] = (S)static_cast<const uint64_t*>(in.raw())[i];
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = (S)read_as<double>(in, i);
  }
}
}  // namespace

Tensor Tensor::cast(ElemType to) const {
  if (to == type_) return clone();
  Tensor out(to, shape_);
  const int64_t n = numel();
  switch (to) {
    case ElemType::FLOAT: write_all<float>(out, *this); break;
    case ElemType::DOUBLE: write_all<double>(out, *this); break;
    case ElemType::INT8: write_all<int8_t>(out, *this); break;
    case ElemType::INT16: write_all<int16_t>(out, *this); break;
    case ElemType::INT32: write_all<int32_t>(out, *this); break;
    case ElemType::INT64: write_all<int64_t>(out, *this); break;
    case ElemType::UINT8: write_all<uint8_t>(out, *this); break;
    case ElemType::UINT16: write_all<uint16_t>(out, *this); break;
    case ElemType::UINT32: write_all<uint32_t>(out, *this); break;
    case ElemType::UINT64: write_all<uint64_t>(out, *this); break;
    case ElemType::BOOL: {
      uint8_t* o = static_cast<uint8_t*>(out.raw());
      for (int64_t i = 0; i < n; ++i) o[i] = read_as<double>(*this, i) != 0.0;
      break;
    }
    case ElemType::FLOAT16: {
      uint16_t* o = static_cast<uint16_t*>(out.raw());
      for (int64_t i = 0; i < n; ++i) o[i] = float_to_half(read_as<float>(*this, i));
      break;
    }
    default:
      throw ModelError(fmt::format("cannot cast to {}", elem_type_name(to)));
  }
  return out;
}

std::vector<double> Tensor::to_double() const {
  std::vector<double> v((size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = read_as<double>(*this, i);
  return v;
}

std::vector<float> Tensor::to_float() const {
  std::vector<float> v((size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = read_as<float>(*this, i);
  return v;
}

std::vector<int64_t> Tensor::to_int64() const {
  std::vector<int64_t> v((size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = read_as<int64_t>(*this, i);
  return v;
}

double Tensor::item_double() const {
  if (numel() != 1)
    throw ModelError(fmt::format("expected a single value, got a tensor of shape {}", shape_str(shape_)));
  return read_as<double>(*this, 0);
}

int64_t Tensor::item_int() const {
  if (numel() != 1)
    throw ModelError(fmt::format("expected a single value, got a tensor of shape {}", shape_str(shape_)));
  return read_as<int64_t>(*this, 0);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: value = man * 2^-24
    float v = std::ldexp((float)man, -24);
    return sign ? -v : v;
  }
  uint32_t bits;
  if (exp == 31) bits = sign | 0x7f800000u | (man << 13);  // inf / nan
  else bits = sign | ((exp + 112) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = (x >> 16) & 0x8000;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
  if (absx >= 0x477ff000u) return sign | 0x7c00;  // rounds to inf
  if (absx < 0x38800000u) {                      // subnormal half
    // value / 2^-24, rounded half-to-even
    float v;
    std::memcpy(&v, &absx, 4);
    float m = std::nearbyint(std::ldexp(v, 24));
    return sign | (uint16_t)m;
  }
  uint32_t mant = absx & 0x7fffff, e = (absx >> 23) - 112;
  uint32_t h = (e << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // carry may bump exponent: fine
  return sign | (uint16_t)h;
}

}  // namespace sf
