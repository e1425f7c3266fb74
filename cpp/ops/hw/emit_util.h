// Small text helpers shared by the per-layer RTL and HLS emitters and the
// stitcher: one place, so every emitted file and JSON sidecar is written and
// quoted the same way.
#pragma once
#include <filesystem>
#include <string>

namespace sf::emit {

// Writes `text` to `p` byte for byte; a failed write is a StreamfoldError naming the file.
void write_text(const std::filesystem::path& p, const std::string& text);
// `s` as a JSON string literal (quotes and backslashes escaped; names and paths only).
std::string json_str(const std::string& s);
// `w` rounded up to whole bytes (AXI stream widths).
inline int pad8(int w) { return (w + 7) / 8 * 8; }

}  // namespace sf::emit
