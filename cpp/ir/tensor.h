// A dense tensor: element type, shape and a shared, possibly foreign, buffer.
// The buffer may belong to a NumPy array (zero-copy in) and may be handed to
// NumPy again (zero-copy out): `owner` keeps whichever side alive.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace sf {

using Shape = std::vector<int64_t>;

// Numbering is ONNX TensorProto.DataType, so import/export is a plain cast.
enum class ElemType : int32_t {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6,
  INT64 = 7, STRING = 8, BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13,
};

size_t elem_size(ElemType t);           // bytes per element; throws for STRING/UNDEFINED
std::string elem_type_name(ElemType t); // "float32", "int64", ... (NumPy spelling)
bool is_float_type(ElemType t);         // FLOAT, DOUBLE, FLOAT16
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "(1, 3, 32, 32)"

template <typename T> struct ElemTypeOf;
template <> struct ElemTypeOf<float> { static constexpr ElemType value = ElemType::FLOAT; };
template <> struct ElemTypeOf<double> { static constexpr ElemType value = ElemType::DOUBLE; };
template <> struct ElemTypeOf<int64_t> { static constexpr ElemType value = ElemType::INT64; };
template <> struct ElemTypeOf<int32_t> { static constexpr ElemType value = ElemType::INT32; };
template <> struct ElemTypeOf<int16_t> { static constexpr ElemType value = ElemType::INT16; };
template <> struct ElemTypeOf<int8_t> { static constexpr ElemType value = ElemType::INT8; };
template <> struct ElemTypeOf<uint8_t> { static constexpr ElemType value = ElemType::UINT8; };
template <> struct ElemTypeOf<uint16_t> { static constexpr ElemType value = ElemType::UINT16; };
template <> struct ElemTypeOf<uint32_t> { static constexpr ElemType value = ElemType::UINT32; };
template <> struct ElemTypeOf<uint64_t> { static constexpr ElemType value = ElemType::UINT64; };
template <> struct ElemTypeOf<bool> { static constexpr ElemType value = ElemType::BOOL; };

class Tensor {
 public:
  Tensor() = default;
  // Fresh zero-filled buffer.
  Tensor(ElemType type, Shape shape);
  // Wrap foreign memory; `owner` keeps it alive (e.g. a NumPy array).
  static Tensor wrap(ElemType type, Shape shape, void* data, std::shared_ptr<void> owner);
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& v) {
    Tensor t(ElemTypeOf<T>::value, shape);
    if ((int64_t)v.size() != t.numel()) throw_size_mismatch(v.size(), t.numel());
    // Element-wise: std::vector<bool> has no contiguous data().
    T* d = static_cast<T*>(t.raw());
    for (size_t i = 0; i < v.size(); ++i) d[i] = v[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) { return from_vector<T>({}, {v}); }

  ElemType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return (int64_t)shape_.size(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return (size_t)numel() * elem_size(type_); }
  bool defined() const { return type_ != ElemType::UNDEFINED; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  const std::shared_ptr<void>& owner() const { return owner_; }

  // Typed access; throws InputError if T does not match the element type.
  template <typename T> T* data() { check_type(ElemTypeOf<T>::value); return static_cast<T*>(data_); }
  template <typename T> const T* data() const { check_type(ElemTypeOf<T>::value); return static_cast<const T*>(data_); }

  // Same data, new shape (numel must match); shares the buffer.
  Tensor reshaped(const Shape& s) const;
  Tensor clone() const;                   // deep copy
  Tensor cast(ElemType to) const;         // value conversion (float16 handled)
  std::vector<double> to_double() const;  // any numeric type
  std::vector<int64_t> to_int64() const;  // any numeric type, truncating floats
  std::vector<float> to_float() const;
  double item_double() const;             // numel must be 1
  int64_t item_int() const;

 private:
  void check_type(ElemType t) const;
  [[noreturn]] static void throw_size_mismatch(size_t got, int64_t want);
  ElemType type_ = ElemType::UNDEFINED;
  Shape shape_;
  std::shared_ptr<void> owner_;
  void* data_ = nullptr;
};

// IEEE half <-> float, round-to-nearest-even.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

}  // namespace sf
