// Fuzz tests of the fast engine's packed kernels: every kernel path this CPU
// has (scalar, AVX2, AVX-512) against naive loops on unpacked codes, and the
// vector paths against the scalar path byte for byte (output storage
// included). Seeded std::mt19937_64, a few hundred random cases per kernel,
// shapes chosen to hit row tails (not multiples of 4 / 8), strips past the
// first and a ragged last strip.
//
//  - planes_gemm: (pa, pw) = (1, 1) XOR and (1, 1), (1, 2), (2, 1), (2, 2) AND
//  - u8s8_strip (VNNI CPUs only) and i16_strip on 1..8-bit data
//  - run_epilogue: T in {0, 1, 3, 15, 17, 255}, FLOAT (lut or dot), PLANES
//    (1 and 2 bits) and BYTES outputs, tiled by rows and strips as run.cpp does
//  - threshold_rows: C in {3, 20, 130} (and others), NaN inputs, +-inf thresholds
//  - encode / decode / relayout / read_codes round trips and rejections
//  - im2col_packed / im2col_rows and maxpool_packed against the reference ops
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

#include "exec/engine/epilogue.h"
#include "exec/engine/kernels.h"
#include "exec/engine/packed.h"
#include "fuzz_util.h"
#include "exec/executor.h"

using namespace sf;
using namespace sf::engine;

namespace {

using fuzz::Rng;
using fuzz::coin;
using fuzz::fuzz_scale;
using fuzz::uni;

constexpr int32_t kSentinel = 0x5A5A5A5A;

// ---- planes_gemm ---------------------------------------------------------------

struct PlanesCase {
  bool xor_mode;
  int pa, pw;
};

TEST(EnginePacked, PlanesGemmFuzz) {
  Rng rng(0xB17B17);
  const PlanesCase modes[] = {{true, 1, 1}, {false, 1, 1}, {false, 1, 2}, {false, 2, 1}, {false, 2, 2}};
  const std::vector<Isa> isas = available_isas();
  for (int iter = 0; iter < 250 * fuzz_scale(); ++iter) {
    const PlanesCase m = modes[iter % 5];
    const int64_t W = uni(rng, 1, 40), rows = uni(rng, 1, 70), N = uni(rng, 1, 150);
    const int64_t Kb = W * 64;
    // Bits past `used` are segment padding: zero in activations and weights.
    const int64_t used = coin(rng, 30) ? uni(rng, 1, Kb) : Kb;
    const int density = (int)uni(rng, 5, 95);
    const int64_t lda = m.pa * W + uni(rng, 0, 3);
    std::vector<uint8_t> ac((size_t)(rows * Kb), 0), wt((size_t)(N * Kb), 0);  // codes; wt transposed [n][k]
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < used; ++k)
        for (int i = 0; i < m.pa; ++i) ac[(size_t)(r * Kb + k)] |= (uint8_t)(coin(rng, density) << i);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < used; ++k)
        for (int j = 0; j < m.pw; ++j) wt[(size_t)(n * Kb + k)] |= (uint8_t)(coin(rng, density) << j);
    std::vector<uint64_t> a((size_t)(rows * lda));
    for (auto& v : a) v = rng();  // words past pa*W of each row are never read
    for (int64_t r = 0; r < rows; ++r)
      for (int i = 0; i < m.pa; ++i)
        for (int64_t w = 0; w < W; ++w) {
          uint64_t word = 0;
          for (int b = 0; b < 64; ++b) word |= uint64_t((ac[(size_t)(r * Kb + w * 64 + b)] >> i) & 1) << b;
          a[(size_t)(r * lda + i * W + w)] = word;
        }
    const PackedPlanes pw =
        pack_weight_planes(W, N, m.pw, [&](int64_t k, int64_t n) -> uint32_t { return wt[(size_t)(n * Kb + k)]; });
    ASSERT_EQ(pw.planes, m.pw);
    // Naive: XOR counts differing bits, AND mode sums code products.
    std::vector<int32_t> want((size_t)(rows * N));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < N; ++n) {
        const uint8_t* x = ac.data() + r * Kb;
        const uint8_t* y = wt.data() + n * Kb;
        int32_t s = 0;
        if (m.xor_mode)
          for (int64_t k = 0; k < Kb; ++k) s += x[k] != y[k];
        else
          for (int64_t k = 0; k < Kb; ++k) s += (int32_t)x[k] * y[k];
        want[(size_t)(r * N + n)] = s;
      }
    const int64_t strips = (N + kStrip - 1) / kStrip;
    for (Isa isa : isas) {
      for (int64_t st = 0; st < strips; ++st) {
        std::vector<int32_t> P((size_t)(rows * kStrip), kSentinel);
        planes_gemm(isa, m.xor_mode, m.pa, a.data(), lda, rows, pw, st, P.data());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < kStrip; ++j) {
            const int64_t n = st * kStrip + j;
            const int32_t exp = n < N ? want[(size_t)(r * N + n)] : kSentinel;  // columns past N: untouched
            ASSERT_EQ(P[(size_t)(r * kStrip + j)], exp)
                << isa_name(isa) << " iter=" << iter << (m.xor_mode ? " xor" : " and") << " pa=" << m.pa
                << " pw=" << m.pw << " W=" << W << " rows=" << rows << " N=" << N << " r=" << r << " n=" << n;
          }
      }
    }
    if (m.pa != 1 || m.pw != 1) continue;
    // The bit-output form: bit n = count >= q[n] (or <=), thresholds around
    // the real counts (equality included), padding columns never set.
    const bool le = coin(rng);
    std::vector<int64_t> q((size_t)(pw.blocks * kBitBlock), le ? INT64_MIN : INT64_MAX);
    for (int64_t n = 0; n < N; ++n) {
      const int pick = (int)uni(rng, 0, 9);
      q[(size_t)n] = pick == 0 ? (le ? INT64_MAX : INT64_MIN)
                     : pick < 6 ? want[(size_t)(uni(rng, 0, rows - 1) * N + n)] + uni(rng, -1, 1)
                                : uni(rng, -2, Kb + 2);
    }
    const int64_t ldb = uni(rng, 1, 3);
    for (Isa isa : isas)
      for (int64_t st = 0; st < strips; ++st) {
        std::vector<uint64_t> bits((size_t)(rows * ldb), ~uint64_t(0));
        planes_gemm_bit(isa, m.xor_mode, a.data(), lda, rows, pw, st, q.data(), le, bits.data(), ldb);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < 64; ++j) {
            const int64_t n = st * kStrip + j;
            const int64_t c = n < N ? want[(size_t)(r * N + n)] : 0;
            const bool exp = n < N && (le ? c <= q[(size_t)n] : c >= q[(size_t)n]);
            ASSERT_EQ((bits[(size_t)(r * ldb)] >> j) & 1, (uint64_t)exp)
                << isa_name(isa) << " bit output iter=" << iter << " le=" << le << " r=" << r << " n=" << n;
          }
      }
  }
}

// ---- u8s8_strip / i16_strip --------------------------------------------------

int64_t draw_val(Rng& rng, int bits, bool sgn) {
  const int64_t lo = sgn ? -(int64_t(1) << (bits - 1)) : 0;
  const int64_t hi = sgn ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
  // Extremes often: they are where pairwise sums would overflow int16.
  const int pick = (int)(rng() % 8);
  if (pick == 0) return lo;
  if (pick == 1) return hi;
  return uni(rng, lo, hi);
}

TEST(EnginePacked, IntStripsFuzz) {
  Rng rng(0x18B175);
  const bool vnni = vnni_available(), avxvnni = avxvnni_available();
  const std::vector<Isa> isas = available_isas();
  for (int iter = 0; iter < 200 * fuzz_scale(); ++iter) {
    const int64_t rows = uni(rng, 1, 70), K = uni(rng, 1, 300), N = uni(rng, 1, 150);
    const int abits = (int)uni(rng, 1, 8), wbits = (int)uni(rng, 1, 8);
    const bool a_signed = coin(rng), w_signed = coin(rng);
    std::vector<int16_t> a((size_t)(rows * K)), w((size_t)(K * N));
    for (auto& v : a) v = (int16_t)draw_val(rng, abits, a_signed);
    for (auto& v : w) v = (int16_t)draw_val(rng, wbits, w_signed);
    std::vector<int32_t> want((size_t)(rows * N), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) {
        const int32_t x = a[(size_t)(r * K + k)];
        for (int64_t n = 0; n < N; ++n) want[(size_t)(r * N + n)] += x * w[(size_t)(k * N + n)];
      }
    const int64_t strips = (N + kStrip - 1) / kStrip;
    auto check = [&](const std::vector<int32_t>& P, int64_t st, const char* what) -> ::testing::AssertionResult {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < kStrip; ++j) {
          const int64_t n = st * kStrip + j;
          const int32_t exp = n < N ? want[(size_t)(r * N + n)] : kSentinel;  // columns past N: untouched
          if (P[(size_t)(r * kStrip + j)] != exp)
            return ::testing::AssertionFailure() << what << " iter=" << iter << " rows=" << rows << " K=" << K
                                                 << " N=" << N << " r=" << r << " n=" << n << ": got "
                                                 << P[(size_t)(r * kStrip + j)] << ", want " << exp;
        }
      return ::testing::AssertionSuccess();
    };
    // int16 multiply-add: any 8-bit signed or unsigned pair.
    const PackedI16 pi = pack_weight_i16(K, N, [&](int64_t k, int64_t n) { return w[(size_t)(k * N + n)]; });
    std::vector<int16_t> a16((size_t)(rows * pi.Kp), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) a16[(size_t)(r * pi.Kp + k)] = a[(size_t)(r * K + k)];
    for (Isa isa : isas)
      for (int64_t st = 0; st < strips; ++st) {
        std::vector<int32_t> P((size_t)(rows * kStrip), kSentinel);
        i16_strip(isa, a16.data(), rows, pi, st, P.data());
        ASSERT_TRUE(check(P, st, isa_name(isa)));
      }
    // VNNI: unsigned activation codes (up to 255) x int8 weights (signed up
    // to 8 bits, unsigned up to 7), with a row stride past K4.
    if (!vnni && !avxvnni) continue;
    std::vector<uint8_t> au((size_t)(rows * K));
    for (auto& v : au) v = (uint8_t)draw_val(rng, abits, false);
    std::vector<int8_t> ws((size_t)(K * N));
    const int sbits = w_signed ? wbits : std::min(wbits, 7);
    for (auto& v : ws) v = (int8_t)draw_val(rng, sbits, w_signed);
    std::fill(want.begin(), want.end(), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) {
        const int32_t x = au[(size_t)(r * K + k)];
        for (int64_t n = 0; n < N; ++n) want[(size_t)(r * N + n)] += x * ws[(size_t)(k * N + n)];
      }
    const PackedS8 ps = pack_weight_s8(K, N, [&](int64_t k, int64_t n) { return ws[(size_t)(k * N + n)]; });
    const int64_t lda = ps.K4 + 4 * uni(rng, 0, 2);
    std::vector<uint8_t> a8((size_t)(rows * lda), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) a8[(size_t)(r * lda + k)] = au[(size_t)(r * K + k)];
    for (int64_t st = 0; st < strips; ++st) {
      if (vnni) {
        std::vector<int32_t> P((size_t)(rows * kStrip), kSentinel);
        u8s8_strip(a8.data(), lda, rows, ps, st, P.data());
        ASSERT_TRUE(check(P, st, "vnni"));
      }
      if (avxvnni) {
        std::vector<int32_t> P((size_t)(rows * kStrip), kSentinel);
        u8s8_strip_avx(a8.data(), lda, rows, ps, st, P.data());
        ASSERT_TRUE(check(P, st, "avx-vnni"));
      }
    }
  }
}

// ---- run_epilogue ----------------------------------------------------------------

// `cnt` sorted int32 thresholds in one of several styles: evenly spaced (what
// quantizers give; the AVX-512 count guess is then right), evenly spaced
// with jitter (off by one or two), or random with duplicates, extremes and
// values taken from the data (`sample`), so >= meets equality.
template <class Sample>
std::vector<int32_t> int_thresholds(Rng& rng, int cnt, int64_t dmin, int64_t dmax, Sample sample) {
  std::vector<int32_t> th((size_t)cnt);
  const int style = (int)(rng() % 4);
  const int64_t span = std::max<int64_t>(1, dmax - dmin);
  if (style < 3 && cnt > 0) {
    const double step = (double)uni(rng, 1, 4 * span / std::max(cnt, 1) + 1) * (style == 1 ? 0.37 : 1.0);
    const double start = (double)uni(rng, dmin - span / 4, dmin + span / 2);
    for (int k = 0; k < cnt; ++k) {
      int64_t t = (int64_t)std::ceil(start + step * k);
      if (style == 2) t += uni(rng, -2, 2);
      th[(size_t)k] = (int32_t)t;
    }
  } else {
    for (auto& t : th) {
      const int pick = (int)(rng() % 10);
      if (pick == 0) t = std::numeric_limits<int32_t>::min();
      else if (pick == 1) t = std::numeric_limits<int32_t>::max();
      else if (pick < 5) t = (int32_t)sample();
      else t = (int32_t)uni(rng, dmin - 10, dmax + 10);
    }
  }
  std::sort(th.begin(), th.end());
  return th;
}

// The same for float thresholds (inputs span about [-52, 52]).
std::vector<float> float_thresholds(Rng& rng, int cnt) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> th((size_t)cnt);
  const int style = (int)(rng() % 4);
  if (style < 3 && cnt > 0) {
    // Steps that are not powers of two round differently along the row.
    const float step = (float)uni(rng, 1, 400) * (style == 1 ? 0.1f : 0.125f) / (float)std::max(cnt, 1);
    const float start = (float)uni(rng, -500, 200) * 0.1f;
    for (int k = 0; k < cnt; ++k) {
      th[(size_t)k] = start + step * (float)k;
      if (style == 2 && coin(rng, 30)) th[(size_t)k] += step * (float)uni(rng, -2, 2) * 0.5f;
    }
    if (coin(rng, 20)) th[0] = -inf;
    if (coin(rng, 20)) th.back() = inf;
  } else {
    for (auto& v : th) {
      const int pick = (int)(rng() % 12);
      v = pick == 0 ? -inf : pick == 1 ? inf : (float)uni(rng, -400, 400) * 0.125f;
    }
  }
  std::sort(th.begin(), th.end());
  return th;
}

// A count guess that has nothing to do with the thresholds.
void garbage_guess(Rng& rng, std::vector<float>& g0, std::vector<float>& ginv) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 0.0f, -1.0f, 1e30f, 1e-30f};
  for (size_t i = 0; i < g0.size(); ++i) {
    g0[i] = coin(rng, 20) ? specials[rng() % 7] : (float)uni(rng, -100000, 100000) * 0.01f;
    ginv[i] = coin(rng, 20) ? specials[rng() % 7] : (float)uni(rng, -1000, 1000) * 0.001f;
  }
}

struct OutBuf {
  OutKind kind = OutKind::FLOAT;
  int bits = 0;
  int64_t ld = 0, plane_words = 0, rows = 0;
  std::vector<uint64_t> buf;
  OutRef ref() { return {kind, buf.data(), ld, plane_words, bits}; }
  // The value / code written for (row, n): float bits for FLOAT.
  uint32_t at(int64_t row, int64_t n) const {
    if (kind == OutKind::FLOAT) {
      uint32_t u;
      std::memcpy(&u, reinterpret_cast<const float*>(buf.data()) + row * ld + n, 4);
      return u;
    }
    if (kind == OutKind::BYTES) return reinterpret_cast<const uint8_t*>(buf.data())[row * ld + n];
    uint32_t c = 0;
    for (int p = 0; p < bits; ++p)
      c |= (uint32_t)((buf[(size_t)(row * ld + p * plane_words + n / 64)] >> (n % 64)) & 1) << p;
    return c;
  }
};

// Output storage for `rows` x N, filled with a garbage pattern (the kernels
// must write every code they own; PLANES strips own whole words).
OutBuf make_out(Rng& rng, OutKind kind, int bits, int64_t rows, int64_t N) {
  OutBuf o;
  o.kind = kind;
  o.bits = bits;
  o.rows = rows;
  int64_t words = 0;
  if (kind == OutKind::FLOAT) {
    o.ld = N;
    words = (rows * N + 1) / 2;
  } else if (kind == OutKind::BYTES) {
    o.ld = (N + 3) / 4 * 4 + 4 * uni(rng, 0, 1);
    words = (rows * o.ld + 7) / 8;
  } else {
    // Like a layout with extra segments after this one.
    o.plane_words = (N + 63) / 64 + uni(rng, 0, 1);
    o.ld = bits * o.plane_words;
    words = rows * o.ld;
  }
  o.buf.resize((size_t)words);
  for (auto& v : o.buf) v = rng();
  return o;
}

std::string kind_name(OutKind k, int bits) {
  return k == OutKind::FLOAT ? "FLOAT" : k == OutKind::BYTES ? "BYTES" : "PLANES" + std::to_string(bits);
}

TEST(EnginePacked, EpilogueFuzz) {
  Rng rng(0xE91106);
  const std::vector<Isa> isas = available_isas();
  struct Out {
    OutKind kind;
    int bits;
  };
  int cases = 0;
  for (int T : {0, 1, 3, 15, 17, 255}) {
    std::vector<Out> outs = {{OutKind::FLOAT, 0}};
    if (T > 0) outs.insert(outs.end(), {{OutKind::PLANES, 1}, {OutKind::PLANES, 2}, {OutKind::BYTES, 8}});
    for (const Out& oc : outs)
      for (int rep = 0; rep < 6 * fuzz_scale(); ++rep, ++cases) {
        const int64_t rows = uni(rng, 1, 70), N = uni(rng, 1, 150);
        Epilogue e;
        e.N = N;
        e.Npad = (N + kStrip - 1) / kStrip * kStrip;
        e.A = (int32_t)uni(rng, -3, 3);
        if (e.A == 0) e.A = 1;
        e.B = coin(rng) ? (int32_t)uni(rng, -3, 3) : 0;
        e.C = coin(rng) ? (int32_t)uni(rng, -3, 3) : 0;
        e.D = (int32_t)uni(rng, -100000, 100000);
        e.CW.assign((size_t)e.Npad, 0);
        for (int64_t n = 0; n < N; ++n) e.CW[(size_t)n] = (int32_t)uni(rng, -5000, 5000);
        const int64_t pmax = uni(rng, 1, 5000);
        std::vector<int32_t> Pf((size_t)(rows * N)), RA((size_t)rows);
        for (auto& v : Pf) v = (int32_t)uni(rng, 0, pmax);
        for (auto& v : RA) v = (int32_t)uni(rng, 0, 5000);
        auto dot_of = [&](int64_t r, int64_t n) {
          return (int64_t)e.A * Pf[(size_t)(r * N + n)] + (int64_t)e.B * RA[(size_t)r] +
                 (int64_t)e.C * e.CW[(size_t)n] + e.D;
        };
        int64_t dmin = INT64_MAX, dmax = INT64_MIN;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t n = 0; n < N; ++n) dmin = std::min(dmin, dot_of(r, n)), dmax = std::max(dmax, dot_of(r, n));
        // Thresholds per column, sorted, some rows short (INT32_MAX padding),
        // many equal to a dot value (>= must count equality), a few extreme.
        e.T = T;
        e.thr.assign((size_t)(T * e.Npad), std::numeric_limits<int32_t>::max());
        std::vector<float> first((size_t)N, 0.0f), last((size_t)N, 0.0f);
        std::vector<int> counts((size_t)N, 0);
        for (int64_t n = 0; n < N; ++n) {
          const int cnt = coin(rng, 25) ? (int)uni(rng, 0, T) : T;
          std::vector<int32_t> th =
              int_thresholds(rng, cnt, dmin, dmax, [&] { return dot_of(uni(rng, 0, rows - 1), n); });
          if (cnt > 16 && coin(rng)) {
            // Nearly evenly spaced, as quantizers make them: the epilogue's
            // margin lets most dots skip verification.
            const double step = std::max(1.0, (double)(dmax - dmin) / cnt * (double)uni(rng, 50, 150) / 100.0);
            const double a = (double)dmin + (double)uni(rng, -200, 200);
            for (int t = 0; t < cnt; ++t) {
              th[(size_t)t] = (int32_t)std::floor(a + t * step) + (coin(rng, 4) ? 1 : 0);
              if (t) th[(size_t)t] = std::max(th[(size_t)t], th[(size_t)t - 1]);
            }
          }
          for (int t = 0; t < cnt; ++t) e.thr[(size_t)(t * e.Npad + n)] = th[(size_t)t];
          counts[(size_t)n] = cnt;
          if (cnt) first[(size_t)n] = (float)th.front(), last[(size_t)n] = (float)th.back();
        }
        // The count guess the plan computes for T > 16 (exact whatever it
        // guesses: sometimes it gets garbage).
        fill_guess(first.data(), last.data(), counts.data(), N, e.g0, e.ginv);
        if (coin(rng, 15)) garbage_guess(rng, e.g0, e.ginv);
        if (!coin(rng, 4)) fill_guess_margin(e.thr.data(), e.Npad, counts.data(), N, T, e.g0, e.ginv, e.gdev);
        e.lut.resize((size_t)T + 1);
        for (auto& v : e.lut) v = (float)uni(rng, -1000, 1000) * 0.25f;
        if (T > 0) e.lut[0] = -0.0f;
        if (oc.kind != OutKind::FLOAT) {
          const int32_t cmax = oc.kind == OutKind::BYTES ? 255 : (1 << oc.bits) - 1;
          e.code.resize((size_t)T + 1);
          e.identity = T <= cmax && coin(rng);
          for (int c = 0; c <= T; ++c) e.code[(size_t)c] = e.identity ? c : (int32_t)uni(rng, 0, cmax);
        }
        const bool use_ra = e.B != 0 || coin(rng);
        // Row tiles of random height (row0 > 0), every strip of each.
        std::vector<int64_t> cuts = {0};
        while (cuts.back() < rows) cuts.push_back(std::min(rows, cuts.back() + uni(rng, 1, 40)));
        const int64_t strips = e.Npad / kStrip;
        OutBuf proto = make_out(rng, oc.kind, oc.bits, rows, N);
        std::vector<uint64_t> scalar_buf;
        for (Isa isa : isas) {
          OutBuf o = proto;
          for (size_t ci = 0; ci + 1 < cuts.size(); ++ci) {
            const int64_t r0 = cuts[ci], rr = cuts[ci + 1] - r0;
            for (int64_t st = 0; st < strips; ++st) {
              const int64_t n0 = st * kStrip, ncols = std::min<int64_t>(kStrip, N - n0);
              std::vector<int32_t> P((size_t)(rr * kStrip));
              for (auto& v : P) v = (int32_t)(rng() >> 33);  // past ncols: never read
              for (int64_t r = 0; r < rr; ++r)
                for (int64_t j = 0; j < ncols; ++j) P[(size_t)(r * kStrip + j)] = Pf[(size_t)((r0 + r) * N + n0 + j)];
              run_epilogue(isa, e, P.data(), rr, use_ra ? RA.data() + r0 : nullptr, r0, n0, ncols, o.ref());
            }
          }
          const std::string what = std::string(isa_name(isa)) + " T=" + std::to_string(T) + " " +
                                   kind_name(oc.kind, oc.bits) + " rows=" + std::to_string(rows) +
                                   " N=" + std::to_string(N) + " case=" + std::to_string(cases);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t n = 0; n < N; ++n) {
              const int64_t dot = dot_of(r, n);
              uint32_t exp;
              if (T == 0) {
                const float f = (float)dot;
                std::memcpy(&exp, &f, 4);
              } else {
                int cnt = 0;
                for (int t = 0; t < T; ++t) cnt += dot >= e.thr[(size_t)(t * e.Npad + n)];
                if (oc.kind == OutKind::FLOAT) std::memcpy(&exp, &e.lut[(size_t)cnt], 4);
                else exp = (uint32_t)e.code[(size_t)cnt] & (oc.kind == OutKind::BYTES ? 0xFFu : (1u << oc.bits) - 1);
              }
              ASSERT_EQ(o.at(r, n), exp) << what << " r=" << r << " n=" << n << " dot=" << dot;
            }
          // Every path leaves the whole storage identical (padding included).
          if (isa == Isa::SCALAR) scalar_buf = o.buf;
          else ASSERT_TRUE(o.buf == scalar_buf) << what << ": storage differs from the scalar path";
        }
      }
  }
  EXPECT_EQ(cases, 6 * fuzz_scale() * (1 + 5 * 4));
}

// ---- threshold_rows ----------------------------------------------------------------

TEST(EnginePacked, ThresholdRowsFuzz) {
  Rng rng(0x7F2E5);
  const std::vector<Isa> isas = available_isas();
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  struct Out {
    OutKind kind;
    int bits;
  };
  const Out outs[] = {{OutKind::PLANES, 1}, {OutKind::PLANES, 2}, {OutKind::BYTES, 8}};
  int cases = 0;
  for (int64_t C : {3, 20, 130, 1, 8, 15, 16, 17, 64, 65})
    for (int T : {1, 3, 255, 16, 17})
      for (const Out& oc : outs)
        for (int rep = 0; rep < 2 * fuzz_scale(); ++rep, ++cases) {
          const int64_t rows = uni(rng, 1, 70);
          FloatThresholds t;
          t.C = C;
          t.Cpad = (C + kStrip - 1) / kStrip * kStrip;
          t.T = T;
          t.thr.assign((size_t)(T * t.Cpad), nan);
          std::vector<float> pool;  // values the inputs reuse, to hit equality
          std::vector<float> first((size_t)C, 0.0f), last((size_t)C, 0.0f);
          std::vector<int> counts((size_t)C, 0);
          for (int64_t c = 0; c < C; ++c) {
            const int cnt = coin(rng, 25) ? (int)uni(rng, 0, T) : T;
            std::vector<float> th = float_thresholds(rng, cnt);
            if (cnt > 16 && coin(rng)) {  // nearly evenly spaced (see EpilogueFuzz)
              const float a = (float)uni(rng, -1000, 1000) * 0.01f, step = (float)uni(rng, 1, 400) * 0.001f;
              for (int k = 0; k < cnt; ++k) {
                th[(size_t)k] = a + (float)k * step + (coin(rng, 4) ? step * 0.01f : 0.0f);
                if (k) th[(size_t)k] = std::max(th[(size_t)k], th[(size_t)k - 1]);
              }
            }
            for (int k = 0; k < cnt; ++k) t.thr[(size_t)(k * t.Cpad + c)] = th[(size_t)k];
            pool.insert(pool.end(), th.begin(), th.end());
            counts[(size_t)c] = cnt;
            if (cnt) first[(size_t)c] = th.front(), last[(size_t)c] = th.back();
          }
          fill_guess(first.data(), last.data(), counts.data(), C, t.g0, t.ginv);
          if (coin(rng, 15)) garbage_guess(rng, t.g0, t.ginv);
          if (!coin(rng, 4)) fill_guess_margin(t.thr.data(), t.Cpad, counts.data(), C, T, t.g0, t.ginv, t.gdev);
          const int32_t cmax = oc.kind == OutKind::BYTES ? 255 : (1 << oc.bits) - 1;
          const bool identity = T <= cmax && coin(rng);
          t.code.resize((size_t)T + 1);
          for (int c = 0; c <= T; ++c) t.code[(size_t)c] = identity ? c : (int32_t)uni(rng, 0, cmax);
          std::vector<float> x((size_t)(rows * C));
          for (auto& v : x) {
            const int pick = (int)(rng() % 16);
            if (pick == 0) v = nan;
            else if (pick == 1) v = coin(rng) ? inf : -inf;
            else if (pick == 2) v = -0.0f;
            else if (pick < 8 && !pool.empty()) v = pool[(size_t)(rng() % pool.size())];
            else if (pick < 11 && !pool.empty()) {  // just next to a threshold
              const float q = pool[(size_t)(rng() % pool.size())];
              v = std::nextafter(q, coin(rng) ? inf : -inf);
            } else {
              v = (float)uni(rng, -420, 420) * 0.125f + (coin(rng) ? 0.0625f : 0.0f);
            }
          }
          // Row chunks starting past row 0, as run.cpp splits them over threads.
          std::vector<int64_t> cuts = {0};
          while (cuts.back() < rows) cuts.push_back(std::min(rows, cuts.back() + uni(rng, 1, 40)));
          // Zero-filled storage (alloc_packed): padding must stay zero.
          OutBuf proto = make_out(rng, oc.kind, oc.bits, rows, C);
          std::fill(proto.buf.begin(), proto.buf.end(), 0);
          std::vector<uint64_t> scalar_buf;
          for (Isa isa : isas) {
            OutBuf o = proto;
            for (size_t ci = 0; ci + 1 < cuts.size(); ++ci)
              threshold_rows(isa, t, x.data() + cuts[ci] * C, cuts[ci + 1] - cuts[ci], cuts[ci], o.ref());
            const std::string what = std::string(isa_name(isa)) + " C=" + std::to_string(C) +
                                     " T=" + std::to_string(T) +
                                     " " + kind_name(oc.kind, oc.bits) + " rows=" + std::to_string(rows);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t c = 0; c < C; ++c) {
                const float v = x[(size_t)(r * C + c)];
                int cnt = 0;
                for (int k = 0; k < T; ++k) cnt += v >= t.thr[(size_t)(k * t.Cpad + c)];  // false for NaN
                const uint32_t exp = (uint32_t)t.code[(size_t)cnt] & (uint32_t)cmax;
                ASSERT_EQ(o.at(r, c), exp) << what << " r=" << r << " c=" << c << " x=" << v;
              }
            if (isa == Isa::SCALAR) scalar_buf = o.buf;
            else ASSERT_TRUE(o.buf == scalar_buf) << what << ": storage differs from the scalar path";
          }
        }
  EXPECT_EQ(cases, 10 * 5 * 3 * 2 * fuzz_scale());
}

// ---- encode / decode -------------------------------------------------------------

struct DtCase {
  const char* name;
  DataType dt;
};
std::vector<DtCase> dt_cases() {
  return {{"BIPOLAR", DataType::bipolar()}, {"BINARY", DataType::binary()}, {"TERNARY", DataType::ternary()},
          {"INT2", DataType::sint(2)},      {"UINT2", DataType::uint(2)},   {"INT4", DataType::sint(4)},
          {"UINT8", DataType::uint(8)},     {"INT8", DataType::sint(8)}};
}

// A random value of dt (as float), and its code.
float draw_value(Rng& rng, const DataType& dt, uint8_t* code = nullptr) {
  const int64_t lo = (int64_t)dt.min(), step = dt.kind() == DataType::Kind::BIPOLAR ? 2 : 1;
  const int64_t c = uni(rng, 0, ((int64_t)dt.max() - lo) / step);
  if (code) *code = (uint8_t)c;
  return (float)(lo + step * c);
}

Shape random_shape(Rng& rng, int64_t C) {
  Shape s = {uni(rng, 1, 3)};
  const int extra = (int)uni(rng, 0, 2);
  for (int i = 0; i < extra; ++i) s.push_back(uni(rng, 1, 4));
  s.push_back(C);
  return s;
}

TEST(EnginePacked, LayoutsAndEncodeRoundTrip) {
  Rng rng(0xC0DEC);
  for (const DtCase& d : dt_cases()) {
    const bool planes_ok = d.dt.bitwidth() <= kMaxPlanes;
    EXPECT_EQ(make_layout(Rep::PLANES, d.dt, 1, 5).has_value(), planes_ok) << d.name;
    ASSERT_TRUE(make_layout(Rep::BYTES, d.dt, 1, 5).has_value()) << d.name;
    EXPECT_EQ(natural_layout(d.dt, 5)->rep, planes_ok ? Rep::PLANES : Rep::BYTES) << d.name;
    for (int iter = 0; iter < 24 * fuzz_scale(); ++iter) {
      const Rep rep = planes_ok && coin(rng) ? Rep::PLANES : Rep::BYTES;
      const int64_t segs = coin(rng) ? 1 : uni(rng, 2, 3), seg_c = uni(rng, 1, 140);
      const auto L = make_layout(rep, d.dt, segs, seg_c);
      ASSERT_TRUE(L) << d.name;
      EXPECT_EQ(L->lo, (int64_t)d.dt.min());
      if (rep == Rep::BYTES) {
        EXPECT_EQ(L->ld % 4, 0);
      }
      const int64_t C = L->channels();
      const Shape shape = random_shape(rng, C);
      const int64_t numel = shape_numel(shape);
      std::vector<float> v((size_t)numel);
      std::vector<uint8_t> codes((size_t)numel);
      for (int64_t i = 0; i < numel; ++i) v[(size_t)i] = draw_value(rng, d.dt, &codes[(size_t)i]);
      const Tensor t = Tensor::from_vector<float>(shape, v);
      const int threads = (int)uni(rng, 1, 2);
      PackedPtr p = encode(t, *L, threads);
      ASSERT_TRUE(p) << d.name << " iter=" << iter;
      EXPECT_EQ(p->rows, numel / C);
      std::vector<uint8_t> row((size_t)C);
      for (int64_t r = 0; r < p->rows; ++r) {
        read_codes(*p, r, row.data());
        for (int64_t k = 0; k < C; ++k) ASSERT_EQ(row[(size_t)k], codes[(size_t)(r * C + k)]) << d.name;
      }
      // Padding is zero: a fresh write of the same codes gives the same storage.
      PackedPtr q = alloc_packed(*L, shape);
      for (int64_t r = 0; r < p->rows; ++r) write_codes(*q, r, codes.data() + r * C);
      ASSERT_TRUE(q->buf == p->buf) << d.name << " iter=" << iter;
      const Tensor back = decode(*p, threads);
      ASSERT_EQ(back.shape(), shape);
      for (int64_t i = 0; i < numel; ++i) ASSERT_EQ(back.data<float>()[i], v[(size_t)i]) << d.name << " i=" << i;
      // Another layout of the same values (other rep / segmentation).
      const int64_t segs2 = C % 2 == 0 && coin(rng) ? 2 : 1;
      const Rep rep2 = planes_ok && coin(rng) ? Rep::PLANES : Rep::BYTES;
      const auto L2 = make_layout(rep2, d.dt, segs2, C / segs2);
      ASSERT_TRUE(L2);
      PackedPtr p2 = relayout(*p, *L2, threads);
      const Tensor back2 = decode(*p2, threads);
      for (int64_t i = 0; i < numel; ++i) ASSERT_EQ(back2.data<float>()[i], v[(size_t)i]) << d.name << " relayout";
      PackedPtr p3 = encode(t, *L2, threads);
      ASSERT_TRUE(p3 && p3->buf == p2->buf) << d.name << " relayout storage != encode storage";
    }
  }
  // No packed layout for non-integers or more than 8 code bits.
  EXPECT_FALSE(make_layout(Rep::BYTES, DataType::float32(), 1, 4));
  EXPECT_FALSE(make_layout(Rep::BYTES, DataType::uint(9), 1, 4));
  EXPECT_FALSE(make_layout(Rep::BYTES, DataType::sint(9), 1, 4));
  EXPECT_FALSE(make_layout(Rep::BYTES, DataType::uint(4), 0, 4));
}

TEST(EnginePacked, EncodeRejectsOutOfTypeValues) {
  Rng rng(0xBAD);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const DtCase& d : dt_cases()) {
    const float lo = (float)d.dt.min(), hi = (float)d.dt.max();
    std::vector<float> bad = {nan, inf, -inf, lo - 1.0f, hi + 1.0f, lo + 0.5f, 1e10f, -1e10f};
    if (d.dt.kind() == DataType::Kind::BIPOLAR) bad.push_back(0.0f);
    for (Rep rep : {Rep::PLANES, Rep::BYTES}) {
      const int64_t C = uni(rng, 1, 130);
      const auto L = make_layout(rep, d.dt, 1, C);
      if (!L) continue;
      for (float b : bad)
        for (int64_t rows : {1, 600}) {  // 600 rows: split over threads
          std::vector<float> v((size_t)(rows * C));
          for (auto& x : v) x = draw_value(rng, d.dt);
          v[(size_t)uni(rng, 0, rows * C - 1)] = b;
          EXPECT_FALSE(encode(Tensor::from_vector<float>({rows, C}, v), *L, 2))
              << d.name << (rep == Rep::PLANES ? " PLANES" : " BYTES") << " accepted " << b << " rows=" << rows;
        }
      // The right channel count only.
      std::vector<float> ok((size_t)(C + 1), lo);
      EXPECT_FALSE(encode(Tensor::from_vector<float>({1, C + 1}, ok), *L, 1)) << d.name;
    }
  }
}

// ---- im2col / maxpool against the reference ops -----------------------------------

Model one_node_model(const Node& node, const Shape& in, const Shape& out) {
  Model m;
  m.set_opset_version("", 13);
  m.set_opset_version("qonnx.custom_op.general", 1);
  ValueInfo vi;
  vi.name = "x";
  vi.elem_type = ElemType::FLOAT;
  vi.set_shape(in);
  m.graph.inputs.push_back(vi);
  ValueInfo vo;
  vo.name = "y";
  vo.elem_type = ElemType::FLOAT;
  vo.set_shape(out);
  m.graph.outputs.push_back(vo);
  m.graph.nodes = {node};
  return m;
}

// A random packed NHWC tensor of dt (and its float values).
struct Input {
  DataType dt;
  Layout L;
  Tensor f;
  PackedPtr p;
};
Input random_input(Rng& rng, const Shape& shape, bool allow_segs) {
  static const std::vector<DtCase> dts = dt_cases();
  Input in;
  in.dt = dts[(size_t)(rng() % dts.size())].dt;
  const int64_t C = shape.back();
  const bool planes = in.dt.bitwidth() <= kMaxPlanes && !coin(rng, 25);
  const int64_t segs = allow_segs && planes && C % 2 == 0 && coin(rng, 25) ? 2 : 1;
  in.L = *make_layout(planes ? Rep::PLANES : Rep::BYTES, in.dt, segs, C / segs);
  std::vector<float> v((size_t)shape_numel(shape));
  for (auto& x : v) x = draw_value(rng, in.dt);
  in.f = Tensor::from_vector<float>(shape, v);
  in.p = encode(in.f, in.L, 1);
  return in;
}

::testing::AssertionResult same_values(const Tensor& got, const Tensor& want, const std::string& what) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(got.shape()) << " != "
                                         << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    if (got.data<float>()[i] != want.data<float>()[i])
      return ::testing::AssertionFailure() << what << " at flat index " << i << ": " << got.data<float>()[i]
                                           << " != " << want.data<float>()[i];
  return ::testing::AssertionSuccess();
}

TEST(EnginePacked, Im2ColMatchesReference) {
  Rng rng(0x12C0);
  int tested = 0;
  for (int iter = 0; iter < 200 * fuzz_scale(); ++iter) {
    const int64_t N = uni(rng, 1, 3), H = uni(rng, 1, 9), W = uni(rng, 1, 9), C = uni(rng, 1, 140);
    const int64_t kh = H == 1 ? 1 : uni(rng, 1, 3), kw = W == 1 ? 1 : uni(rng, 1, 3);
    const int64_t sh = uni(rng, 1, 3), sw = uni(rng, 1, 3), dh = uni(rng, 1, 2), dw = uni(rng, 1, 2);
    const int64_t pt = H == 1 ? 0 : uni(rng, 0, 2), pb = H == 1 ? 0 : uni(rng, 0, 2);
    const int64_t pl = W == 1 ? 0 : uni(rng, 0, 2), pr = W == 1 ? 0 : uni(rng, 0, 2);
    if (H + pt + pb < dh * (kh - 1) + 1 || W + pl + pr < dw * (kw - 1) + 1) continue;
    const int64_t OH = (H + pt + pb - dh * (kh - 1) - 1) / sh + 1, OW = (W + pl + pr - dw * (kw - 1) - 1) / sw + 1;
    Input in = random_input(rng, {N, H, W, C}, true);
    ASSERT_TRUE(in.p);
    uint8_t pad_code;
    const float pad_value = draw_value(rng, in.dt, &pad_code);
    Node n;
    n.name = "im2col";
    n.op_type = "Im2Col";
    n.domain = "qonnx.custom_op.general";
    n.inputs = {"x"};
    n.outputs = {"y"};
    n.set_ints("stride", {sh, sw});
    n.set_ints("kernel_size", {kh, kw});
    n.set_ints("dilations", {dh, dw});
    n.set_ints("pad_amount", {pt, pl, pb, pr});
    n.set_int("pad_value", (int64_t)pad_value);
    const Model m = one_node_model(n, {N, H, W, C}, {N, OH, OW, kh * kw * C});
    const Tensor want = execute_model(m, {{"x", in.f}}).at("y");
    const Im2ColGeom g{kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, pad_code};
    const std::string what = "iter=" + std::to_string(iter) + " " + in.dt.name() +
                             (in.L.rep == Rep::PLANES ? " PLANES" : " BYTES") + " segs=" + std::to_string(in.L.segs);
    PackedPtr y = im2col_packed(*in.p, g, OH, OW, (int)uni(rng, 1, 2));
    ASSERT_TRUE(y);
    const Layout Lo = im2col_layout(in.L, kh, kw);
    EXPECT_TRUE(y->L.same(Lo)) << what;
    ASSERT_TRUE(same_values(decode(*y, 1), want, what));
    // Row tiles gathered on their own equal the materialized rows.
    const PackedPtr pad = pad_pixel(in.L, pad_code);
    const int64_t M = N * OH * OW, m0 = uni(rng, 0, M - 1), mr = uni(rng, 1, M - m0);
    const bool planes = Lo.rep == Rep::PLANES;
    const size_t row_bytes = (size_t)(planes ? Lo.ld * 8 : Lo.ld);
    std::vector<uint64_t> tile((size_t)((mr * (int64_t)row_bytes + 7) / 8), 0);
    im2col_rows(*in.p, g, OH, OW, Lo, *pad, m0, mr, tile.data());
    const uint8_t* ref_rows = planes ? reinterpret_cast<const uint8_t*>(y->words()) : y->bytes();
    ASSERT_EQ(std::memcmp(tile.data(), ref_rows + m0 * row_bytes, (size_t)mr * row_bytes), 0)
        << what << " im2col_rows m0=" << m0 << " mr=" << mr;
    ++tested;
  }
  EXPECT_GT(tested, 150 * fuzz_scale());
}

TEST(EnginePacked, MaxPoolMatchesReference) {
  Rng rng(0x9001);
  int tested = 0, by_bits[9] = {0};
  for (int iter = 0; iter < 200 * fuzz_scale(); ++iter) {
    const int64_t N = uni(rng, 1, 3), H = uni(rng, 1, 9), W = uni(rng, 1, 9), C = uni(rng, 1, 140);
    const int64_t kh = uni(rng, 1, std::min<int64_t>(3, H)), kw = uni(rng, 1, std::min<int64_t>(3, W));
    const int64_t sh = uni(rng, 1, 3), sw = uni(rng, 1, 3);
    const int64_t pt = uni(rng, 0, kh - 1), pb = uni(rng, 0, kh - 1);
    const int64_t pl = uni(rng, 0, kw - 1), pr = uni(rng, 0, kw - 1);
    const int64_t OH = (H + pt + pb - kh) / sh + 1, OW = (W + pl + pr - kw) / sw + 1;
    Input in = random_input(rng, {N, H, W, C}, false);
    ASSERT_TRUE(in.p);
    Node n;
    n.name = "pool";
    n.op_type = "MaxPoolNHWC";
    n.domain = "qonnx.custom_op.general";
    n.inputs = {"x"};
    n.outputs = {"y"};
    n.set_ints("kernel_shape", {kh, kw});
    n.set_ints("strides", {sh, sw});
    n.set_ints("pads", {pt, pl, pb, pr});
    const Model m = one_node_model(n, {N, H, W, C}, {N, OH, OW, C});
    const Tensor want = execute_model(m, {{"x", in.f}}).at("y");
    const std::string what = "iter=" + std::to_string(iter) + " " + in.dt.name() +
                             (in.L.rep == Rep::PLANES ? " PLANES" : " BYTES") + " k=" + std::to_string(kh) + "x" +
                             std::to_string(kw) + " s=" + std::to_string(sh) + "," + std::to_string(sw);
    PackedPtr y = maxpool_packed(*in.p, {kh, kw, sh, sw, pt, pl}, OH, OW, (int)uni(rng, 1, 2));
    ASSERT_TRUE(y);
    ASSERT_TRUE(same_values(decode(*y, 1), want, what));
    // Naive max on codes (codes are monotonic in the values).
    std::vector<uint8_t> got((size_t)C), px((size_t)C);
    for (int64_t b = 0; b < N; ++b)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          std::vector<int> mx((size_t)C, -1);
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t iy = oy * sh + ky - pt, ix = ox * sw + kx - pl;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              read_codes(*in.p, (b * H + iy) * W + ix, px.data());
              for (int64_t c = 0; c < C; ++c) mx[(size_t)c] = std::max(mx[(size_t)c], (int)px[(size_t)c]);
            }
          read_codes(*y, (b * OH + oy) * OW + ox, got.data());
          for (int64_t c = 0; c < C; ++c) ASSERT_EQ((int)got[(size_t)c], mx[(size_t)c]) << what;
        }
    ++by_bits[in.L.rep == Rep::PLANES ? in.L.bits : 8];
    ++tested;
  }
  EXPECT_EQ(tested, 200 * fuzz_scale());
  EXPECT_GT(by_bits[1], 10);
  EXPECT_GT(by_bits[2], 10);
  EXPECT_GT(by_bits[8], 10);
}

// Flattening Reshapes merge rows by copying whole segments.
TEST(EnginePacked, ReshapeMergesRows) {
  Rng rng(0x5E5);
  for (int iter = 0; iter < 60 * fuzz_scale(); ++iter) {
    const int64_t N = uni(rng, 1, 3), R = uni(rng, 1, 6), C = uni(rng, 1, 130);
    Input in = random_input(rng, {N, R, C}, false);
    auto x = std::shared_ptr<const Packed>(in.p);
    PackedPtr y = reshape_packed(x, {N, R * C}, 1);
    ASSERT_TRUE(y);
    const Tensor got = decode(*y, 1);
    ASSERT_EQ(got.shape(), (Shape{N, R * C}));
    for (int64_t i = 0; i < in.f.numel(); ++i) ASSERT_EQ(got.data<float>()[i], in.f.data<float>()[i]) << iter;
    EXPECT_FALSE(reshape_packed(x, {N * R * C + 1}, 1));
    if (C > 1) {
      EXPECT_FALSE(reshape_packed(x, {N * R * C, 1}, 1));  // splits a row: not supported
    }
  }
}

}  // namespace

// bits_from_sums: the count-space single-threshold output of the int8 GEMMs.
TEST(EnginePacked, BitsFromSumsFuzz) {
  Rng rng(0xB175);
  for (int iter = 0; iter < 200 * fuzz_scale(); ++iter) {
    const int64_t rows = uni(rng, 1, 70), ncols = uni(rng, 1, 64), ldb = uni(rng, 1, 3);
    const bool le = coin(rng);
    std::vector<int32_t> P((size_t)(rows * kStrip));
    for (auto& v : P) v = (int32_t)uni(rng, -300, 300);
    std::vector<int64_t> q((size_t)kStrip);
    for (auto& v : q) {
      const int pick = (int)uni(rng, 0, 9);
      v = pick == 0 ? INT64_MIN : pick == 1 ? INT64_MAX : uni(rng, -310, 310);
    }
    for (Isa isa : available_isas()) {
      std::vector<uint64_t> bits((size_t)(rows * ldb), ~uint64_t(0));
      bits_from_sums(isa, P.data(), rows, ncols, q.data(), le, bits.data(), ldb);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < 64; ++j) {
          const int64_t v = P[(size_t)(r * kStrip + j)];
          const bool exp = j < ncols && (le ? v <= q[(size_t)j] : v >= q[(size_t)j]);
          ASSERT_EQ((bits[(size_t)(r * ldb)] >> j) & 1, (uint64_t)exp) << isa_name(isa) << " r=" << r << " j=" << j;
        }
    }
  }
}

// threshold_nchw (RGB-style input straight from NCHW planes) against
// threshold_rows on the same pixels transposed to channels-last rows.
TEST(EnginePacked, ThresholdNchwFuzz) {
  if (!isa_available(Isa::AVX512)) GTEST_SKIP() << "AVX-512 only";
  Rng rng(0x4C4C);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int cases = 0;
  for (int T : {1, 3, 15, 17, 255})
    for (int64_t C = 1; C <= 4; ++C)
      for (int rep = 0; rep < 4 * fuzz_scale(); ++rep, ++cases) {
        FloatThresholds t;
        t.C = C;
        t.Cpad = kStrip;
        t.T = T;
        t.thr.assign((size_t)(T * t.Cpad), nan);
        std::vector<float> first((size_t)C), last((size_t)C);
        std::vector<int> counts((size_t)C, T);
        for (int64_t c = 0; c < C; ++c) {
          std::vector<float> th = float_thresholds(rng, T);
          if (T > 16 && coin(rng)) {  // nearly evenly spaced: the margin path
            const float a = (float)uni(rng, -100, 100) * 0.01f, step = (float)uni(rng, 1, 400) * 0.001f;
            for (int k = 0; k < T; ++k) th[(size_t)k] = a + (float)k * step;
          }
          for (int k = 0; k < T; ++k) t.thr[(size_t)(k * t.Cpad + c)] = th[(size_t)k];
          first[(size_t)c] = th.front(), last[(size_t)c] = th.back();
        }
        fill_guess(first.data(), last.data(), counts.data(), C, t.g0, t.ginv);
        if (coin(rng)) fill_guess_margin(t.thr.data(), t.Cpad, counts.data(), C, T, t.g0, t.ginv, t.gdev);
        const bool identity = T <= 255 && coin(rng);
        t.code.resize((size_t)T + 1);
        for (int k = 0; k <= T; ++k) t.code[(size_t)k] = identity ? k : (int32_t)uni(rng, 0, 255);
        const int64_t HW = uni(rng, 1, 90), p0 = uni(rng, 0, HW - 1), np = uni(rng, 1, HW - p0);
        std::vector<float> img((size_t)(C * HW));
        for (auto& v : img) {
          const int pick = (int)(rng() % 10);
          v = pick == 0 ? nan : (float)uni(rng, -150, 150) * 0.01f;
        }
        std::vector<float> rows((size_t)(np * C));
        for (int64_t p = 0; p < np; ++p)
          for (int64_t c = 0; c < C; ++c) rows[(size_t)(p * C + c)] = img[(size_t)(c * HW + p0 + p)];
        std::vector<uint8_t> want((size_t)(np * 4 + 64), 0xAB), got((size_t)(np * 4 + 64), 0xAB);
        threshold_rows(Isa::SCALAR, t, rows.data(), np, 0, OutRef{OutKind::BYTES, want.data(), 4, 0, 8});
        ASSERT_TRUE(threshold_nchw(Isa::AVX512, t, img.data(), HW, p0, np, 0, OutRef{OutKind::BYTES, got.data(), 4, 0, 8}));
        for (int64_t p = 0; p < np; ++p)
          for (int64_t c = 0; c < C; ++c)
            ASSERT_EQ(got[(size_t)(p * 4 + c)], want[(size_t)(p * 4 + c)]) << "T=" << T << " C=" << C << " p=" << p;
        for (size_t i = (size_t)(np * 4); i < got.size(); ++i) ASSERT_EQ(got[i], 0xAB) << "wrote past the rows";
      }
  EXPECT_GT(cases, 0);
  EXPECT_FALSE(threshold_nchw(Isa::AVX2, FloatThresholds{}, nullptr, 1, 0, 1, 0, OutRef{OutKind::BYTES, nullptr, 4, 0, 8}));
}
