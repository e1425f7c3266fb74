#include "exec/engine/packed_ops.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/engine/kernels.h"

namespace sf::engine {

namespace {

// Element operations (or bytes moved, for pad_packed) per parallel task: a
// task has to outweigh the pool's wake-up cost of a few microseconds.
constexpr int64_t kWorkPerTask = int64_t(1) << 16;
constexpr int64_t kBytesPerTask = int64_t(1) << 18;

int tasks_for(int64_t rows, int64_t work_per_row, int64_t work_per_task, int threads) {
  const int64_t by_work = rows * std::max<int64_t>(work_per_row, 1) / work_per_task;
  return (int)std::max<int64_t>(1, std::min<int64_t>({(int64_t)std::max(threads, 1), rows, by_work}));
}

// f(r0, r1) once per task on a contiguous range of rows, so per-task scratch
// buffers are allocated once rather than once per row.
template <class F>
void for_row_ranges(int64_t rows, int tasks, F&& f) {
  if (rows <= 0) return;
  parallel_for(tasks, tasks, [&](int64_t t) { f(t * rows / tasks, (t + 1) * rows / tasks); });
}

// kSpread[b]: the 8 bits of b as 8 bytes of 0 / 1 (bit j -> byte j).
struct SpreadTable {
  uint64_t v[256];
  constexpr SpreadTable() : v() {
    for (int b = 0; b < 256; ++b)
      for (int j = 0; j < 8; ++j) v[b] |= uint64_t((b >> j) & 1) << (8 * j);
  }
};
constexpr SpreadTable kSpread;

// 64 channels of one word position, eight at a time: plane i's byte j
// spread to bytes and shifted to bit i of the codes.
inline void unpack_word(const uint64_t* p, int64_t pw, int bits, uint8_t* out) {
  for (int j = 0; j < 8; ++j) {
    uint64_t v = 0;
    for (int i = 0; i < bits; ++i) v |= kSpread.v[(p[i * pw] >> (8 * j)) & 0xFF] << i;
    std::memcpy(out + 8 * j, &v, 8);
  }
}

// One PLANES row to one code per byte (L.channels() of them). Eight codes
// per table lookup rather than read_codes' bit at a time.
void unpack_planes(const Layout& L, const uint64_t* row, uint8_t* out) {
  const int64_t pw = L.plane_words();
  uint8_t tail[64];
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t w = 0; w < L.seg_words; ++w) {
      const int64_t n = std::min<int64_t>(64, L.seg_c - w * 64);
      uint8_t* o = out + s * L.seg_c + w * 64;
      // A partial word goes through `tail`: out holds exactly the channels.
      unpack_word(row + s * L.seg_words + w, pw, L.bits, n == 64 ? o : tail);
      if (n < 64) std::memcpy(o, tail, (size_t)n);
    }
}

// The inverse. Bit i of eight codes gathered into one byte by a multiply:
// byte j's bit lands at bit 56 + j, other products fall outside 56..63.
// Every word is written, padding bits zero whatever the row held before.
void pack_planes(const Layout& L, const uint8_t* codes, uint64_t* row) {
  const int64_t pw = L.plane_words();
  constexpr uint64_t kLow = 0x0101010101010101ULL, kGather = 0x0102040810204080ULL;
  uint8_t tail[64];
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t w = 0; w < L.seg_words; ++w) {
      const int64_t n = std::min<int64_t>(64, L.seg_c - w * 64);
      const uint8_t* c = codes + s * L.seg_c + w * 64;
      if (n < 64) {
        std::memset(tail, 0, sizeof tail);
        std::memcpy(tail, c, (size_t)n);
        c = tail;
      }
      uint64_t words[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int j = 0; j < 8; ++j) {
        uint64_t x;
        std::memcpy(&x, c + 8 * j, 8);
        for (int i = 0; i < L.bits; ++i) words[i] |= ((((x >> i) & kLow) * kGather) >> 56) << (8 * j);
      }
      for (int i = 0; i < L.bits; ++i) row[i * pw + s * L.seg_words + w] = words[i];
    }
  std::fill(row + L.bits * pw, row + L.ld, 0);
}

// Row r's codes: BYTES rows are read in place, PLANES rows unpacked into buf.
const uint8_t* row_codes(const Packed& p, int64_t r, uint8_t* buf) {
  if (p.L.rep == Rep::BYTES) return p.bytes() + r * p.L.ld;
  unpack_planes(p.L, p.words() + r * p.L.ld, buf);
  return buf;
}

// Where an op's output rows go: float32 values, or codes of Lo. Codes of a
// BYTES output are written in place; PLANES rows are built in a scratch row
// and packed by commit().
struct Sink {
  const Layout* Lo;
  int64_t C;
  OpOut out;
  float* f = nullptr;

  Sink(const Shape& shape, const Layout* lo) : Lo(lo), C(shape.empty() ? 0 : shape.back()) {
    if (Lo) {
      if (Lo->channels() != C)
        throw std::invalid_argument("packed op: output layout has " + std::to_string(Lo->channels()) +
                                    " channels, the output " + std::to_string(C));
      if (Lo->step != 1 && Lo->step != 2) throw std::invalid_argument("packed op: output step must be 1 or 2");
      out.p = alloc_packed(*Lo, shape);
    } else {
      out.f = Tensor(ElemType::FLOAT, shape);
      f = out.f.data<float>();
    }
  }
  float* values(int64_t r) const { return f ? f + r * C : nullptr; }
  uint8_t* codes(int64_t r, uint8_t* scratch) const {
    if (!Lo) return nullptr;
    return Lo->rep == Rep::BYTES ? out.p->bytes() + r * Lo->ld : scratch;
  }
  void commit(int64_t r, const uint8_t* codes) const {
    if (Lo && Lo->rep == Rep::PLANES) pack_planes(*Lo, codes, out.p->words() + r * Lo->ld);
  }
};

// The code of value v in Lo; the caller has proved that v is one. (Output
// layouts step by 1 or 2 (make_layout; Sink checks), so the vectorized
// loops shift where this divides.)
uint8_t code_of(const Layout& Lo, int64_t v) {
  assert(v >= Lo.lo && (v - Lo.lo) % Lo.step == 0 && (v - Lo.lo) / Lo.step < (int64_t(1) << Lo.bits));
  return (uint8_t)((v - Lo.lo) / Lo.step);
}

// floor(v / 2^s), also for negative v (NumPy's right_shift): the arithmetic
// shift of every compiler this builds with (and of C++20), branch-free so
// the finishing loops vectorize.
static_assert((int64_t(-5) >> 1) == -3, "arithmetic right shift expected");
template <class V>
inline V floor_shift(V v, int s) {
  return v >> s;
}

// Per-channel reductions of `count` code vectors into one output row: code
// sums (any Acc wide enough) or code maxima, turned into values of the input
// layout Li and then into float32 or codes of the output.
struct Finish {
  const Layout& Li;
  ReduceSpec r;
  int64_t count;
  const Layout* Lo;

  // Values in int32 unless the sums needed int64 (|lo| <= 128 and step 2
  // only for 1-bit codes keep them inside the accumulator's range): int32
  // converts to float32 (or double) in vector registers, int64 does not.
  template <class Acc>
  void sums(const Acc* S, int64_t C, float* of, uint8_t* oc) const {
    using V = std::conditional_t<std::is_same_v<Acc, int64_t>, int64_t, int32_t>;
    const V base = (V)(Li.lo * count), step = (V)Li.step;
    // |value| < 2^31 when V is int32, so a longer shift would floor alike
    // (to 0 or -1) but is undefined in C++.
    const int shift = std::min<int>(r.shift, 8 * (int)sizeof(V) - 1);
    if (r.op == Reduce::SUM) {
      if (of) {
        for (int64_t c = 0; c < C; ++c) of[c] = (float)(double)floor_shift(base + step * (V)S[c], shift);
        return;
      }
      check_codes(C, [&](int64_t c) { return (int64_t)floor_shift(base + step * (V)S[c], shift); });
      const V lo = (V)Lo->lo;
      const int sh = Lo->step == 2;
      for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)((floor_shift(base + step * (V)S[c], shift) - lo) >> sh);
      return;
    }
    const double n = (double)count;
    if (of) {
      for (int64_t c = 0; c < C; ++c) of[c] = (float)((double)(base + step * (V)S[c]) / n);
      return;
    }
    // Integral means only (the caller's promise): a rare case, left scalar.
    for (int64_t c = 0; c < C; ++c) {
      const int64_t v = base + step * (V)S[c];
      assert(v % count == 0);
      oc[c] = code_of(*Lo, v / count);
    }
  }
  void maxima(const uint8_t* M, int64_t C, float* of, uint8_t* oc) const {
    const int32_t lo = (int32_t)Li.lo, step = (int32_t)Li.step;
    if (of) {
      for (int64_t c = 0; c < C; ++c) of[c] = (float)(lo + step * (int32_t)M[c]);
      return;
    }
    if (Lo->lo == Li.lo && Lo->step == Li.step) {
      std::memcpy(oc, M, (size_t)C);
      return;
    }
    check_codes(C, [&](int64_t c) { return (int64_t)(lo + step * (int32_t)M[c]); });
    const int32_t off = lo - (int32_t)Lo->lo;
    const int sh = Lo->step == 2;
    for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)((off + step * (int32_t)M[c]) >> sh);
  }
  // Debug builds: every value of the row is one of Lo.
  template <class F>
  void check_codes(int64_t C, F&& value) const {
#ifndef NDEBUG
    for (int64_t c = 0; c < C; ++c) code_of(*Lo, value(c));
#endif
  }
};

// The narrowest accumulator for sums of `count` codes of L: uint16 lanes
// are twice as many per vector as int32 ones, and small windows fit them.
enum class AccWidth { U16, I32, I64 };
AccWidth acc_width(const Layout& L, int64_t count) {
  const int64_t most = count * ((int64_t(1) << L.bits) - 1);
  return most <= 0xFFFF ? AccWidth::U16 : most < (int64_t(1) << 31) ? AccWidth::I32 : AccWidth::I64;
}

// Per-task accumulators of all three widths (only the one in use sized).
struct Scratch {
  std::vector<uint16_t> a16;
  std::vector<int32_t> a32;
  std::vector<int64_t> a64;
  std::vector<uint8_t> mx, codes;
  Scratch(AccWidth w, int64_t C)
      : a16(w == AccWidth::U16 ? (size_t)C : 0), a32(w == AccWidth::I32 ? (size_t)C : 0),
        a64(w == AccWidth::I64 ? (size_t)C : 0), mx((size_t)C), codes((size_t)C) {}
};

// Reduces the code vectors that each(f) passes to f (C codes each) into the
// output row `orow`.
template <class Acc, class Each>
void reduce_row(Each&& each, int64_t C, const Finish& fin, const Sink& sink, int64_t orow, Acc* acc, uint8_t* mx,
                uint8_t* scratch) {
  float* of = sink.values(orow);
  uint8_t* oc = sink.codes(orow, scratch);
  if (fin.r.op == Reduce::MAX) {
    std::fill(mx, mx + C, 0);
    each([&](const uint8_t* p) {
      for (int64_t c = 0; c < C; ++c) mx[c] = std::max(mx[c], p[c]);
    });
    fin.maxima(mx, C, of, oc);
  } else {
    std::fill(acc, acc + C, 0);
    each([&](const uint8_t* p) {
      for (int64_t c = 0; c < C; ++c) acc[c] += p[c];
    });
    fin.sums(acc, C, of, oc);
  }
  sink.commit(orow, oc);
}

template <class Each>
void reduce_into(Each&& each, int64_t C, const Finish& fin, const Sink& sink, int64_t orow, AccWidth w, Scratch& s) {
  switch (w) {
    case AccWidth::U16: return reduce_row(each, C, fin, sink, orow, s.a16.data(), s.mx.data(), s.codes.data());
    case AccWidth::I32: return reduce_row(each, C, fin, sink, orow, s.a32.data(), s.mx.data(), s.codes.data());
    default: return reduce_row(each, C, fin, sink, orow, s.a64.data(), s.mx.data(), s.codes.data());
  }
}

void check_spec(const ReduceSpec& r, const char* op) {
  if (r.op == Reduce::SUM && (r.shift < 0 || r.shift > 62))
    throw std::invalid_argument(std::string(op) + ": shift " + std::to_string(r.shift) + " out of range");
}

// Bit-sliced max of PLANES words: from the top plane down, find where the
// codes first differ, then take every plane from the larger one.
inline void planes_max(uint64_t* d, const uint64_t* s, int bits, int64_t words, int64_t dpw, int64_t spw) {
  if (bits == 1) {
    for (int64_t w = 0; w < words; ++w) d[w] |= s[w];
    return;
  }
  for (int64_t w = 0; w < words; ++w) {
    uint64_t eq = ~uint64_t(0), s_gt = 0;
    for (int i = bits - 1; i >= 0; --i) {
      const uint64_t a = d[i * dpw + w], b = s[i * spw + w];
      s_gt |= eq & b & ~a;
      eq &= ~(a ^ b);
    }
    for (int i = 0; i < bits; ++i) d[i * dpw + w] = (s[i * spw + w] & s_gt) | (d[i * dpw + w] & ~s_gt);
  }
}

}  // namespace

PackedPtr pad_packed(const Packed& x, int64_t pt, int64_t pl, int64_t pb, int64_t pr, uint8_t pad_code, int threads) {
  if (x.shape.size() != 4 || pt < 0 || pl < 0 || pb < 0 || pr < 0)
    throw std::invalid_argument("pad_packed: needs NHWC input and non-negative pads");
  const Layout& L = x.L;
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int64_t OH = H + pt + pb, OW = W + pl + pr;
  PackedPtr y = alloc_packed(L, {N, OH, OW, C});
  if (y->rows == 0) return y;
  const size_t rb = (size_t)(L.rep == Rep::PLANES ? L.ld * 8 : L.ld);  // bytes per pixel
  // A whole output row of padding pixels: padded rows and the left / right
  // margins are then single copies out of it.
  const PackedPtr pix = pad_pixel(L, pad_code);
  const uint8_t* pix_bytes = L.rep == Rep::PLANES ? reinterpret_cast<const uint8_t*>(pix->words()) : pix->bytes();
  std::vector<uint8_t> pad_row((size_t)OW * rb);
  for (int64_t ox = 0; ox < OW; ++ox) std::memcpy(pad_row.data() + ox * rb, pix_bytes, rb);
  const uint8_t* src = L.rep == Rep::PLANES ? reinterpret_cast<const uint8_t*>(x.words()) : x.bytes();
  uint8_t* dst = L.rep == Rep::PLANES ? reinterpret_cast<uint8_t*>(y->words()) : y->bytes();
  const int64_t out_rows = N * OH;
  for_row_ranges(out_rows, tasks_for(out_rows, OW * (int64_t)rb, kBytesPerTask, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t nr = r0; nr < r1; ++nr) {
      const int64_t n = nr / OH, iy = nr % OH - pt;
      uint8_t* d = dst + nr * OW * rb;
      if (iy < 0 || iy >= H) {
        std::memcpy(d, pad_row.data(), (size_t)OW * rb);
        continue;
      }
      if (pl) std::memcpy(d, pad_row.data(), (size_t)pl * rb);
      if (W) std::memcpy(d + pl * rb, src + (n * H + iy) * W * rb, (size_t)W * rb);
      if (pr) std::memcpy(d + (pl + W) * rb, pad_row.data(), (size_t)pr * rb);
    }
  });
  return y;
}

namespace {

// One row of a + b (codes ca, cb) as float32 values or as codes of Lo. By
// value parameters: the byte stores may alias anything the loop would
// otherwise have to reload.
void add_row(const uint8_t* ca, const uint8_t* cb, int64_t C, int32_t base, int32_t sa, int32_t sb, float* of) {
  for (int64_t c = 0; c < C; ++c) of[c] = (float)(base + sa * ca[c] + sb * cb[c]);
}
void add_row(const uint8_t* ca, const uint8_t* cb, int64_t C, int32_t off, int32_t sa, int32_t sb, int32_t so,
             uint8_t* oc) {
  // Step 1 on its own: only the low 8 bits of the sum matter there, so the
  // compiler narrows the arithmetic to bytes (several times faster).
  if (so == 1) {
    for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)(off + sa * ca[c] + sb * cb[c]);
  } else {
    for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)((off + sa * ca[c] + sb * cb[c]) >> 1);
  }
}

}  // namespace

OpOut add_packed(const Packed& a, const Packed& b, const Layout* Lo, int threads) {
  if (a.shape != b.shape || a.L.channels() != b.L.channels())
    throw std::invalid_argument("add_packed: shapes " + shape_str(a.shape) + " and " + shape_str(b.shape) +
                                " differ");
  const int64_t C = a.L.channels(), rows = a.rows;
  Sink sink(a.shape, Lo);
  // Values a.lo + a.step*ca + b.lo + b.step*cb are small integers: int32
  // arithmetic is exact and so is their conversion to float32.
  const int32_t sa = (int32_t)a.L.step, sb = (int32_t)b.L.step, base = (int32_t)(a.L.lo + b.L.lo);
  for_row_ranges(rows, tasks_for(rows, C, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    std::vector<uint8_t> bufa(a.L.rep == Rep::PLANES ? (size_t)C : 0), bufb(b.L.rep == Rep::PLANES ? (size_t)C : 0);
    std::vector<uint8_t> scratch(Lo && Lo->rep == Rep::PLANES ? (size_t)C : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* ca = row_codes(a, r, bufa.data());
      const uint8_t* cb = row_codes(b, r, bufb.data());
      if (float* of = sink.values(r)) {
        add_row(ca, cb, C, base, sa, sb, of);
        continue;
      }
#ifndef NDEBUG
      for (int64_t c = 0; c < C; ++c) code_of(*Lo, base + sa * ca[c] + sb * cb[c]);
#endif
      uint8_t* oc = sink.codes(r, scratch.data());
      add_row(ca, cb, C, base - (int32_t)Lo->lo, sa, sb, (int32_t)Lo->step, oc);
      sink.commit(r, oc);
    }
  });
  return std::move(sink.out);
}

OpOut reduce_windows(const Packed& x, const WindowGeom& g, const ReduceSpec& r, const Layout* Lo, int threads) {
  check_spec(r, "reduce_windows");
  if (x.shape.size() != 4) throw std::invalid_argument("reduce_windows: needs NHWC input");
  const Layout& L = x.L;
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  if (g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 || g.OH < 0 || g.OW < 0 ||
      (g.OH > 0 && (g.OH - 1) * g.sh + g.kh > H) || (g.OW > 0 && (g.OW - 1) * g.sw + g.kw > W))
    throw std::invalid_argument("reduce_windows: windows leave the image");
  const Shape out_shape = {N, g.OH, g.OW, C};
  // Same PLANES codes in and out: MaxPool's bit-sliced word kernel.
  if (r.op == Reduce::MAX && Lo && L.rep == Rep::PLANES && Lo->same(L) && Lo->ld == L.ld) {
    PackedPtr y = maxpool_packed(x, {g.kh, g.kw, g.sh, g.sw, 0, 0}, g.OH, g.OW, threads);
    y->L = *Lo;
    return {y, {}};
  }
  Sink sink(out_shape, Lo);
  const int64_t out_rows = N * g.OH * g.OW, count = g.kh * g.kw;
  if (out_rows == 0 || C == 0) return std::move(sink.out);
  // Windows overlap, so PLANES input is unpacked once up front rather than
  // once per window that reads it.
  std::vector<uint8_t> unpacked;
  const uint8_t* base = x.bytes();
  int64_t ld = L.ld;
  if (L.rep == Rep::PLANES) {
    unpacked.resize((size_t)(x.rows * C));
    for_row_ranges(x.rows, tasks_for(x.rows, C, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) unpack_planes(L, x.words() + i * L.ld, unpacked.data() + i * C);
    });
    base = unpacked.data();
    ld = C;
  }
  const Finish fin{L, r, count, Lo};
  const AccWidth aw = acc_width(L, count);
  for_row_ranges(out_rows, tasks_for(out_rows, count * C, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    Scratch sc(aw, C);
    for (int64_t orow = r0; orow < r1; ++orow) {
      const int64_t ox = orow % g.OW, oy = (orow / g.OW) % g.OH, n = orow / (g.OW * g.OH);
      const uint8_t* win = base + ((n * H + oy * g.sh) * W + ox * g.sw) * ld;
      auto each = [&](auto&& f) {
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const uint8_t* p = win + ky * W * ld;
          for (int64_t kx = 0; kx < g.kw; ++kx) f(p + kx * ld);
        }
      };
      reduce_into(each, C, fin, sink, orow, aw, sc);
    }
  });
  return std::move(sink.out);
}

OpOut reduce_taps(const Packed& x, int64_t taps, const ReduceSpec& r, const Layout* Lo, int threads) {
  check_spec(r, "reduce_taps");
  const Layout& L = x.L;
  const int64_t CT = L.channels();
  if (x.shape.empty() || taps < 1 || CT % taps != 0)
    throw std::invalid_argument("reduce_taps: " + std::to_string(CT) + " channels are not " + std::to_string(taps) +
                                " taps");
  const int64_t C = CT / taps, rows = x.rows;
  Shape out_shape = x.shape;
  out_shape.back() = C;
  // PLANES Im2Col output whose taps are whole segment groups, max into the
  // same codes: a bit-sliced max over the taps' words, nothing unpacked.
  if (r.op == Reduce::MAX && Lo && L.rep == Rep::PLANES && Lo->rep == Rep::PLANES && L.segs % taps == 0 &&
      Lo->segs == L.segs / taps && Lo->seg_c == L.seg_c && Lo->lo == L.lo && Lo->step == L.step &&
      Lo->bits == L.bits) {
    PackedPtr y = alloc_packed(*Lo, out_shape);
    const int64_t gw = Lo->plane_words(), ipw = L.plane_words();
    for_row_ranges(rows, tasks_for(rows, CT, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        const uint64_t* s = x.words() + i * L.ld;
        uint64_t* d = y->words() + i * Lo->ld;
        for (int b = 0; b < L.bits; ++b) std::memcpy(d + b * gw, s + b * ipw, (size_t)gw * sizeof(uint64_t));
        for (int64_t t = 1; t < taps; ++t) planes_max(d, s + t * gw, L.bits, gw, gw, ipw);
      }
    });
    return {y, {}};
  }
  Sink sink(out_shape, Lo);
  if (rows == 0 || C == 0) return std::move(sink.out);
  const Finish fin{L, r, taps, Lo};
  const AccWidth aw = acc_width(L, taps);
  for_row_ranges(rows, tasks_for(rows, CT, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    Scratch sc(aw, C);
    std::vector<uint8_t> buf(L.rep == Rep::PLANES ? (size_t)CT : 0);
    for (int64_t i = r0; i < r1; ++i) {
      const uint8_t* codes = row_codes(x, i, buf.data());
      auto each = [&](auto&& f) {
        for (int64_t t = 0; t < taps; ++t) f(codes + t * C);
      };
      reduce_into(each, C, fin, sink, i, aw, sc);
    }
  });
  return std::move(sink.out);
}

void topk_rows(const Packed& x, int64_t k, bool largest, bool sorted, float* values, int64_t* indices,
               float* indices_f, int threads) {
  const Layout& L = x.L;
  const int64_t C = L.channels(), rows = x.rows;
  if (k < 0 || k > C)
    throw std::invalid_argument("topk_rows: k = " + std::to_string(k) + " out of range for " + std::to_string(C) +
                                " elements");
  if (k == 0 || rows == 0 || (!values && !indices && !indices_f)) return;
  // Ranking keys: the code itself for the largest, its complement for the
  // smallest, so both select the largest keys, ties to the lower index.
  const int nb = 1 << L.bits;
  const int flip = largest ? 0 : nb - 1;
  float val[256];
  for (int c = 0; c < nb; ++c) val[c] = (float)(double)(L.lo + L.step * c);
  for_row_ranges(rows, tasks_for(rows, C, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    std::vector<uint8_t> buf(L.rep == Rep::PLANES ? (size_t)C : 0);
    int64_t hist[256], slot[256];
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* cd = row_codes(x, r, buf.data());
      auto emit = [&](int64_t pos, int64_t i) {
        const int64_t o = r * k + pos;
        if (values) values[o] = val[cd[i]];
        if (indices) indices[o] = i;
        if (indices_f) indices_f[o] = (float)i;
      };
      if (k == 1) {
        int best = -1;
        int64_t at = 0;
        for (int64_t i = 0; i < C && best < nb - 1; ++i) {
          const int key = cd[i] ^ flip;
          if (key > best) best = key, at = i;
        }
        emit(0, at);
        continue;
      }
      // Counting selection: the k-th largest key t splits the row into sure
      // winners (key > t) and the first `need` elements of key t.
      std::fill(hist, hist + nb, 0);
      for (int64_t i = 0; i < C; ++i) ++hist[cd[i] ^ flip];
      int t = nb - 1;
      int64_t above = 0;
      while (above + hist[t] < k) above += hist[t--];
      int64_t need = k - above, done = 0;
      if (sorted) {
        // Rank order: keys descending, then indices ascending, so each key's
        // winners fill a contiguous run of slots in index order.
        int64_t pos = 0;
        for (int key = nb - 1; key >= t; --key) slot[key] = pos, pos += hist[key];
        for (int64_t i = 0; i < C && done < k; ++i) {
          const int key = cd[i] ^ flip;
          if (key > t || (key == t && need > 0)) {
            if (key == t) --need;
            emit(slot[key]++, i);
            ++done;
          }
        }
      } else {
        for (int64_t i = 0; i < C && done < k; ++i) {
          const int key = cd[i] ^ flip;
          if (key > t || (key == t && need > 0)) {
            if (key == t) --need;
            emit(done++, i);
          }
        }
      }
    }
  });
}

}  // namespace sf::engine
