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

// ---- bit-plane operands ------------------------------------------------------
// An integer operand of b bits is stored as b bit-planes of unsigned codes
// (bit i of every element's code in plane i). Weights (K x N) are packed in
// blocks of 8 columns (one 512-bit vector per 64 rows of K), layout
// [block][plane][word][8]. Padding bits and columns are 0, so they add
// nothing to XOR or AND popcounts.
constexpr int kBitBlock = 8;
constexpr int kStrip = 64;     // columns per output strip (one 64-bit word of packed outputs)
constexpr int kMaxPlanes = 2;  // operands wider than this use the byte kernels
struct PackedPlanes {
  int64_t K = 0, N = 0, words = 0, blocks = 0;  // words per plane (K may be segmented: words*64 >= K)
  int planes = 1;
  std::vector<uint64_t> w;
};
using PackedBits = PackedPlanes;  // one plane
// code(k, n): the code at packed bit position k (in [0, words*64)) of column n.
PackedPlanes pack_weight_planes(int64_t words, int64_t N, int planes,
                                const std::function<uint32_t(int64_t, int64_t)>& code);
// bit(k, n) gives the weight bit of row k, column n.
PackedBits pack_weight_bits(int64_t K, int64_t N, const std::function<bool(int64_t, int64_t)>& bit);

// Packs one row of K floats into ceil(K/64) words (bit k = a[k] > 0).
// Returns false when some value is neither lo nor hi (the binary types hold
// exactly {0, 1} or {-1, 1}), in which case `out` is unspecified.
bool pack_row_bits(Isa isa, const float* a, int64_t K, float lo, float hi, uint64_t* out);

enum class BitOp { XOR, AND };
// acc[m * ldo + n] = sum over words of popcount(op(a[m][w], W[w][n])) for rows
// [m0, m1) and column blocks [b0, b1); a has `words` words per row; one plane.
void popcount_gemm(Isa isa, BitOp op, const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1, int64_t b0,
                   int64_t b1, int32_t* acc, int64_t ldo);

// The engine's bit-plane GEMM on one strip of 64 columns, rows [0, rows):
//   xor_mode (pa = w.planes = 1): P = popcount(a ^ w)
//   otherwise: P = sum over i < pa, j < w.planes of 2^(i+j) popcount(a_i & w_j)
// Plane i of row r is at a + r*lda + i*w.words. P is [rows][64] (columns
// past N are left untouched). Supports pa, w.planes <= kMaxPlanes.
void planes_gemm(Isa isa, bool xor_mode, int pa, const uint64_t* a, int64_t lda, int64_t rows, const PackedPlanes& w,
                 int64_t strip, int32_t* P);
// The same for one-plane operands whose output is one bit per column, decided
// on the raw popcount in registers: bit n = (P >= q[n]) (le: P <= q[n]), with
// q padded to whole blocks (padding columns must give 0). Row r's 64 bits of
// this strip go to bits[r * ldb]. This fuses a single-threshold
// MultiThreshold with 1-bit output into the GEMM (no int32 round trip).
void planes_gemm_bit(Isa isa, bool xor_mode, const uint64_t* a, int64_t lda, int64_t rows, const PackedPlanes& w,
                     int64_t strip, const int64_t* q, bool le, uint64_t* bits, int64_t ldb);

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
// The same on one strip of 64 columns: P[r*64 + j], rows [0, rows) of a.
void i16_strip(Isa isa, const int16_t* a, int64_t rows, const PackedI16& w, int64_t strip, int32_t* P);

// Unsigned 8-bit activations x signed 8-bit weights with AVX-512 VNNI
// (vpdpbusd: four u8*s8 products into an int32 lane, no saturation; the plan
// proves the sum fits). Weights: blocks of 16 columns, [block][k/4][16][4].
struct PackedS8 {
  int64_t K = 0, K4 = 0, N = 0, blocks = 0;
  std::vector<int8_t> w;
};
PackedS8 pack_weight_s8(int64_t K, int64_t N, const std::function<int8_t(int64_t, int64_t)>& val);
bool vnni_available();
// P[r*64 + j] = sum_k a[r*lda + k] * w[k][64*strip + j]; a rows hold K4 bytes
// (zero padded). Only on CPUs with vnni_available().
void u8s8_strip(const uint8_t* a, int64_t lda, int64_t rows, const PackedS8& w, int64_t strip, int32_t* P);
// The same with 256-bit AVX-VNNI (vpdpbusd on ymm; Intel Alder Lake and
// later, AMD Zen 5): the AVX2 path's int8 kernel where the CPU has it.
bool avxvnni_available();
void u8s8_strip_avx(const uint8_t* a, int64_t lda, int64_t rows, const PackedS8& w, int64_t strip, int32_t* P);

// ---- roofline ---------------------------------------------------------------
// Peak XOR+popcount throughput of one core on L1-resident data, in 64-bit
// words per second, measured with the same kernel the engine uses.
double popcount_peak_words_per_s(Isa isa, double seconds);

// Runs fn(task) for task in [0, n) on up to `threads` std::threads (the
// calling thread takes a share). Exceptions are rethrown on the caller.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn);

}  // namespace sf::engine
