#include "exec/engine/packed_ops.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>
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

// One PLANES row to one code per byte (L.channels() of them). Tighter than
// read_codes: whole words at a time, no per-channel index arithmetic.
void unpack_planes(const Layout& L, const uint64_t* row, uint8_t* out) {
  const int64_t pw = L.plane_words();
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t w = 0; w < L.seg_words; ++w) {
      const int64_t wd = s * L.seg_words + w;
      const int n = (int)std::min<int64_t>(64, L.seg_c - w * 64);
      uint8_t* o = out + s * L.seg_c + w * 64;
      const uint64_t p0 = row[wd];
      if (L.bits == 1) {
        for (int b = 0; b < n; ++b) o[b] = (uint8_t)((p0 >> b) & 1);
      } else if (L.bits == 2) {
        const uint64_t p1 = row[pw + wd];
        for (int b = 0; b < n; ++b) o[b] = (uint8_t)(((p0 >> b) & 1) | (((p1 >> b) & 1) << 1));
      } else {
        for (int b = 0; b < n; ++b) {
          uint8_t v = 0;
          for (int i = 0; i < L.bits; ++i) v |= (uint8_t)(((row[i * pw + wd] >> b) & 1) << i);
          o[b] = v;
        }
      }
    }
}

// The inverse: writes every word of the row, so padding bits end up zero
// whatever the row held before.
void pack_planes(const Layout& L, const uint8_t* codes, uint64_t* row) {
  const int64_t pw = L.plane_words();
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t w = 0; w < L.seg_words; ++w) {
      const int64_t wd = s * L.seg_words + w;
      const int n = (int)std::min<int64_t>(64, L.seg_c - w * 64);
      const uint8_t* c = codes + s * L.seg_c + w * 64;
      for (int i = 0; i < L.bits; ++i) {
        uint64_t word = 0;
        for (int b = 0; b < n; ++b) word |= uint64_t((c[b] >> i) & 1) << b;
        row[i * pw + wd] = word;
      }
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

uint8_t code_of(const Layout& Lo, int64_t v) {
  assert(v >= Lo.lo && (v - Lo.lo) % Lo.step == 0 && (v - Lo.lo) / Lo.step < (int64_t(1) << Lo.bits));
  return (uint8_t)((v - Lo.lo) / Lo.step);
}

// floor(v / 2^s), also for negative v (what NumPy's right_shift gives).
int64_t floor_shift(int64_t v, int s) { return v >= 0 ? v >> s : ~((~v) >> s); }

// Per-channel reductions of `count` code vectors into one output row: code
// sums (any Acc wide enough) or code maxima, turned into values of the input
// layout Li and then into float32 or codes of the output.
struct Finish {
  const Layout& Li;
  ReduceSpec r;
  int64_t count;
  const Layout* Lo;

  template <class Acc>
  void sums(const Acc* S, int64_t C, float* of, uint8_t* oc) const {
    const int64_t base = Li.lo * count, step = Li.step;
    if (r.op == Reduce::SUM) {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t v = floor_shift(base + step * (int64_t)S[c], r.shift);
        if (of) of[c] = (float)(double)v;
        else oc[c] = code_of(*Lo, v);
      }
    } else {
      const double n = (double)count;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t v = base + step * (int64_t)S[c];
        if (of) {
          of[c] = (float)((double)v / n);
        } else {
          assert(v % count == 0);
          oc[c] = code_of(*Lo, v / count);
        }
      }
    }
  }
  void maxima(const uint8_t* M, int64_t C, float* of, uint8_t* oc) const {
    if (of) {
      for (int64_t c = 0; c < C; ++c) of[c] = (float)(double)(Li.lo + Li.step * (int64_t)M[c]);
    } else if (Lo->lo == Li.lo && Lo->step == Li.step) {
      std::memcpy(oc, M, (size_t)C);
    } else {
      for (int64_t c = 0; c < C; ++c) oc[c] = code_of(*Lo, Li.lo + Li.step * (int64_t)M[c]);
    }
  }
};

// int32 code sums unless `count` codes of this layout could overflow them.
bool needs_int64(const Layout& L, int64_t count) { return count * ((int64_t(1) << L.bits) - 1) >= (int64_t(1) << 31); }

// Reduces the code vectors that each(f) passes to f (C codes each) into the
// output row `orow`.
template <class Acc, class Each>
void reduce_into(Each&& each, int64_t C, const Finish& fin, const Sink& sink, int64_t orow, Acc* acc, uint8_t* mx,
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
        for (int64_t c = 0; c < C; ++c) of[c] = (float)(base + sa * ca[c] + sb * cb[c]);
        continue;
      }
      uint8_t* oc = sink.codes(r, scratch.data());
      const int32_t off = base - (int32_t)Lo->lo;
#ifndef NDEBUG
      for (int64_t c = 0; c < C; ++c) code_of(*Lo, off + Lo->lo + sa * ca[c] + sb * cb[c]);
#endif
      if (Lo->step == 1) {
        for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)(off + sa * ca[c] + sb * cb[c]);
      } else if (Lo->step == 2) {
        for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)((off + sa * ca[c] + sb * cb[c]) >> 1);
      } else {
        const int32_t so = (int32_t)Lo->step;
        for (int64_t c = 0; c < C; ++c) oc[c] = (uint8_t)((off + sa * ca[c] + sb * cb[c]) / so);
      }
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
  // Same codes in and out: MaxPool's word-level kernel (bit-sliced for PLANES).
  if (r.op == Reduce::MAX && Lo && Lo->same(L) && Lo->ld == L.ld) {
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
  const bool wide = needs_int64(L, count);
  for_row_ranges(out_rows, tasks_for(out_rows, count * C, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    std::vector<int32_t> acc32(wide ? 0 : (size_t)C);
    std::vector<int64_t> acc64(wide ? (size_t)C : 0);
    std::vector<uint8_t> mx((size_t)C), scratch((size_t)C);
    for (int64_t orow = r0; orow < r1; ++orow) {
      const int64_t ox = orow % g.OW, oy = (orow / g.OW) % g.OH, n = orow / (g.OW * g.OH);
      const uint8_t* win = base + ((n * H + oy * g.sh) * W + ox * g.sw) * ld;
      auto each = [&](auto&& f) {
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const uint8_t* p = win + ky * W * ld;
          for (int64_t kx = 0; kx < g.kw; ++kx) f(p + kx * ld);
        }
      };
      if (wide) reduce_into(each, C, fin, sink, orow, acc64.data(), mx.data(), scratch.data());
      else reduce_into(each, C, fin, sink, orow, acc32.data(), mx.data(), scratch.data());
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
  const bool wide = needs_int64(L, taps);
  for_row_ranges(rows, tasks_for(rows, CT, kWorkPerTask, threads), [&](int64_t r0, int64_t r1) {
    std::vector<int32_t> acc32(wide ? 0 : (size_t)C);
    std::vector<int64_t> acc64(wide ? (size_t)C : 0);
    std::vector<uint8_t> mx((size_t)C), scratch((size_t)C), buf(L.rep == Rep::PLANES ? (size_t)CT : 0);
    for (int64_t i = r0; i < r1; ++i) {
      const uint8_t* codes = row_codes(x, i, buf.data());
      auto each = [&](auto&& f) {
        for (int64_t t = 0; t < taps; ++t) f(codes + t * C);
      };
      if (wide) reduce_into(each, C, fin, sink, i, acc64.data(), mx.data(), scratch.data());
      else reduce_into(each, C, fin, sink, i, acc32.data(), mx.data(), scratch.data());
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
