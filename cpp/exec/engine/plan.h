// The plan's records, shared by the compiler (engine.cpp) and the runner
// (run.cpp). Internal to the engine.
#pragma once
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "exec/engine/engine.h"
#include "exec/engine/epilogue.h"
#include "exec/engine/packed.h"
#include "exec/engine/packed_ops.h"
#include "ops/op.h"

namespace sf::engine {

// A value slot at run time: a float tensor, packed integer storage, or both
// (each made from the other on first demand).
struct Val {
  Tensor f;
  std::shared_ptr<const Packed> p;
};

// MultiThreshold's channel rule (see ops/multithreshold) for a rank.
inline int64_t channel_axis_of(const std::string& data_layout, int64_t rank) {
  std::string layout = data_layout;
  if (layout.empty()) layout = rank == 2 ? "NC" : rank == 3 ? "NWC" : rank == 4 ? "NCHW" : "";
  const size_t pos = layout.find('C');
  return pos == std::string::npos ? 1 : (int64_t)pos;
}

// GEMM: MatMul / XnorPopcountMatMul / MVAU / VVAU (dense), THRESH:
// MultiThreshold / Thresholding, IM2COL: Im2Col / ConvolutionInputGenerator,
// MAXPOOL: MaxPoolNHWC / StreamingMaxPool, PAD: FMPadding, ALIAS: ops that
// pass their input on unchanged (DuplicateStreams, FIFOs, width converters),
// ADD: residual Add / AddStreams, POOL: QuantAvgPool2d / Pool /
// GlobalAccPool, TOPK: TopK / LabelSelect.
enum class Kind { FALLBACK, GEMM, THRESH, IM2COL, MAXPOOL, RESHAPE, PAD, ALIAS, ADD, POOL, TOPK };
// GEMM kernels: bit-planes (popcount), u8 x s8 VNNI, int16 multiply-add, and
// exact int64 for operands wider than 8 bits.
enum class Gk { PLANES, VNNI, I16, WIDE };

// A MultiThreshold as the plan sees it: sorted float thresholds per row (for
// float inputs), the count -> value table, and, when its output is stored
// packed, the count -> code table and the packed layout.
struct MtPlan {
  int node = -1;
  const OpDef* def = nullptr;
  std::string layout;            // data_layout attribute
  bool last_axis = false;        // FINN's HW layers: channels are always last
  bool in_node = false;          // the thresholds belong to the GEMM's own node (MVAU / VVAU)
  int64_t rows = 0;              // 1 (shared by all channels) or one per channel
  std::vector<int64_t> rbeg;     // row r spans [rbeg[r], rbeg[r+1]) of fthr
  std::vector<double> fthr;      // NaNs dropped (x >= NaN never holds)
  std::vector<float> lut;        // count -> out_scale * count + out_bias, rounded as the reference does
  int tmax = 0;                  // most thresholds in a row
  std::optional<Layout> packs;   // the packed output layout, when the outputs are codes of the output type
  std::vector<int32_t> code;     // count -> code (with packs)
};

inline int64_t mt_axis(const MtPlan& p, int64_t rank) {
  return p.last_axis ? rank - 1 : channel_axis_of(p.layout, rank);
}

struct Step {
  Kind kind = Kind::FALLBACK;
  int node = -1;  // the graph node this step plans
  const OpDef* def = nullptr;
  std::vector<int> in, out;    // value slots (-1: omitted)
  std::vector<bool> in_const;  // initializer inputs are never split by batch
  std::string label;
  Shape out_shape;             // static output shape (the model's batch)

  // GEMM (MatMul / XnorPopcountMatMul, optionally with a fused MultiThreshold)
  Gk gk = Gk::PLANES;
  int64_t K = 0, N = 0;
  Layout in_L;                 // the input storage the kernel reads
  bool xor_mode = false;
  PackedPlanes pw;
  PackedS8 ps8;
  PackedI16 pi16;
  std::vector<int64_t> ww;     // WIDE: K x N
  DataType a_dt;
  Epilogue epi;
  bool need_ra = false;        // the epilogue uses per-row code sums
  int mt_acc_slot = -1;
  MtPlan mt;                   // fused (GEMM) or standalone (THRESH)
  FloatThresholds fthr;        // THRESH with packed output
  mutable std::atomic<bool> warned{false};
  // GEMM with one threshold and 1-bit packed output: the popcount kernel
  // decides each bit itself (planes_gemm_bit) on thresholds in count space.
  bool bit_out = false;
  bool bit_le = false;
  std::vector<int64_t> bit_q;  // [blocks * 8]
  // THRESH reading an NCHW map through a Transpose(0, 2, 3, 1) that is
  // folded in (the Transpose step, nchw_step, is then skipped).
  int nchw_step = -1;
  bool flat_in = false;        // an FC head reading a whole (N, H, W, C) map as (N, H*W*C)
  Layout pre_L;                // flat_in: the map's packed layout before the flatten
  int conv_step = -1;          // GEMM: the Im2Col step whose rows it gathers tile by tile
  bool fused = false;          // IM2COL: done inside the GEMM that reads it

  // IM2COL / MAXPOOL: static input geometry (N, H, W, C) and output OH, OW
  Shape in_shape;
  Im2ColGeom im2col{};
  PoolGeom pool{};
  std::optional<Layout> out_L;  // packed output of the data-movement, ADD and POOL steps
  int64_t pad[4] = {0, 0, 0, 0};  // PAD: top, left, bottom, right
  uint8_t pad_code = 0;
  Layout in_L2;                 // ADD: the second input's layout
  WindowGeom win{};             // POOL over NHWC windows (taps == 0)
  int64_t taps = 0;             // POOL over unrolled windows (FINN's Pool)
  ReduceSpec reduce{};
  int64_t topk = 0;             // TOPK: k, order, and which outputs exist
  bool largest = true, sorted = true, label_select = false;
};

}  // namespace sf::engine
