// Running a compiled plan: input checks (batch may exceed the model's 1),
// the MatMul kernels with their threshold epilogue, standalone thresholds,
// and per-node fallback to the reference ops (per image when batched, since
// the reference ops assume the model's own shapes).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "exec/engine/plan.h"
#include "exec/executor.h"

namespace sf::engine {
namespace {

// Below this many inner-loop operations a layer runs on the calling thread:
// spawning threads costs tens of microseconds.
constexpr double kParallelWork = 1 << 18;

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

// MultiThreshold's channel rule (see ops/multithreshold), on the layout
// string the plan recorded.
int64_t channel_axis_of(const std::string& data_layout, int64_t rank) {
  std::string layout = data_layout;
  if (layout.empty()) layout = rank == 2 ? "NC" : rank == 3 ? "NWC" : rank == 4 ? "NCHW" : "";
  const size_t pos = layout.find('C');
  return pos == std::string::npos ? 1 : (int64_t)pos;
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

}  // namespace

TensorMap Engine::run(const TensorMap& inputs) const {
  const Graph& g = model_.graph;
  const int64_t batch = check_model_inputs(g, inputs, true);
  const bool batched = batch > 0 && batch != model_batch_;

  std::vector<Tensor> vals(slot_.size());
  for (const auto& [name, t] : g.initializers) vals[(size_t)slot_.at(name)] = t;
  for (const auto& [name, t] : inputs) vals[(size_t)slot_.at(name)] = t;
  for (const auto& s : steps_) run_step(*s, vals, batch, batched);

  TensorMap result;
  for (const auto& o : g.outputs) {
    const Tensor& t = vals[(size_t)slot_.at(o.name)];
    if (!t.defined())
      throw ModelError(fmt::format("graph output '{}' was not computed", o.name), "check the model", o.name);
    result[o.name] = t;
  }
  return result;
}

void Engine::run_step(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const {
  switch (s.kind) {
    case Kind::BIN:
    case Kind::I16:
    case Kind::WIDE: return run_matmul(s, vals, batched);
    case Kind::THRESH: return run_thresholds(s, vals, batch, batched);
    case Kind::FALLBACK: return run_reference(s, vals, batch, batched);
  }
}

void Engine::run_reference(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const {
  const Node& node = model_.graph.nodes[(size_t)s.node];
  std::vector<const Tensor*> ins;
  for (int id : s.in) ins.push_back(id < 0 || !vals[(size_t)id].defined() ? nullptr : &vals[(size_t)id]);
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
      vals[(size_t)s.out[0]] = ins[0]->reshaped(target);
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
    parallel_for(batch, batch >= 8 ? threads_ : 1, [&](int64_t i) {
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
  for (size_t k = 0; k < s.out.size() && k < outs.size(); ++k)
    if (s.out[k] >= 0) vals[(size_t)s.out[k]] = std::move(outs[k]);
}

void Engine::run_thresholds(const Step& s, std::vector<Tensor>& vals, int64_t batch, bool batched) const {
  const Tensor& x = vals[(size_t)s.in[0]];
  const int64_t rank = x.rank();
  const int64_t axis = channel_axis_of(s.mt_layout, rank);
  // Anything unusual (double input, bad shapes) gets the reference's own
  // behaviour and error messages.
  if (x.type() != ElemType::FLOAT || rank < 2 || axis >= rank || (s.rows != 1 && s.rows != x.shape()[axis]))
    return run_reference(s, vals, batch, batched);
  int64_t inner = 1;
  for (int64_t k = axis + 1; k < rank; ++k) inner *= x.shape()[k];
  const int64_t channels = x.shape()[axis], total = x.numel();
  Tensor out(ElemType::FLOAT, x.shape());
  const float* xv = x.data<float>();
  float* ov = out.data<float>();
  // Lines of `inner` elements share one channel: walking them avoids two
  // 64-bit divisions per element, which dominated this loop.
  const int64_t lines = inner ? total / inner : 0;
  const int64_t chunks = total * 8 >= kParallelWork ? threads_ : 1;
  parallel_for(chunks, chunks, [&](int64_t c) {
    const int64_t l0 = c * lines / chunks;
    int64_t ch = channels ? l0 % channels : 0;  // the line's channel, advanced without a division per line
    for (int64_t l = l0; l < (c + 1) * lines / chunks; ++l, ch = ch + 1 == channels ? 0 : ch + 1) {
      const int64_t r = s.rows == 1 ? 0 : ch;
      const double* b = s.fthr.data() + s.rbeg[(size_t)r];
      const double* e = s.fthr.data() + s.rbeg[(size_t)r + 1];
      if (s.one_thr) {  // NaN inputs (and empty rows, t = NaN) compare false: count 0
        const double t = s.fthr1[(size_t)r];
        for (int64_t i = l * inner; i < (l + 1) * inner; ++i) ov[i] = s.lut[(double)xv[i] >= t];
        continue;
      }
      for (int64_t i = l * inner; i < (l + 1) * inner; ++i) {
        const double v = xv[i];
        const int64_t count = std::isnan(v) ? 0 : count_le(b, e, v);
        ov[i] = s.lut[(size_t)count];
      }
    }
  });
  vals[(size_t)s.out[0]] = std::move(out);
}

void Engine::run_matmul(const Step& s, std::vector<Tensor>& vals, bool batched) const {
  const Node& node = model_.graph.nodes[(size_t)s.node];
  const Tensor& A0 = vals[(size_t)s.in[0]];
  if (A0.rank() < 1 || A0.shape().back() != s.K)
    throw ModelError(fmt::format("{}: input 0 has shape {}, but the weights have K = {} rows", node.label(),
                                 shape_str(A0.shape()), s.K),
                     "the last axis of input 0 must match the first axis of the weights", node.name);
  const Tensor A = A0.type() == ElemType::FLOAT ? A0 : A0.cast(ElemType::FLOAT);
  const float* a = A.data<float>();
  const int64_t K = s.K, N = s.N, M = K ? A.numel() / K : 0;
  Shape os = A.shape();
  os.back() = N;
  Tensor out(ElemType::FLOAT, os);
  float* o = out.data<float>();

  // A fused threshold needs channels on the last axis; otherwise the
  // accumulator is materialized and the MultiThreshold runs on its own.
  bool fuse = s.mt_node >= 0 && channel_axis_of(s.mt_layout, (int64_t)os.size()) == (int64_t)os.size() - 1 &&
              os.size() >= 2;

  const bool bin = s.kind == Kind::BIN, i16 = s.kind == Kind::I16;
  const int64_t blocks = bin ? s.pb.blocks : i16 ? s.pi.blocks : N;
  const int64_t bw = bin ? kBitBlock : i16 ? kI16Block : 1;
  const double work = double(M) * double(N) * double(bin ? s.pb.words : K);
  const int T = work >= kParallelWork ? threads_ : 1;
  const bool split_rows = M >= T;
  const int64_t ntask = T == 1 ? 1 : split_rows ? T : std::min<int64_t>(T, blocks);

  std::vector<uint64_t> abits;
  std::vector<int16_t> a16;
  std::vector<int64_t> a64;
  std::vector<int32_t> acc;
  const double lo = s.a_dt.min(), hi = s.a_dt.max();
  const bool bip = s.a_dt.kind() == DataType::Kind::BIPOLAR;
  if (bin) abits.assign((size_t)(M * s.pb.words), 0);
  if (i16) a16.assign((size_t)(M * s.pi.Kp), 0);
  if (!bin && !i16) a64.assign((size_t)(M * K), 0);
  if (bin || i16) acc.assign((size_t)(M * N), 0);

  std::atomic<bool> bad{false};
  auto pack = [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const float* ar = a + m * K;
      if (bin) {
        if (!pack_row_bits(isa_, ar, K, (float)lo, (float)hi, abits.data() + m * s.pb.words)) {
          bad = true;  // the kernels' range assumptions fail: recompute below
          return;
        }
        continue;
      }
      for (int64_t k = 0; k < K; ++k) {
        const float v = ar[k];
        // I16 operands are at most 8 bits, so once in range the int32 round
        // trip is an exact integrality test (std::floor is a libm call here).
        if (!(v >= lo && v <= hi && (i16 ? v == (float)(int32_t)v : v == std::floor(v))) || (bip && v == 0)) {
          bad = true;  // the kernels' range assumptions fail: recompute below
          return;
        }
        if (i16) {
          a16[(size_t)(m * s.pi.Kp + k)] = (int16_t)v;
        } else {
          a64[(size_t)(m * K + k)] = (int64_t)v;
        }
      }
    }
  };
  auto epilogue = [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1, auto value) {
    if (fuse && s.one_thr) {  // one compare per output; this loop dominated the layer
      const int64_t* t1 = s.ithr1.data();
      const int64_t ts = s.rows == 1 ? 0 : 1;
      const float* lut = s.lut.data();
      for (int64_t m = m0; m < m1; ++m)
        for (int64_t n = n0; n < n1; ++n) o[m * N + n] = lut[value(m, n) >= t1[n * ts]];
      return;
    }
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t v = value(m, n);
        if (fuse) {
          const int64_t r = s.rows == 1 ? 0 : n;
          const int64_t* b = s.ithr.data() + s.rbeg[(size_t)r];
          const int64_t* e = s.ithr.data() + s.rbeg[(size_t)r + 1];
          o[m * N + n] = s.lut[(size_t)count_le(b, e, v)];
        } else {
          o[m * N + n] = (float)v;
        }
      }
  };
  if (!split_rows) pack(0, M);
  parallel_for(ntask, (int)ntask, [&](int64_t t) {
    const int64_t m0 = split_rows ? t * M / ntask : 0, m1 = split_rows ? (t + 1) * M / ntask : M;
    const int64_t b0 = split_rows ? 0 : t * blocks / ntask, b1 = split_rows ? blocks : (t + 1) * blocks / ntask;
    if (split_rows) pack(m0, m1);
    if (bad) return;
    const int64_t n0 = b0 * bw, n1 = std::min(N, b1 * bw);
    if (bin) {
      popcount_gemm(isa_, s.mode == BinMode::AND ? BitOp::AND : BitOp::XOR, abits.data(), s.pb, m0, m1, b0, b1,
                    acc.data(), N);
      epilogue(m0, m1, n0, n1, [&](int64_t m, int64_t n) -> int64_t {
        const int64_t pop = acc[(size_t)(m * N + n)];
        return s.mode == BinMode::XNOR ? K - pop : s.mode == BinMode::BIPOLAR ? K - 2 * pop : pop;
      });
    } else if (i16) {
      i16_gemm(isa_, a16.data(), s.pi, m0, m1, b0, b1, acc.data(), N);
      epilogue(m0, m1, n0, n1, [&](int64_t m, int64_t n) -> int64_t { return acc[(size_t)(m * N + n)]; });
    } else {
      // Exact int64 accumulation for operands wider than 8 bits.
      std::vector<int64_t> row((size_t)N);
      for (int64_t m = m0; m < m1; ++m) {
        std::fill(row.begin(), row.end(), 0);
        for (int64_t k = 0; k < K; ++k) {
          const int64_t x = a64[(size_t)(m * K + k)];
          if (x == 0) continue;
          const int64_t* wr = s.ww.data() + k * N;
          for (int64_t n = n0; n < n1; ++n) row[(size_t)n] += x * wr[n];
        }
        epilogue(m, m + 1, n0, n1, [&](int64_t, int64_t n) { return row[(size_t)n]; });
      }
    }
  });

  if (bad) {
    // Values outside the tensor's annotated datatype (a wrong annotation):
    // the reference MatMul gives the answer the reference executor gives.
    if (!s.warned.exchange(true))
      std::fprintf(stderr,
                   "streamfold engine: %s reads values outside its input's datatype %s; running it on the reference "
                   "implementation (fix the annotation for full speed)\n",
                   node.label().c_str(), s.a_dt.name().c_str());
    const Tensor* w = model_.graph.get_initializer(node.inputs[1]);
    out = exec_ref(model_, node, *s.def, {&A0, w})[0];
    fuse = false;
  }
  if (s.mt_node >= 0 && !fuse) {
    const Node& mt = model_.graph.nodes[(size_t)s.mt_node];
    const Tensor* thr = model_.graph.get_initializer(mt.inputs[1]);
    std::vector<Tensor> r = exec_ref(model_, mt, *s.mt_def, {&out, thr});
    vals[(size_t)s.out[0]] = std::move(r[0]);
    return;
  }
  (void)batched;
  vals[(size_t)s.out[0]] = std::move(out);
}

}  // namespace sf::engine
