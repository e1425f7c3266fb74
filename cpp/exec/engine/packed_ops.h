// Elementwise and reduction ops on packed activations (see packed.h): the
// padding, residual add, pooling (QuantAvgPool2d, FINN's Pool and
// GlobalAccPool) and top-k (TopK, LabelSelect) kernels of the fast engine.
// They work on codes, never on float32, and produce either packed codes of an
// output layout or float32 values. Internal to the engine.
//
// Misuse throws std::invalid_argument (the planner never triggers it):
// shapes that differ in add_packed, a channel count not divisible by `taps`,
// windows that leave the image, k outside 1..C, a shift outside 0..62, or an
// output layout with the wrong channel count. MEAN results are stored packed
// only when they are whole numbers; the planner always asks for float32.
//
// Values: an element with code c stands for L.lo + L.step * c. Sums are exact
// integers (int64), so every float32 output equals the reference op's, which
// computes in double and rounds once.
#pragma once
#include <cstdint>

#include "exec/engine/packed.h"

namespace sf::engine {

// The result of an op that writes either packed codes (when it was given an
// output layout) or float32 values (when it was not). Exactly one is set.
struct OpOut {
  PackedPtr p;
  Tensor f;
};

// FMPadding / a zero Pad of NHWC data: (N, H, W, C) -> (N, H+pt+pb, W+pl+pr,
// C) in x's layout, each padding pixel holding `pad_code` in every channel.
PackedPtr pad_packed(const Packed& x, int64_t pt, int64_t pl, int64_t pb, int64_t pr, uint8_t pad_code, int threads);

// Elementwise a + b of two packed tensors of the same shape (any layouts).
// With Lo: codes of Lo, the caller proving from the input ranges that every
// sum is a value of Lo. Without: float32.
OpOut add_packed(const Packed& a, const Packed& b, const Layout* Lo, int threads);

enum class Reduce {
  MAX,   // the largest value
  SUM,   // floor(sum / 2^shift) (shift 0: the sum)
  MEAN,  // (float)(sum / count), as a double divided then rounded to float32
};
struct ReduceSpec {
  Reduce op = Reduce::SUM;
  int shift = 0;
};

// Pooling windows of NHWC data: x (N, H, W, C) -> (N, OH, OW, C); the window
// of output (oy, ox) is rows oy*sh .. oy*sh+kh-1, columns ox*sw .. ox*sw+kw-1,
// all inside the image (the caller checks). GlobalAccPool is kh = H, kw = W,
// OH = OW = 1, SUM.
struct WindowGeom {
  int64_t kh, kw, sh, sw, OH, OW;
};
OpOut reduce_windows(const Packed& x, const WindowGeom& g, const ReduceSpec& r, const Layout* Lo, int threads);

// FINN's Pool over unrolled windows: each row of x holds `taps` groups of C
// channels (Im2Col order: tap-major, channel-minor; C = x.L.channels() /
// taps); the output row is the reduction over the taps, per channel. Output
// shape: x.shape with the last axis C.
OpOut reduce_taps(const Packed& x, int64_t taps, const ReduceSpec& r, const Layout* Lo, int threads);

// Top-k along the last axis of every row of x. Ties go to the lower index
// (as a stable sort); `largest` false selects the smallest values. With
// `sorted` the k winners are in rank order, else in ascending index order.
// Any of the three outputs may be null; each holds rows * k elements:
// the winners' values (float32), their indices as int64 (TopK) and as
// float32 (LabelSelect).
void topk_rows(const Packed& x, int64_t k, bool largest, bool sorted, float* values, int64_t* indices,
               float* indices_f, int threads);

}  // namespace sf::engine
