// The fast engine: an execution plan compiled once from a streamlined model.
// MatMul / XnorPopcountMatMul on 1-bit operands run as XOR/AND + popcount on
// packed 64-bit words, narrow-integer MatMuls as int16 multiply-adds, and a
// MultiThreshold that reads a MatMul's output is fused into it as an
// epilogue. Everything else runs through the reference op implementations,
// so the engine's outputs equal the reference executor's bit for bit.
#pragma once
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
};

struct Step;  // one planned node (or a fused MatMul + MultiThreshold pair)

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

  void run_step(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const;
  void run_reference(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const;
  void run_matmul(const Step& s, std::vector<Tensor>& vals, bool batched) const;
  void run_thresholds(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const;
};

}  // namespace sf::engine
