// Fuzz tests of the fast engine's ops on packed activations (packed_ops.h):
// pad_packed, add_packed, reduce_windows, reduce_taps and topk_rows against
// naive loops on the decoded values (double, rounded once to float32), and
// against the reference ops (TopK, LabelSelect, FINN's Pool) they replace.
// Inputs are random codes of every integer datatype up to 8 bits, in natural,
// multi-segment PLANES (Im2Col style) and multi-segment BYTES layouts, with
// junk in the padding bytes of BYTES rows. Packed PLANES outputs are checked
// word for word against write_codes (padding bits zero).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "exec/engine/packed.h"
#include "fuzz_util.h"
#include "exec/engine/packed_ops.h"
#include "exec/executor.h"
#include "ops/op.h"

using namespace sf;
using namespace sf::engine;

namespace {

using fuzz::Rng;
using fuzz::coin;
using fuzz::fuzz_scale;
using fuzz::uni;

const std::vector<DataType>& dtypes() {
  static const std::vector<DataType> d = {DataType::bipolar(), DataType::binary(), DataType::ternary(),
                                          DataType::sint(2),   DataType::uint(2),  DataType::sint(3),
                                          DataType::uint(4),   DataType::sint(4),  DataType::sint(8),
                                          DataType::uint(8)};
  return d;
}
DataType random_dt(Rng& rng) { return dtypes()[(size_t)(rng() % dtypes().size())]; }

// Channel counts around the word and 4-byte boundaries, and random ones.
int64_t random_channels(Rng& rng, int64_t max_random = 140) {
  static const int64_t edge[] = {1, 3, 63, 64, 65, 130};
  return coin(rng) ? edge[rng() % 6] : uni(rng, 1, max_random);
}

// A random layout of dt for C channels: PLANES when dt allows it (mostly),
// else BYTES, with 1..3 segments when C splits evenly.
Layout random_layout(Rng& rng, const DataType& dt, int64_t C) {
  const bool planes = make_layout(Rep::PLANES, dt, 1, 1).has_value() && coin(rng, 70);
  std::vector<int64_t> segs = {1};
  for (int64_t s : {2, 3})
    if (C % s == 0) segs.push_back(s);
  const int64_t sg = coin(rng) ? 1 : segs[rng() % segs.size()];
  return *make_layout(planes ? Rep::PLANES : Rep::BYTES, dt, sg, C / sg);
}

int max_code(const Layout& L) { return (int)((L.dt.max() - L.dt.min()) / (double)L.step); }
double value_of(const Layout& L, int code) { return (double)(L.lo + L.step * code); }

struct Input {
  Layout L;
  PackedPtr p;
  std::vector<uint8_t> codes;  // rows * C
  double value(int64_t i) const { return value_of(L, codes[(size_t)i]); }
};

// Random codes; sometimes from a few distinct codes only (ties for top-k,
// runs of equal values for pooling). BYTES rows get junk past the channels.
Input random_input(Rng& rng, const Layout& L, const Shape& shape) {
  Input in;
  in.L = L;
  in.p = alloc_packed(L, shape);
  const int64_t C = L.channels(), n = in.p->rows * C, mc = max_code(L);
  in.codes.resize((size_t)n);
  std::vector<uint8_t> pool;
  if (coin(rng, 30))
    for (int i = 0, m = (int)uni(rng, 1, 3); i < m; ++i) pool.push_back((uint8_t)uni(rng, 0, mc));
  for (auto& c : in.codes) c = pool.empty() ? (uint8_t)uni(rng, 0, mc) : pool[rng() % pool.size()];
  for (int64_t r = 0; r < in.p->rows; ++r) {
    write_codes(*in.p, r, in.codes.data() + r * C);
    if (L.rep == Rep::BYTES)
      for (int64_t b = C; b < L.ld; ++b) in.p->bytes()[r * L.ld + b] = (uint8_t)rng();
  }
  return in;
}

// Every float equal (bitwise for the finite values these ops produce).
::testing::AssertionResult same_floats(const float* got, const std::vector<float>& want, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(got[i] == want[i]) || std::signbit(got[i]) != std::signbit(want[i]))
      return ::testing::AssertionFailure() << what << " at " << i << ": " << got[i] << " != " << want[i];
  return ::testing::AssertionSuccess();
}

// A packed output in layout Lo holding exactly `want` (values): same codes,
// and for PLANES the very words write_codes gives (padding bits zero).
::testing::AssertionResult packed_equals(const PackedPtr& got, const Layout& Lo, const Shape& shape,
                                         const std::vector<double>& want, const std::string& what) {
  if (!got) return ::testing::AssertionFailure() << what << ": no packed output";
  if (!got->L.same(Lo) || got->L.ld != Lo.ld) return ::testing::AssertionFailure() << what << ": wrong layout";
  if (got->shape != shape)
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(got->shape) << " != " << shape_str(shape);
  const int64_t C = Lo.channels();
  PackedPtr ref = alloc_packed(Lo, shape);
  std::vector<uint8_t> codes((size_t)C), back((size_t)C);
  for (int64_t r = 0; r < ref->rows; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      const double v = want[(size_t)(r * C + c)], q = (v - (double)Lo.lo) / (double)Lo.step;
      if (q < 0 || q > 255 || q != std::floor(q))
        return ::testing::AssertionFailure() << what << ": test bug, " << v << " is not a value of the layout";
      codes[(size_t)c] = (uint8_t)q;
    }
    write_codes(*ref, r, codes.data());
    read_codes(*got, r, back.data());
    if (back != codes) {
      int64_t c = 0;
      while (back[(size_t)c] == codes[(size_t)c]) ++c;
      return ::testing::AssertionFailure() << what << ": row " << r << " channel " << c << " code "
                                           << (int)back[(size_t)c] << " != " << (int)codes[(size_t)c];
    }
  }
  if (Lo.rep == Rep::PLANES && got->buf != ref->buf)
    return ::testing::AssertionFailure() << what << ": PLANES storage differs (padding bits set?)";
  return ::testing::AssertionSuccess();
}

std::string describe(const Layout& L) {
  return L.dt.name() + (L.rep == Rep::PLANES ? " PLANES" : " BYTES") + " segs=" + std::to_string(L.segs) +
         " seg_c=" + std::to_string(L.seg_c);
}

// A layout for values in [lo, hi] (integers): the smallest datatype, at
// random a wider one; nullopt when no packed layout holds the range.
std::optional<Layout> layout_for_range(Rng& rng, int64_t lo, int64_t hi, int64_t C) {
  if (coin(rng, 30)) --lo, ++hi;  // a wider type: codes shift against the input's
  const DataType dt = DataType::smallest_for_range((double)lo, (double)hi);
  if (!dt.is_integer() || !make_layout(Rep::BYTES, dt, 1, 1)) return std::nullopt;
  return random_layout(rng, dt, C);
}

// ---- pad_packed --------------------------------------------------------------

TEST(EnginePackedOps, PadFuzz) {
  Rng rng(0x9AD);
  for (int iter = 0; iter < 150 * fuzz_scale(); ++iter) {
    const int64_t N = uni(rng, 1, 2), H = uni(rng, 1, 6), W = uni(rng, 1, 6), C = random_channels(rng);
    const int64_t pt = uni(rng, 0, 2), pl = uni(rng, 0, 2), pb = uni(rng, 0, 2), pr = uni(rng, 0, 2);
    const Layout L = random_layout(rng, random_dt(rng), C);
    const Input in = random_input(rng, L, {N, H, W, C});
    const uint8_t pad = (uint8_t)uni(rng, 0, max_code(L));
    const std::string what = "iter=" + std::to_string(iter) + " " + describe(L);
    PackedPtr y = pad_packed(*in.p, pt, pl, pb, pr, pad, (int)uni(rng, 1, 3));
    const int64_t OH = H + pt + pb, OW = W + pl + pr;
    std::vector<double> want;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          for (int64_t c = 0; c < C; ++c) {
            const int64_t iy = oy - pt, ix = ox - pl;
            const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            want.push_back(inside ? in.value(((n * H + iy) * W + ix) * C + c) : value_of(L, pad));
          }
    ASSERT_TRUE(packed_equals(y, L, {N, OH, OW, C}, want, what));
  }
}

// ---- add_packed --------------------------------------------------------------

TEST(EnginePackedOps, AddFuzz) {
  Rng rng(0xADD);
  int packed_outs = 0;
  for (int iter = 0; iter < 200 * fuzz_scale(); ++iter) {
    // The last cases are big enough to be split over threads.
    const bool big = iter % 50 == 49;
    const int64_t C = big ? 130 : random_channels(rng);
    Shape shape = {uni(rng, 1, 3)};
    for (int i = 0, e = (int)uni(rng, 0, 2); i < e; ++i) shape.push_back(uni(rng, 1, 4));
    if (big) shape.push_back(1500);
    shape.push_back(C);
    const Input a = random_input(rng, random_layout(rng, random_dt(rng), C), shape);
    const Input b = random_input(rng, random_layout(rng, random_dt(rng), C), shape);
    const std::string what = "iter=" + std::to_string(iter) + " " + describe(a.L) + " + " + describe(b.L);
    std::vector<double> want(a.codes.size());
    for (size_t i = 0; i < want.size(); ++i) want[i] = a.value((int64_t)i) + b.value((int64_t)i);
    const int threads = (int)uni(rng, 1, 3);
    OpOut f = add_packed(*a.p, *b.p, nullptr, threads);
    ASSERT_FALSE(f.p) << what;
    ASSERT_EQ(f.f.shape(), shape) << what;
    std::vector<float> wf(want.begin(), want.end());
    ASSERT_TRUE(same_floats(f.f.data<float>(), wf, what));
    const auto Lo = layout_for_range(rng, a.L.lo + b.L.lo, (int64_t)(a.L.dt.max() + b.L.dt.max()), C);
    if (!Lo) continue;
    OpOut q = add_packed(*a.p, *b.p, &*Lo, threads);
    ASSERT_FALSE(q.f.defined()) << what;
    ASSERT_TRUE(packed_equals(q.p, *Lo, shape, want, what + " -> " + describe(*Lo)));
    ++packed_outs;
  }
  EXPECT_GT(packed_outs, 100 * fuzz_scale());
  // Shapes must match exactly, not just in element count.
  const Layout L = *natural_layout(DataType::sint(4), 6);
  PackedPtr a = alloc_packed(L, {2, 3, 6}), b = alloc_packed(L, {3, 2, 6});
  EXPECT_THROW(add_packed(*a, *b, nullptr, 1), std::invalid_argument);
}

// ---- reductions --------------------------------------------------------------

const char* spec_name(const ReduceSpec& r) {
  switch (r.op) {
    case Reduce::MAX: return "MAX";
    case Reduce::SUM: return "SUM";
    default: return "MEAN";
  }
}

ReduceSpec random_spec(Rng& rng) {
  ReduceSpec r;
  const int k = (int)uni(rng, 0, 2);
  r.op = k == 0 ? Reduce::MAX : k == 1 ? Reduce::SUM : Reduce::MEAN;
  r.shift = r.op == Reduce::SUM ? (int)uni(rng, 0, 3) : 0;
  return r;
}

// The reference semantics on `count` values (double).
double reduce_ref(const std::vector<double>& v, const ReduceSpec& r) {
  if (r.op == Reduce::MAX) return *std::max_element(v.begin(), v.end());
  double s = 0;
  for (double x : v) s += x;
  if (r.op == Reduce::SUM) return std::floor(s / std::ldexp(1.0, r.shift));
  return (double)(float)(s / (double)v.size());
}

// An output layout for a reduction of `count` values of L, or nullopt. MEAN
// gets one only for inputs that are constant per channel (caller's promise).
std::optional<Layout> reduce_out_layout(Rng& rng, const Layout& L, const ReduceSpec& r, int64_t count, int64_t C) {
  const int64_t lo = L.lo, hi = (int64_t)L.dt.max();
  switch (r.op) {
    case Reduce::MAX:
      return coin(rng) ? random_layout(rng, L.dt, C) : layout_for_range(rng, lo, hi, C);
    case Reduce::SUM: {
      const auto fs = [&](int64_t v) { return (int64_t)std::floor((double)v / std::ldexp(1.0, r.shift)); };
      return layout_for_range(rng, fs(lo * count), fs(hi * count), C);
    }
    default:
      return random_layout(rng, L.dt, C);
  }
}

// Makes every pixel of `in` equal to its first one (so every mean is a value).
void constant_pixels(Input& in) {
  const int64_t C = in.L.channels();
  for (int64_t r = 1; r < in.p->rows; ++r) {
    std::copy(in.codes.begin(), in.codes.begin() + C, in.codes.begin() + r * C);
    write_codes(*in.p, r, in.codes.data());
  }
}

TEST(EnginePackedOps, ReduceWindowsFuzz) {
  Rng rng(0x600D);
  int packed_outs = 0, by_op[3] = {0, 0, 0}, global = 0;
  for (int iter = 0; iter < 300 * fuzz_scale(); ++iter) {
    const int64_t N = uni(rng, 1, 2), H = uni(rng, 1, 7), W = uni(rng, 1, 7), C = random_channels(rng);
    WindowGeom g;
    if (coin(rng, 20)) {  // GlobalAccPool
      g = {H, W, 1, 1, 1, 1};
      ++global;
    } else {
      g.kh = uni(rng, 1, H), g.kw = uni(rng, 1, W), g.sh = uni(rng, 1, 3), g.sw = uni(rng, 1, 3);
      g.OH = (H - g.kh) / g.sh + 1, g.OW = (W - g.kw) / g.sw + 1;
    }
    const ReduceSpec r = random_spec(rng);
    const int64_t count = g.kh * g.kw;
    const Layout L = random_layout(rng, random_dt(rng), C);
    Input in = random_input(rng, L, {N, H, W, C});
    std::optional<Layout> Lo;
    if (coin(rng, 60)) {
      Lo = reduce_out_layout(rng, L, r, count, C);
      if (Lo && r.op == Reduce::MEAN) constant_pixels(in);
    }
    const std::string what = "iter=" + std::to_string(iter) + " " + spec_name(r) + " shift=" +
                             std::to_string(r.shift) + " " + describe(L) + " k=" + std::to_string(g.kh) + "x" +
                             std::to_string(g.kw) + " s=" + std::to_string(g.sh) + "," + std::to_string(g.sw) +
                             (Lo ? " -> " + describe(*Lo) : std::string(" -> float"));
    std::vector<double> want;
    std::vector<double> win;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oy = 0; oy < g.OH; ++oy)
        for (int64_t ox = 0; ox < g.OW; ++ox)
          for (int64_t c = 0; c < C; ++c) {
            win.clear();
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx)
                win.push_back(in.value(((n * H + oy * g.sh + ky) * W + ox * g.sw + kx) * C + c));
            want.push_back(reduce_ref(win, r));
          }
    const Shape out_shape = {N, g.OH, g.OW, C};
    OpOut o = reduce_windows(*in.p, g, r, Lo ? &*Lo : nullptr, (int)uni(rng, 1, 3));
    if (Lo) {
      ASSERT_FALSE(o.f.defined()) << what;
      ASSERT_TRUE(packed_equals(o.p, *Lo, out_shape, want, what));
      ++packed_outs;
    } else {
      ASSERT_FALSE(o.p) << what;
      ASSERT_EQ(o.f.shape(), out_shape) << what;
      ASSERT_TRUE(same_floats(o.f.data<float>(), std::vector<float>(want.begin(), want.end()), what));
    }
    ++by_op[(int)r.op];
  }
  EXPECT_GT(packed_outs, 60 * fuzz_scale());
  EXPECT_GT(global, 30 * fuzz_scale());
  for (int n : by_op) EXPECT_GT(n, 60 * fuzz_scale());
}

// Large sums: int64 accumulation, negative floor shifts, a split over threads.
TEST(EnginePackedOps, ReduceWindowsLargeGlobalSum) {
  Rng rng(0x51);
  const Layout L = *natural_layout(DataType::sint(8), 5);
  const int64_t H = 300, W = 300;
  Input in = random_input(rng, L, {1, H, W, 5});
  for (int64_t r = 0; r < in.p->rows; ++r) {  // mostly -128 so the sums go far negative
    for (int64_t c = 0; c < 5; ++c)
      if (c != 4 || r % 3) in.codes[(size_t)(r * 5 + c)] = (uint8_t)(c == 3 ? 255 : 0);
    write_codes(*in.p, r, in.codes.data() + r * 5);
  }
  for (int shift : {0, 3, 7, 31, 40}) {  // long shifts floor to 0 or -1
    const ReduceSpec r{Reduce::SUM, shift};
    OpOut o = reduce_windows(*in.p, {H, W, 1, 1, 1, 1}, r, nullptr, 3);
    for (int64_t c = 0; c < 5; ++c) {
      double s = 0;
      for (int64_t p = 0; p < H * W; ++p) s += in.value(p * 5 + c);
      EXPECT_EQ(o.f.data<float>()[c], (float)std::floor(s / std::ldexp(1.0, shift))) << "shift=" << shift;
    }
  }
  // Many output rows: split over tasks.
  const Layout Lb = *natural_layout(DataType::binary(), 70);
  const Input b = random_input(rng, Lb, {4, 64, 64, 70});
  OpOut o = reduce_windows(*b.p, {2, 2, 1, 1, 63, 63}, {Reduce::MEAN, 0}, nullptr, 3);
  std::vector<float> want;
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t y = 0; y < 63; ++y)
      for (int64_t x = 0; x < 63; ++x)
        for (int64_t c = 0; c < 70; ++c) {
          double s = 0;
          for (int64_t dy = 0; dy < 2; ++dy)
            for (int64_t dx = 0; dx < 2; ++dx) s += b.value(((n * 64 + y + dy) * 64 + x + dx) * 70 + c);
          want.push_back((float)(s / 4));
        }
  EXPECT_TRUE(same_floats(o.f.data<float>(), want, "binary mean"));
}

// Sums at the limits of narrow accumulators: 257 and 258 UINT8 codes of 255
// (65535 and past 16 bits), and over 2^31 / 255 of them (past int32).
TEST(EnginePackedOps, ReduceSumsPastAccumulatorLimits) {
  for (int64_t n : {256, 257, 258, 300}) {
    const Layout L = *natural_layout(DataType::uint(8), n * 3);
    PackedPtr x = alloc_packed(L, {2, n * 3});
    std::fill(x->bytes(), x->bytes() + 2 * L.ld, (uint8_t)255);
    OpOut o = reduce_taps(*x, n, {Reduce::SUM, 0}, nullptr, 1);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(o.f.data<float>()[i], (float)(255 * n)) << n;
    const Layout Lw = *natural_layout(DataType::uint(8), 2);
    PackedPtr w = alloc_packed(Lw, {1, 1, n, 2});
    std::fill(w->bytes(), w->bytes() + n * Lw.ld, (uint8_t)255);
    o = reduce_windows(*w, {1, n, 1, 1, 1, 1}, {Reduce::SUM, 1}, nullptr, 1);
    EXPECT_EQ(o.f.data<float>()[1], (float)(255 * n / 2)) << n;
  }

  const int64_t count = (int64_t(1) << 31) / 255 + 1000;
  const auto codes = [](int64_t p, int64_t c) { return (uint8_t)(c == 0 ? 255 : c == 1 ? 0 : c == 2 ? p % 256 : 200); };
  const auto want_sum = [&](int64_t c) {
    if (c != 2) return (int64_t)codes(0, c) * count;
    int64_t s = 0;
    for (int64_t p = 0; p < count; ++p) s += codes(p, c);
    return s;
  };
  // GlobalAccPool over a 1 x count image of 4 channels.
  const Layout L = *natural_layout(DataType::uint(8), 4);
  PackedPtr x = alloc_packed(L, {1, 1, count, 4});
  for (int64_t p = 0; p < count; ++p)
    for (int64_t c = 0; c < 4; ++c) x->bytes()[p * 4 + c] = codes(p, c);
  for (int shift : {0, 5}) {
    OpOut o = reduce_windows(*x, {1, count, 1, 1, 1, 1}, {Reduce::SUM, shift}, nullptr, 2);
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(o.f.data<float>()[c], (float)(double)(want_sum(c) >> shift)) << c;
  }
  // One row of `count` taps of one channel.
  const Layout Lt = *natural_layout(DataType::uint(8), count);
  PackedPtr t = alloc_packed(Lt, {1, count});
  for (int64_t p = 0; p < count; ++p) t->bytes()[p] = codes(p, 0);
  OpOut o = reduce_taps(*t, count, {Reduce::MEAN, 0}, nullptr, 2);
  EXPECT_EQ(o.f.data<float>()[0], 255.0f);
  o = reduce_taps(*t, count, {Reduce::SUM, 0}, nullptr, 2);
  EXPECT_EQ(o.f.data<float>()[0], (float)(double)want_sum(0));
}

TEST(EnginePackedOps, ReduceTapsFuzz) {
  Rng rng(0x7A95);
  int packed_outs = 0, word_max = 0, by_op[3] = {0, 0, 0};
  for (int iter = 0; iter < 400 * fuzz_scale(); ++iter) {
    const int64_t taps = coin(rng, 15) ? 1 : uni(rng, 2, 9);
    const DataType dt = random_dt(rng);
    // Im2Col-style input (PLANES: every tap is whole segments), or a plain
    // layout of taps*C channels, PLANES or BYTES.
    Layout L, per_tap;
    if (coin(rng, 70)) {
      per_tap = random_layout(rng, dt, random_channels(rng, 90));
      const int64_t pc = per_tap.channels();
      L = per_tap.rep == Rep::PLANES ? *make_layout(Rep::PLANES, dt, per_tap.segs * taps, per_tap.seg_c)
          : coin(rng)                ? *make_layout(Rep::BYTES, dt, taps, pc)
                                     : *make_layout(Rep::BYTES, dt, 1, pc * taps);
    } else {
      const int64_t C = random_channels(rng, 90);
      per_tap = random_layout(rng, dt, C);
      L = random_layout(rng, dt, C * taps);
    }
    const int64_t C = per_tap.channels();
    Shape shape = {uni(rng, 1, 2)};
    for (int i = 0, e = (int)uni(rng, 0, 2); i < e; ++i) shape.push_back(uni(rng, 1, 5));
    shape.push_back(C * taps);
    const ReduceSpec r = random_spec(rng);
    Input in = random_input(rng, L, shape);
    std::optional<Layout> Lo;
    if (coin(rng, 60)) {
      // MAX into the per-tap layout of the same type: the word-level path.
      Lo = r.op == Reduce::MAX && coin(rng, 70) ? per_tap : reduce_out_layout(rng, L, r, taps, C);
      if (Lo && r.op == Reduce::MEAN)  // every tap of a row equal to the first
        for (int64_t row = 0; row < in.p->rows; ++row) {
          uint8_t* cd = in.codes.data() + row * C * taps;
          for (int64_t t = 1; t < taps; ++t) std::copy(cd, cd + C, cd + t * C);
          write_codes(*in.p, row, cd);
        }
    }
    const bool words = r.op == Reduce::MAX && Lo && Lo->rep == Rep::PLANES && L.rep == Rep::PLANES &&
                       Lo->segs * taps == L.segs && Lo->seg_c == L.seg_c && Lo->lo == L.lo;
    word_max += words;
    const std::string what = "iter=" + std::to_string(iter) + " " + spec_name(r) + " shift=" +
                             std::to_string(r.shift) + " taps=" + std::to_string(taps) + " " + describe(L) +
                             (Lo ? " -> " + describe(*Lo) : std::string(" -> float"));
    std::vector<double> want, v;
    for (int64_t row = 0; row < in.p->rows; ++row)
      for (int64_t c = 0; c < C; ++c) {
        v.clear();
        for (int64_t t = 0; t < taps; ++t) v.push_back(in.value(row * C * taps + t * C + c));
        want.push_back(reduce_ref(v, r));
      }
    Shape out_shape = shape;
    out_shape.back() = C;
    OpOut o = reduce_taps(*in.p, taps, r, Lo ? &*Lo : nullptr, (int)uni(rng, 1, 3));
    if (Lo) {
      ASSERT_FALSE(o.f.defined()) << what;
      ASSERT_TRUE(packed_equals(o.p, *Lo, out_shape, want, what));
      ++packed_outs;
    } else {
      ASSERT_FALSE(o.p) << what;
      ASSERT_EQ(o.f.shape(), out_shape) << what;
      ASSERT_TRUE(same_floats(o.f.data<float>(), std::vector<float>(want.begin(), want.end()), what));
    }
    ++by_op[(int)r.op];
  }
  EXPECT_GT(packed_outs, 80 * fuzz_scale());
  EXPECT_GT(word_max, 8 * fuzz_scale());
  for (int n : by_op) EXPECT_GT(n, 60 * fuzz_scale());
  const Layout L = *natural_layout(DataType::uint(4), 10);
  PackedPtr x = alloc_packed(L, {2, 10});
  EXPECT_THROW(reduce_taps(*x, 3, {}, nullptr, 1), std::invalid_argument);
}

// ---- topk_rows ---------------------------------------------------------------

// TopK's and LabelSelect's order: values first, ties to the lower index.
std::vector<int64_t> topk_ref(const Input& in, int64_t row, int64_t C, int64_t k, bool largest, bool sorted) {
  std::vector<int64_t> idx((size_t)C);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t p, int64_t q) {
    const double a = in.value(row * C + p), b = in.value(row * C + q);
    return largest ? a > b : a < b;
  });
  idx.resize((size_t)k);
  if (!sorted) std::sort(idx.begin(), idx.end());
  return idx;
}

TEST(EnginePackedOps, TopKFuzz) {
  Rng rng(0x70C);
  int ties = 0;
  for (int iter = 0; iter < 400 * fuzz_scale(); ++iter) {
    const bool big = iter % 100 == 99;
    const int64_t C = random_channels(rng, 300), rows = big ? 3000 : uni(rng, 1, 6);
    const int kind = (int)uni(rng, 0, 3);
    const int64_t k = kind == 0 ? 1 : kind == 1 ? std::min<int64_t>(2, C) : kind == 2 ? C : uni(rng, 0, C);
    const bool largest = coin(rng), sorted = coin(rng);
    const Layout L = random_layout(rng, random_dt(rng), C);
    const Input in = random_input(rng, L, {rows, C});
    const std::string what = "iter=" + std::to_string(iter) + " " + describe(L) + " k=" + std::to_string(k) +
                             (largest ? " largest" : " smallest") + (sorted ? " sorted" : " unsorted");
    const size_t n = (size_t)(rows * k);
    std::vector<float> vals(n, -7.5f), idxf(n, -7.5f);
    std::vector<int64_t> idx(n, -7);
    // Each output may be left out.
    const int mask = coin(rng, 70) ? 7 : (int)uni(rng, 0, 7);
    topk_rows(*in.p, k, largest, sorted, mask & 1 ? vals.data() : nullptr, mask & 2 ? idx.data() : nullptr,
              mask & 4 ? idxf.data() : nullptr, (int)uni(rng, 1, 3));
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<int64_t> want = topk_ref(in, r, C, k, largest, sorted);
      for (int64_t j = 0; j < k; ++j) {
        const size_t o = (size_t)(r * k + j);
        const int64_t w = want[(size_t)j];
        if (mask & 1) ASSERT_EQ(vals[o], (float)in.value(r * C + w)) << what << " row " << r << " rank " << j;
        else ASSERT_EQ(vals[o], -7.5f) << what;
        if (mask & 2) ASSERT_EQ(idx[o], w) << what << " row " << r << " rank " << j;
        else ASSERT_EQ(idx[o], -7) << what;
        if (mask & 4) ASSERT_EQ(idxf[o], (float)w) << what << " row " << r << " rank " << j;
        else ASSERT_EQ(idxf[o], -7.5f) << what;
      }
      // Ties that straddle the cut: the k-th and (k+1)-th values equal.
      if (k > 0 && k < C) {
        std::vector<double> v;
        for (int64_t c = 0; c < C; ++c) v.push_back(in.value(r * C + c));
        std::sort(v.begin(), v.end());
        if (!largest) std::reverse(v.begin(), v.end());
        ties += v[(size_t)(C - k)] == v[(size_t)(C - k - 1)];
      }
    }
  }
  EXPECT_GT(ties, 100 * fuzz_scale());
  const Layout L = *natural_layout(DataType::uint(2), 4);
  PackedPtr x = alloc_packed(L, {1, 4});
  std::vector<int64_t> idx(5);
  EXPECT_THROW(topk_rows(*x, 5, true, true, nullptr, idx.data(), nullptr, 1), std::invalid_argument);
}

// ---- against the reference ops ----------------------------------------------------

std::vector<Tensor> run_ref(const Node& n, const std::vector<Tensor>& ins) {
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  if (!d) throw std::runtime_error("op not registered: " + n.op_type);
  ExecCtx c{n, 13, {}, {}};
  for (const auto& t : ins) c.in.push_back(&t);
  run_node(*d, c);
  return c.out;
}

Node node(const std::string& op, const std::string& domain, size_t n_in, size_t n_out) {
  Node n;
  n.name = op + "_0";
  n.op_type = op;
  n.domain = domain;
  for (size_t i = 0; i < n_in; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

TEST(EnginePackedOps, TopKAndLabelSelectMatchReferenceOps) {
  Rng rng(0x1AB);
  for (int iter = 0; iter < 60 * fuzz_scale(); ++iter) {
    const int64_t C = random_channels(rng, 40), rows = uni(rng, 1, 4), k = uni(rng, 1, C);
    const bool largest = coin(rng), sorted = coin(rng);
    const Layout L = random_layout(rng, random_dt(rng), C);
    const Input in = random_input(rng, L, {rows, C});
    const Tensor xf = decode(*in.p, 1);
    const std::string what = "iter=" + std::to_string(iter) + " " + describe(L) + " k=" + std::to_string(k);
    std::vector<float> vals((size_t)(rows * k)), idxf((size_t)(rows * k));
    std::vector<int64_t> idx((size_t)(rows * k));
    topk_rows(*in.p, k, largest, sorted, vals.data(), idx.data(), idxf.data(), 1);

    Node t = node("TopK", "", 2, 2);
    t.set_int("largest", largest);
    t.set_int("sorted", sorted);
    const auto out = run_ref(t, {xf, Tensor::from_vector<int64_t>({1}, {k})});
    ASSERT_TRUE(same_floats(out[0].data<float>(), vals, what + " TopK values"));
    const int64_t* ri = out[1].data<int64_t>();
    ASSERT_TRUE(std::equal(idx.begin(), idx.end(), ri)) << what << " TopK indices";

    if (!largest || !sorted) continue;
    Node ls = node("LabelSelect", "finn.custom_op.fpgadataflow", 1, 1);
    ls.set_int("Labels", C);
    ls.set_int("K", k);
    ls.set_string("inputDataType", L.dt.name());
    const auto lo = run_ref(ls, {xf});
    ASSERT_TRUE(same_floats(lo[0].data<float>(), idxf, what + " LabelSelect"));
  }
}

// FINN's Pool: MaxPool, AvgPool (MEAN), AccPool (SUM) and QuantAvgPool (SUM
// with the shift it derives from the datatypes) over unrolled windows.
TEST(EnginePackedOps, ReduceTapsMatchesPoolOp) {
  Rng rng(0x9001);
  const char* funcs[] = {"MaxPool", "AvgPool", "AccPool", "QuantAvgPool"};
  for (int iter = 0; iter < 80 * fuzz_scale(); ++iter) {
    const std::string func = funcs[iter % 4];
    const int64_t kh = uni(rng, 1, 3), kw = uni(rng, 1, 3), C = random_channels(rng, 40);
    const int64_t N = uni(rng, 1, 2), OH = uni(rng, 1, 3), OW = uni(rng, 1, 3), taps = kh * kw;
    const DataType dt = random_dt(rng);
    if (dt.kind() == DataType::Kind::BIPOLAR) continue;  // not a Pool input type
    const Layout per_tap = random_layout(rng, dt, C);
    const Layout L = per_tap.rep == Rep::PLANES ? *make_layout(Rep::PLANES, dt, per_tap.segs * taps, per_tap.seg_c)
                                                : *make_layout(Rep::BYTES, dt, 1, C * taps);
    const Input in = random_input(rng, L, {N, OH, OW, C * taps});
    Node n = node("Pool", "finn.custom_op.fpgadataflow", 1, 1);
    n.set_int("Channels", C);
    n.set_ints("KernelSize", {kh, kw});
    n.set_ints("OutImgDims", {OH, OW});
    n.set_string("Function", func);
    n.set_string("InputDataType", dt.name());
    ReduceSpec r;
    r.op = func == "MaxPool" ? Reduce::MAX : func == "AvgPool" ? Reduce::MEAN : Reduce::SUM;
    if (func == "QuantAvgPool") {
      const int obits = (int)uni(rng, 2, 8);
      n.set_string("OutputDataType", (dt.is_signed() ? "INT" : "UINT") + std::to_string(obits));
      const uint64_t maxv = ((uint64_t(1) << dt.bitwidth()) - 1) * (uint64_t)taps;
      int len = 0;
      for (uint64_t v = maxv; v; v >>= 1) ++len;
      r.shift = std::max(0, len - obits);
    }
    const std::string what = "iter=" + std::to_string(iter) + " " + func + " " + describe(L) +
                             " taps=" + std::to_string(taps) + " shift=" + std::to_string(r.shift);
    const Tensor want = run_ref(n, {decode(*in.p, 1)}).at(0);
    OpOut o = reduce_taps(*in.p, taps, r, nullptr, 1);
    ASSERT_EQ(o.f.shape(), want.shape()) << what;
    const float* w = want.data<float>();
    ASSERT_TRUE(same_floats(o.f.data<float>(), std::vector<float>(w, w + want.numel()), what));
  }
}

}  // namespace
