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

}  // namespace sf::emit
