// QONNX datatypes (the `finn_datatype` annotation): what values a tensor may
// hold, independent of its storage element type (which is float32 almost
// always in QONNX files).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sf {

class DataType {
 public:
  enum class Kind { FLOAT32, FLOAT16, BINARY, BIPOLAR, TERNARY, UINT, INT, FIXED, SCALEDINT };

  DataType() = default;  // FLOAT32
  static DataType float32() { return DataType(); }
  static DataType binary() { return DataType(Kind::BINARY, 1); }
  static DataType bipolar() { return DataType(Kind::BIPOLAR, 1); }
  static DataType ternary() { return DataType(Kind::TERNARY, 2); }
  static DataType uint(int bits);              // UINT1 is canonically BINARY
  static DataType sint(int bits);              // INTn
  static DataType fixed(int width, int intw);  // FIXED<w,i>
  static DataType scaledint(int bits);         // SCALEDINT<n>
  // Parses canonical names ("INT4", "UINT8", "BINARY", "FIXED<8,4>", ...).
  // Throws ModelError naming the string for anything else.
  static DataType from_name(const std::string& name);
  static bool is_valid_name(const std::string& name);
  // Smallest integer type holding every integer in [lo, hi]; prefers unsigned
  // (BINARY, UINTn), then BIPOLAR (only for the single value -1), TERNARY,
  // INTn. Falls back to FLOAT32 past 64 bits.
  static DataType smallest_for_range(double lo, double hi);
  // Every integer type, in the preference order used above.
  static std::vector<DataType> all_integer_types();

  Kind kind() const { return kind_; }
  std::string name() const;
  int bitwidth() const;
  double min() const;
  double max() const;
  bool is_integer() const;      // BINARY, BIPOLAR, TERNARY, UINTn, INTn
  bool is_fixed_point() const { return kind_ == Kind::FIXED; }
  bool is_float() const { return kind_ == Kind::FLOAT32 || kind_ == Kind::FLOAT16; }
  bool is_signed() const;       // min() < 0
  double scale_factor() const;  // 2^-(w-i) for FIXED, 1 otherwise
  int int_bits() const { return int_bits_; }
  // Whether v is a legal value of this type (integer-ness, range, bipolar set,
  // fixed-point grid). Floats accept everything finite or not.
  bool allowed(double v) const;

  bool operator==(const DataType& o) const {
    return kind_ == o.kind_ && bits_ == o.bits_ && int_bits_ == o.int_bits_;
  }
  bool operator!=(const DataType& o) const { return !(*this == o); }

 private:
  DataType(Kind k, int bits, int int_bits = 0) : kind_(k), bits_(bits), int_bits_(int_bits) {}
  Kind kind_ = Kind::FLOAT32;
  int bits_ = 32;
  int int_bits_ = 0;
};

}  // namespace sf
