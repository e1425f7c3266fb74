// Google Benchmark microbenchmarks of the fast engine's GEMM kernels
// (cpp/exec/engine/kernels.h) on every ISA path this CPU has.
//
//   popcount_gemm/<isa>/<xor|and>/M/K/N   1-bit x 1-bit: XOR (or AND) + popcount
//   i16_gemm/<isa>/M/K/N                  up-to-8-bit operands as int16 pairs
//
// Shapes are LFC-like: a 1024-wide fully connected layer (K = N = 1024) at
// batch 256, and at batch 1. Counters (per second of CPU time):
//   MAC/s     multiply-accumulates, M*K*N per call (bit-MACs for popcount_gemm);
//             also reported as items_per_second
//   words/s   popcount_gemm only: 64-bit XOR/AND+popcount words, M*N*ceil(K/64)
//             per call, comparable with the roofline of bench/bench_engine.py
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
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
