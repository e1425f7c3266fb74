#include "exec/engine/packed.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "exec/engine/kernels.h"

namespace sf::engine {

namespace {

// Rows per parallel task: data movement is cheap per row, so only large
// tensors are split.
constexpr int64_t kRowsPerTask = 256;

int tasks_for(int64_t rows, int threads) {
  return (int)std::max<int64_t>(1, std::min<int64_t>(threads, rows / kRowsPerTask));
}

template <class F>
void for_rows(int64_t rows, int threads, F&& f) {
  const int nt = tasks_for(rows, threads);
  parallel_for(nt, nt, [&](int64_t t) {
    for (int64_t r = t * rows / nt; r < (t + 1) * rows / nt; ++r) f(r);
  });
}

}  // namespace

std::optional<Layout> make_layout(Rep rep, const DataType& dt, int64_t segs, int64_t seg_c) {
  if (!dt.is_integer() || segs < 1 || seg_c < 1) return std::nullopt;
  Layout L;
  L.rep = rep;
  L.dt = dt;
  L.step = dt.kind() == DataType::Kind::BIPOLAR ? 2 : 1;
  L.lo = (int64_t)dt.min();
  const double span = (dt.max() - dt.min()) / (double)L.step;
  if (!(span >= 1 && span <= 255)) return std::nullopt;
  L.bits = 1;
  while ((1 << L.bits) - 1 < span) ++L.bits;
  if (rep == Rep::PLANES && L.bits > kMaxPlanes) return std::nullopt;
  L.segs = segs;
  L.seg_c = seg_c;
  if (rep == Rep::PLANES) {
    L.seg_words = (seg_c + 63) / 64;
    L.ld = L.bits * L.segs * L.seg_words;
  } else {
    L.seg_words = 0;
    L.ld = (segs * seg_c + 3) / 4 * 4;
  }
  return L;
}

std::optional<Layout> natural_layout(const DataType& dt, int64_t channels) {
  if (auto p = make_layout(Rep::PLANES, dt, 1, channels)) return p;
  return make_layout(Rep::BYTES, dt, 1, channels);
}

PackedPtr alloc_packed(const Layout& L, const Shape& shape) {
  auto p = std::make_shared<Packed>();
  p->L = L;
  p->shape = shape;
  p->rows = shape.empty() || L.channels() == 0 ? 0 : shape_numel(shape) / L.channels();
  const int64_t words = L.rep == Rep::PLANES ? p->rows * L.ld : (p->rows * L.ld + 7) / 8;
  // kReadSlack words past the last row: byte kernels may read a whole vector
  // from a pixel's start (see im2col_rows).
  p->buf.assign((size_t)(words + kReadSlack), 0);
  return p;
}

void read_codes(const Packed& p, int64_t row, uint8_t* codes) {
  const Layout& L = p.L;
  if (L.rep == Rep::BYTES) {
    std::memcpy(codes, p.bytes() + row * L.ld, (size_t)L.channels());
    return;
  }
  const uint64_t* r = p.words() + row * L.ld;
  int64_t k = 0;
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t c = 0; c < L.seg_c; ++c, ++k) {
      const int64_t wd = s * L.seg_words + c / 64, bit = c % 64;
      uint8_t v = 0;
      for (int i = 0; i < L.bits; ++i) v |= (uint8_t)(((r[i * L.plane_words() + wd] >> bit) & 1) << i);
      codes[k] = v;
    }
}

void write_codes(Packed& p, int64_t row, const uint8_t* codes) {
  const Layout& L = p.L;
  if (L.rep == Rep::BYTES) {
    std::memcpy(p.bytes() + row * L.ld, codes, (size_t)L.channels());
    return;
  }
  uint64_t* r = p.words() + row * L.ld;
  std::fill(r, r + L.ld, 0);
  int64_t k = 0;
  for (int64_t s = 0; s < L.segs; ++s)
    for (int64_t c = 0; c < L.seg_c; ++c, ++k) {
      const int64_t wd = s * L.seg_words + c / 64, bit = c % 64;
      for (int i = 0; i < L.bits; ++i) r[i * L.plane_words() + wd] |= uint64_t((codes[k] >> i) & 1) << bit;
    }
}

Tensor decode(const Packed& p, int threads) {
  Tensor out(ElemType::FLOAT, p.shape);
  float* o = out.data<float>();
  const int64_t C = p.L.channels();
  float val[256];
  for (int c = 0; c < 256; ++c) val[c] = (float)(p.L.lo + p.L.step * c);
  for_rows(p.rows, threads, [&](int64_t r) {
    uint8_t codes[4096];
    std::vector<uint8_t> big;
    uint8_t* cd = codes;
    if (C > 4096) {
      big.resize((size_t)C);
      cd = big.data();
    }
    read_codes(p, r, cd);
    for (int64_t k = 0; k < C; ++k) o[r * C + k] = val[cd[k]];
  });
  return out;
}

PackedPtr encode(const Tensor& t, const Layout& L, int threads) {
  if (t.rank() < 1 || t.shape().back() != L.channels()) return nullptr;
  const Tensor f = t.type() == ElemType::FLOAT ? t : t.cast(ElemType::FLOAT);
  PackedPtr p = alloc_packed(L, f.shape());
  const float* x = f.data<float>();
  const int64_t C = L.channels();
  const double hi = L.dt.max();
  std::atomic<bool> bad{false};
  const bool one_plane = L.rep == Rep::PLANES && L.bits == 1 && L.segs == 1;
  for_rows(p->rows, threads, [&](int64_t r) {
    if (bad) return;
    const float* xr = x + r * C;
    if (one_plane) {  // the vectorized binary packer checks the values too
      if (!pack_row_bits(best_isa(), xr, C, (float)L.lo, (float)hi, p->words() + r * L.ld)) bad = true;
      return;
    }
    std::vector<uint8_t> codes((size_t)C);
    for (int64_t k = 0; k < C; ++k) {
      const float v = xr[k];
      // In range first, so the int32 round trip is an exact integrality test.
      if (!(v >= (float)L.lo && v <= (float)hi) || v != (float)(int32_t)v || ((int64_t)v - L.lo) % L.step) {
        bad = true;
        return;
      }
      codes[(size_t)k] = (uint8_t)(((int64_t)v - L.lo) / L.step);
    }
    write_codes(*p, r, codes.data());
  });
  return bad ? nullptr : p;
}

PackedPtr relayout(const Packed& p, const Layout& L, int threads) {
  PackedPtr q = alloc_packed(L, p.shape);
  const int64_t C = L.channels();
  for_rows(p.rows, threads, [&](int64_t r) {
    std::vector<uint8_t> codes((size_t)C);
    read_codes(p, r, codes.data());
    write_codes(*q, r, codes.data());
  });
  return q;
}

Layout im2col_layout(const Layout& in, int64_t kh, int64_t kw) {
  Layout L = in;
  if (in.rep == Rep::PLANES) {
    L.segs = in.segs * kh * kw;
    L.ld = L.bits * L.segs * L.seg_words;
  } else {
    L.segs = 1;
    L.seg_c = in.channels() * kh * kw;
    L.ld = (L.seg_c + 3) / 4 * 4;
  }
  return L;
}

PackedPtr pad_pixel(const Layout& L, uint8_t code) {
  auto pad = alloc_packed(L, {1, L.channels()});
  std::vector<uint8_t> codes((size_t)L.channels(), code);
  write_codes(*pad, 0, codes.data());
  return pad;
}

namespace {

// Copies of exactly W bytes (W a compile-time constant compiles to one
// vector move).
template <int W>
inline void copy_fixed(uint8_t* d, const uint8_t* s) {
  std::memcpy(d, s, W);
}

// Exactly n <= 64 bytes, as two overlapping fixed-size copies (no call).
inline void copy_small(uint8_t* d, const uint8_t* s, int64_t n) {
  if (n >= 32) {
    copy_fixed<32>(d, s), copy_fixed<32>(d + n - 32, s + n - 32);
  } else if (n >= 16) {
    copy_fixed<16>(d, s), copy_fixed<16>(d + n - 16, s + n - 16);
  } else if (n >= 8) {
    copy_fixed<8>(d, s), copy_fixed<8>(d + n - 8, s + n - 8);
  } else if (n >= 4) {
    copy_fixed<4>(d, s), copy_fixed<4>(d + n - 4, s + n - 4);
  } else {
    for (int64_t k = 0; k < n; ++k) d[k] = s[k];
  }
}

// Walks Im2Col output rows [m0, m0 + mr) of an (N, H, W, .) input whose
// pixels are `unit` words or bytes apart. A window wholly inside the image
// calls interior(r, base, off): base is its first pixel's offset, off[pos]
// each tap's offset from it (precomputed once). A window at the border calls
// tap(r, pos, at) for each tap, at = the pixel's offset or -1 for padding.
template <class Interior, class Tap>
void walk_im2col(const Im2ColGeom& g, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t unit, int64_t m0,
                 int64_t mr, Interior interior, Tap tap) {
  std::vector<int64_t> off((size_t)(g.kh * g.kw));
  for (int64_t ky = 0, pos = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx, ++pos) off[(size_t)pos] = (ky * g.dh * W + kx * g.dw) * unit;
  const int64_t* offp = off.data();
  int64_t n = m0 / (OH * OW), oy = (m0 / OW) % OH, ox = m0 % OW;
  for (int64_t r = 0; r < mr; ++r) {
    const int64_t iy0 = oy * g.sh - g.pt, ix0 = ox * g.sw - g.pl;
    if (iy0 >= 0 && iy0 + (g.kh - 1) * g.dh < H && ix0 >= 0 && ix0 + (g.kw - 1) * g.dw < W) {
      interior(r, ((n * H + iy0) * W + ix0) * unit, offp);
    } else {
      int64_t pos = 0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = iy0 + ky * g.dh;
        for (int64_t kx = 0; kx < g.kw; ++kx, ++pos) {
          const int64_t ix = ix0 + kx * g.dw;
          const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          tap(r, pos, inside ? ((n * H + iy) * W + ix) * unit : -1);
        }
      }
    }
    if (++ox == OW) {
      ox = 0;
      if (++oy == OH) oy = 0, ++n;
    }
  }
}

// The BYTES Im2Col rows. Everything the loops read is a local: through the
// Packed references, byte stores could alias the buffer pointers and row
// strides and force a reload after every byte. Each pixel but a row's last
// moves as one fixed-size copy of Wc >= C bytes: its spare bytes land where
// the next pixel is written next (pixels whose chunk would pass the row's end
// are copied exactly, so nothing spills into another row, which another
// thread may be writing), and the reads past a pixel stay inside the
// buffer's kReadSlack words.
template <int Wc>
void im2col_bytes(const uint8_t* xb, int64_t ild, const uint8_t* padb, int64_t H, int64_t W, int64_t C,
                  const Im2ColGeom g, int64_t OH, int64_t OW, int64_t old, int64_t m0, int64_t mr, uint8_t* db) {
  const int64_t taps = g.kh * g.kw;
  // Chunk copies for the pixels whose chunk ends inside the row.
  const int64_t chunk_until = Wc > 0 && old >= Wc ? std::min(taps, (old - Wc) / C + 1) : 0;
  auto put = [&](uint8_t* d, const uint8_t* src, int64_t pos) {
    if (pos < chunk_until) copy_fixed<(Wc > 0 ? Wc : 1)>(d, src);
    else if (C <= 64) copy_small(d, src, C);
    else std::memcpy(d, src, (size_t)C);
  };
  walk_im2col(
      g, H, W, OH, OW, ild, m0, mr,
      [&](int64_t r, int64_t base, const int64_t* off) {
        uint8_t* drow = db + r * old;
        for (int64_t pos = 0; pos < taps; ++pos) put(drow + pos * C, xb + base + off[pos], pos);
      },
      [&](int64_t r, int64_t pos, int64_t at) { put(db + r * old + pos * C, at >= 0 ? xb + at : padb, pos); });
}

}  // namespace

void im2col_rows(const Packed& x, const Im2ColGeom& g, int64_t OH, int64_t OW, const Layout& Lo, const Packed& pad,
                 int64_t m0, int64_t mr, void* dst) {
  const Layout& Li = x.L;
  const int64_t H = x.shape[1], W = x.shape[2], C = x.shape[3];
  if (Li.rep == Rep::BYTES) {
    auto run = [&](auto wc) {
      im2col_bytes<decltype(wc)::value>(x.bytes(), Li.ld, pad.bytes(), H, W, C, g, OH, OW, Lo.ld, m0, mr,
                                        static_cast<uint8_t*>(dst));
    };
    static_assert(kReadSlack * 8 >= 64, "chunk reads need 64 bytes of slack");
    if (C <= 4) run(std::integral_constant<int, 4>{});
    else if (C <= 8) run(std::integral_constant<int, 8>{});
    else if (C <= 16) run(std::integral_constant<int, 16>{});
    else if (C <= 32) run(std::integral_constant<int, 32>{});
    else if (C <= 64) run(std::integral_constant<int, 64>{});
    else run(std::integral_constant<int, 0>{});
    return;
  }
  const int64_t pw = Li.plane_words(), opw = Lo.plane_words();
  const uint64_t* xw = x.words();
  const uint64_t* padw = pad.words();
  uint64_t* dw = static_cast<uint64_t*>(dst);
  const int64_t old = Lo.ld, taps = g.kh * g.kw;
  const int bits = Li.bits;
  // Pixels are a few words: plain loops beat memcpy calls.
  auto put = [&](uint64_t* d, const uint64_t* src) {
    for (int i = 0; i < bits; ++i)
      for (int64_t w = 0; w < pw; ++w) d[i * opw + w] = src[i * pw + w];
  };
  walk_im2col(
      g, H, W, OH, OW, Li.ld, m0, mr,
      [&](int64_t r, int64_t base, const int64_t* off) {
        uint64_t* drow = dw + r * old;
        const uint64_t* b = xw + base;
        if (bits == 1 && pw == 1) {  // binary maps of <= 64 channels: one word per tap
          for (int64_t pos = 0; pos < taps; ++pos) drow[pos] = b[off[pos]];
        } else {
          for (int64_t pos = 0; pos < taps; ++pos) put(drow + pos * pw, b + off[pos]);
        }
      },
      [&](int64_t r, int64_t pos, int64_t at) { put(dw + r * old + pos * pw, at >= 0 ? xw + at : padw); });
}

PackedPtr im2col_packed(const Packed& x, const Im2ColGeom& g, int64_t OH, int64_t OW, int threads) {
  const int64_t N = x.shape[0], C = x.shape[3];
  const Layout Lo = im2col_layout(x.L, g.kh, g.kw);
  PackedPtr y = alloc_packed(Lo, {N, OH, OW, g.kh * g.kw * C});
  const PackedPtr pad = pad_pixel(x.L, g.pad_code);
  const int64_t rows = y->rows, chunks = std::max<int64_t>(1, std::min<int64_t>(threads, rows / kRowsPerTask));
  parallel_for(chunks, (int)chunks, [&](int64_t t) {
    const int64_t r0 = t * rows / chunks, r1 = (t + 1) * rows / chunks;
    void* dst = Lo.rep == Rep::PLANES ? (void*)(y->words() + r0 * Lo.ld) : (void*)(y->bytes() + r0 * Lo.ld);
    im2col_rows(x, g, OH, OW, Lo, *pad, r0, r1 - r0, dst);
  });
  return y;
}

PackedPtr maxpool_packed(const Packed& x, const PoolGeom& g, int64_t OH, int64_t OW, int threads) {
  const Layout& L = x.L;
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  PackedPtr y = alloc_packed(L, {N, OH, OW, C});
  const int64_t pw = L.plane_words();
  for_rows(N * OH, threads, [&](int64_t noy) {
    const int64_t n = noy / OH, oy = noy % OH;
    for (int64_t ox = 0; ox < OW; ++ox) {
      const int64_t orow = noy * OW + ox;
      bool first = true;
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t iy = oy * g.sh + ky - g.pt, ix = ox * g.sw + kx - g.pl;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;  // padding never wins a max
          const int64_t irow = (n * H + iy) * W + ix;
          if (L.rep == Rep::BYTES) {
            const uint8_t* s = x.bytes() + irow * L.ld;
            uint8_t* d = y->bytes() + orow * L.ld;
            // A local trip count: with C read through the lambda's reference
            // capture, byte stores could alias it and the loop would not vectorize.
            const int64_t nc = C;
            if (first) std::memcpy(d, s, (size_t)nc);
            else
              for (int64_t k = 0; k < nc; ++k) d[k] = std::max(d[k], s[k]);
          } else {
            const uint64_t* s = x.words() + irow * L.ld;
            uint64_t* d = y->words() + orow * L.ld;
            if (first) {
              std::memcpy(d, s, (size_t)L.ld * sizeof(uint64_t));
            } else if (L.bits == 1) {
              for (int64_t w = 0; w < pw; ++w) d[w] |= s[w];
            } else {
              // Bit-sliced max: from the top plane down, find where the codes
              // first differ, then take every plane from the larger one.
              for (int64_t w = 0; w < pw; ++w) {
                uint64_t eq = ~uint64_t(0), s_gt = 0;
                for (int i = L.bits - 1; i >= 0; --i) {
                  const uint64_t a = d[i * pw + w], b = s[i * pw + w];
                  s_gt |= eq & b & ~a;
                  eq &= ~(a ^ b);
                }
                for (int i = 0; i < L.bits; ++i) d[i * pw + w] = (s[i * pw + w] & s_gt) | (d[i * pw + w] & ~s_gt);
              }
            }
          }
          first = false;
        }
    }
  });
  return y;
}

std::optional<Layout> reshape_layout(const Layout& in, int64_t in_last, int64_t out_last) {
  if (out_last == in_last) return in;
  if (in_last <= 0 || out_last % in_last != 0) return std::nullopt;
  const int64_t r = out_last / in_last;
  if (in.rep == Rep::PLANES) return make_layout(Rep::PLANES, in.dt, in.segs * r, in.seg_c);
  return make_layout(Rep::BYTES, in.dt, 1, out_last);
}

PackedPtr reshape_packed(const std::shared_ptr<const Packed>& x, const Shape& out_shape, int threads) {
  if (out_shape.empty() || shape_numel(out_shape) != shape_numel(x->shape)) return nullptr;
  const int64_t in_last = x->shape.back(), out_last = out_shape.back();
  auto L = reshape_layout(x->L, in_last, out_last);
  if (!L) return nullptr;
  if (out_last == in_last) {  // a relabel: same rows, same storage
    auto y = std::make_shared<Packed>(*x);
    y->shape = out_shape;
    return y;
  }
  const int64_t r = out_last / in_last;
  PackedPtr y = alloc_packed(*L, out_shape);
  const Layout& Li = x->L;
  for_rows(y->rows, threads, [&](int64_t orow) {
    for (int64_t j = 0; j < r; ++j) {
      const int64_t irow = orow * r + j;
      if (Li.rep == Rep::PLANES) {
        const int64_t pw = Li.plane_words();
        for (int i = 0; i < Li.bits; ++i)
          std::memcpy(y->words() + orow * L->ld + i * L->plane_words() + j * pw, x->words() + irow * Li.ld + i * pw,
                      (size_t)pw * sizeof(uint64_t));
      } else {
        std::memcpy(y->bytes() + orow * L->ld + j * in_last, x->bytes() + irow * Li.ld, (size_t)in_last);
      }
    }
  });
  return y;
}

}  // namespace sf::engine
