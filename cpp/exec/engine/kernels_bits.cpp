// Bit-plane GEMM kernels: XOR/AND + popcount over packed 64-bit words, for
// 1- and 2-bit operands (bit-serial: every plane pair is one popcount pass,
// weighted by 2^(i+j) when the accumulators are combined).
//
// The register tile is MR rows x one block of 8 columns: each weight vector
// (8 columns x 64 rows of K) is loaded once and used by MR broadcast rows, so
// the inner loop is XOR/AND, popcount and add with few loads. The caller walks
// one strip of 64 columns over many rows, which keeps the strip's weights in
// L1 while the rows stream past.
// GCC 12 reports its own AVX-512 conversion intrinsics (which start from an
// "undefined" register) as maybe-uninitialized; the warning is spurious.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "exec/engine/kernels.h"
#include "ir/errors.h"

namespace sf::engine {
namespace {

// a: rows of lda words, plane i of a row at +i*W. w: block b at
// w + b*PW*W*8, plane j at +j*W*8, word k at +k*8.
struct BitArgs {
  const uint64_t* a;
  int64_t lda, W;
  const uint64_t* w;
  int64_t N, b0, b1;
  int32_t* out;
  int64_t ldo;
  // planes_gemm_bit: per-column thresholds on the raw count, and the output
  // words (one per row for the strip starting at block b0).
  const int64_t* q = nullptr;
  bool le = false;
  uint64_t* bits = nullptr;
  int64_t ldb = 0;
};

inline void store_block(const int64_t* s, int64_t b, const BitArgs& x, int32_t* o) {
  for (int j = 0; j < kBitBlock; ++j)
    if (b * kBitBlock + j < x.N) o[(b - x.b0) * kBitBlock + j] = (int32_t)s[j];
}

void bits_scalar(bool xor_mode, int PA, int PW, int64_t rows, const BitArgs& x) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* ar = x.a + r * x.lda;
    for (int64_t b = x.b0; b < x.b1; ++b) {
      const uint64_t* wb = x.w + b * PW * x.W * kBitBlock;
      int64_t s[kBitBlock] = {0};
      for (int i = 0; i < PA; ++i)
        for (int j = 0; j < PW; ++j)
          for (int64_t k = 0; k < x.W; ++k) {
            const uint64_t av = ar[i * x.W + k];
            const uint64_t* wk = wb + (j * x.W + k) * kBitBlock;
            for (int l = 0; l < kBitBlock; ++l)
              s[l] += (int64_t)__builtin_popcountll(xor_mode ? (av ^ wk[l]) : (av & wk[l])) << (i + j);
          }
      if (x.bits) {
        for (int j = 0; j < kBitBlock; ++j) {
          const int64_t q = x.q[b * kBitBlock + j];
          if (x.le ? s[j] <= q : s[j] >= q) x.bits[r * x.ldb] |= uint64_t(1) << ((b - x.b0) * kBitBlock + j);
        }
      } else {
        store_block(s, b, x, x.out + r * x.ldo);
      }
    }
  }
}

// AVX2 has no vector popcount: the nibble-lookup method (vpshufb on a
// 16-entry table) counts bytes, and vpsadbw folds them into 64-bit lanes.
__attribute__((target("avx2"))) inline __m256i popcnt256(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2,
                                       2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  const __m256i cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
  return _mm256_sad_epu8(cnt, _mm256_setzero_si256());
}

template <int MR, int PA, int PW, bool XOR>
__attribute__((target("avx2"))) void bits_avx2(const BitArgs& x, int64_t r0) {
  constexpr int S = PA + PW - 1;
  for (int64_t b = x.b0; b < x.b1; ++b) {
    const uint64_t* wb = x.w + b * PW * x.W * kBitBlock;
    __m256i acc[MR][S][2];
    for (int r = 0; r < MR; ++r)
      for (int s = 0; s < S; ++s) acc[r][s][0] = acc[r][s][1] = _mm256_setzero_si256();
    for (int64_t k = 0; k < x.W; ++k) {
      __m256i wv[PW][2];
      for (int j = 0; j < PW; ++j) {
        wv[j][0] = _mm256_loadu_si256((const __m256i*)(wb + (j * x.W + k) * kBitBlock));
        wv[j][1] = _mm256_loadu_si256((const __m256i*)(wb + (j * x.W + k) * kBitBlock + 4));
      }
      for (int r = 0; r < MR; ++r)
        for (int i = 0; i < PA; ++i) {
          const __m256i av = _mm256_set1_epi64x((long long)x.a[(r0 + r) * x.lda + i * x.W + k]);
          for (int j = 0; j < PW; ++j)
            for (int h = 0; h < 2; ++h) {
              const __m256i y = XOR ? _mm256_xor_si256(av, wv[j][h]) : _mm256_and_si256(av, wv[j][h]);
              acc[r][i + j][h] = _mm256_add_epi64(acc[r][i + j][h], popcnt256(y));
            }
        }
    }
    for (int r = 0; r < MR; ++r) {
      alignas(32) int64_t s[kBitBlock];
      __m256i tot[2];
      for (int h = 0; h < 2; ++h) {
        __m256i t = acc[r][0][h];
        for (int q = 1; q < S; ++q) t = _mm256_add_epi64(t, _mm256_slli_epi64(acc[r][q][h], q));
        tot[h] = t;
        _mm256_store_si256((__m256i*)(s + 4 * h), t);
      }
      if (x.bits) {
        // 4 compares per half: count >= q is !(q > count); <= is !(count > q).
        unsigned m = 0;
        for (int h = 0; h < 2; ++h) {
          const __m256i q = _mm256_loadu_si256((const __m256i*)(x.q + b * kBitBlock + 4 * h));
          const __m256i gt = x.le ? _mm256_cmpgt_epi64(tot[h], q) : _mm256_cmpgt_epi64(q, tot[h]);
          m |= (unsigned)(~_mm256_movemask_pd(_mm256_castsi256_pd(gt)) & 0xF) << (4 * h);
        }
        x.bits[(r0 + r) * x.ldb] |= (uint64_t)m << ((b - x.b0) * kBitBlock);
      } else {
        store_block(s, b, x, x.out + (r0 + r) * x.ldo);
      }
    }
  }
}

template <int MR, int PA, int PW, bool XOR>
__attribute__((target("avx512f,avx512vpopcntdq"))) void bits_avx512(const BitArgs& x, int64_t r0) {
  constexpr int S = PA + PW - 1;
  for (int64_t b = x.b0; b < x.b1; ++b) {
    const uint64_t* wb = x.w + b * PW * x.W * kBitBlock;
    __m512i acc[MR][S];
    for (int r = 0; r < MR; ++r)
      for (int s = 0; s < S; ++s) acc[r][s] = _mm512_setzero_si512();
    const uint64_t* ar = x.a + r0 * x.lda;
    for (int64_t k = 0; k < x.W; ++k) {
      __m512i wv[PW];
      for (int j = 0; j < PW; ++j) wv[j] = _mm512_loadu_si512((const void*)(wb + (j * x.W + k) * kBitBlock));
      for (int r = 0; r < MR; ++r)
        for (int i = 0; i < PA; ++i) {
          const __m512i av = _mm512_set1_epi64((long long)ar[r * x.lda + i * x.W + k]);
          for (int j = 0; j < PW; ++j) {
            const __m512i y = XOR ? _mm512_xor_si512(av, wv[j]) : _mm512_and_si512(av, wv[j]);
            acc[r][i + j] = _mm512_add_epi64(acc[r][i + j], _mm512_popcnt_epi64(y));
          }
        }
    }
    if (x.bits) {
      // The threshold compare on the int64 counts: 8 output bits per row.
      const __m512i q = _mm512_loadu_si512((const void*)(x.q + b * kBitBlock));
      for (int r = 0; r < MR; ++r) {
        const __mmask8 m = x.le ? _mm512_cmple_epi64_mask(acc[r][0], q) : _mm512_cmpge_epi64_mask(acc[r][0], q);
        x.bits[(r0 + r) * x.ldb] |= (uint64_t)m << ((b - x.b0) * kBitBlock);
      }
      continue;
    }
    const bool full = (b + 1) * kBitBlock <= x.N;
    for (int r = 0; r < MR; ++r) {
      __m512i t = acc[r][0];
      for (int q = 1; q < S; ++q) t = _mm512_add_epi64(t, _mm512_slli_epi64(acc[r][q], q));
      int32_t* o = x.out + (r0 + r) * x.ldo + (b - x.b0) * kBitBlock;
      if (full) {
        _mm256_storeu_si256((__m256i*)o, _mm512_cvtepi64_epi32(t));
      } else {
        alignas(64) int64_t s[kBitBlock];
        _mm512_store_si512((void*)s, t);
        store_block(s, b, x, x.out + (r0 + r) * x.ldo);
      }
    }
  }
}

// Rows in tiles of MR, the tail one row at a time.
template <int MR, int PA, int PW, bool XOR>
void run_tiles(Isa isa, int64_t rows, const BitArgs& x) {
  int64_t r = 0;
  if (isa == Isa::AVX512) {
    for (; r + MR <= rows; r += MR) bits_avx512<MR, PA, PW, XOR>(x, r);
    for (; r < rows; ++r) bits_avx512<1, PA, PW, XOR>(x, r);
  } else {
    constexpr int MR2 = MR > 4 ? 4 : MR;  // 16 ymm registers
    for (; r + MR2 <= rows; r += MR2) bits_avx2<MR2, PA, PW, XOR>(x, r);
    for (; r < rows; ++r) bits_avx2<1, PA, PW, XOR>(x, r);
  }
}

void bits_dispatch(Isa isa, bool xor_mode, int pa, int pw, int64_t rows, const BitArgs& x) {
  if (isa == Isa::SCALAR) return bits_scalar(xor_mode, pa, pw, rows, x);
  if (xor_mode) {
    if (pa == 1 && pw == 1) return run_tiles<8, 1, 1, true>(isa, rows, x);
  } else if (pa == 1 && pw == 1) {
    return run_tiles<8, 1, 1, false>(isa, rows, x);
  } else if (pa == 1 && pw == 2) {
    return run_tiles<4, 1, 2, false>(isa, rows, x);
  } else if (pa == 2 && pw == 1) {
    return run_tiles<4, 2, 1, false>(isa, rows, x);
  } else if (pa == 2 && pw == 2) {
    return run_tiles<4, 2, 2, false>(isa, rows, x);
  }
  throw InputError(fmt::format("bit-plane GEMM: {} x {} planes{} is not supported", pa, pw, xor_mode ? " (XOR)" : ""),
                   fmt::format("operands of up to {} planes, one each for XOR", kMaxPlanes));
}

}  // namespace

void popcount_gemm(Isa isa, BitOp op, const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1, int64_t b0,
                   int64_t b1, int32_t* acc, int64_t ldo) {
  if (m1 <= m0 || b1 <= b0) return;
  const BitArgs x{a + m0 * w.words, w.words, w.words, w.w.data(), w.N, b0, b1, acc + m0 * ldo + b0 * kBitBlock, ldo};
  bits_dispatch(isa, op == BitOp::XOR, 1, w.planes, m1 - m0, x);
}

void planes_gemm_bit(Isa isa, bool xor_mode, const uint64_t* a, int64_t lda, int64_t rows, const PackedPlanes& w,
                     int64_t strip, const int64_t* q, bool le, uint64_t* bits, int64_t ldb) {
  const int64_t b0 = strip * (kStrip / kBitBlock), b1 = std::min(w.blocks, b0 + kStrip / kBitBlock);
  if (rows <= 0 || b1 <= b0) return;
  if (w.planes != 1) throw InputError("bit-output GEMM: one weight plane only", "use planes_gemm");
  for (int64_t r = 0; r < rows; ++r) bits[r * ldb] = 0;
  BitArgs x{a, lda, w.words, w.w.data(), w.N, b0, b1, nullptr, 0};
  x.q = q;
  x.le = le;
  x.bits = bits;
  x.ldb = ldb;
  bits_dispatch(isa, xor_mode, 1, 1, rows, x);
}

void planes_gemm(Isa isa, bool xor_mode, int pa, const uint64_t* a, int64_t lda, int64_t rows, const PackedPlanes& w,
                 int64_t strip, int32_t* P) {
  const int64_t b0 = strip * (kStrip / kBitBlock), b1 = std::min(w.blocks, b0 + kStrip / kBitBlock);
  if (rows <= 0 || b1 <= b0) return;
  const BitArgs x{a, lda, w.words, w.w.data(), w.N, b0, b1, P, kStrip};
  bits_dispatch(isa, xor_mode, pa, w.planes, rows, x);
}

}  // namespace sf::engine
