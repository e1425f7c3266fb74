// Running a compiled plan: input checks (batch may exceed the model's 1),
// the GEMM kernels with their threshold epilogue, standalone thresholds,
// packed data movement, and per-node fallback to the reference ops (per
// image when batched, since the reference ops assume the model's shapes).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "exec/engine/plan.h"
#include "exec/executor.h"
#include "ops/reshape/movement.h"

namespace sf::engine {
namespace {

// Below this many inner-loop operations a layer runs on the calling thread:
// waking workers costs microseconds.
constexpr double kParallelWork = 1 << 16;
// Rows per GEMM tile: the strip's int32 partial sums (64 x 64) stay in L1.
constexpr int64_t kRowBlock = 64;

// How many of the sorted thresholds [b, e) are <= v: equal to
// upper_bound(b, e, v) - b for sorted data without NaNs, but a branch-free
// linear count is several times faster for the few thresholds per channel
// that quantized layers have.
template <class T>
inline int64_t count_le(const T* b, const T* e, T v) {
  if (e - b <= 8) {
    int64_t c = 0;
    for (; b < e; ++b) c += *b <= v;
    return c;
  }
  return std::upper_bound(b, e, v) - b;
}

Tensor image_view(const Tensor& t, int64_t i, int64_t batch) {
  Shape s = t.shape();
  const size_t bytes = t.nbytes() / (size_t)batch;
  s[0] = 1;
  return Tensor::wrap(t.type(), s, (char*)const_cast<void*>(t.raw()) + bytes * (size_t)i, t.owner());
}

std::vector<Tensor> exec_ref(const Model& model, const Node& node, const OpDef& def,
                             const std::vector<const Tensor*>& ins) {
  int64_t opset = model.opset_version("");
  if (opset <= 0) opset = 1000;
  ExecCtx ec{node, opset, ins, {}};
  run_node(def, ec);  // the executor's checks and error wrapping
  return std::move(ec.out);
}

void set_float(std::vector<Val>& vals, int slot, Tensor t) {
  if (slot >= 0) vals[(size_t)slot] = Val{std::move(t), nullptr};
}

void set_packed(std::vector<Val>& vals, int slot, std::shared_ptr<const Packed> p) {
  if (slot >= 0) vals[(size_t)slot] = Val{Tensor(), std::move(p)};
}

}  // namespace

const Tensor& Engine::float_of(std::vector<Val>& vals, int slot) const {
  Val& v = vals[(size_t)slot];
  if (!v.f.defined() && v.p) v.f = decode(*v.p, nthreads());
  return v.f;
}

Shape Engine::runtime_shape(const Shape& s, int64_t batch) const {
  Shape r = s;
  if (!r.empty() && r[0] == model_batch_) r[0] = batch;
  return r;
}

namespace {
// Threads for the data-parallel work of the run on this thread: 0 means the
// engine's own count; 1 inside a batch slice (see Engine::run).
thread_local int tl_threads = 0;
// Images per batch slice at least: below this, per-layer parallelism wins.
constexpr int64_t kMinSlice = 64;
}  // namespace

int Engine::nthreads() const { return tl_threads > 0 ? tl_threads : threads_; }

TensorMap Engine::run(const TensorMap& inputs) const {
  const Graph& g = model_.graph;
  const int64_t batch = check_model_inputs(g, inputs, true);
  if (batch == 0 && model_batch_ > 0)
    throw InputError("the input batch is empty (0 images)", "pass at least one image");
  // A large batch runs as independent slices, one per thread, each through
  // the whole plan on its own: no synchronization between layers, which for
  // small layers costs more than the layer itself.
  const int parts = tl_threads > 0 || !sliceable_ ? 1 : (int)std::min<int64_t>(threads_, batch / kMinSlice);
  if (parts > 1) {
    std::vector<TensorMap> outs((size_t)parts);
    parallel_for(parts, parts, [&](int64_t t) {
      const int64_t b0 = t * batch / parts, b1 = (t + 1) * batch / parts;
      TensorMap slice;
      for (const auto& [name, x] : inputs) {
        Shape sh = x.shape();
        const size_t row = x.nbytes() / (size_t)batch;
        sh[0] = b1 - b0;
        slice[name] = Tensor::wrap(x.type(), sh, (char*)const_cast<void*>(x.raw()) + row * (size_t)b0, x.owner());
      }
      tl_threads = 1;
      try {
        outs[(size_t)t] = run_slice(slice, b1 - b0);
      } catch (...) {
        tl_threads = 0;
        throw;
      }
      tl_threads = 0;
    });
    TensorMap result;
    for (const auto& o : g.outputs) {
      const Tensor& first = outs[0].at(o.name);
      Shape sh = first.shape();
      sh[0] = batch;
      Tensor y(first.type(), sh);
      size_t off = 0;
      for (const auto& part : outs) {
        const Tensor& p = part.at(o.name);
        std::memcpy((char*)y.raw() + off, p.raw(), p.nbytes());
        off += p.nbytes();
      }
      result[o.name] = std::move(y);
    }
    return result;
  }
  return run_slice(inputs, batch);
}

TensorMap Engine::run_slice(const TensorMap& inputs, int64_t batch) const {
  const Graph& g = model_.graph;
  const bool batched = batch > 0 && batch != model_batch_;

  std::vector<Val> vals(slot_.size());
  for (const auto& [name, t] : g.initializers) vals[(size_t)slot_.at(name)].f = t;
  for (const auto& [name, t] : inputs) vals[(size_t)slot_.at(name)].f = t;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!profile_) {
      run_step(*steps_[i], vals, batch, batched);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    run_step(*steps_[i], vals, batch, batched);
    step_ns_[i] += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  }

  TensorMap result;
  for (const auto& o : g.outputs) {
    const int id = slot_.at(o.name);
    if (!vals[(size_t)id].f.defined() && !vals[(size_t)id].p)
      throw ModelError(fmt::format("graph output '{}' was not computed", o.name), "check the model", o.name);
    result[o.name] = float_of(vals, id);
  }
  return result;
}

void Engine::run_step(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  if (s.fused) return;  // an Im2Col the next GEMM gathers itself
  switch (s.kind) {
    case Kind::GEMM: return run_gemm(s, vals, batch);
    case Kind::THRESH: return run_thresholds(s, vals, batch, batched);
    case Kind::IM2COL:
    case Kind::MAXPOOL:
    case Kind::RESHAPE:
    case Kind::PAD:
    case Kind::POOL: return run_movement(s, vals, batch, batched);
    case Kind::ALIAS: {
      const Val v = vals[(size_t)s.in[0]];
      if (!v.p && (!v.f.defined() || v.f.type() != ElemType::FLOAT)) return run_reference(s, vals, batch, batched);
      for (int o : s.out)
        if (o >= 0) vals[(size_t)o] = v;
      return;
    }
    case Kind::ADD: return run_add(s, vals, batch, batched);
    case Kind::TOPK: return run_topk(s, vals, batch, batched);
    case Kind::FALLBACK: return run_reference(s, vals, batch, batched);
  }
}

void Engine::run_reference(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  const Node& node = model_.graph.nodes[(size_t)s.node];
  std::vector<const Tensor*> ins;
  for (int id : s.in) {
    const bool has = id >= 0 && (vals[(size_t)id].f.defined() || vals[(size_t)id].p);
    ins.push_back(has ? &float_of(vals, id) : nullptr);
  }
  for (size_t k = 0; k < ins.size(); ++k)
    if (s.in[k] >= 0 && !ins[k])
      op_fail(node, fmt::format("input '{}' has no value", node.inputs[k]), "add the missing initializer");
  bool split = false;
  for (size_t k = 0; batched && k < ins.size(); ++k)
    split |= ins[k] && !s.in_const[k] && ins[k]->rank() >= 1 && ins[k]->shape()[0] == batch;
  // Ops that broadcast or permute without touching axis 0 run on the whole
  // batch at once; a Reshape to (1, ...) keeps the batch in front.
  const std::string& op = node.op_type;
  if (split && (op == "Mul" || op == "Add" || op == "Sub" || op == "Div")) {
    bool whole = true;
    for (size_t k = 0; k < ins.size(); ++k)
      if (ins[k] && s.in_const[k]) whole &= ins[k]->rank() < ins[0]->rank() || ins[k]->shape()[0] == 1;
    split = !whole;
  } else if (split && op == "ChannelwiseOp") {
    split = false;  // per-channel parameters along the last axis: any batch at once
  } else if (split && op == "Transpose") {
    const auto perm = node.get_ints("perm", {});
    split = perm.empty() || perm[0] != 0;
  } else if (split && op == "Reshape" && ins.size() == 2 && ins[1] && s.in_const[1] && ins[0]->rank() >= 1) {
    std::vector<int64_t> target = ins[1]->to_int64();
    bool simple = !target.empty() && target[0] == 1;
    int64_t known = 1, unknown = -1;
    for (size_t k = 1; simple && k < target.size(); ++k) {
      if (target[k] == -1 && unknown < 0) unknown = (int64_t)k;
      else if (target[k] > 0) known *= target[k];
      else simple = false;  // 0 (copy a dim) or a second -1: leave to the reference
    }
    const int64_t per_image = ins[0]->numel() / batch;
    if (simple && unknown > 0 && known > 0 && per_image % known == 0) target[(size_t)unknown] = per_image / known;
    else if (simple && (unknown > 0 || known != per_image)) simple = false;
    if (simple) {
      target[0] = batch;
      set_float(vals, s.out[0], ins[0]->reshaped(target));
      return;
    }
  }
  std::vector<Tensor> outs;
  if (!split) {
    outs = exec_ref(model_, node, *s.def, ins);
  } else {
    // The reference ops read shapes from attributes (Im2Col's input_shape,
    // Reshape targets with a batch of 1): run them image by image.
    std::vector<std::vector<Tensor>> per((size_t)batch);
    parallel_for(batch, batch >= 8 ? nthreads() : 1, [&](int64_t i) {
      std::vector<Tensor> views(ins.size());
      std::vector<const Tensor*> in_i(ins.size(), nullptr);
      for (size_t k = 0; k < ins.size(); ++k) {
        if (!ins[k]) continue;
        if (!s.in_const[k] && ins[k]->rank() >= 1 && ins[k]->shape()[0] == batch) {
          views[k] = image_view(*ins[k], i, batch);
          in_i[k] = &views[k];
        } else {
          in_i[k] = ins[k];
        }
      }
      per[(size_t)i] = exec_ref(model_, node, *s.def, in_i);
    });
    outs.resize(per[0].size());
    for (size_t k = 0; k < outs.size(); ++k) {
      const Tensor& first = per[0][k];
      if (!first.defined()) continue;
      if (first.rank() < 1 || first.shape()[0] != 1)
        throw InputError(fmt::format("{} drops the batch axis (output {}), so the engine cannot batch it",
                                     node.label(), shape_str(first.shape())),
                         "run this model with batch 1, or keep the batch axis through Reshape nodes");
      Shape os = first.shape();
      os[0] = batch;
      Tensor o(first.type(), os);
      const size_t bytes = first.nbytes();
      for (int64_t i = 0; i < batch; ++i) {
        const Tensor& p = per[(size_t)i][k];
        if (p.shape() != first.shape())
          throw ModelError(fmt::format("{}: images of one batch gave outputs of different shapes", node.label()),
                           "run with batch 1", node.name);
        std::memcpy((char*)o.raw() + bytes * (size_t)i, p.raw(), bytes);
      }
      outs[k] = std::move(o);
    }
  }
  for (size_t k = 0; k < s.out.size() && k < outs.size(); ++k) set_float(vals, s.out[k], std::move(outs[k]));
}

void Engine::run_movement(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  const Val& v = vals[(size_t)s.in[0]];
  std::shared_ptr<const Packed> x = v.p;
  if (!x || !x->L.same(s.in_L)) {
    // The producer fell back to float (values off its annotation): pack it
    // if the values allow, else the reference does the whole op.
    x = encode(float_of(vals, s.in[0]), s.in_L, nthreads());
    if (!x) return run_reference(s, vals, batch, batched);
  }
  bool same = x->shape.size() == s.in_shape.size();
  for (size_t k = 1; same && k < s.in_shape.size(); ++k) same = x->shape[k] == s.in_shape[k];
  if (!same) return run_reference(s, vals, batch, batched);
  const Shape os = runtime_shape(s.out_shape, x->shape[0]);
  PackedPtr y;
  if (s.kind == Kind::IM2COL) y = im2col_packed(*x, s.im2col, os[1], os[2], nthreads());
  else if (s.kind == Kind::MAXPOOL) y = maxpool_packed(*x, s.pool, os[1], os[2], nthreads());
  else if (s.kind == Kind::PAD) y = pad_packed(*x, s.pad[0], s.pad[1], s.pad[2], s.pad[3], s.pad_code, nthreads());
  else if (s.kind == Kind::POOL) {
    const Layout* Lo = s.out_L ? &*s.out_L : nullptr;
    OpOut r = s.taps ? reduce_taps(*x, s.taps, s.reduce, Lo, nthreads()) : reduce_windows(*x, s.win, s.reduce, Lo, nthreads());
    if (r.p) set_packed(vals, s.out[0], std::move(r.p));
    else set_float(vals, s.out[0], std::move(r.f));
    return;
  } else y = reshape_packed(x, os, nthreads());
  if (!y) return run_reference(s, vals, batch, batched);
  set_packed(vals, s.out[0], std::move(y));
}

void Engine::run_add(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  auto packed_in = [&](int slot, const Layout& L) -> std::shared_ptr<const Packed> {
    const Val& v = vals[(size_t)slot];
    if (v.p && v.p->L.same(L)) return v.p;
    return encode(float_of(vals, slot), L, nthreads());  // null when a value is off the annotation
  };
  auto a = packed_in(s.in[0], s.in_L), b = packed_in(s.in[1], s.in_L2);
  bool same = a && b && a->shape == b->shape && a->shape.size() == s.in_shape.size();
  for (size_t k = 1; same && k < s.in_shape.size(); ++k) same = a->shape[k] == s.in_shape[k];
  if (!same) return run_reference(s, vals, batch, batched);
  OpOut r = add_packed(*a, *b, s.out_L ? &*s.out_L : nullptr, nthreads());
  if (r.p) set_packed(vals, s.out[0], std::move(r.p));
  else set_float(vals, s.out[0], std::move(r.f));
}

void Engine::run_topk(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  const Val& v = vals[(size_t)s.in[0]];
  const int64_t dim = s.in_shape.back(), k = s.topk;
  Shape is = v.p ? v.p->shape : v.f.defined() ? v.f.shape() : Shape{};
  bool same = is.size() == s.in_shape.size();
  for (size_t q = 1; same && q < is.size(); ++q) same = is[q] == s.in_shape[q];
  if (!same || (!v.p && v.f.type() != ElemType::FLOAT)) return run_reference(s, vals, batch, batched);
  const float* x = v.p ? nullptr : v.f.data<float>();
  const int64_t rows = shape_numel(is) / dim;
  if (x && s.label_select)  // LabelSelect's stable sort has no answer for NaN: the reference decides
    for (int64_t i = 0; i < rows * dim; ++i)
      if (std::isnan(x[i])) return run_reference(s, vals, batch, batched);
  Shape os = is;
  os.back() = k;
  Tensor values, idx, idxf;
  const int vslot = s.label_select ? -1 : s.out[0];
  const int islot = s.label_select ? -1 : s.out.size() > 1 ? s.out[1] : -1;
  if (vslot >= 0) values = Tensor(ElemType::FLOAT, os);
  if (islot >= 0) idx = Tensor(ElemType::INT64, os);
  if (s.label_select) idxf = Tensor(ElemType::FLOAT, os);
  float* vo = vslot >= 0 ? values.data<float>() : nullptr;
  int64_t* io = islot >= 0 ? idx.data<int64_t>() : nullptr;
  float* fo = s.label_select ? idxf.data<float>() : nullptr;
  if (v.p) {
    topk_rows(*v.p, k, s.largest, s.sorted, vo, io, fo, nthreads());
  } else {
    // The reference's order: NaN above everything, -0 == +0, ties to the
    // lower index; unsorted winners come in index order.
    const bool largest = s.largest;
    auto before = [&](const float* r, int64_t i, int64_t j) {
      if (largest ? movement::less_total(r[j], r[i]) : movement::less_total(r[i], r[j])) return true;
      if (largest ? movement::less_total(r[i], r[j]) : movement::less_total(r[j], r[i])) return false;
      return i < j;
    };
    const int chunks = rows * dim >= (1 << 16) ? nthreads() : 1;
    parallel_for(chunks, chunks, [&](int64_t c) {
      std::vector<int64_t> order((size_t)dim);
      for (int64_t r = c * rows / chunks; r < (c + 1) * rows / chunks; ++r) {
        const float* xr = x + r * dim;
        if (k == 1) {
          int64_t best = 0;
          for (int64_t i = 1; i < dim; ++i)
            if (before(xr, i, best)) best = i;
          order[0] = best;
        } else {
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + k, order.end(),
                            [&](int64_t i, int64_t j) { return before(xr, i, j); });
          if (!s.sorted) std::sort(order.begin(), order.begin() + k);
        }
        for (int64_t j = 0; j < k; ++j) {
          if (vo) vo[r * k + j] = xr[order[(size_t)j]];
          if (io) io[r * k + j] = order[(size_t)j];
          if (fo) fo[r * k + j] = (float)order[(size_t)j];
        }
      }
    });
  }
  if (s.label_select) set_float(vals, s.out[0], std::move(idxf));
  if (vslot >= 0) set_float(vals, vslot, std::move(values));
  if (islot >= 0) set_float(vals, islot, std::move(idx));
}

void Engine::run_thresholds(const Step& s, std::vector<Val>& vals, int64_t batch, bool batched) const {
  if (s.nchw_step >= 0) {
    const Step& ts = *steps_[(size_t)s.nchw_step];
    const Val& v = vals[(size_t)ts.in[0]];
    const Tensor& x = v.f;
    const Shape want = runtime_shape(s.out_shape, x.defined() && x.rank() == 4 ? x.shape()[0] : 0);
    if (x.defined() && !v.p && x.type() == ElemType::FLOAT && x.rank() == 4 &&
        x.shape() == Shape{want[0], want[3], want[1], want[2]} && want[3] == s.fthr.C) {
      // Thresholds straight off the NCHW map: tiles of pixels are transposed
      // in cache, then thresholded as channels-last rows.
      PackedPtr p = alloc_packed(*s.mt.packs, want);
      const OutRef out{p->L.rep == Rep::PLANES ? OutKind::PLANES : OutKind::BYTES, p->buf.data(), p->L.ld,
                       p->L.plane_words(), p->L.bits};
      const int64_t N = want[0], C = want[3], HW = want[1] * want[2];
      constexpr int64_t kTile = 256;
      const int64_t tiles = (HW + kTile - 1) / kTile, jobs = N * tiles;
      const int chunks = (double)N * (double)HW * (double)C * (s.fthr.T + 1) >= kParallelWork ? nthreads() : 1;
      const float* xv = x.data<float>();
      parallel_for(chunks, chunks, [&](int64_t c) {
        std::vector<float> tile((size_t)(kTile * C));
        for (int64_t j = c * jobs / chunks; j < (c + 1) * jobs / chunks; ++j) {
          const int64_t n = j / tiles, p0 = (j % tiles) * kTile, np = std::min(kTile, HW - p0);
          if (threshold_nchw(isa_, s.fthr, xv + n * C * HW, HW, p0, np, n * HW + p0, out)) continue;
          for (int64_t ch = 0; ch < C; ++ch) {
            const float* src = xv + (n * C + ch) * HW + p0;
            for (int64_t q = 0; q < np; ++q) tile[(size_t)(q * C + ch)] = src[q];
          }
          threshold_rows(isa_, s.fthr, tile.data(), np, n * HW + p0, out);
        }
      });
      set_packed(vals, s.out[0], std::move(p));
      return;
    }
    run_reference(ts, vals, batch, batched);  // anything else: the Transpose as planned, then below
  }
  const Tensor& x = float_of(vals, s.in[0]);
  const int64_t rank = x.rank();
  const int64_t axis = mt_axis(s.mt, rank);
  // Anything unusual (double input, bad shapes) gets the reference's own
  // behaviour and error messages.
  if (x.type() != ElemType::FLOAT || rank < 2 || axis >= rank || (s.mt.rows != 1 && s.mt.rows != x.shape()[axis]))
    return run_reference(s, vals, batch, batched);
  if (s.mt.packs && axis == rank - 1 && x.shape()[axis] == s.fthr.C) {
    PackedPtr p = alloc_packed(*s.mt.packs, x.shape());
    const OutRef out{p->L.rep == Rep::PLANES ? OutKind::PLANES : OutKind::BYTES, p->buf.data(), p->L.ld,
                     p->L.plane_words(), p->L.bits};
    const int64_t rows = p->rows, C = s.fthr.C;
    const int chunks = (double)rows * (double)C * (s.fthr.T + 1) >= kParallelWork ? nthreads() : 1;
    const float* xv = x.data<float>();
    parallel_for(chunks, chunks, [&](int64_t c) {
      const int64_t r0 = c * rows / chunks, r1 = (c + 1) * rows / chunks;
      threshold_rows(isa_, s.fthr, xv + r0 * C, r1 - r0, r0, out);
    });
    set_packed(vals, s.out[0], std::move(p));
    return;
  }
  int64_t inner = 1;
  for (int64_t k = axis + 1; k < rank; ++k) inner *= x.shape()[k];
  const int64_t channels = x.shape()[axis], total = x.numel();
  Tensor out(ElemType::FLOAT, x.shape());
  const float* xv = x.data<float>();
  float* ov = out.data<float>();
  // Lines of `inner` elements share one channel: walking them avoids two
  // 64-bit divisions per element, which dominated this loop.
  const int64_t lines = inner ? total / inner : 0;
  const int64_t chunks = total * 8 >= kParallelWork ? nthreads() : 1;
  const bool one_thr = s.mt.tmax <= 1;
  parallel_for(chunks, chunks, [&](int64_t c) {
    const int64_t l0 = c * lines / chunks;
    int64_t ch = channels ? l0 % channels : 0;  // the line's channel, advanced without a division per line
    for (int64_t l = l0; l < (c + 1) * lines / chunks; ++l, ch = ch + 1 == channels ? 0 : ch + 1) {
      const int64_t r = s.mt.rows == 1 ? 0 : ch;
      const double* b = s.mt.fthr.data() + s.mt.rbeg[(size_t)r];
      const double* e = s.mt.fthr.data() + s.mt.rbeg[(size_t)r + 1];
      if (one_thr) {  // NaN inputs (and empty rows, t = NaN) compare false: count 0
        const double t = b < e ? *b : std::nan("");
        for (int64_t i = l * inner; i < (l + 1) * inner; ++i) ov[i] = s.mt.lut[(double)xv[i] >= t];
        continue;
      }
      for (int64_t i = l * inner; i < (l + 1) * inner; ++i) {
        const double v = xv[i];
        const int64_t count = std::isnan(v) ? 0 : count_le(b, e, v);
        ov[i] = s.mt.lut[(size_t)count];
      }
    }
  });
  set_float(vals, s.out[0], std::move(out));
}

void Engine::run_gemm(const Step& s, std::vector<Val>& vals, int64_t batch) const {
  const Node& node = model_.graph.nodes[(size_t)s.node];
  const int64_t K = s.K, N = s.N;
  auto check_k = [&](const Shape& sh) {
    if (sh.empty() || sh.back() != K)
      throw ModelError(fmt::format("{}: input 0 has shape {}, but the weights have K = {} rows", node.label(),
                                   shape_str(sh), K),
                       "the last axis of input 0 must match the first axis of the weights", node.name);
  };
  std::shared_ptr<const Packed> A, X;  // X: the fused Im2Col's input pixels
  const Step* ic = s.conv_step >= 0 ? steps_[(size_t)s.conv_step].get() : nullptr;
  int64_t OH = 0, OW = 0;
  if (ic) {
    const Val& xv = vals[(size_t)ic->in[0]];
    X = xv.p && xv.p->L.same(ic->in_L) ? xv.p : encode(float_of(vals, ic->in[0]), ic->in_L, nthreads());
    bool same = X && X->shape.size() == ic->in_shape.size();
    for (size_t k = 1; same && k < ic->in_shape.size(); ++k) same = X->shape[k] == ic->in_shape[k];
    if (same) {
      OH = ic->out_shape[1];
      OW = ic->out_shape[2];
    } else {  // materialize the Im2Col (or let the reference do it) and read that
      X = nullptr;
      run_movement(*ic, vals, batch, batch != model_batch_);
    }
  }
  Val v = vals[(size_t)s.in[0]];
  if (s.flat_in) {
    // An FC head over a whole map: (N, H, W, C) -> (N, H*W*C), packed rows
    // merged when the layout allows, else the float values reshaped.
    const Shape xs = v.p ? v.p->shape : float_of(vals, s.in[0]).shape();
    const int64_t n = shape_numel(xs);
    if (xs.empty() || n % K != 0)
      throw ModelError(fmt::format("{}: input 0 has shape {}, which does not flatten to rows of MW = {}", node.label(),
                                   shape_str(xs), K),
                       "give the MVAU an input whose last axis (or whole image) is MW", node.name);
    const Shape flat{n / K, K};
    std::shared_ptr<const Packed> p = v.p && v.p->L.same(s.pre_L) ? reshape_packed(v.p, flat, nthreads()) : nullptr;
    if (p) v = Val{Tensor(), p};
    else v = Val{float_of(vals, s.in[0]).reshaped(flat), nullptr};
  }
  auto float_in = [&]() -> const Tensor& { return v.f.defined() || !v.p ? v.f : (v.f = decode(*v.p, nthreads())); };
  std::vector<int64_t> a64;  // WIDE operands
  Shape ashape;
  bool bad = false;
  if (X) {
    ashape = {X->shape[0], OH, OW, K};
  } else if (s.gk != Gk::WIDE) {
    if (v.p && v.p->L.same(s.in_L)) A = v.p;
    else if (v.p && v.p->L.dt == s.in_L.dt && v.p->L.channels() == K) A = relayout(*v.p, s.in_L, nthreads());
    else {
      const Tensor& f = float_in();
      check_k(f.shape());
      A = encode(f, s.in_L, nthreads());
    }
    bad = !A;
    if (A) ashape = A->shape;
  } else {
    const Tensor& f0 = float_in();
    check_k(f0.shape());
    ashape = f0.shape();
    const Tensor f = f0.type() == ElemType::FLOAT ? f0 : f0.cast(ElemType::FLOAT);
    const float* a = f.data<float>();
    a64.resize((size_t)f.numel());
    const double lo = s.a_dt.min(), hi = s.a_dt.max();
    for (size_t i = 0; i < a64.size() && !bad; ++i) {
      const float x = a[i];
      bad = !(x >= lo && x <= hi && x == std::floor(x)) || !s.a_dt.allowed(x);
      a64[i] = bad ? 0 : (int64_t)x;
    }
  }
  if (bad) {
    // Values outside the input's annotated datatype (a wrong annotation):
    // the reference MatMul gives the answer the reference executor gives.
    if (!s.warned.exchange(true))
      std::fprintf(stderr,
                   "streamfold engine: %s reads values outside its input's datatype %s; running it on the reference "
                   "implementation (fix the annotation for full speed)\n",
                   node.label().c_str(), s.a_dt.name().c_str());
    if (s.mt.node < 0 || s.mt.in_node) return run_reference(s, vals, batch, batch != model_batch_);
    const Tensor& a0 = float_of(vals, s.in[0]);
    Tensor out = exec_ref(model_, node, *s.def, {&a0, model_.graph.get_initializer(node.inputs[1])})[0];
    {
      const Node& mt = model_.graph.nodes[(size_t)s.mt.node];
      out = exec_ref(model_, mt, *s.mt.def, {&out, model_.graph.get_initializer(mt.inputs[1])})[0];
    }
    set_float(vals, s.out[0], std::move(out));
    return;
  }

  Shape os = ashape;
  os.back() = N;
  const int64_t M = K ? shape_numel(ashape) / K : 0;
  const double work = double(M) * double(N) * double(K) / (s.gk == Gk::PLANES ? 32.0 : 1.0);
  const int T = work >= kParallelWork ? nthreads() : 1;

  if (s.gk == Gk::WIDE) {
    // Exact int64 accumulation for operands wider than 8 bits.
    Tensor out(ElemType::FLOAT, os);
    float* o = out.data<float>();
    const bool fuse = s.mt.node >= 0;
    parallel_for(T, T, [&](int64_t t) {
      std::vector<int64_t> row((size_t)N);
      for (int64_t m = t * M / T; m < (t + 1) * M / T; ++m) {
        std::fill(row.begin(), row.end(), 0);
        for (int64_t k = 0; k < K; ++k) {
          const int64_t x = a64[(size_t)(m * K + k)];
          if (x == 0) continue;
          const int64_t* wr = s.ww.data() + k * N;
          for (int64_t n = 0; n < N; ++n) row[(size_t)n] += x * wr[n];
        }
        for (int64_t n = 0; n < N; ++n) {
          if (!fuse) {
            o[m * N + n] = (float)row[(size_t)n];
            continue;
          }
          // An integer x is >= t exactly when it is >= ceil(t).
          const int64_t r = s.mt.rows == 1 ? 0 : n;
          int64_t cnt = 0;
          for (int64_t q = s.mt.rbeg[(size_t)r]; q < s.mt.rbeg[(size_t)r + 1]; ++q)
            cnt += (double)row[(size_t)n] >= std::ceil(s.mt.fthr[(size_t)q]);
          o[m * N + n] = s.mt.lut[(size_t)cnt];
        }
      }
    });
    set_float(vals, s.out[0], std::move(out));
    return;
  }

  // Output storage: packed codes for the next layer, or float32.
  PackedPtr P_out;
  Tensor F_out;
  OutRef out;
  if (s.mt.packs) {
    P_out = alloc_packed(*s.mt.packs, os);
    out = {P_out->L.rep == Rep::PLANES ? OutKind::PLANES : OutKind::BYTES, P_out->buf.data(), P_out->L.ld,
           P_out->L.plane_words(), P_out->L.bits};
  } else {
    F_out = Tensor(ElemType::FLOAT, os);
    out = {OutKind::FLOAT, F_out.raw(), N, 0, 0};
  }

  const Layout& L = s.in_L;
  const int64_t strips = (N + kStrip - 1) / kStrip, rblocks = (M + kRowBlock - 1) / kRowBlock;
  // Tasks split the row blocks (or, with few rows, the strips). Each row
  // block's input rows are gathered once (fused Im2Col) and then meet every
  // strip of weights, which stream from L2.
  const bool by_rows = rblocks >= T;
  const int64_t ntask = T == 1 ? 1 : by_rows ? T : std::min<int64_t>(T, strips);
  const int pa = s.xor_mode ? 1 : L.bits;
  const PackedPtr pad = X ? pad_pixel(X->L, ic->im2col.pad_code) : nullptr;
  parallel_for(ntask, (int)ntask, [&](int64_t t) {
    const int64_t rb0 = by_rows ? t * rblocks / ntask : 0, rb1 = by_rows ? (t + 1) * rblocks / ntask : rblocks;
    const int64_t s0 = by_rows ? 0 : t * strips / ntask, s1 = by_rows ? strips : (t + 1) * strips / ntask;
    // The int32 strip tile (not needed when the kernel writes output bits);
    // left uninitialized: the kernels write every entry the epilogue reads.
    std::unique_ptr<int32_t[]> P(s.bit_out && s.gk == Gk::PLANES ? nullptr : new int32_t[(size_t)(kRowBlock * kStrip)]);
    std::vector<int32_t> RA;
    std::vector<uint64_t> tile;  // gathered rows (words or bytes)
    std::vector<int16_t> a16;
    if (X) tile.assign((size_t)(L.rep == Rep::PLANES ? kRowBlock * L.ld : (kRowBlock * L.ld + 7) / 8), 0);
    if (s.need_ra) RA.resize((size_t)kRowBlock);
    if (s.gk == Gk::I16) a16.assign((size_t)(kRowBlock * s.pi16.Kp), 0);
    for (int64_t rb = rb0; rb < rb1; ++rb) {
      const int64_t m0 = rb * kRowBlock, mr = std::min(kRowBlock, M - m0);
      const void* rows;
      if (X) {
        im2col_rows(*X, ic->im2col, OH, OW, L, *pad, m0, mr, tile.data());
        rows = tile.data();
      } else {
        rows = L.rep == Rep::PLANES ? (const void*)(A->words() + m0 * L.ld) : (const void*)(A->bytes() + m0 * L.ld);
      }
      if (s.need_ra)  // per-row code sums for the epilogue's correction term
        for (int64_t r = 0; r < mr; ++r) {
          const uint64_t* w = static_cast<const uint64_t*>(rows) + r * L.ld;
          int64_t sum = 0;
          for (int i = 0; i < L.bits; ++i)
            for (int64_t q = 0; q < L.plane_words(); ++q) sum += (int64_t)__builtin_popcountll(w[i * L.plane_words() + q]) << i;
          RA[(size_t)r] = (int32_t)sum;
        }
      if (s.gk == Gk::I16)
        for (int64_t r = 0; r < mr; ++r)
          for (int64_t k = 0; k < K; ++k) a16[(size_t)(r * s.pi16.Kp + k)] = static_cast<const uint8_t*>(rows)[r * L.ld + k];
      if (s.bit_out && s.gk == Gk::PLANES) {
        for (int64_t st = s0; st < s1; ++st)
          planes_gemm_bit(isa_, s.xor_mode, static_cast<const uint64_t*>(rows), L.ld, mr, s.pw, st,
                          s.bit_q.data(), s.bit_le, P_out->words() + m0 * P_out->L.ld + st, P_out->L.ld);
        continue;
      }
      for (int64_t st = s0; st < s1; ++st) {
        switch (s.gk) {
          case Gk::PLANES:
            planes_gemm(isa_, s.xor_mode, pa, static_cast<const uint64_t*>(rows), L.ld, mr, s.pw, st, P.get());
            break;
          case Gk::VNNI:
            if (isa_ == Isa::AVX512) u8s8_strip(static_cast<const uint8_t*>(rows), L.ld, mr, s.ps8, st, P.get());
            else u8s8_strip_avx(static_cast<const uint8_t*>(rows), L.ld, mr, s.ps8, st, P.get());
            break;
          case Gk::I16: i16_strip(isa_, a16.data(), mr, s.pi16, st, P.get()); break;
          case Gk::WIDE: break;
        }
        if (s.bit_out) {
          bits_from_sums(isa_, P.get(), mr, std::min<int64_t>(kStrip, N - st * kStrip), s.bit_q.data() + st * kStrip,
                         s.bit_le, P_out->words() + m0 * P_out->L.ld + st, P_out->L.ld);
          continue;
        }
        run_epilogue(isa_, s.epi, P.get(), mr, s.need_ra ? RA.data() : nullptr, m0, st * kStrip,
                     std::min<int64_t>(kStrip, N - st * kStrip), out);
      }
    }
  });
  if (P_out) set_packed(vals, s.out[0], std::move(P_out));
  else set_float(vals, s.out[0], std::move(F_out));
}

}  // namespace sf::engine
