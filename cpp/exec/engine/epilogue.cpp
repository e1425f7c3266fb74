#include "exec/engine/epilogue.h"

// GCC 12 reports its own AVX-512 conversion intrinsics (which start from an
// "undefined" register) as maybe-uninitialized; the warning is spurious.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sf::engine {
namespace {

// ---- scalar (every CPU; the vector paths must agree with it bit for bit) ----

// Thresholds sorted ascending at th[0], th[ld], ...: how many are <= x. The
// predicate is true then false along the row (padding never holds), so a
// binary search counts them; a linear count is cheaper for a few.
template <class X, class V>
inline int32_t count_ge(X x, const V* th, int64_t ld, int T) {
  if (T <= 16) {
    int32_t c = 0;
    for (int t = 0; t < T; ++t) c += x >= th[t * ld];
    return c;
  }
  int32_t c = 0;
  for (int step = 1 << (31 - __builtin_clz((unsigned)T)); step >= 1; step >>= 1)
    if (c + step <= T && x >= th[(int64_t)(c + step - 1) * ld]) c += step;
  return c;
}

inline void put(const OutRef& out, int64_t row, int64_t n, int32_t code, uint64_t* words_row) {
  if (out.kind == OutKind::BYTES) {
    static_cast<uint8_t*>(out.base)[row * out.ld + n] = (uint8_t)code;
  } else {
    for (int p = 0; p < out.bits; ++p)
      words_row[p * out.plane_words + n / 64] |= uint64_t((code >> p) & 1) << (n % 64);
  }
}

// Packed outputs own whole 64-column words: clear the strip's word first.
inline uint64_t* clear_strip(const OutRef& out, int64_t row, int64_t n0) {
  if (out.kind != OutKind::PLANES) return nullptr;
  uint64_t* w = static_cast<uint64_t*>(out.base) + row * out.ld;
  for (int p = 0; p < out.bits; ++p) w[p * out.plane_words + n0 / 64] = 0;
  return w;
}

void epi_scalar(const Epilogue& e, const int32_t* P, int64_t rows, const int32_t* RA, int64_t row0, int64_t n0,
                int64_t ncols, const OutRef& out) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    uint64_t* wr = clear_strip(out, row, n0);
    const int64_t base = (int64_t)e.B * (RA ? RA[r] : 0) + e.D;
    for (int64_t j = 0; j < ncols; ++j) {
      const int64_t n = n0 + j;
      const int64_t dot = (int64_t)e.A * P[r * kStrip + j] + base + (int64_t)e.C * e.CW[(size_t)n];
      if (e.T == 0) {
        static_cast<float*>(out.base)[row * out.ld + n] = (float)dot;
        continue;
      }
      const int32_t cnt = count_ge(dot, e.thr.data() + n, e.Npad, e.T);
      if (out.kind == OutKind::FLOAT) static_cast<float*>(out.base)[row * out.ld + n] = e.lut[(size_t)cnt];
      else put(out, row, n, e.code[(size_t)cnt], wr);
    }
  }
}

void thr_scalar(const FloatThresholds& t, const float* x, int64_t rows, int64_t row0, const OutRef& out) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const float* xr = x + r * t.C;
    for (int64_t n0 = 0; n0 < t.C; n0 += 64) {
      uint64_t* wr = clear_strip(out, row, n0);
      for (int64_t n = n0; n < std::min(t.C, n0 + 64); ++n) {
        const int32_t cnt = count_ge(xr[n], t.thr.data() + n, t.Cpad, t.T);
        put(out, row, n, t.code[(size_t)cnt], wr);
      }
    }
  }
}

// ---- AVX-512: 16 columns per step, threshold counts by masked adds ----------

// The lanes of a 16-column chunk with `left` columns remaining.
inline __mmask16 live_mask(int64_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

// One 64-column strip's plane words, built in registers, written at once.
inline void store_planes(const OutRef& out, int64_t row, int64_t n0, const uint64_t* planes) {
  if (out.kind != OutKind::PLANES) return;
  uint64_t* w = static_cast<uint64_t*>(out.base) + row * out.ld;
  for (int p = 0; p < out.bits; ++p) w[p * out.plane_words + n0 / 64] = planes[p];
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void emit16(const OutRef& out, const Epilogue* e,
                                                               const int32_t* code_tab, bool identity, int64_t row,
                                                               int64_t n, int c, __mmask16 live, __m512i cnt,
                                                               uint64_t* acc_planes) {
  if (out.kind == OutKind::FLOAT) {  // only with an Epilogue (a float lut)
    const __m512 v = _mm512_i32gather_ps(cnt, e->lut.data(), 4);
    _mm512_mask_storeu_ps(static_cast<float*>(out.base) + row * out.ld + n, live, v);
    return;
  }
  const __m512i code = identity ? cnt : _mm512_i32gather_epi32(cnt, code_tab, 4);
  if (out.kind == OutKind::BYTES) {
    // Narrow in a register, then a masked byte store: the memory form of
    // vpmovdb is microcoded and slow on AMD cores.
    _mm_mask_storeu_epi8(static_cast<uint8_t*>(out.base) + row * out.ld + n, live, _mm512_cvtepi32_epi8(code));
    return;
  }
  for (int p = 0; p < out.bits; ++p) {
    const __mmask16 m = _mm512_mask_test_epi32_mask(live, code, _mm512_set1_epi32(1 << p));
    acc_planes[p] |= uint64_t((uint16_t)m) << (16 * c);
  }
}

// Many thresholds (8-bit outputs). Quantizer thresholds are close to evenly
// spaced, so a linear guess k = floor(y) + 1, y = (x - t0) / step, is nearly
// always the count. Where the plan measured how far the thresholds stray from
// that line (dev, in units of one step; fill_guess_margin), a y whose
// fractional part is at least dev away from an integer, or far outside the
// thresholds, proves the guess, and the row needs no memory access at all.
// Otherwise two gathers (t[k-1], t[k]) verify it, one more round fixes an
// off-by-one, and anything else gets a full branch-free binary search. The
// result is exact whatever the spacing.
template <class V, class Elem, class Cmp>
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512i count_many(V x, __m512 xf, __mmask16 live, const Elem* th,
                                                                      int64_t ld, int T, __m512 t0, __m512 inv,
                                                                      __m512 dev, Cmp ge) {
  const __m512i one = _mm512_set1_epi32(1), Tv = _mm512_set1_epi32(T), ldv = _mm512_set1_epi32((int)ld);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 y = _mm512_mul_ps(_mm512_sub_ps(xf, t0), inv);
  const __m512 g = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  // Out-of-range guesses (and NaN) clamp into [0, T] before the int conversion.
  const __m512 gc = _mm512_min_ps(_mm512_max_ps(g, _mm512_set1_ps(-1.0f)), _mm512_set1_ps((float)T));
  __m512i k = _mm512_add_epi32(_mm512_cvttps_epi32(gc), one);
  k = _mm512_min_epi32(_mm512_max_epi32(k, _mm512_setzero_si512()), Tv);
  k = _mm512_maskz_mov_epi32(live, k);
  {
    // Proven lanes: |x| < 2^24 (exact in float; y's rounding error stays far
    // below the 1e-4 slack in dev), a channel with a margin (dev < 0.5), and
    // y clear of every threshold's band.
    const __m512 fr = _mm512_sub_ps(y, g);
    const __mmask16 exact = _mm512_mask_cmp_ps_mask(live, _mm512_abs_ps(xf), _mm512_set1_ps(16777216.0f), _CMP_LT_OQ) &
                            _mm512_cmp_ps_mask(dev, _mm512_set1_ps(0.5f), _CMP_LT_OQ);
    const __mmask16 mid = _mm512_cmp_ps_mask(fr, dev, _CMP_GE_OQ) &
                          _mm512_cmp_ps_mask(fr, _mm512_sub_ps(_mm512_set1_ps(1.0f), dev), _CMP_LT_OQ);
    const __mmask16 outside = _mm512_cmp_ps_mask(y, _mm512_set1_ps(-2.0f), _CMP_LT_OQ) |
                              _mm512_cmp_ps_mask(y, _mm512_set1_ps((float)T + 1.0f), _CMP_GT_OQ);
    if ((__mmask16)(exact & (mid | outside)) == live) return k;
  }
  for (int round = 0; round < 2; ++round) {
    const __mmask16 has_lo = _mm512_mask_cmpgt_epi32_mask(live, k, _mm512_setzero_si512());
    const __mmask16 has_hi = _mm512_mask_cmplt_epi32_mask(live, k, Tv);
    const __m512i ilo = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(k, one), ldv), lane);
    const __m512i ihi = _mm512_add_epi32(_mm512_mullo_epi32(k, ldv), lane);
    const __mmask16 below = has_lo & (__mmask16)~ge(has_lo, x, ilo, th);  // x < t[k-1]: k too big
    const __mmask16 above = ge(has_hi, x, ihi, th);                       // x >= t[k]: k too small
    if (!(below | above)) return k;
    k = _mm512_mask_sub_epi32(k, below, k, one);
    k = _mm512_mask_add_epi32(k, above, k, one);
  }
  __m512i cnt = _mm512_setzero_si512();
  for (int step = 1 << (31 - __builtin_clz((unsigned)T)); step >= 1; step >>= 1) {
    const __m512i nxt = _mm512_add_epi32(cnt, _mm512_set1_epi32(step));
    const __mmask16 ok = _mm512_mask_cmple_epi32_mask(live, nxt, Tv);
    const __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(nxt, one), ldv), lane);
    cnt = _mm512_mask_mov_epi32(cnt, ge(ok, x, idx, th), nxt);
  }
  return cnt;
}

// The margins of columns n..n+15; none planned (hand-built epilogues) means
// every lane is verified.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 margin(const std::vector<float>& gdev, int64_t n) {
  return gdev.size() >= (size_t)(n + 16) ? _mm512_loadu_ps(gdev.data() + n) : _mm512_set1_ps(1.0f);
}

// x >= th[idx] on the lanes of m (int32 and float variants).
struct GeI32 {
  __attribute__((target("avx512f,avx512bw,avx512vl"))) __mmask16 operator()(__mmask16 m, __m512i x, __m512i idx,
                                                                   const int32_t* th) const {
    const __m512i t = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, th, 4);
    return _mm512_mask_cmpge_epi32_mask(m, x, t);
  }
};
struct GeF32 {
  __attribute__((target("avx512f,avx512bw,avx512vl"))) __mmask16 operator()(__mmask16 m, __m512 x, __m512i idx,
                                                                   const float* th) const {
    const __m512 t = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, th, 4);
    return _mm512_mask_cmp_ps_mask(m, x, t, _CMP_GE_OQ);  // NaN never counts
  }
};

// The same, for lanes that hold different channels (idx was built for lane j
// = channel j; swap in each lane's own channel).
struct GeF32Chan {
  __m512i chan;
  __attribute__((target("avx512f,avx512bw,avx512vl"))) __mmask16 operator()(__mmask16 m, __m512 x, __m512i idx,
                                                                   const float* th) const {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return GeF32{}(m, x, _mm512_add_epi32(_mm512_sub_epi32(idx, lane), chan), th);
  }
};

__attribute__((target("avx512f,avx512bw,avx512vl"))) void epi_avx512_search(const Epilogue& e, const int32_t* P, int64_t rows,
                                                                   const int32_t* RA, int64_t row0, int64_t n0,
                                                                   int64_t ncols, const OutRef& out) {
  const __m512i A = _mm512_set1_epi32(e.A), C = _mm512_set1_epi32(e.C);
  const int chunks = (int)((ncols + 15) / 16);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const __m512i base = _mm512_set1_epi32(e.B * (RA ? RA[r] : 0) + e.D);
    uint64_t planes[8] = {0};
    for (int c = 0; c < chunks; ++c) {
      const int64_t left = ncols - 16 * c, n = n0 + 16 * c;
      const __mmask16 live = live_mask(left);
      __m512i dot = _mm512_maskz_loadu_epi32(live, P + r * kStrip + 16 * c);
      if (e.A != 1) dot = _mm512_mullo_epi32(dot, A);
      dot = _mm512_add_epi32(dot, base);
      if (e.C != 0) dot = _mm512_add_epi32(dot, _mm512_mullo_epi32(C, _mm512_loadu_si512(e.CW.data() + n)));
      const __m512i cnt = count_many(dot, _mm512_cvtepi32_ps(dot), live, e.thr.data() + n, e.Npad, e.T,
                                     _mm512_loadu_ps(e.g0.data() + n), _mm512_loadu_ps(e.ginv.data() + n),
                                     margin(e.gdev, n), GeI32{});
      emit16(out, &e, e.code.data(), e.identity, row, n, c, live, cnt, planes);
    }
    store_planes(out, row, n0, planes);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void epi_avx512(const Epilogue& e, const int32_t* P, int64_t rows,
                                                            const int32_t* RA, int64_t row0, int64_t n0,
                                                            int64_t ncols, const OutRef& out) {
  if (e.T > 16) return epi_avx512_search(e, P, rows, RA, row0, n0, ncols, out);
  const __m512i one = _mm512_set1_epi32(1), A = _mm512_set1_epi32(e.A), C = _mm512_set1_epi32(e.C);
  const int chunks = (int)((ncols + 15) / 16);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const __m512i base = _mm512_set1_epi32(e.B * (RA ? RA[r] : 0) + e.D);
    uint64_t planes[8] = {0};
    for (int c = 0; c < chunks; ++c) {
      const int64_t left = ncols - 16 * c;
      const __mmask16 live = live_mask(left);
      const int64_t n = n0 + 16 * c;
      __m512i dot = _mm512_maskz_loadu_epi32(live, P + r * kStrip + 16 * c);
      if (e.A != 1) dot = _mm512_mullo_epi32(dot, A);
      dot = _mm512_add_epi32(dot, base);
      if (e.C != 0) dot = _mm512_add_epi32(dot, _mm512_mullo_epi32(C, _mm512_loadu_si512(e.CW.data() + n)));
      if (e.T == 0) {
        _mm512_mask_storeu_ps(static_cast<float*>(out.base) + row * out.ld + n, live, _mm512_cvtepi32_ps(dot));
        continue;
      }
      __m512i cnt = _mm512_setzero_si512();
      const int32_t* th = e.thr.data() + n;
      for (int t = 0; t < e.T; ++t) {
        const __mmask16 ge = _mm512_cmpge_epi32_mask(dot, _mm512_loadu_si512(th + t * e.Npad));
        cnt = _mm512_mask_add_epi32(cnt, ge, cnt, one);
      }
      emit16(out, &e, e.code.data(), e.identity, row, n, c, live, cnt, planes);
    }
    store_planes(out, row, n0, planes);
  }
}

// Few channels (an RGB input): rows are shorter than a vector, so the
// elements are walked as one flat stream, each lane looking up its own
// channel's thresholds.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void thr_avx512_flat(const FloatThresholds& t, const float* x,
                                                                 int64_t rows, int64_t row0, const OutRef& out) {
  const __m512i one = _mm512_set1_epi32(1), C = _mm512_set1_epi32((int)t.C);
  const __m512i adv = _mm512_set1_epi32((int)(16 % t.C));
  alignas(64) int32_t start[16];
  for (int j = 0; j < 16; ++j) start[j] = (int32_t)(j % t.C);
  __m512i chan = _mm512_load_si512((const void*)start);
  const int64_t total = rows * t.C;
  alignas(64) int32_t codes[16];
  int64_t row = row0, n = 0;  // the element's row and channel, advanced without divisions
  for (int64_t i0 = 0; i0 < total; i0 += 16) {
    const int64_t left = total - i0;
    const __mmask16 live = live_mask(left);
    const __m512 v = _mm512_maskz_loadu_ps(live, x + i0);
    __m512i cnt = _mm512_setzero_si512();
    if (t.T <= 16) {
      for (int k = 0; k < t.T; ++k) {
        const __m512 th = _mm512_permutexvar_ps(chan, _mm512_loadu_ps(t.thr.data() + k * t.Cpad));
        cnt = _mm512_mask_add_epi32(cnt, _mm512_mask_cmp_ps_mask(live, v, th, _CMP_GE_OQ), cnt, one);
      }
    } else {
      // Lanes hold different channels: index the thresholds by channel.
      const __m512 g0 = _mm512_permutexvar_ps(chan, _mm512_loadu_ps(t.g0.data()));
      const __m512 gi = _mm512_permutexvar_ps(chan, _mm512_loadu_ps(t.ginv.data()));
      const __m512 dv = _mm512_permutexvar_ps(chan, margin(t.gdev, 0));
      cnt = count_many(v, v, live, t.thr.data(), t.Cpad, t.T, g0, gi, dv, GeF32Chan{chan});
    }
    _mm512_store_si512((void*)codes, cnt);
    for (int j = 0; j < 16 && j < left; ++j, n = n + 1 == t.C ? (++row, 0) : n + 1) {
      const int32_t code = t.code[(size_t)codes[j]];
      if (out.kind == OutKind::BYTES) {
        static_cast<uint8_t*>(out.base)[row * out.ld + n] = (uint8_t)code;
      } else {
        uint64_t* w = static_cast<uint64_t*>(out.base) + row * out.ld;
        for (int p = 0; p < out.bits; ++p) {
          const uint64_t bit = uint64_t(1) << (n % 64);
          uint64_t& word = w[p * out.plane_words + n / 64];
          word = ((code >> p) & 1) ? (word | bit) : (word & ~bit);
        }
      }
    }
    chan = _mm512_add_epi32(chan, adv);
    chan = _mm512_mask_sub_epi32(chan, _mm512_cmpge_epi32_mask(chan, C), chan, C);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void thr_avx512(const FloatThresholds& t, const float* x, int64_t rows,
                                                            int64_t row0, const OutRef& out) {
  const __m512i one = _mm512_set1_epi32(1);
  const bool identity = identity_codes(t.code);
  if (t.T == 1 && identity && out.kind == OutKind::PLANES && out.bits == 1) {
    // Binary input quantization: the compare mask is the output plane itself.
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * t.C;
      uint64_t* w = static_cast<uint64_t*>(out.base) + (row0 + r) * out.ld;
      for (int64_t n0 = 0; n0 < t.C; n0 += 64) {
        uint64_t word = 0;
        for (int c = 0; c < 4 && n0 + 16 * c < t.C; ++c) {
          const int64_t n = n0 + 16 * c;
          const __mmask16 live = live_mask(t.C - n);
          const __m512 v = _mm512_maskz_loadu_ps(live, xr + n);
          const __mmask16 ge = _mm512_mask_cmp_ps_mask(live, v, _mm512_loadu_ps(t.thr.data() + n), _CMP_GE_OQ);
          word |= (uint64_t)ge << (16 * c);
        }
        w[n0 / 64] = word;
      }
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const float* xr = x + r * t.C;
    for (int64_t n0 = 0; n0 < t.C; n0 += 64) {
      uint64_t planes[8] = {0};
      const int64_t ncols = std::min<int64_t>(64, t.C - n0);
      for (int c = 0; c < (int)((ncols + 15) / 16); ++c) {
        const int64_t left = ncols - 16 * c, n = n0 + 16 * c;
        const __mmask16 live = live_mask(left);
        const __m512 v = _mm512_maskz_loadu_ps(live, xr + n);
        __m512i cnt = _mm512_setzero_si512();
        // Ordered compares: NaN inputs (and NaN padding) never count.
        if (t.T <= 16) {
          for (int k = 0; k < t.T; ++k) {
            const __mmask16 ge = _mm512_cmp_ps_mask(v, _mm512_loadu_ps(t.thr.data() + k * t.Cpad + n), _CMP_GE_OQ);
            cnt = _mm512_mask_add_epi32(cnt, ge, cnt, one);
          }
        } else {
          cnt = count_many(v, v, live, t.thr.data() + n, t.Cpad, t.T, _mm512_loadu_ps(t.g0.data() + n),
                           _mm512_loadu_ps(t.ginv.data() + n), margin(t.gdev, n), GeF32{});
        }
        emit16(out, nullptr, t.code.data(), identity, row, n, c, live, cnt, planes);
      }
      store_planes(out, row, n0, planes);
    }
  }
}

// An NCHW image straight to channels-last byte codes with a 4-byte row
// stride (C <= 4, e.g. RGB input quantization): per 16 pixels, each
// channel's counts come from its own plane with that channel's thresholds
// broadcast, and the codes merge into one 32-bit row per pixel.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void thr_nchw_c4_avx512(const FloatThresholds& t, const float* img,
                                                                            int64_t HW, int64_t p0, int64_t np,
                                                                            uint8_t* out) {
  const bool identity = identity_codes(t.code);
  const __m512i one = _mm512_set1_epi32(1);
  for (int64_t q = 0; q < np; q += 16) {
    const __mmask16 live = live_mask(np - q);
    __m512i row = _mm512_setzero_si512();
    for (int c = 0; c < (int)t.C; ++c) {
      const __m512 v = _mm512_maskz_loadu_ps(live, img + c * HW + p0 + q);
      __m512i cnt = _mm512_setzero_si512();
      if (t.T <= 16) {
        for (int k = 0; k < t.T; ++k) {
          const __m512 th = _mm512_set1_ps(t.thr[(size_t)(k * t.Cpad + c)]);
          cnt = _mm512_mask_add_epi32(cnt, _mm512_mask_cmp_ps_mask(live, v, th, _CMP_GE_OQ), cnt, one);
        }
      } else {
        const float dev = t.gdev.size() > (size_t)c ? t.gdev[(size_t)c] : 1.0f;
        cnt = count_many(v, v, live, t.thr.data(), t.Cpad, t.T, _mm512_set1_ps(t.g0[(size_t)c]),
                         _mm512_set1_ps(t.ginv[(size_t)c]), _mm512_set1_ps(dev), GeF32Chan{_mm512_set1_epi32(c)});
      }
      const __m512i code = identity ? cnt : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, cnt, t.code.data(), 4);
      row = _mm512_or_si512(row, _mm512_slli_epi32(code, 8 * c));
    }
    _mm512_mask_storeu_epi32(out + q * 4, live, row);
  }
}

// ---- AVX2: 8 columns per step (CPUs without AVX-512) ------------------------

// The count of an 8-lane chunk when T > 16, from the linear guess where the
// margin proves it (as count_many), else per lane by the scalar search.
template <class X, class Elem>
__attribute__((target("avx2,fma"))) inline __m256i count_many8(__m256 xf, const X* xs, const Elem* th, int64_t ld,
                                                             int T, const float* g0, const float* ginv,
                                                             const std::vector<float>& gdev, int64_t n, int live) {
  const __m256 y = _mm256_mul_ps(_mm256_sub_ps(xf, _mm256_loadu_ps(g0)), _mm256_loadu_ps(ginv));
  const __m256 g = _mm256_floor_ps(y);
  const __m256 gc = _mm256_min_ps(_mm256_max_ps(g, _mm256_set1_ps(-1.0f)), _mm256_set1_ps((float)T));
  const __m256i k = _mm256_add_epi32(_mm256_cvttps_epi32(gc), _mm256_set1_epi32(1));
  if (gdev.size() >= (size_t)(n + 8)) {
    const __m256 dev = _mm256_loadu_ps(gdev.data() + n), fr = _mm256_sub_ps(y, g);
    const __m256 absx = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), xf);
    const __m256 exact = _mm256_and_ps(_mm256_cmp_ps(absx, _mm256_set1_ps(16777216.0f), _CMP_LT_OQ),
                                       _mm256_cmp_ps(dev, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
    const __m256 mid = _mm256_and_ps(_mm256_cmp_ps(fr, dev, _CMP_GE_OQ),
                                     _mm256_cmp_ps(fr, _mm256_sub_ps(_mm256_set1_ps(1.0f), dev), _CMP_LT_OQ));
    const __m256 outside = _mm256_or_ps(_mm256_cmp_ps(y, _mm256_set1_ps(-2.0f), _CMP_LT_OQ),
                                        _mm256_cmp_ps(y, _mm256_set1_ps((float)T + 1.0f), _CMP_GT_OQ));
    const int proven = _mm256_movemask_ps(_mm256_and_ps(exact, _mm256_or_ps(mid, outside)));
    const int want = (1 << live) - 1;
    if ((proven & want) == want) return _mm256_min_epi32(_mm256_max_epi32(k, _mm256_setzero_si256()), _mm256_set1_epi32(T));
  }
  alignas(32) int32_t c[8] = {0};
  for (int j = 0; j < live; ++j) c[j] = count_ge(xs[j], th + j, ld, T);
  return _mm256_load_si256((const __m256i*)c);
}

// Writes an 8-lane chunk of counts (columns n..n+live-1 of `row`): float
// values, byte codes, or bits gathered into the strip's plane words.
__attribute__((target("avx2"))) inline void emit8(const OutRef& out, const float* lut, const int32_t* code_tab,
                                                  bool identity, int64_t row, int64_t n, int c, int live, __m256i cnt,
                                                  uint64_t* planes) {
  alignas(32) int32_t k[8];
  _mm256_store_si256((__m256i*)k, cnt);
  if (out.kind == OutKind::FLOAT) {
    float* o = static_cast<float*>(out.base) + row * out.ld + n;
    for (int j = 0; j < live; ++j) o[j] = lut[k[j]];
    return;
  }
  if (out.kind == OutKind::BYTES) {
    uint8_t* o = static_cast<uint8_t*>(out.base) + row * out.ld + n;
    for (int j = 0; j < live; ++j) o[j] = (uint8_t)(identity ? k[j] : code_tab[k[j]]);
    return;
  }
  __m256i code = cnt;
  if (!identity) code = _mm256_i32gather_epi32(code_tab, cnt, 4);
  const int keep = (1 << live) - 1;
  for (int p = 0; p < out.bits; ++p) {
    const int m = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(code, 31 - p))) & keep;
    planes[p] |= uint64_t((unsigned)m) << (8 * c);
  }
}

__attribute__((target("avx2,fma"))) void epi_avx2(const Epilogue& e, const int32_t* P, int64_t rows, const int32_t* RA,
                                                  int64_t row0, int64_t n0, int64_t ncols, const OutRef& out) {
  const __m256i A = _mm256_set1_epi32(e.A), C = _mm256_set1_epi32(e.C);
  const int chunks = (int)((ncols + 7) / 8);
  alignas(32) int32_t dots[8];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const __m256i base = _mm256_set1_epi32(e.B * (RA ? RA[r] : 0) + e.D);
    uint64_t planes[8] = {0};
    for (int c = 0; c < chunks; ++c) {
      const int live = (int)std::min<int64_t>(8, ncols - 8 * c);
      const int64_t n = n0 + 8 * c;
      // P rows are kStrip wide and CW is padded, so the full 8-lane loads stay in bounds.
      __m256i dot = _mm256_loadu_si256((const __m256i*)(P + r * kStrip + 8 * c));
      if (e.A != 1) dot = _mm256_mullo_epi32(dot, A);
      dot = _mm256_add_epi32(dot, base);
      if (e.C != 0) dot = _mm256_add_epi32(dot, _mm256_mullo_epi32(C, _mm256_loadu_si256((const __m256i*)(e.CW.data() + n))));
      if (e.T == 0) {
        _mm256_store_si256((__m256i*)dots, dot);
        float* o = static_cast<float*>(out.base) + row * out.ld + n;
        for (int j = 0; j < live; ++j) o[j] = (float)dots[j];
        continue;
      }
      __m256i cnt;
      if (e.T <= 16) {
        // dot >= t  <=>  !(t > dot): count the thresholds above and subtract.
        cnt = _mm256_set1_epi32(e.T);
        for (int t = 0; t < e.T; ++t)
          cnt = _mm256_add_epi32(cnt, _mm256_cmpgt_epi32(_mm256_loadu_si256((const __m256i*)(e.thr.data() + t * e.Npad + n)), dot));
      } else {
        _mm256_store_si256((__m256i*)dots, dot);
        cnt = count_many8(_mm256_cvtepi32_ps(dot), dots, e.thr.data() + n, e.Npad, e.T, e.g0.data() + n,
                          e.ginv.data() + n, e.gdev, n, live);
      }
      emit8(out, e.lut.data(), e.code.data(), e.identity, row, n, c % 8, live, cnt, planes);
      if (out.kind == OutKind::PLANES && (c % 8 == 7 || c + 1 == chunks)) {
        // 8 chunks fill one 64-column word (a strip is at most one word).
        uint64_t* w = static_cast<uint64_t*>(out.base) + row * out.ld;
        for (int p = 0; p < out.bits; ++p) w[p * out.plane_words + (n0 + 64 * (c / 8)) / 64] = planes[p];
        for (int p = 0; p < 8; ++p) planes[p] = 0;
      }
    }
  }
}

__attribute__((target("avx2,fma"))) void thr_avx2(const FloatThresholds& t, const float* x, int64_t rows, int64_t row0,
                                                  const OutRef& out) {
  const bool identity = identity_codes(t.code);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = row0 + r;
    const float* xr = x + r * t.C;
    for (int64_t n0 = 0; n0 < t.C; n0 += 64) {
      uint64_t planes[8] = {0};
      const int64_t ncols = std::min<int64_t>(64, t.C - n0);
      for (int c = 0; c < (int)((ncols + 7) / 8); ++c) {
        const int live = (int)std::min<int64_t>(8, ncols - 8 * c);
        const int64_t n = n0 + 8 * c;
        alignas(32) float xs[8] = {0};
        for (int j = 0; j < live; ++j) xs[j] = xr[n + j];
        const __m256 v = _mm256_load_ps(xs);
        __m256i cnt = _mm256_setzero_si256();
        if (t.T <= 16) {
          // Ordered compares: NaN inputs (and NaN padding) never count.
          for (int k = 0; k < t.T; ++k) {
            const __m256 ge = _mm256_cmp_ps(v, _mm256_loadu_ps(t.thr.data() + k * t.Cpad + n), _CMP_GE_OQ);
            cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(ge));
          }
        } else {
          cnt = count_many8(v, xs, t.thr.data() + n, t.Cpad, t.T, t.g0.data() + n, t.ginv.data() + n, t.gdev, n, live);
        }
        emit8(out, nullptr, t.code.data(), identity, row, n, c, live, cnt, planes);
      }
      store_planes(out, row, n0, planes);
    }
  }
}

}  // namespace

void fill_guess(const float* first, const float* last, const int* count, int64_t n, std::vector<float>& g0,
                std::vector<float>& ginv) {
  const int64_t pad = (n + kStrip - 1) / kStrip * kStrip;
  g0.assign((size_t)pad, 0.0f);
  ginv.assign((size_t)pad, 0.0f);
  for (int64_t c = 0; c < n; ++c) {
    if (count[c] < 2 || !std::isfinite(first[c]) || !std::isfinite(last[c]) || !(last[c] > first[c])) continue;
    g0[(size_t)c] = first[c];
    ginv[(size_t)c] = (float)(count[c] - 1) / (last[c] - first[c]);
  }
}

template <class Elem>
static void margin_of(const Elem* thr, int64_t ld, const int* count, int64_t n, int T, const std::vector<float>& g0,
                      const std::vector<float>& ginv, std::vector<float>& gdev) {
  gdev.assign(g0.size(), 1.0f);
  for (int64_t c = 0; c < n; ++c) {
    // Only full rows: a shorter row would clamp at its own count, not at T.
    if (count[c] != T || ginv[(size_t)c] == 0.0f) continue;
    double d = 0;
    for (int i = 0; i < T; ++i)
      d = std::max(d, std::fabs(((double)thr[i * ld + c] - (double)g0[(size_t)c]) * (double)ginv[(size_t)c] - i));
    if (d + 1e-4 < 0.5) gdev[(size_t)c] = (float)(d + 1e-4);
  }
}

void fill_guess_margin(const int32_t* thr, int64_t ld, const int* count, int64_t n, int T, const std::vector<float>& g0,
                       const std::vector<float>& ginv, std::vector<float>& gdev) {
  margin_of(thr, ld, count, n, T, g0, ginv, gdev);
}
void fill_guess_margin(const float* thr, int64_t ld, const int* count, int64_t n, int T, const std::vector<float>& g0,
                       const std::vector<float>& ginv, std::vector<float>& gdev) {
  margin_of(thr, ld, count, n, T, g0, ginv, gdev);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void bits_avx512(const int32_t* P, int64_t rows,
                                                                             int64_t ncols, const int64_t* q, bool le,
                                                                             uint64_t* bits, int64_t ldb) {
  // The bounds saturated to int32 once per call: exact, since |P| < 2^31 - 1
  // (a bound past the int32 range still compares the same way).
  __m512i q32[4];
  __mmask16 live[4];
  const int chunks = (int)((ncols + 15) / 16);
  for (int c = 0; c < chunks; ++c) {
    live[c] = live_mask(ncols - 16 * c);
    const __mmask8 lo = (__mmask8)(live[c] & 0xFF), hi = (__mmask8)(live[c] >> 8);
    const __m256i a = _mm512_cvtsepi64_epi32(_mm512_maskz_loadu_epi64(lo, q + 16 * c));
    const __m256i b = _mm512_cvtsepi64_epi32(_mm512_maskz_loadu_epi64(hi, q + 16 * c + 8));
    q32[c] = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  }
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t word = 0;
    for (int c = 0; c < chunks; ++c) {
      const __m512i v = _mm512_maskz_loadu_epi32(live[c], P + r * kStrip + 16 * c);
      const __mmask16 m = le ? _mm512_mask_cmple_epi32_mask(live[c], v, q32[c]) : _mm512_mask_cmpge_epi32_mask(live[c], v, q32[c]);
      word |= (uint64_t)m << (16 * c);
    }
    bits[r * ldb] = word;
  }
}

void bits_from_sums(Isa isa, const int32_t* P, int64_t rows, int64_t ncols, const int64_t* q, bool le, uint64_t* bits,
                    int64_t ldb) {
  if (isa == Isa::AVX512) return bits_avx512(P, rows, ncols, q, le, bits, ldb);
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t word = 0;
    for (int64_t j = 0; j < ncols; ++j) {
      const int64_t v = P[r * kStrip + j];
      if (le ? v <= q[j] : v >= q[j]) word |= uint64_t(1) << j;
    }
    bits[r * ldb] = word;
  }
}

void run_epilogue(Isa isa, const Epilogue& e, const int32_t* P, int64_t rows, const int32_t* RA, int64_t row0,
                  int64_t n0, int64_t ncols, const OutRef& out) {
  if (isa == Isa::AVX512) return epi_avx512(e, P, rows, RA, row0, n0, ncols, out);
  if (isa == Isa::AVX2) return epi_avx2(e, P, rows, RA, row0, n0, ncols, out);
  epi_scalar(e, P, rows, RA, row0, n0, ncols, out);
}

bool threshold_nchw(Isa isa, const FloatThresholds& t, const float* img, int64_t HW, int64_t p0, int64_t np,
                    int64_t row0, const OutRef& out) {
  if (isa != Isa::AVX512 || out.kind != OutKind::BYTES || out.ld != 4 || t.C > 4) return false;
  thr_nchw_c4_avx512(t, img, HW, p0, np, static_cast<uint8_t*>(out.base) + row0 * 4);
  return true;
}

void threshold_rows(Isa isa, const FloatThresholds& t, const float* x, int64_t rows, int64_t row0,
                    const OutRef& out) {
  if (isa == Isa::AVX512) return t.C < 16 ? thr_avx512_flat(t, x, rows, row0, out) : thr_avx512(t, x, rows, row0, out);
  if (isa == Isa::AVX2 && t.C >= 8) return thr_avx2(t, x, rows, row0, out);
  thr_scalar(t, x, rows, row0, out);
}

}  // namespace sf::engine
