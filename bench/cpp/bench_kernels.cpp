// Google Benchmark microbenchmarks of the fast engine's GEMM kernels
// (cpp/exec/engine/kernels.h) on every ISA path this CPU has.
//
//   popcount_gemm/<isa>/<xor|and>/M/K/N   1-bit x 1-bit: XOR (or AND) + popcount
//   i16_gemm/<isa>/M/K/N                  up-to-8-bit operands as int16 pairs
//   planes_gemm/<isa>/<mode>/M/K/N        the engine's bit-serial strip kernel:
//                                         mode xor (1 x 1 planes, XOR) or
//                                         PAxPW = 1x1, 1x2, 2x1, 2x2 (AND, codes
//                                         of PA activation and PW weight bits)
//   u8s8_strip/avx512vnni/M/K/N           UINT8 x INT8 with vpdpbusd (only on
//                                         CPUs with AVX-512 VNNI)
//
// Shapes are LFC-like: a 1024-wide fully connected layer (K = N = 1024) at
// batch 256, and at batch 1. popcount_gemm and i16_gemm cover the whole
// output in one call; planes_gemm and u8s8_strip are called the way the
// engine's runner calls them: for each block of 64 rows, once per strip of
// 64 columns, into one reused 64 x 64 int32 tile. Counters (per second of
// CPU time):
//   MAC/s     multiply-accumulates, M*K*N per call (bit-MACs for popcount_gemm,
//             code MACs for planes_gemm); also reported as items_per_second
//   words/s   popcount_gemm and planes_gemm: 64-bit XOR/AND+popcount words,
//             M*N*ceil(K/64) per call, times PA*PW for planes_gemm;
//             comparable with the roofline of bench/bench_engine.py
// Each benchmark first checks a few entries of its output against a plain
// loop and fails (SkipWithError) on a mismatch, so a misread layout cannot
// produce a fast but meaningless figure.
//
// Build and run: make bench-cpp   (BENCH_ARGS="--benchmark_filter=avx512")
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "exec/engine/kernels.h"

namespace {

using sf::engine::BitOp;
using sf::engine::Isa;

struct Shape {
  int64_t M, K, N;
};
const Shape kShapes[] = {{256, 1024, 1024}, {1, 1024, 1024}};

// Deterministic operand values (a cheap hash), the same for every ISA.
inline uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}
inline bool wbit(int64_t k, int64_t n) { return mix(static_cast<uint64_t>(k) * 1000003u + n) & 1; }
inline int16_t wval(int64_t k, int64_t n) { return static_cast<int16_t>(mix(static_cast<uint64_t>(k) * 7919u + n) % 256) - 128; }

// The few (m, n) output entries checked against a plain loop.
std::vector<std::pair<int64_t, int64_t>> probes(const Shape& s) {
  return {{0, 0}, {s.M - 1, s.N - 1}, {s.M / 2, s.N / 3}, {s.M - 1, 0}, {0, s.N - 1}};
}

void BM_popcount_gemm(benchmark::State& state, Isa isa, BitOp op, Shape s) {
  const sf::engine::PackedBits w = sf::engine::pack_weight_bits(s.K, s.N, wbit);
  const int64_t words = w.words, ldo = w.blocks * sf::engine::kBitBlock;
  // Activations: random bits, padding bits past K zero (as the engine packs them).
  std::vector<uint64_t> a(static_cast<size_t>(s.M * words));
  std::mt19937_64 rng(1);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t i = 0; i < words; ++i) {
      const int64_t valid = std::min<int64_t>(64, s.K - i * 64);
      uint64_t v = valid <= 0 ? 0 : rng();
      if (valid > 0 && valid < 64) v &= (uint64_t{1} << valid) - 1;
      a[static_cast<size_t>(m * words + i)] = v;
    }
  std::vector<int32_t> acc(static_cast<size_t>(s.M * ldo), 0);

  sf::engine::popcount_gemm(isa, op, a.data(), w, 0, s.M, 0, w.blocks, acc.data(), ldo);
  for (auto [m, n] : probes(s)) {
    int32_t want = 0;
    for (int64_t k = 0; k < s.K; ++k) {
      const bool ab = (a[static_cast<size_t>(m * words + k / 64)] >> (k % 64)) & 1, wb = wbit(k, n);
      want += op == BitOp::XOR ? (ab != wb) : (ab && wb);
    }
    if (acc[static_cast<size_t>(m * ldo + n)] != want) {
      state.SkipWithError(("output mismatch at (" + std::to_string(m) + ", " + std::to_string(n) + ")").c_str());
      return;
    }
  }

  for (auto _ : state) {
    sf::engine::popcount_gemm(isa, op, a.data(), w, 0, s.M, 0, w.blocks, acc.data(), ldo);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(s.M) * s.K * s.N;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(macs));
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["words/s"] =
      benchmark::Counter(static_cast<double>(s.M) * s.N * words, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_i16_gemm(benchmark::State& state, Isa isa, Shape s) {
  const sf::engine::PackedI16 w = sf::engine::pack_weight_i16(s.K, s.N, wval);
  const int64_t Kp = w.Kp, ldo = w.blocks * sf::engine::kI16Block;
  // Activations: UINT8-range values in int16, zero padded to Kp
  // (K * 255 * 128 stays far below 2^31 for these shapes).
  std::vector<int16_t> a(static_cast<size_t>(s.M * Kp), 0);
  std::mt19937 rng(2);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t k = 0; k < s.K; ++k) a[static_cast<size_t>(m * Kp + k)] = static_cast<int16_t>(rng() % 256);
  std::vector<int32_t> acc(static_cast<size_t>(s.M * ldo), 0);

  sf::engine::i16_gemm(isa, a.data(), w, 0, s.M, 0, w.blocks, acc.data(), ldo);
  for (auto [m, n] : probes(s)) {
    int32_t want = 0;
    for (int64_t k = 0; k < s.K; ++k) want += int32_t{a[static_cast<size_t>(m * Kp + k)]} * wval(k, n);
    if (acc[static_cast<size_t>(m * ldo + n)] != want) {
      state.SkipWithError(("output mismatch at (" + std::to_string(m) + ", " + std::to_string(n) + ")").c_str());
      return;
    }
  }

  for (auto _ : state) {
    sf::engine::i16_gemm(isa, a.data(), w, 0, s.M, 0, w.blocks, acc.data(), ldo);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(s.M) * s.K * s.N;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(macs));
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
}

// Rows per call of the strip kernels, as the engine's runner uses them.
constexpr int64_t kRowBlock = 64;

std::string mismatch(int64_t m, int64_t n) {
  return "output mismatch at (" + std::to_string(m) + ", " + std::to_string(n) + ")";
}

// Activation and weight codes for the strip kernels: `bits` wide, unsigned.
inline uint32_t acode(int64_t m, int64_t k, int bits) {
  return mix(static_cast<uint64_t>(m) * 1000033u + static_cast<uint64_t>(k) + 17) & ((1u << bits) - 1);
}
inline uint32_t wcode(int64_t k, int64_t n, int bits) {
  return mix(static_cast<uint64_t>(k) * 7919u + static_cast<uint64_t>(n) + 5) & ((1u << bits) - 1);
}

// pa, pw: activation / weight planes (bit widths); xor_mode needs 1 x 1.
void BM_planes_gemm(benchmark::State& state, Isa isa, bool xor_mode, int pa, int pw, Shape s) {
  const int64_t words = (s.K + 63) / 64, lda = pa * words, strips = (s.N + sf::engine::kStrip - 1) / sf::engine::kStrip;
  const sf::engine::PackedPlanes w = sf::engine::pack_weight_planes(
      words, s.N, pw, [&](int64_t k, int64_t n) -> uint32_t { return k < s.K ? wcode(k, n, pw) : 0; });
  // Row r: plane i at a + r*lda + i*words; padding bits past K are zero.
  std::vector<uint64_t> a(static_cast<size_t>(s.M * lda), 0);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t k = 0; k < s.K; ++k) {
      const uint32_t c = acode(m, k, pa);
      for (int i = 0; i < pa; ++i)
        if ((c >> i) & 1) a[static_cast<size_t>(m * lda + i * words + k / 64)] |= uint64_t{1} << (k % 64);
    }
  std::vector<int32_t> P(static_cast<size_t>(kRowBlock * sf::engine::kStrip), 0);

  for (auto [m, n] : probes(s)) {
    const int64_t r0 = m / kRowBlock * kRowBlock, rows = std::min(kRowBlock, s.M - r0);
    sf::engine::planes_gemm(isa, xor_mode, pa, a.data() + r0 * lda, lda, rows, w, n / sf::engine::kStrip, P.data());
    int64_t want = 0;
    for (int64_t k = 0; k < s.K; ++k) {
      const uint32_t ac = acode(m, k, pa), wc = wcode(k, n, pw);
      want += xor_mode ? (ac != wc) : static_cast<int64_t>(ac) * wc;
    }
    if (P[static_cast<size_t>((m - r0) * sf::engine::kStrip + n % sf::engine::kStrip)] != want) {
      state.SkipWithError(mismatch(m, n).c_str());
      return;
    }
  }

  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < s.M; r0 += kRowBlock) {
      const int64_t rows = std::min(kRowBlock, s.M - r0);
      for (int64_t st = 0; st < strips; ++st) {
        sf::engine::planes_gemm(isa, xor_mode, pa, a.data() + r0 * lda, lda, rows, w, st, P.data());
        benchmark::DoNotOptimize(P.data());
        benchmark::ClobberMemory();
      }
    }
  }
  const double macs = static_cast<double>(s.M) * s.K * s.N;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(macs));
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["words/s"] = benchmark::Counter(static_cast<double>(s.M) * s.N * words * pa * pw,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_u8s8_strip(benchmark::State& state, Shape s) {
  const sf::engine::PackedS8 w = sf::engine::pack_weight_s8(
      s.K, s.N, [](int64_t k, int64_t n) { return static_cast<int8_t>(wval(k, n)); });
  const int64_t lda = w.K4, strips = (s.N + sf::engine::kStrip - 1) / sf::engine::kStrip;
  // Activations: UINT8 rows of K4 bytes, zero padded (K * 255 * 128 < 2^31).
  std::vector<uint8_t> a(static_cast<size_t>(s.M * lda), 0);
  std::mt19937 rng(3);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t k = 0; k < s.K; ++k) a[static_cast<size_t>(m * lda + k)] = static_cast<uint8_t>(rng() % 256);
  std::vector<int32_t> P(static_cast<size_t>(kRowBlock * sf::engine::kStrip), 0);

  for (auto [m, n] : probes(s)) {
    const int64_t r0 = m / kRowBlock * kRowBlock, rows = std::min(kRowBlock, s.M - r0);
    sf::engine::u8s8_strip(a.data() + r0 * lda, lda, rows, w, n / sf::engine::kStrip, P.data());
    int32_t want = 0;
    for (int64_t k = 0; k < s.K; ++k) want += int32_t{a[static_cast<size_t>(m * lda + k)]} * wval(k, n);
    if (P[static_cast<size_t>((m - r0) * sf::engine::kStrip + n % sf::engine::kStrip)] != want) {
      state.SkipWithError(mismatch(m, n).c_str());
      return;
    }
  }

  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < s.M; r0 += kRowBlock) {
      const int64_t rows = std::min(kRowBlock, s.M - r0);
      for (int64_t st = 0; st < strips; ++st) {
        sf::engine::u8s8_strip(a.data() + r0 * lda, lda, rows, w, st, P.data());
        benchmark::DoNotOptimize(P.data());
        benchmark::ClobberMemory();
      }
    }
  }
  const double macs = static_cast<double>(s.M) * s.K * s.N;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(macs));
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
}

std::string shape_name(const Shape& s) {
  return std::to_string(s.M) + "/" + std::to_string(s.K) + "/" + std::to_string(s.N);
}

}  // namespace

int main(int argc, char** argv) {
  // Registered at run time: one benchmark per ISA path the CPU has.
  for (Isa isa : sf::engine::available_isas()) {
    const std::string isa_s = sf::engine::isa_name(isa);
    for (const Shape& s : kShapes) {
      for (BitOp op : {BitOp::XOR, BitOp::AND}) {
        const std::string name =
            "popcount_gemm/" + isa_s + "/" + (op == BitOp::XOR ? "xor" : "and") + "/" + shape_name(s);
        benchmark::RegisterBenchmark(name.c_str(), BM_popcount_gemm, isa, op, s);
      }
      benchmark::RegisterBenchmark(("i16_gemm/" + isa_s + "/" + shape_name(s)).c_str(), BM_i16_gemm, isa, s);
      benchmark::RegisterBenchmark(("planes_gemm/" + isa_s + "/xor/" + shape_name(s)).c_str(), BM_planes_gemm, isa,
                                   true, 1, 1, s);
      for (int pa = 1; pa <= sf::engine::kMaxPlanes; ++pa)
        for (int pw = 1; pw <= sf::engine::kMaxPlanes; ++pw) {
          const std::string mode = std::to_string(pa) + "x" + std::to_string(pw);
          benchmark::RegisterBenchmark(("planes_gemm/" + isa_s + "/" + mode + "/" + shape_name(s)).c_str(),
                                       BM_planes_gemm, isa, false, pa, pw, s);
        }
    }
  }
  if (sf::engine::vnni_available())
    for (const Shape& s : kShapes)
      benchmark::RegisterBenchmark(("u8s8_strip/avx512vnni/" + shape_name(s)).c_str(), BM_u8s8_strip, s);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
