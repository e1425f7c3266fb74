#include "ir/datatype.h"

#include <cmath>
#include <fmt/format.h>
#include <regex>

#include "ir/errors.h"

namespace sf {

DataType DataType::uint(int bits) {
  if (bits < 1 || bits > 64) throw ModelError(fmt::format("UINT{} is out of range", bits), "use 1..64 bits");
  return bits == 1 ? binary() : DataType(Kind::UINT, bits);
}

DataType DataType::sint(int bits) {
  if (bits < 1 || bits > 64) throw ModelError(fmt::format("INT{} is out of range", bits), "use 1..64 bits");
  return DataType(Kind::INT, bits);
}

DataType DataType::fixed(int width, int intw) {
  if (width < 1 || width > 64 || intw < 0 || intw > width)
    throw ModelError(fmt::format("FIXED<{},{}> is not a valid fixed-point type", width, intw),
                     "width must be 1..64 and integer bits 0..width");
  return DataType(Kind::FIXED, width, intw);
}

DataType DataType::scaledint(int bits) {
  if (bits < 1 || bits > 64) throw ModelError(fmt::format("SCALEDINT<{}> is out of range", bits));
  return DataType(Kind::SCALEDINT, bits);
}

bool DataType::is_valid_name(const std::string& name) {
  try {
    from_name(name);
    return true;
  } catch (const ModelError&) {
    return false;
  }
}

DataType DataType::from_name(const std::string& name) {
  if (name == "FLOAT32") return DataType();
  if (name == "FLOAT16") return DataType(Kind::FLOAT16, 16);
  if (name == "BINARY") return binary();
  if (name == "BIPOLAR") return bipolar();
  if (name == "TERNARY") return ternary();
  static const std::regex re_int("^(U?)INT([0-9]+)$");
  static const std::regex re_fixed("^FIXED<([0-9]+),\\s*([0-9]+)>$");
  static const std::regex re_scaled("^SCALEDINT<([0-9]+)>$");
  std::smatch m;
  auto bad = [&]() {
    return ModelError(fmt::format("'{}' is not a QONNX datatype", name),
                      "use BINARY, BIPOLAR, TERNARY, INTn, UINTn (n = 1..64), FIXED<w,i>, "
                      "SCALEDINT<n>, FLOAT32 or FLOAT16");
  };
  try {
    if (std::regex_match(name, m, re_int)) {
      int b = std::stoi(m[2]);
      if (b < 1 || b > 64) throw bad();
      return m[1].length() ? uint(b) : sint(b);
    }
    if (std::regex_match(name, m, re_fixed)) return fixed(std::stoi(m[1]), std::stoi(m[2]));
    if (std::regex_match(name, m, re_scaled)) return scaledint(std::stoi(m[1]));
  } catch (const std::out_of_range&) {
    throw bad();
  } catch (const ModelError&) {
    throw bad();
  }
  throw bad();
}

std::string DataType::name() const {
  switch (kind_) {
    case Kind::FLOAT32: return "FLOAT32";
    case Kind::FLOAT16: return "FLOAT16";
    case Kind::BINARY: return "BINARY";
    case Kind::BIPOLAR: return "BIPOLAR";
    case Kind::TERNARY: return "TERNARY";
    case Kind::UINT: return fmt::format("UINT{}", bits_);
    case Kind::INT: return fmt::format("INT{}", bits_);
    case Kind::FIXED: return fmt::format("FIXED<{},{}>", bits_, int_bits_);
    case Kind::SCALEDINT: return fmt::format("SCALEDINT<{}>", bits_);
  }
  return "FLOAT32";
}

int DataType::bitwidth() const { return bits_; }

double DataType::min() const {
  switch (kind_) {
    case Kind::FLOAT32: return -3.4028234663852886e38;
    case Kind::FLOAT16: return -65504.0;
    case Kind::BINARY: return 0;
    case Kind::BIPOLAR: return -1;
    case Kind::TERNARY: return -1;
    case Kind::UINT: return 0;
    case Kind::INT: case Kind::SCALEDINT: return -std::ldexp(1.0, bits_ - 1);
    case Kind::FIXED: return -std::ldexp(1.0, bits_ - 1) * scale_factor();
  }
  return 0;
}

double DataType::max() const {
  switch (kind_) {
    case Kind::FLOAT32: return 3.4028234663852886e38;
    case Kind::FLOAT16: return 65504.0;
    case Kind::BINARY: case Kind::BIPOLAR: case Kind::TERNARY: return 1;
    case Kind::UINT: return std::ldexp(1.0, bits_) - 1;
    case Kind::INT: case Kind::SCALEDINT: return std::ldexp(1.0, bits_ - 1) - 1;
    case Kind::FIXED: return (std::ldexp(1.0, bits_ - 1) - 1) * scale_factor();
  }
  return 0;
}

bool DataType::is_integer() const {
  return kind_ == Kind::BINARY || kind_ == Kind::BIPOLAR || kind_ == Kind::TERNARY ||
         kind_ == Kind::UINT || kind_ == Kind::INT;
}

bool DataType::is_signed() const { return min() < 0; }

double DataType::scale_factor() const {
  return kind_ == Kind::FIXED ? std::ldexp(1.0, -(bits_ - int_bits_)) : 1.0;
}

bool DataType::allowed(double v) const {
  switch (kind_) {
    case Kind::FLOAT32: case Kind::FLOAT16: return true;
    case Kind::BIPOLAR: return v == -1.0 || v == 1.0;
    case Kind::FIXED: {
      double q = v / scale_factor();
      return std::isfinite(v) && q == std::round(q) && v >= min() && v <= max();
    }
    case Kind::SCALEDINT: return std::isfinite(v);  // any scaled value; cost estimation only
    default: return std::isfinite(v) && v == std::round(v) && v >= min() && v <= max();
  }
}

std::vector<DataType> DataType::all_integer_types() {
  std::vector<DataType> r;
  r.push_back(binary());
  for (int b = 2; b <= 64; ++b) r.push_back(uint(b));
  r.push_back(bipolar());
  r.push_back(ternary());
  for (int b = 1; b <= 64; ++b) r.push_back(sint(b));
  return r;
}

DataType DataType::smallest_for_range(double lo, double hi) {
  if (lo > hi) std::swap(lo, hi);
  for (const DataType& t : all_integer_types()) {
    // BIPOLAR has no zero, so it holds no interval wider than one value:
    // [-1, 1] needs TERNARY. (qonnx's get_smallest_possible checks a single
    // value, which is the lo == hi case here.)
    if (t.kind_ == Kind::BIPOLAR) {
      if (lo == hi && t.allowed(lo)) return t;
      continue;
    }
    if (lo >= t.min() && hi <= t.max()) return t;
  }
  return DataType();
}

}  // namespace sf
