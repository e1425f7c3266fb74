// How the fast engine stores integer activations between layers, and the
// data-movement ops that work on that storage directly (Im2Col, MaxPool,
// Reshape). Internal to the engine.
//
// Elements are unsigned codes c = (v - lo) / step of their datatype (step 2
// for BIPOLAR, else 1), so a code is monotonic in the value it stands for.
//  - PLANES: bit i of every code in bit-plane i, 64 channels per word (used
//    for 1- and 2-bit data, which the popcount kernels read directly).
//  - BYTES: one code per byte (3..8-bit data, read by the int8 kernels).
// The channel axis (last) is `segs` segments of `seg_c` channels. In PLANES
// every segment starts on a word boundary, so Im2Col and row-merging
// Reshapes concatenate pixels by copying words; the weights of the MatMul
// that reads the result are packed with the same segmentation. Padding bits
// are zero and stay zero (popcounts read them); the padding bytes at the end
// of a BYTES row meet zero weights only, so their content does not matter.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ir/datatype.h"
#include "ir/tensor.h"

namespace sf::engine {

enum class Rep { PLANES, BYTES };

struct Layout {
  Rep rep = Rep::BYTES;
  DataType dt;
  int64_t lo = 0, step = 1;
  int bits = 0;  // code bits; planes in PLANES
  int64_t segs = 1, seg_c = 0;
  int64_t seg_words = 0;  // PLANES: words per segment and plane
  int64_t ld = 0;         // row stride in words (PLANES) or bytes (BYTES, a multiple of 4)
  int64_t channels() const { return segs * seg_c; }
  int64_t plane_words() const { return segs * seg_words; }
  bool same(const Layout& o) const {
    return rep == o.rep && lo == o.lo && step == o.step && bits == o.bits && segs == o.segs && seg_c == o.seg_c;
  }
};
// nullopt when dt is not an integer type whose codes fit 8 bits.
std::optional<Layout> make_layout(Rep rep, const DataType& dt, int64_t segs, int64_t seg_c);
// PLANES for up to kMaxPlanes code bits, BYTES above.
std::optional<Layout> natural_layout(const DataType& dt, int64_t channels);

// Zero words after the last row of every packed buffer, so that kernels may
// read a fixed-size vector from the start of any pixel.
constexpr int64_t kReadSlack = 8;

struct Packed {
  Layout L;
  Shape shape;  // logical shape, batch included; shape.back() == L.channels()
  int64_t rows = 0;
  std::vector<uint64_t> buf;
  uint64_t* words() { return buf.data(); }
  const uint64_t* words() const { return buf.data(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(buf.data()); }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(buf.data()); }
};
using PackedPtr = std::shared_ptr<Packed>;

PackedPtr alloc_packed(const Layout& L, const Shape& shape);  // zero-filled
// One row's codes (L.channels() of them) out of / into packed storage.
void read_codes(const Packed& p, int64_t row, uint8_t* codes);
void write_codes(Packed& p, int64_t row, const uint8_t* codes);
// Float32 values (lo + step * code) in the logical shape.
Tensor decode(const Packed& p, int threads);
// nullptr when some value is not a value of L.dt (NaN, fraction, out of range).
PackedPtr encode(const Tensor& t, const Layout& L, int threads);
// The same values in another layout of the same datatype and channel count.
PackedPtr relayout(const Packed& p, const Layout& L, int threads);

struct Im2ColGeom {
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  uint8_t pad_code;
};
// Input (N, H, W, C) -> (N, OH, OW, kh*kw*C) with the same datatype. PLANES
// output has kh*kw*segs segments (word copies, no bit shifts).
PackedPtr im2col_packed(const Packed& x, const Im2ColGeom& g, int64_t OH, int64_t OW, int threads);
// The same for output rows [m0, m0 + mr) only, into dst (rows of Lo.ld words
// or bytes, Lo = im2col_layout(x.L, ...)): the GEMM builds its input tile by
// tile this way instead of materializing the whole Im2Col. `pad` is one
// padding pixel in x's layout (pad_pixel).
void im2col_rows(const Packed& x, const Im2ColGeom& g, int64_t OH, int64_t OW, const Layout& Lo, const Packed& pad,
                 int64_t m0, int64_t mr, void* dst);
PackedPtr pad_pixel(const Layout& L, uint8_t code);
Layout im2col_layout(const Layout& in, int64_t kh, int64_t kw);

struct PoolGeom {
  int64_t kh, kw, sh, sw, pt, pl;
};
// Max over each window of valid pixels (codes are monotonic in the values).
PackedPtr maxpool_packed(const Packed& x, const PoolGeom& g, int64_t OH, int64_t OW, int threads);

// A Reshape that keeps the last axis (a relabel) or merges `r` consecutive
// rows into one (a flatten of channels-last data). nullptr otherwise.
PackedPtr reshape_packed(const std::shared_ptr<const Packed>& x, const Shape& out_shape, int threads);
std::optional<Layout> reshape_layout(const Layout& in, int64_t in_last, int64_t out_last);

}  // namespace sf::engine
