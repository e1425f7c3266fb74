// Integer GEMM kernels for operands of up to 8 bits: int16 pairwise
// multiply-add (every x86-64 path; exact for any 8-bit signed or unsigned
// pair) and u8 x s8 VNNI dot products (AVX-512 VNNI, four products per lane).
// vpmaddubsw (AVX2's u8 x s8) saturates its int16 pair sums, so it is not
// used: 255*127*2 does not fit int16.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "exec/engine/kernels.h"

namespace sf::engine {
namespace {

// a: rows of Kp int16; out[r*ldo + (b-b0)*16 + j].
struct I16Args {
  const int16_t* a;
  int64_t rows;
  const PackedI16* w;
  int64_t b0, b1;
  int32_t* out;
  int64_t ldo;
};

inline void store16(const int32_t* s, int64_t b, const I16Args& x, int32_t* o) {
  for (int j = 0; j < kI16Block; ++j)
    if (b * kI16Block + j < x.w->N) o[(b - x.b0) * kI16Block + j] = s[j];
}

void i16_scalar(const I16Args& x) {
  const int64_t P = x.w->Kp / 2;
  for (int64_t m = 0; m < x.rows; ++m) {
    const int16_t* ar = x.a + m * x.w->Kp;
    for (int64_t b = x.b0; b < x.b1; ++b) {
      const int16_t* wb = x.w->w.data() + b * P * kI16Block * 2;
      int32_t s[kI16Block] = {0};
      for (int64_t p = 0; p < P; ++p) {
        const int32_t x0 = ar[2 * p], x1 = ar[2 * p + 1];
        const int16_t* wp = wb + p * kI16Block * 2;
        for (int j = 0; j < kI16Block; ++j) s[j] += x0 * wp[2 * j] + x1 * wp[2 * j + 1];
      }
      store16(s, b, x, x.out + m * x.ldo);
    }
  }
}

inline int32_t load_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((target("avx2"))) void i16_avx2(const I16Args& x) {
  const int64_t P = x.w->Kp / 2;
  for (int64_t m = 0; m < x.rows; ++m) {
    const int16_t* ar = x.a + m * x.w->Kp;
    for (int64_t b = x.b0; b < x.b1; ++b) {
      const int16_t* wb = x.w->w.data() + b * P * kI16Block * 2;
      __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
      for (int64_t p = 0; p < P; ++p) {
        const __m256i av = _mm256_set1_epi32(load_pair(ar + 2 * p));
        const int16_t* wp = wb + p * kI16Block * 2;
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(av, _mm256_loadu_si256((const __m256i*)wp)));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(av, _mm256_loadu_si256((const __m256i*)(wp + 16))));
      }
      alignas(32) int32_t s[kI16Block];
      _mm256_store_si256((__m256i*)s, s0);
      _mm256_store_si256((__m256i*)(s + 8), s1);
      store16(s, b, x, x.out + m * x.ldo);
    }
  }
}

// Four rows share each weight load.
__attribute__((target("avx512f,avx512bw"))) void i16_avx512(const I16Args& x) {
  const int64_t P = x.w->Kp / 2, Kp = x.w->Kp;
  int64_t m = 0;
  for (; m < x.rows; m += 4) {
    const int mr = (int)std::min<int64_t>(4, x.rows - m);
    const int16_t* a0 = x.a + m * Kp;
    const int16_t* a1 = x.a + (m + (mr > 1 ? 1 : 0)) * Kp;
    const int16_t* a2 = x.a + (m + (mr > 2 ? 2 : 0)) * Kp;
    const int16_t* a3 = x.a + (m + (mr > 3 ? 3 : 0)) * Kp;
    for (int64_t b = x.b0; b < x.b1; ++b) {
      const int16_t* wb = x.w->w.data() + b * P * kI16Block * 2;
      __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t p = 0; p < P; ++p) {
        const __m512i wv = _mm512_loadu_si512((const void*)(wb + p * 32));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(_mm512_set1_epi32(load_pair(a0 + 2 * p)), wv));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(_mm512_set1_epi32(load_pair(a1 + 2 * p)), wv));
        s2 = _mm512_add_epi32(s2, _mm512_madd_epi16(_mm512_set1_epi32(load_pair(a2 + 2 * p)), wv));
        s3 = _mm512_add_epi32(s3, _mm512_madd_epi16(_mm512_set1_epi32(load_pair(a3 + 2 * p)), wv));
      }
      alignas(64) int32_t s[4][kI16Block];
      _mm512_store_si512((void*)s[0], s0);
      _mm512_store_si512((void*)s[1], s1);
      _mm512_store_si512((void*)s[2], s2);
      _mm512_store_si512((void*)s[3], s3);
      for (int r = 0; r < mr; ++r) store16(s[r], b, x, x.out + (m + r) * x.ldo);
    }
  }
}

void i16_dispatch(Isa isa, const I16Args& x) {
  if (x.rows <= 0 || x.b1 <= x.b0) return;
  switch (isa) {
    case Isa::AVX512: return i16_avx512(x);
    case Isa::AVX2: return i16_avx2(x);
    case Isa::SCALAR: return i16_scalar(x);
  }
}

inline int32_t load_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Four rows x NB blocks of 16 columns per pass over K: each broadcast row
// quad meets NB weight vectors, so with a whole strip (NB = 4) there are 16
// dot-product instructions per 8 loads instead of 4 per 5. The 16
// accumulators are named scalars: GCC keeps arrays of vectors in memory here.
template <int NB>
__attribute__((target("avx512f,avx512vnni"))) void u8s8_avx512(const uint8_t* a, int64_t lda, int64_t rows,
                                                               const PackedS8& w, int64_t b0, int32_t* out) {
  const int64_t Q = w.K4 / 4;
  const int8_t* wb[4] = {nullptr, nullptr, nullptr, nullptr};
  __mmask16 live[4] = {0, 0, 0, 0};
  for (int j = 0; j < NB; ++j) {
    const int64_t b = b0 + j;
    wb[j] = w.w.data() + b * Q * 64;
    live[j] = (b + 1) * 16 <= w.N ? (__mmask16)0xFFFF : (__mmask16)((1u << (w.N - b * 16)) - 1);
  }
  const int8_t *w0p = wb[0], *w1p = wb[1], *w2p = wb[2], *w3p = wb[3];
  for (int64_t m = 0; m < rows; m += 4) {
    const int mr = (int)std::min<int64_t>(4, rows - m);
    const uint8_t* a0 = a + m * lda;
    const uint8_t* a1 = a + (m + (mr > 1 ? 1 : 0)) * lda;
    const uint8_t* a2 = a + (m + (mr > 2 ? 2 : 0)) * lda;
    const uint8_t* a3 = a + (m + (mr > 3 ? 3 : 0)) * lda;
    const __m512i z = _mm512_setzero_si512();
    __m512i c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
    __m512i c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
    for (int64_t q = 0; q < Q; ++q) {
      const __m512i w0 = _mm512_loadu_si512((const void*)(w0p + q * 64));
      const __m512i v0 = _mm512_set1_epi32(load_quad(a0 + 4 * q)), v1 = _mm512_set1_epi32(load_quad(a1 + 4 * q));
      const __m512i v2 = _mm512_set1_epi32(load_quad(a2 + 4 * q)), v3 = _mm512_set1_epi32(load_quad(a3 + 4 * q));
      c00 = _mm512_dpbusd_epi32(c00, v0, w0);
      c10 = _mm512_dpbusd_epi32(c10, v1, w0);
      c20 = _mm512_dpbusd_epi32(c20, v2, w0);
      c30 = _mm512_dpbusd_epi32(c30, v3, w0);
      if constexpr (NB > 1) {
        const __m512i w1 = _mm512_loadu_si512((const void*)(w1p + q * 64));
        c01 = _mm512_dpbusd_epi32(c01, v0, w1);
        c11 = _mm512_dpbusd_epi32(c11, v1, w1);
        c21 = _mm512_dpbusd_epi32(c21, v2, w1);
        c31 = _mm512_dpbusd_epi32(c31, v3, w1);
      }
      if constexpr (NB > 2) {
        const __m512i w2 = _mm512_loadu_si512((const void*)(w2p + q * 64));
        c02 = _mm512_dpbusd_epi32(c02, v0, w2);
        c12 = _mm512_dpbusd_epi32(c12, v1, w2);
        c22 = _mm512_dpbusd_epi32(c22, v2, w2);
        c32 = _mm512_dpbusd_epi32(c32, v3, w2);
      }
      if constexpr (NB > 3) {
        const __m512i w3 = _mm512_loadu_si512((const void*)(w3p + q * 64));
        c03 = _mm512_dpbusd_epi32(c03, v0, w3);
        c13 = _mm512_dpbusd_epi32(c13, v1, w3);
        c23 = _mm512_dpbusd_epi32(c23, v2, w3);
        c33 = _mm512_dpbusd_epi32(c33, v3, w3);
      }
    }
    const __m512i row[4][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
    for (int r = 0; r < mr; ++r)
      for (int j = 0; j < NB; ++j) _mm512_mask_storeu_epi32(out + (m + r) * kStrip + j * 16, live[j], row[r][j]);
  }
}

// Four rows x one 16-column block (two 8-lane halves) per pass over K, on
// the same packed weights: the low and high 32 bytes of a block's quad row
// hold columns 0-7 and 8-15. Eight accumulators fit AVX2's 16 registers.
__attribute__((target("avx2,avxvnni"))) void u8s8_avxvnni(const uint8_t* a, int64_t lda, int64_t rows,
                                                          const PackedS8& w, int64_t b0, int64_t b1, int32_t* out) {
  const int64_t Q = w.K4 / 4;
  for (int64_t b = b0; b < b1; ++b) {
    const int8_t* wb = w.w.data() + b * Q * 64;
    const int live = (int)std::min<int64_t>(16, w.N - b * 16);
    for (int64_t m = 0; m < rows; m += 4) {
      const int mr = (int)std::min<int64_t>(4, rows - m);
      const uint8_t* a0 = a + m * lda;
      const uint8_t* a1 = a + (m + (mr > 1 ? 1 : 0)) * lda;
      const uint8_t* a2 = a + (m + (mr > 2 ? 2 : 0)) * lda;
      const uint8_t* a3 = a + (m + (mr > 3 ? 3 : 0)) * lda;
      const __m256i z = _mm256_setzero_si256();
      __m256i c0l = z, c0h = z, c1l = z, c1h = z, c2l = z, c2h = z, c3l = z, c3h = z;
      for (int64_t q = 0; q < Q; ++q) {
        const __m256i wl = _mm256_loadu_si256((const __m256i*)(wb + q * 64));
        const __m256i wh = _mm256_loadu_si256((const __m256i*)(wb + q * 64 + 32));
        const __m256i v0 = _mm256_set1_epi32(load_quad(a0 + 4 * q)), v1 = _mm256_set1_epi32(load_quad(a1 + 4 * q));
        const __m256i v2 = _mm256_set1_epi32(load_quad(a2 + 4 * q)), v3 = _mm256_set1_epi32(load_quad(a3 + 4 * q));
        c0l = _mm256_dpbusd_avx_epi32(c0l, v0, wl);
        c0h = _mm256_dpbusd_avx_epi32(c0h, v0, wh);
        c1l = _mm256_dpbusd_avx_epi32(c1l, v1, wl);
        c1h = _mm256_dpbusd_avx_epi32(c1h, v1, wh);
        c2l = _mm256_dpbusd_avx_epi32(c2l, v2, wl);
        c2h = _mm256_dpbusd_avx_epi32(c2h, v2, wh);
        c3l = _mm256_dpbusd_avx_epi32(c3l, v3, wl);
        c3h = _mm256_dpbusd_avx_epi32(c3h, v3, wh);
      }
      const __m256i rl[4] = {c0l, c1l, c2l, c3l}, rh[4] = {c0h, c1h, c2h, c3h};
      for (int r = 0; r < mr; ++r) {
        alignas(32) int32_t t[16];
        _mm256_store_si256((__m256i*)t, rl[r]);
        _mm256_store_si256((__m256i*)(t + 8), rh[r]);
        int32_t* o = out + (m + r) * kStrip + (b - b0) * 16;
        for (int j = 0; j < live; ++j) o[j] = t[j];
      }
    }
  }
}

}  // namespace

void i16_gemm(Isa isa, const int16_t* a, const PackedI16& w, int64_t m0, int64_t m1, int64_t b0, int64_t b1,
              int32_t* acc, int64_t ldo) {
  if (m1 <= m0 || b1 <= b0) return;
  i16_dispatch(isa, {a + m0 * w.Kp, m1 - m0, &w, b0, b1, acc + m0 * ldo + b0 * kI16Block, ldo});
}

void i16_strip(Isa isa, const int16_t* a, int64_t rows, const PackedI16& w, int64_t strip, int32_t* P) {
  const int64_t b0 = strip * (kStrip / kI16Block), b1 = std::min(w.blocks, b0 + kStrip / kI16Block);
  i16_dispatch(isa, {a, rows, &w, b0, b1, P, kStrip});
}

void u8s8_strip_avx(const uint8_t* a, int64_t lda, int64_t rows, const PackedS8& w, int64_t strip, int32_t* P) {
  const int64_t b0 = strip * (kStrip / 16), b1 = std::min(w.blocks, b0 + kStrip / 16);
  if (rows <= 0 || b1 <= b0) return;
  u8s8_avxvnni(a, lda, rows, w, b0, b1, P);
}

void u8s8_strip(const uint8_t* a, int64_t lda, int64_t rows, const PackedS8& w, int64_t strip, int32_t* P) {
  const int64_t b0 = strip * (kStrip / 16), b1 = std::min(w.blocks, b0 + kStrip / 16);
  if (rows <= 0 || b1 <= b0) return;
  switch (b1 - b0) {
    case 1: return u8s8_avx512<1>(a, lda, rows, w, b0, P);
    case 2: return u8s8_avx512<2>(a, lda, rows, w, b0, P);
    case 3: return u8s8_avx512<3>(a, lda, rows, w, b0, P);
    default: return u8s8_avx512<4>(a, lda, rows, w, b0, P);
  }
}

}  // namespace sf::engine
