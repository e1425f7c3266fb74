// Implementation of exact_thresholds (a template, so tests can drive it with
// any level function).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace sf {
namespace detail {

// float32 values in order as integers: -0 and +0 share key 0.
inline int64_t float_key(float f) {
  int32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b >= 0 ? (int64_t)b : -(int64_t)(b & 0x7fffffff);
}

inline float key_float(int64_t k) {
  const uint32_t b = k >= 0 ? (uint32_t)k : ((uint32_t)(-k) | 0x80000000u);
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

}  // namespace detail

template <typename F>
std::vector<float> exact_thresholds(F level, double first, double last) {
  std::vector<float> t;
  const float inf = std::numeric_limits<float>::infinity();
  for (double target = first + 1; target <= last; target += 1) {
    // level(-inf) = first < target <= last = level(+inf): bisect the float
    // line for the first key that reaches the target.
    int64_t lo = detail::float_key(-inf), hi = detail::float_key(inf);
    if (!t.empty()) lo = std::max(lo, detail::float_key(t.back()) - 1);
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (level(detail::key_float(mid)) >= target) hi = mid;
      else lo = mid;
    }
    t.push_back(detail::key_float(hi));
  }
  return t;
}

}  // namespace sf
