// Small text helpers shared by the per-layer RTL and HLS emitters and the
// stitcher: one place, so every emitted file and JSON sidecar is written and
// quoted the same way.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ir/datatype.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace sf::emit {

// Writes `text` to `p` byte for byte; a failed write is a StreamfoldError naming the file.
void write_text(const std::filesystem::path& p, const std::string& text);
// `s` as a JSON string literal (quotes and backslashes escaped; names and paths only).
std::string json_str(const std::string& s);
// `w` rounded up to whole bytes (AXI stream widths).
inline int pad8(int w) { return (w + 7) / 8 * 8; }
// Node `name` of m's graph; ModelError naming it if there is none.
const Node& node_named(const Model& m, const std::string& name);
// Creates `dir` (and parents); StreamfoldError naming it on failure.
void make_dir(const std::string& dir);
// The embedded library (file name -> text): one file's text or nullptr, and all names.
const std::string* library_text(const std::map<std::string, std::string>& lib, const std::string& name);
std::vector<std::string> library_names(const std::map<std::string, std::string>& lib);
// A weight tensor's values as `wdt` codes in the tensor's order (BIPOLAR -1
// as 0, +1 as 1; other types their integer value), for memory words.
std::vector<int64_t> weight_codes(const Tensor& w, const DataType& wdt);

}  // namespace sf::emit
