#include "exec/engine/kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "ir/errors.h"

namespace sf::engine {

// ---- dispatch ----------------------------------------------------------------

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::SCALAR: return "scalar";
    case Isa::AVX2: return "avx2";
    case Isa::AVX512: return "avx512";
  }
  return "?";
}

bool isa_available(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::SCALAR: return true;
    case Isa::AVX2: return __builtin_cpu_supports("avx2");
    case Isa::AVX512:
      // VPOPCNTDQ for the binary kernels, BW for the 16-bit multiply-add.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vpopcntdq");
  }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> r;
  for (Isa i : {Isa::SCALAR, Isa::AVX2, Isa::AVX512})
    if (isa_available(i)) r.push_back(i);
  return r;
}

Isa best_isa() { return available_isas().back(); }

Isa parse_isa(const std::string& name) {
  if (name.empty() || name == "auto") return best_isa();
  std::string avail;
  for (Isa i : available_isas()) avail += (avail.empty() ? "" : ", ") + std::string(isa_name(i));
  for (Isa i : {Isa::SCALAR, Isa::AVX2, Isa::AVX512}) {
    if (name != isa_name(i)) continue;
    if (!isa_available(i))
      throw InputError(fmt::format("this CPU cannot run the '{}' engine path", name),
                       fmt::format("use 'auto' or one of: {}", avail));
    return i;
  }
  throw InputError(fmt::format("unknown engine path '{}'", name),
                   fmt::format("use 'auto' or one of: {}", avail));
}

// ---- packing -----------------------------------------------------------------

PackedBits pack_weight_bits(int64_t K, int64_t N, const std::function<bool(int64_t, int64_t)>& bit) {
  PackedBits p;
  p.K = K;
  p.N = N;
  p.words = (K + 63) / 64;
  p.blocks = (N + kBitBlock - 1) / kBitBlock;
  p.w.assign((size_t)(p.blocks * p.words * kBitBlock), 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      if (bit(k, n)) {
        const int64_t b = n / kBitBlock, j = n % kBitBlock, wd = k / 64;
        p.w[(size_t)((b * p.words + wd) * kBitBlock + j)] |= uint64_t(1) << (k % 64);
      }
  return p;
}

PackedI16 pack_weight_i16(int64_t K, int64_t N, const std::function<int16_t(int64_t, int64_t)>& val) {
  PackedI16 p;
  p.K = K;
  p.N = N;
  p.Kp = (K + 1) / 2 * 2;
  p.blocks = (N + kI16Block - 1) / kI16Block;
  p.w.assign((size_t)(p.blocks * p.Kp * kI16Block), 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t b = n / kI16Block, j = n % kI16Block;
      p.w[(size_t)(((b * (p.Kp / 2) + k / 2) * kI16Block + j) * 2 + (k % 2))] = val(k, n);
    }
  return p;
}

// ---- activation packing -------------------------------------------------------
// Converting float activations to bits cost more than the popcount GEMM
// itself at batch 256; AVX-512 compares 16 floats per instruction.

namespace {

bool pack_row_scalar(const float* a, int64_t K, float lo, float hi, uint64_t* out) {
  bool ok = true;
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    const int64_t k1 = std::min<int64_t>(K, k0 + 64);
    uint64_t word = 0;  // built in a register rather than by read-modify-write
    for (int64_t k = k0; k < k1; ++k) {
      const float v = a[k];
      ok &= (v == lo) | (v == hi);
      word |= uint64_t(v > 0) << (k - k0);
    }
    out[k0 / 64] = word;
  }
  return ok;
}

__attribute__((target("avx512f"))) bool pack_row_avx512(const float* a, int64_t K, float lo, float hi,
                                                        uint64_t* out) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi), zero = _mm512_setzero_ps();
  bool ok = true;
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    uint64_t word = 0;
    for (int j = 0; j < 4 && k0 + 16 * j < K; ++j) {
      const int64_t k = k0 + 16 * j, left = K - k;
      const __mmask16 live = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(live, a + k);
      // Ordered compares: NaN is neither lo nor hi, and not > 0.
      const __mmask16 good = _mm512_cmp_ps_mask(v, vlo, _CMP_EQ_OQ) | _mm512_cmp_ps_mask(v, vhi, _CMP_EQ_OQ);
      ok &= (uint16_t)(good | (__mmask16)~live) == 0xFFFF;
      const __mmask16 pos = _mm512_mask_cmp_ps_mask(live, v, zero, _CMP_GT_OQ);
      word |= uint64_t((uint16_t)pos) << (16 * j);
    }
    out[k0 / 64] = word;
  }
  return ok;
}

}  // namespace

bool pack_row_bits(Isa isa, const float* a, int64_t K, float lo, float hi, uint64_t* out) {
  if (isa == Isa::AVX512) return pack_row_avx512(a, K, lo, hi, out);
  return pack_row_scalar(a, K, lo, hi, out);
}

// ---- binary kernels -----------------------------------------------------------

namespace {

template <BitOp OP>
inline uint64_t bitop(uint64_t a, uint64_t b) {
  return OP == BitOp::XOR ? (a ^ b) : (a & b);
}

template <BitOp OP>
void bin_scalar(const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1, int64_t b0, int64_t b1, int32_t* acc,
                int64_t ldo) {
  const int64_t W = w.words;
  for (int64_t m = m0; m < m1; ++m) {
    const uint64_t* ar = a + m * W;
    for (int64_t b = b0; b < b1; ++b) {
      const uint64_t* wb = w.w.data() + b * W * kBitBlock;
      int64_t s[kBitBlock] = {0};
      for (int64_t k = 0; k < W; ++k)
        for (int j = 0; j < kBitBlock; ++j) s[j] += __builtin_popcountll(bitop<OP>(ar[k], wb[k * kBitBlock + j]));
      for (int j = 0; j < kBitBlock; ++j)
        if (b * kBitBlock + j < w.N) acc[m * ldo + b * kBitBlock + j] = (int32_t)s[j];
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

template <BitOp OP>
__attribute__((target("avx2"))) void bin_avx2(const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1,
                                              int64_t b0, int64_t b1, int32_t* acc, int64_t ldo) {
  const int64_t W = w.words;
  for (int64_t m = m0; m < m1; ++m) {
    const uint64_t* ar = a + m * W;
    for (int64_t b = b0; b < b1; ++b) {
      const uint64_t* wb = w.w.data() + b * W * kBitBlock;
      __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
      for (int64_t k = 0; k < W; ++k) {
        const __m256i av = _mm256_set1_epi64x((long long)ar[k]);
        __m256i w0 = _mm256_loadu_si256((const __m256i*)(wb + k * kBitBlock));
        __m256i w1 = _mm256_loadu_si256((const __m256i*)(wb + k * kBitBlock + 4));
        if (OP == BitOp::XOR) {
          w0 = _mm256_xor_si256(av, w0);
          w1 = _mm256_xor_si256(av, w1);
        } else {
          w0 = _mm256_and_si256(av, w0);
          w1 = _mm256_and_si256(av, w1);
        }
        s0 = _mm256_add_epi64(s0, popcnt256(w0));
        s1 = _mm256_add_epi64(s1, popcnt256(w1));
      }
      alignas(32) int64_t s[kBitBlock];
      _mm256_store_si256((__m256i*)s, s0);
      _mm256_store_si256((__m256i*)(s + 4), s1);
      for (int j = 0; j < kBitBlock; ++j)
        if (b * kBitBlock + j < w.N) acc[m * ldo + b * kBitBlock + j] = (int32_t)s[j];
    }
  }
}

template <BitOp OP>
__attribute__((target("avx512f,avx512vpopcntdq"))) void bin_avx512(const uint64_t* a, const PackedBits& w,
                                                                     int64_t m0, int64_t m1, int64_t b0, int64_t b1,
                                                                     int32_t* acc, int64_t ldo) {
  const int64_t W = w.words;
  for (int64_t m = m0; m < m1; ++m) {
    const uint64_t* ar = a + m * W;
    for (int64_t b = b0; b < b1; ++b) {
      const uint64_t* wb = w.w.data() + b * W * kBitBlock;
      // Two accumulators hide the add latency on short K loops.
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      int64_t k = 0;
      for (; k + 1 < W; k += 2) {
        const __m512i x0 = _mm512_loadu_si512((const void*)(wb + k * kBitBlock));
        const __m512i x1 = _mm512_loadu_si512((const void*)(wb + (k + 1) * kBitBlock));
        const __m512i a0 = _mm512_set1_epi64((long long)ar[k]), a1 = _mm512_set1_epi64((long long)ar[k + 1]);
        const __m512i y0 = OP == BitOp::XOR ? _mm512_xor_si512(a0, x0) : _mm512_and_si512(a0, x0);
        const __m512i y1 = OP == BitOp::XOR ? _mm512_xor_si512(a1, x1) : _mm512_and_si512(a1, x1);
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(y0));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(y1));
      }
      if (k < W) {
        const __m512i x0 = _mm512_loadu_si512((const void*)(wb + k * kBitBlock));
        const __m512i a0 = _mm512_set1_epi64((long long)ar[k]);
        const __m512i y0 = OP == BitOp::XOR ? _mm512_xor_si512(a0, x0) : _mm512_and_si512(a0, x0);
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(y0));
      }
      alignas(64) int64_t s[kBitBlock];
      _mm512_store_si512((void*)s, _mm512_add_epi64(s0, s1));
      for (int j = 0; j < kBitBlock; ++j)
        if (b * kBitBlock + j < w.N) acc[m * ldo + b * kBitBlock + j] = (int32_t)s[j];
    }
  }
}

// ---- int16 kernels -------------------------------------------------------------

void i16_scalar(const int16_t* a, const PackedI16& w, int64_t m0, int64_t m1, int64_t b0, int64_t b1, int32_t* acc,
                int64_t ldo) {
  const int64_t P = w.Kp / 2;
  for (int64_t m = m0; m < m1; ++m) {
    const int16_t* ar = a + m * w.Kp;
    for (int64_t b = b0; b < b1; ++b) {
      const int16_t* wb = w.w.data() + b * P * kI16Block * 2;
      int32_t s[kI16Block] = {0};
      for (int64_t p = 0; p < P; ++p) {
        const int32_t x0 = ar[2 * p], x1 = ar[2 * p + 1];
        const int16_t* wp = wb + p * kI16Block * 2;
        for (int j = 0; j < kI16Block; ++j) s[j] += x0 * wp[2 * j] + x1 * wp[2 * j + 1];
      }
      for (int j = 0; j < kI16Block; ++j)
        if (b * kI16Block + j < w.N) acc[m * ldo + b * kI16Block + j] = s[j];
    }
  }
}

inline int32_t load_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((target("avx2"))) void i16_avx2(const int16_t* a, const PackedI16& w, int64_t m0, int64_t m1, int64_t b0,
                                              int64_t b1, int32_t* acc, int64_t ldo) {
  const int64_t P = w.Kp / 2;
  for (int64_t m = m0; m < m1; ++m) {
    const int16_t* ar = a + m * w.Kp;
    for (int64_t b = b0; b < b1; ++b) {
      const int16_t* wb = w.w.data() + b * P * kI16Block * 2;
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
      for (int j = 0; j < kI16Block; ++j)
        if (b * kI16Block + j < w.N) acc[m * ldo + b * kI16Block + j] = s[j];
    }
  }
}

__attribute__((target("avx512f,avx512bw"))) void i16_avx512(const int16_t* a, const PackedI16& w, int64_t m0,
                                                            int64_t m1, int64_t b0, int64_t b1, int32_t* acc,
                                                            int64_t ldo) {
  const int64_t P = w.Kp / 2;
  for (int64_t m = m0; m < m1; ++m) {
    const int16_t* ar = a + m * w.Kp;
    for (int64_t b = b0; b < b1; ++b) {
      const int16_t* wb = w.w.data() + b * P * kI16Block * 2;
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      int64_t p = 0;
      for (; p + 1 < P; p += 2) {
        const __m512i a0 = _mm512_set1_epi32(load_pair(ar + 2 * p));
        const __m512i a1 = _mm512_set1_epi32(load_pair(ar + 2 * p + 2));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, _mm512_loadu_si512((const void*)(wb + p * 32))));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(a1, _mm512_loadu_si512((const void*)(wb + (p + 1) * 32))));
      }
      if (p < P) {
        const __m512i a0 = _mm512_set1_epi32(load_pair(ar + 2 * p));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, _mm512_loadu_si512((const void*)(wb + p * 32))));
      }
      alignas(64) int32_t s[kI16Block];
      _mm512_store_si512((void*)s, _mm512_add_epi32(s0, s1));
      for (int j = 0; j < kI16Block; ++j)
        if (b * kI16Block + j < w.N) acc[m * ldo + b * kI16Block + j] = s[j];
    }
  }
}

}  // namespace

void popcount_gemm(Isa isa, BitOp op, const uint64_t* a, const PackedBits& w, int64_t m0, int64_t m1, int64_t b0,
                   int64_t b1, int32_t* acc, int64_t ldo) {
  const bool x = op == BitOp::XOR;
  switch (isa) {
    case Isa::AVX512:
      return x ? bin_avx512<BitOp::XOR>(a, w, m0, m1, b0, b1, acc, ldo)
               : bin_avx512<BitOp::AND>(a, w, m0, m1, b0, b1, acc, ldo);
    case Isa::AVX2:
      return x ? bin_avx2<BitOp::XOR>(a, w, m0, m1, b0, b1, acc, ldo)
               : bin_avx2<BitOp::AND>(a, w, m0, m1, b0, b1, acc, ldo);
    case Isa::SCALAR:
      return x ? bin_scalar<BitOp::XOR>(a, w, m0, m1, b0, b1, acc, ldo)
               : bin_scalar<BitOp::AND>(a, w, m0, m1, b0, b1, acc, ldo);
  }
}

void i16_gemm(Isa isa, const int16_t* a, const PackedI16& w, int64_t m0, int64_t m1, int64_t b0, int64_t b1,
              int32_t* acc, int64_t ldo) {
  switch (isa) {
    case Isa::AVX512: return i16_avx512(a, w, m0, m1, b0, b1, acc, ldo);
    case Isa::AVX2: return i16_avx2(a, w, m0, m1, b0, b1, acc, ldo);
    case Isa::SCALAR: return i16_scalar(a, w, m0, m1, b0, b1, acc, ldo);
  }
}

double popcount_peak_words_per_s(Isa isa, double seconds) {
  // 16 rows x 8 blocks x 32 words: 36 KiB of weights plus the rows, about L1.
  const int64_t M = 16, K = 32 * 64, N = 64;
  PackedBits w = pack_weight_bits(K, N, [](int64_t k, int64_t n) { return ((k * 7 + n * 13) % 5) < 2; });
  std::vector<uint64_t> a((size_t)(M * w.words));
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0x9E3779B97F4A7C15ull * (i + 1);
  std::vector<int32_t> acc((size_t)(M * N));
  const double words_per_call = double(M) * double(w.words) * double(w.blocks * kBitBlock);
  using clk = std::chrono::steady_clock;
  const auto t0 = clk::now();
  int64_t calls = 0;
  double el = 0;
  do {
    for (int r = 0; r < 16; ++r, ++calls) popcount_gemm(isa, BitOp::XOR, a.data(), w, 0, M, 0, w.blocks, acc.data(), N);
    el = std::chrono::duration<double>(clk::now() - t0).count();
  } while (el < seconds);
  return words_per_call * (double)calls / el;
}

namespace {

// A persistent pool: an engine run calls parallel_for once per layer, and
// spawning std::threads each time cost tens of microseconds per layer, more
// than a small layer's whole compute. Workers spin briefly for the next job
// (consecutive layers follow within microseconds), then sleep on a condvar.
// One job at a time holds the pool; a concurrent or nested caller falls back
// to spawning its own threads, so correctness never depends on the pool.
class Pool {
 public:
  // Runs chunks [1, nt) on workers, chunk 0 on the caller; false when busy.
  bool run(int64_t nt, const std::function<void(int64_t)>& chunk) {
    // A forked child (Python multiprocessing) inherits the pool but not its
    // threads: it spawns threads per call instead of waiting on nobody.
    if (tl_worker_ || getpid() != pid_ || !busy_.try_lock()) return false;
    std::lock_guard<std::mutex> hold(busy_, std::adopt_lock);
    {
      std::lock_guard<std::mutex> g(mu_);
      while ((int64_t)workers_.size() < nt - 1) {
        const int id = (int)workers_.size() + 1;
        // The worker starts from the generation before this job's bump, so a
        // late-starting thread still sees the job as new.
        const uint64_t g0 = gen_.load(std::memory_order_relaxed);
        workers_.emplace_back([this, id, g0] { loop(id, g0); });
        workers_.back().detach();  // the pool lives until the process exits
      }
      chunk_ = &chunk;
      nt_ = nt;
      left_.store(nt - 1, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    chunk(0);
    while (left_.load(std::memory_order_acquire) != 0) _mm_pause();
    return true;
  }

 private:
  const pid_t pid_ = getpid();
  std::mutex busy_, mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* chunk_ = nullptr;
  int64_t nt_ = 0;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int64_t> left_{0};
  static thread_local bool tl_worker_;

  void loop(int id, uint64_t seen) {
    tl_worker_ = true;
    for (;;) {
      for (int spin = 0; spin < 4000 && gen_.load(std::memory_order_acquire) == seen; ++spin) _mm_pause();
      if (gen_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
      }
      const std::function<void(int64_t)>* chunk;
      int64_t nt;
      {
        std::lock_guard<std::mutex> g(mu_);  // chunk_/nt_ were written under mu_
        seen = gen_.load(std::memory_order_acquire);
        chunk = chunk_;
        nt = nt_;
      }
      if (id < nt) {
        (*chunk)(id);
        left_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }
};
thread_local bool Pool::tl_worker_ = false;

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: detached workers may still wait on it at exit
  return *p;
}

}  // namespace

void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t nt = std::min<int64_t>(std::max(threads, 1), n);
  if (nt == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::exception_ptr err;
  std::mutex mu;
  // Static contiguous split: tasks are equal-sized chunks already.
  const std::function<void(int64_t)> worker = [&](int64_t t) {
    try {
      for (int64_t i = t * n / nt; i < (t + 1) * n / nt; ++i) fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> g(mu);
      if (!err) err = std::current_exception();
    }
  };
  if (!pool().run(nt, worker)) {
    std::vector<std::thread> threads_v;
    for (int64_t t = 1; t < nt; ++t) threads_v.emplace_back(worker, t);
    worker(0);
    for (auto& th : threads_v) th.join();
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace sf::engine
