#include "ops/hw/emit_util.h"

#include <fmt/format.h>
#include <fstream>

#include "ir/errors.h"

namespace sf::emit {

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw StreamfoldError(fmt::format("cannot write {}", p.string()), "check that the folder is writable");
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    o += ch;
  }
  return o + "\"";
}

std::vector<int64_t> weight_codes(const Tensor& w, const DataType& wdt) {
  const bool bipolar = wdt.kind() == DataType::Kind::BIPOLAR;
  std::vector<int64_t> codes;
  codes.reserve((size_t)w.numel());
  for (double v : w.to_double()) codes.push_back(bipolar ? (v > 0 ? 1 : 0) : (int64_t)v);
  return codes;
}

}  // namespace sf::emit
