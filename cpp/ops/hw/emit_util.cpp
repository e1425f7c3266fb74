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

const Node& node_named(const Model& m, const std::string& name) {
  const int idx = m.graph.find_node(name);
  if (idx < 0) throw ModelError(fmt::format("no node named '{}'", name), "check the node name", name);
  return m.graph.nodes[(size_t)idx];
}

void make_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StreamfoldError(fmt::format("cannot create {}: {}", dir, ec.message()), "check the output folder");
}

const std::string* library_text(const std::map<std::string, std::string>& lib, const std::string& name) {
  auto it = lib.find(name);
  return it == lib.end() ? nullptr : &it->second;
}

std::vector<std::string> library_names(const std::map<std::string, std::string>& lib) {
  std::vector<std::string> v;
  for (const auto& kv : lib) v.push_back(kv.first);
  return v;
}

std::vector<int64_t> weight_codes(const Tensor& w, const DataType& wdt) {
  const bool bipolar = wdt.kind() == DataType::Kind::BIPOLAR;
  std::vector<int64_t> codes;
  codes.reserve((size_t)w.numel());
  for (double v : w.to_double()) codes.push_back(bipolar ? (v > 0 ? 1 : 0) : (int64_t)v);
  return codes;
}

}  // namespace sf::emit
