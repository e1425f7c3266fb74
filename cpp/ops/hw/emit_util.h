// Small text helpers shared by the per-layer RTL and HLS emitters and the
// stitcher: one place, so every emitted file and JSON sidecar is written and
// quoted the same way.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ir/datatype.h"
#include "ir/tensor.h"

namespace sf::emit {

// Writes `text` to `p` byte for byte; a failed write is a StreamfoldError naming the file.
void write_text(const std::filesystem::path& p, const std::string& text);
// `s` as a JSON string literal (quotes and backslashes escaped; names and paths only).
std::string json_str(const std::string& s);
// `w` rounded up to whole bytes (AXI stream widths).
inline int pad8(int w) { return (w + 7) / 8 * 8; }
// A weight tensor's values as `wdt` codes in the tensor's order (BIPOLAR -1
// as 0, +1 as 1; other types their integer value), for memory words.
std::vector<int64_t> weight_codes(const Tensor& w, const DataType& wdt);

}  // namespace sf::emit
