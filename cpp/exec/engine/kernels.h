// Bit-packed and narrow-integer GEMM kernels for the fast engine, with
// runtime ISA dispatch. Every path (scalar, AVX2, AVX-512) computes exact
// integer results, so outputs are bit-identical whichever path runs; the
// binary is built for plain x86-64 and only the kernel functions carry
// target attributes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sf::engine {

enum class Isa { SCALAR = 0, AVX2 = 1, AVX512 = 2 };

const char* isa_name(Isa isa);
bool isa_available(Isa isa);   // what this CPU can run
Isa best_isa();
std::vector<Isa> available_isas();
// "auto" (or "") -> best_isa(); "scalar" / "avx2" / "avx512" otherwise.
// Throws InputError naming the available paths when the CPU lacks it.
Isa parse_isa(const std::string& name);

// ---- 1-bit operands --------------------------------------------------------
// Weights (K x N) as bit-planes: columns in blocks of 8 (one 512-bit vector
// per 64 rows of K), layout [block][word][8]. Padding bits and padding
// columns are 0, so they never contribute to XOR or AND popcounts.
constexpr int kBitBlock = 8;
struct PackedBits {
  int64_t K = 0, N = 0, words = 0, blocks = 0;
  std::vector<uint64_t> w;
};
// bit(k, n) gives the weight bit of row k, column n.
PackedBits pack_weight_bits(int64_t K, int64_t N, const std::function<bool(int64_t, int64_t)>& bit);

// Packs one row of K floats into ceil(K/64) words (bit k = a[k] > 0).
// Returns false when some value is neither lo nor hi (the binary types hold
// exactly {0, 1} or {-1, 1}), in which case `out` is unspecified.
bool pack_row_bits(Isa isa, const float* a, int64_t K, float lo, float hi, uint64_t* out);

enum class BitOp { XOR, AND };
// acc[m * ldo + n] = sum over words of popcount(op(a[m][w], W[w][n])) for rows
// [m0, m1) and column blocks [b0, b1); a has `words` words per row.
void popcount_gemm(Isa isa, BitOp op, const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1, int64_t b0,
                   int64_t b1, int32_t* acc, int64_t ldo);

// ---- up to 8-bit integer operands -------------------------------------------
// Weights as int16 pairs for a pairwise multiply-add (vpmaddwd): columns in
// blocks of 16, layout [block][k/2][16][2], K padded to even with zeros.
// int16 holds INT8 and UINT8 alike, and a product pair cannot overflow int32.
constexpr int kI16Block = 16;
struct PackedI16 {
  int64_t K = 0, Kp = 0, N = 0, blocks = 0;
  std::vector<int16_t> w;
};
PackedI16 pack_weight_i16(int64_t K, int64_t N, const std::function<int16_t(int64_t, int64_t)>& val);
// a: rows of Kp int16 (zero padded). Callers guarantee the int32 sum cannot
// overflow (K * max|a| * max|w| < 2^31), checked when the plan is built.
void i16_gemm(Isa isa, const int16_t* a, const PackedI16& w, int64_t m0, int64_t m1, int64_t b0, int64_t b1,
              int32_t* acc, int64_t ldo);

// ---- roofline ---------------------------------------------------------------
// Peak XOR+popcount throughput of one core on L1-resident data, in 64-bit
// words per second, measured with the same kernel the engine uses.
double popcount_peak_words_per_s(Isa isa, double seconds);

// Runs fn(task) for task in [0, n) on up to `threads` std::threads (the
// calling thread takes a share). Exceptions are rethrown on the caller.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn);

}  // namespace sf::engine
