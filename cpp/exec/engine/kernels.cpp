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
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
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

bool vnni_available() {
  __builtin_cpu_init();
  return isa_available(Isa::AVX512) && __builtin_cpu_supports("avx512vnni");
}

bool avxvnni_available() {
  __builtin_cpu_init();
  return isa_available(Isa::AVX2) && __builtin_cpu_supports("avxvnni");
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

PackedPlanes pack_weight_planes(int64_t words, int64_t N, int planes,
                                const std::function<uint32_t(int64_t, int64_t)>& code) {
  PackedPlanes p;
  p.K = words * 64;
  p.N = N;
  p.words = words;
  p.planes = planes;
  p.blocks = (N + kBitBlock - 1) / kBitBlock;
  p.w.assign((size_t)(p.blocks * planes * words * kBitBlock), 0);
  for (int64_t k = 0; k < words * 64; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const uint32_t c = code(k, n);
      const int64_t b = n / kBitBlock, j = n % kBitBlock, wd = k / 64;
      for (int i = 0; i < planes; ++i)
        if ((c >> i) & 1) p.w[(size_t)(((b * planes + i) * words + wd) * kBitBlock + j)] |= uint64_t(1) << (k % 64);
    }
  return p;
}

PackedBits pack_weight_bits(int64_t K, int64_t N, const std::function<bool(int64_t, int64_t)>& bit) {
  PackedBits p = pack_weight_planes((K + 63) / 64, N, 1, [&](int64_t k, int64_t n) -> uint32_t {
    return k < K && bit(k, n);
  });
  p.K = K;
  return p;
}

PackedS8 pack_weight_s8(int64_t K, int64_t N, const std::function<int8_t(int64_t, int64_t)>& val) {
  PackedS8 p;
  p.K = K;
  p.N = N;
  p.K4 = (K + 3) / 4 * 4;
  p.blocks = (N + 15) / 16;
  p.w.assign((size_t)(p.blocks * p.K4 * 16), 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t b = n / 16, j = n % 16;
      p.w[(size_t)(((b * (p.K4 / 4) + k / 4) * 16 + j) * 4 + (k % 4))] = val(k, n);
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

double popcount_peak_words_per_s(Isa isa, double seconds) {
  // The engine's own tile kernel (planes_gemm, XOR mode) on 64 rows x one
  // strip of 64 columns, cache-resident, at a few depths K (8, 16 and 32
  // words): the best rate is the peak.
  double best = 0;
  for (int64_t W : {8, 16, 32}) {
    const int64_t M = 64, N = 64;
    PackedPlanes w = pack_weight_planes(W, N, 1, [](int64_t k, int64_t n) -> uint32_t { return ((k * 7 + n * 13) % 5) < 2; });
    std::vector<uint64_t> a((size_t)(M * W));
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0x9E3779B97F4A7C15ull * (i + 1);
    std::vector<int32_t> P((size_t)(M * kStrip));
    const double words_per_call = double(M) * double(W) * double(N);
    using clk = std::chrono::steady_clock;
    const auto t0 = clk::now();
    int64_t calls = 0;
    double el = 0;
    do {
      for (int r = 0; r < 16; ++r, ++calls) planes_gemm(isa, true, 1, a.data(), W, M, w, 0, P.data());
      el = std::chrono::duration<double>(clk::now() - t0).count();
    } while (el < seconds / 3);
    best = std::max(best, words_per_call * (double)calls / el);
  }
  return best;
}

namespace {

// A persistent pool: an engine run calls parallel_for once per layer, and
// spawning std::threads each time cost tens of microseconds per layer, more
// than a small layer's whole compute. Workers spin briefly for the next job
// (consecutive layers follow within microseconds), then sleep on a condvar.
// One job at a time holds the pool; a concurrent or nested caller falls back
// to spawning its own threads, so correctness never depends on the pool.
class Pool {
  static constexpr std::chrono::microseconds kSpin{500}, kYieldAfter{200};

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
    // Wait for the workers. A wait past kYieldAfter means a worker is not
    // running (more runnable threads than cores): yield the core to it
    // instead of spinning away the time slice (2.5-4x faster under two CPU
    // hogs). Shorter waits never yield; yielding early made batch-1 runs
    // slower and erratic.
    const auto start = std::chrono::steady_clock::now();
    bool yield = false;
    for (int spin = 0; left_.load(std::memory_order_acquire) != 0; ++spin) {
      if (yield) {
        std::this_thread::yield();
      } else {
        _mm_pause();
        if ((spin & 255) == 255) yield = std::chrono::steady_clock::now() - start > kYieldAfter;
      }
    }
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
      // Spin for up to kSpin of wall time (a count of pauses is not a time:
      // PAUSE takes from ~10 to ~150 cycles across cores), so the next layer,
      // or the next small batch a caller sends, finds the worker awake: a
      // condvar wake-up costs tens of microseconds on a virtual machine.
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (gen_.load(std::memory_order_acquire) == seen) {
        for (int i = 0; i < 64 && gen_.load(std::memory_order_acquire) == seen; ++i) _mm_pause();
        if (std::chrono::steady_clock::now() >= until) break;
      }
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
