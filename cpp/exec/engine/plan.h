// The plan's step record, shared by the compiler (engine.cpp) and the
// runner (run.cpp). Internal to the engine.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "exec/engine/engine.h"
#include "ops/op.h"

namespace sf::engine {

enum class Kind { FALLBACK, BIN, I16, WIDE, THRESH };
// How a popcount becomes the dot product: matching bits (XnorPopcountMatMul
// on BINARY), K - 2*mismatches (bipolar x bipolar), or ones in common (BINARY x BINARY).
enum class BinMode { XNOR, BIPOLAR, AND };

struct Step {
  Kind kind = Kind::FALLBACK;
  int node = -1;                 // the graph node this step plans
  const OpDef* def = nullptr;
  std::vector<int> in, out;      // value slots (-1: omitted input)
  std::vector<bool> in_const;    // initializer inputs are never split by batch
  std::string label;
  // MatMul
  int64_t K = 0, N = 0;
  BinMode mode = BinMode::XNOR;
  DataType a_dt;
  PackedBits pb;
  PackedI16 pi;
  std::vector<int64_t> ww;       // WIDE: K x N
  // Thresholds: fused (after a MatMul) or standalone (THRESH). Sorted per
  // row, NaNs dropped (x >= NaN never holds); integer accumulators compare
  // against ceil(t), which is exact for integer x.
  int mt_node = -1;
  const OpDef* mt_def = nullptr;
  int mt_acc_slot = -1;          // the MatMul output slot when it must be materialized
  std::string mt_layout;
  int64_t rows = 0;
  std::vector<int64_t> rbeg;     // row r spans [rbeg[r], rbeg[r+1])
  std::vector<int64_t> ithr;
  std::vector<double> fthr;
  // Binary activations have at most one threshold per row: then the count is
  // a single compare (x >= t), with an empty row as t = INT64_MAX / NaN, which
  // no accumulator reaches and no float compares >= to.
  bool one_thr = false;
  std::vector<int64_t> ithr1;
  std::vector<double> fthr1;
  mutable std::atomic<bool> warned{false};  // one warning per step for bad input values
  std::vector<float> lut;        // count -> out_scale * count + out_bias, rounded as the reference does
};

}  // namespace sf::engine
