#include "exec/broadcast.h"

#include <fmt/format.h>

namespace sf {

Shape broadcast_shapes(const Shape& a, const Shape& b) { return broadcast_shapes(std::vector<Shape>{a, b}); }

Shape broadcast_shapes(const std::vector<Shape>& shapes) {
  size_t r = 0;
  for (const auto& s : shapes) r = std::max(r, s.size());
  Shape out(r, 1);
  for (const auto& s : shapes) {
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& o = out[r - s.size() + k];
      int64_t d = s[k];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const auto& t : shapes) all += (all.empty() ? "" : " and ") + shape_str(t);
      throw ModelError(fmt::format("shapes {} cannot be broadcast together", all),
                       "per-channel parameters must have shape (C,1,1) for NCHW or (C,) for channels-last data");
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t acc = 1;
  for (size_t k = in.size(); k-- > 0;) {
    size_t o = out.size() - in.size() + k;
    st[o] = in[k] == 1 ? 0 : acc;
    acc *= in[k];
  }
  return st;
}

}  // namespace sf
