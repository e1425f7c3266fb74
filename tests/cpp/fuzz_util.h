// Random-case helpers shared by the engine's fuzz tests.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <random>

namespace sf::fuzz {

using Rng = std::mt19937_64;

// Uniform in [lo, hi].
inline int64_t uni(Rng& r, int64_t lo, int64_t hi) { return lo + (int64_t)(r() % (uint64_t)(hi - lo + 1)); }
// True with the given probability in percent.
inline bool coin(Rng& r, int percent = 50) { return (int)(r() % 100) < percent; }

// SF_FUZZ_SCALE=n runs n times as many random cases (default 1, for CI).
inline int fuzz_scale() {
  const char* s = std::getenv("SF_FUZZ_SCALE");
  const int n = s ? std::atoi(s) : 1;
  return n > 0 ? n : 1;
}

}  // namespace sf::fuzz
