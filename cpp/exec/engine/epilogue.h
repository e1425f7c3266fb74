// The GEMM epilogue of the fast engine: integer corrections that turn raw
// popcounts / code products into the exact dot product, then either the
// float accumulator, or a fused MultiThreshold whose output is written
// straight into the next layer's packed storage (bit-planes or bytes).
// Internal to the engine.
#pragma once
#include <cstdint>
#include <vector>

#include "exec/engine/kernels.h"

namespace sf::engine {

struct Epilogue {
  // dot = A*P + B*RA[row] + C*CW[n] + D, exact in int32 (the plan bounds it).
  int32_t A = 1, B = 0, C = 0, D = 0;
  std::vector<int32_t> CW;  // [Npad]
  int64_t N = 0, Npad = 0;  // Npad: N rounded up to a whole strip
  // Thresholds: count = #{t < T : dot >= thr[t*Npad + n]}. T = 0: no
  // MultiThreshold, the output is the float accumulator.
  int T = 0;
  std::vector<int32_t> thr;   // INT32_MAX pads rows with fewer thresholds (never reached)
  std::vector<int32_t> code;  // count -> packed output code
  bool identity = true;       // code[c] == c
  std::vector<float> lut;     // count -> float output value
  // T > 16: per-column linear guess of the count, floor((x - g0) * ginv) + 1,
  // always verified against the thresholds themselves.
  std::vector<float> g0, ginv;  // [Npad]
  // Optional: per column, how far (in steps) the thresholds stray from the
  // guess line, plus slack; a guess whose fraction clears it needs no
  // verification. Empty, or >= 0.5: always verify.
  std::vector<float> gdev;
};
// Fills g0/ginv from sorted thresholds thr[t*ld + n] (first/last real ones).
void fill_guess(const float* first, const float* last, const int* count, int64_t n, std::vector<float>& g0,
                std::vector<float>& ginv);
// Fills gdev for columns with all T thresholds (thr[t*ld + n] as compared),
// from g0/ginv as filled by fill_guess.
void fill_guess_margin(const int32_t* thr, int64_t ld, const int* count, int64_t n, int T, const std::vector<float>& g0,
                       const std::vector<float>& ginv, std::vector<float>& gdev);
void fill_guess_margin(const float* thr, int64_t ld, const int* count, int64_t n, int T, const std::vector<float>& g0,
                       const std::vector<float>& ginv, std::vector<float>& gdev);

// Whether count c maps to code c for every count (stores need no table).
inline bool identity_codes(const std::vector<int32_t>& code) {
  for (size_t c = 0; c < code.size(); ++c)
    if (code[c] != (int32_t)c) return false;
  return true;
}

enum class OutKind { FLOAT, PLANES, BYTES };
struct OutRef {
  OutKind kind = OutKind::FLOAT;
  void* base = nullptr;  // row 0 of the output
  int64_t ld = 0;        // row stride: floats (FLOAT, = N), words (PLANES), bytes (BYTES)
  int64_t plane_words = 0;
  int bits = 0;
};

// P: [rows][kStrip] for columns [n0, n0 + ncols) of output rows row0 + r;
// RA: per-row code sums (rows entries), or null when B == 0.
void run_epilogue(Isa isa, const Epilogue& e, const int32_t* P, int64_t rows, const int32_t* RA, int64_t row0,
                  int64_t n0, int64_t ncols, const OutRef& out);

// One output bit per column from raw int32 GEMM sums (P as for
// run_epilogue): bit j = P[r][j] >= q[j] (le: <=), for ncols columns, into
// the 64-bit word bits[r * ldb] of each row. The count-space form of a
// single-threshold, 1-bit-output epilogue (see planes_gemm_bit). The sums
// must lie strictly inside the int32 range (|P| < 2^31 - 1; the plan's
// bounds prove it), as the vector path compares against saturated bounds.
void bits_from_sums(Isa isa, const int32_t* P, int64_t rows, int64_t ncols, const int64_t* q, bool le, uint64_t* bits,
                    int64_t ldb);

// A standalone MultiThreshold on float32 input rows of C channels (channels
// last), writing packed codes: count = #{t : x >= fthr[t*Cpad + c]}, where
// the float32 thresholds are the double ones rounded up (exact for float x;
// NaN counts 0).
struct FloatThresholds {
  int64_t C = 0, Cpad = 0;
  int T = 0;
  std::vector<float> thr;  // [T][Cpad], NaN padding (never >=)
  std::vector<int32_t> code;
  std::vector<float> g0, ginv, gdev;  // [Cpad], as in Epilogue
};
void threshold_rows(Isa isa, const FloatThresholds& t, const float* x, int64_t rows, int64_t row0,
                    const OutRef& out);
// The same for pixels [p0, p0 + np) of one NCHW image (C planes of HW
// floats at img), written to output rows row0.. . Only for byte outputs with
// a 4-byte row stride (C <= 4) on AVX-512; false (nothing written) otherwise.
bool threshold_nchw(Isa isa, const FloatThresholds& t, const float* img, int64_t HW, int64_t p0, int64_t np,
                    int64_t row0, const OutRef& out);

}  // namespace sf::engine
