// The fast engine: an execution plan compiled once from a streamlined (or
// HW-layer) model. Activations stay integer between layers, stored as packed
// bit-planes (1-2 bit data) or bytes (up to 8 bits) with the channel axis
// last; weights are packed once. MatMul / XnorPopcountMatMul / MVAU / VVAU
// run as XOR/AND + popcount (bit-serial over planes) or int8 dot products,
// with the following MultiThreshold (or the layer's own thresholds) fused
// into the epilogue, which writes the next layer's packed input directly.
// Im2Col / ConvolutionInputGenerator, max pooling, FMPadding and flattening
// Reshapes move packed words; residual adds, integer pooling and top-k work
// on codes (packed_ops.h). Every other op runs through the reference
// implementation on float32 (decoded on demand), so the engine's outputs
// equal the reference executor's bit for bit.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "exec/engine/kernels.h"
#include "exec/executor.h"
#include "ir/graph.h"

namespace sf::engine {

struct EngineOptions {
  // "auto", "scalar", "avx2", "avx512"; "auto" also honours SF_ENGINE_ISA.
  std::string isa = "auto";
  int threads = 0;    // 0: std::thread::hardware_concurrency()
  bool warn = true;   // one stderr line per node that falls back unexpectedly
  bool profile = false;  // accumulate wall time per step (see Engine::profile)
};

struct Step;  // one planned node (or a fused MatMul + MultiThreshold pair)
struct Val;   // a value slot at run time

class Engine {
 public:
  explicit Engine(const Model& model, const EngineOptions& opts = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Inputs as for execute_model, except that the batch axis (axis 0) may be
  // larger than the model's when the model declares batch 1.
  TensorMap run(const TensorMap& inputs) const;

  Isa isa() const { return isa_; }
  int threads() const { return threads_; }
  // Nodes run by the reference implementation although they are compute ops
  // the engine would normally specialize (their names).
  const std::vector<std::string>& fallback_nodes() const { return fallbacks_; }
  // One line per step: "XnorPopcountMatMul_0: xnor-popcount K=784 N=64 + MultiThreshold_1".
  std::vector<std::string> plan() const;
  // (step label, seconds) summed over every run since construction; empty
  // unless EngineOptions::profile. A batch run as parallel slices (at least
  // 64 images per thread) adds every slice's time: CPU seconds, not wall.
  std::vector<std::pair<std::string, double>> profile() const;
  // 64-bit XOR/AND+popcount word operations per image (for roofline fractions).
  double binary_words_per_image() const { return bin_words_; }

 private:
  Model model_;
  Isa isa_;
  int threads_;
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<std::string> fallbacks_;
  double bin_words_ = 0;
  int64_t model_batch_ = 1;
  std::unordered_map<std::string, int> slot_;  // tensor name -> value slot
  bool profile_ = false;
  mutable std::vector<std::atomic<int64_t>> step_ns_;

  bool sliceable_ = false;  // every runtime input and graph output leads with the batch
  int nthreads() const;
  TensorMap run_slice(const TensorMap& inputs, int64_t batch) const;
  void run_step(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  void run_reference(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  void run_gemm(const Step& s, std::vector<Val>& vals, int64_t batch) const;
  void run_thresholds(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  void run_movement(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  void run_add(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  void run_topk(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const;
  const Tensor& float_of(std::vector<Val>& vals, int slot) const;
  Shape runtime_shape(const Shape& model_shape, int64_t batch) const;
};

}  // namespace sf::engine
