// RTL emitter of the Thresholding layer (sf_thresholding) and the threshold
// ROM writer that MVAU and VVAU share (thresholding_rtl.h).
#include "ops/thresholding/thresholding_rtl.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf::rtl {

ThresholdRows threshold_rows(const Node& n, const Tensor& thr, int64_t channels, int in_bits, bool in_signed) {
  const Shape& ts = thr.shape();
  if (ts.size() != 2 || (ts[0] != 1 && ts[0] != channels))
    op_fail(n, fmt::format("thresholds have shape {}, expected ({}, steps) or (1, steps)", shape_str(ts), channels),
            "give one threshold row per output channel, or one shared row");
  ThresholdRows r;
  r.rows = ts[0];
  r.steps = ts[1];
  r.lo = in_signed ? -((int64_t)1 << (in_bits - 1)) : 0;
  r.hi = in_signed ? ((int64_t)1 << (in_bits - 1)) - 1 : ((int64_t)1 << in_bits) - 1;
  // [lo, hi + 1] as a signed number: hi + 1 = 2^in_bits needs two extra bits when unsigned.
  r.tw = in_bits + (in_signed ? 1 : 2);
  const std::vector<double> tv = thr.to_double();
  r.sorted.resize((size_t)r.rows);
  for (int64_t i = 0; i < r.rows; ++i) {
    std::vector<int64_t>& s = r.sorted[(size_t)i];
    for (int64_t j = 0; j < r.steps; ++j) {
      const double t = tv[(size_t)(i * r.steps + j)];
      if (std::isnan(t)) op_fail(n, "a threshold is NaN", "thresholds must be numbers");
      const double c = std::ceil(t);  // t <= x  <=>  ceil(t) <= x for integer x
      s.push_back(c <= (double)r.lo ? r.lo : c > (double)r.hi ? r.hi + 1 : (int64_t)c);
    }
    std::sort(s.begin(), s.end());
  }
  return r;
}

int threshold_search_stages(int64_t steps) {
  int k = 1;
  while (((int64_t)1 << k) - 1 < steps) ++k;
  return k;
}

int threshold_search_stages(const Node& n, const Model& m, size_t input) {
  const Tensor* t = n.inputs.size() > input ? m.graph.get_initializer(n.inputs[input]) : nullptr;
  if (!t || t->shape().size() != 2)
    op_fail(n, fmt::format("input {} must be the (rows, steps) thresholds initializer", input),
            "connect the thresholds as an initializer");
  return threshold_search_stages(t->shape()[1]);
}

std::vector<Param> threshold_params(LayerEmitter& e, const Tensor& thr, int64_t channels, int64_t pe, int in_bits,
                                    bool in_signed, const DataType& odt, int64_t act_val, const std::string& ram_style) {
  const Node& n = e.node();
  ThresholdRows tr = threshold_rows(n, thr, channels, in_bits, in_signed);
  const int64_t rows = tr.rows, steps = tr.steps, hi = tr.hi;
  const int tw = tr.tw;
  const int k = threshold_search_stages(steps);
  if (k > 9)
    op_fail(n, fmt::format("{} threshold steps; the RTL threshold search supports up to 511", steps),
            "use an output type of at most 9 bits");
  const int64_t folds = channels / pe, trows = rows == 1 ? 1 : folds, padded = ((int64_t)1 << k) - 1;
  // Sorted, clamped rows per channel row, padded to 2^K - 1.
  std::vector<std::vector<int64_t>>& sorted = tr.sorted;
  for (auto& s : sorted) s.resize((size_t)padded, hi + 1);
  std::string prefix;  // "<layer>_thr", from the first file's name "<layer>_thr_s0_p000.dat"
  int block_mask = 0;
  for (int st = 0; st < k; ++st) {
    const int64_t depth = trows << st;
    const bool block = ram_style == "block" ? depth >= 64 : ram_style == "distributed" ? false : depth >= 256;
    if (block) block_mask |= 1 << st;
    for (int64_t p = 0; p < pe; ++p) {
      std::vector<Bits> words;
      words.reserve((size_t)depth);
      for (int64_t f = 0; f < trows; ++f) {
        const std::vector<int64_t>& s = sorted[(size_t)(rows == 1 ? 0 : f * pe + p)];
        for (int64_t j = 0; j < ((int64_t)1 << st); ++j) {
          Bits b(tw);
          b.set(0, tw, s[(size_t)(j * ((int64_t)1 << (k - st)) + ((int64_t)1 << (k - st - 1)) - 1)]);
          words.push_back(b);
        }
      }
      const std::string name = e.memh(fmt::format("thr_s{}_p{:03d}", st, p), words);
      if (st == 0 && p == 0) prefix = name.substr(0, name.size() - std::string("_s0_p000.dat").size());
    }
  }
  const bool bipolar = odt.kind() == DataType::Kind::BIPOLAR;
  e.use({"sf_thresh_bsearch", "sf_rom"});
  return {param("K", k),
          param("TROWS", trows),
          param("TW", tw),
          param("OBITS", odt.bitwidth()),
          param("OBIAS", bipolar ? 0 : act_val),
          param_str("THR_PREFIX", prefix),
          param("THR_BLOCK_MASK", block_mask)};
}

void thresholding_emit_rtl(LayerEmitter& e) {
  const Node& n = e.node();
  const int64_t c = hw::pos_int(n, "NumChannels"), pe = hw::pos_int(n, "PE");
  const DataType idt = hw::dtype_attr(n, "inputDataType"), odt = hw::dtype_attr(n, "outputDataType");
  if (!idt.is_integer() || idt.kind() == DataType::Kind::BIPOLAR)
    op_fail(n, fmt::format("inputDataType {} has no RTL Thresholding", idt.name()),
            "the RTL Thresholding layer compares integer inputs (INTn, UINTn); keep this one on the host");
  const std::string mem_mode = n.get_string("mem_mode", "internal_embedded");
  if (mem_mode == "external")
    op_fail(n, "mem_mode=external is not supported by the RTL Thresholding layer", "use internal_embedded");
  const int ib = idt.bitwidth();
  const bool is = idt.is_signed();
  std::vector<Param> ps = {param("PE", pe), param("NF", c / pe), param("IBITS", ib), param("ISIGNED", is ? 1 : 0)};
  const std::vector<Param> tp = threshold_params(e, e.initializer(1), c, pe, ib, is, odt, n.get_int("ActVal", 0),
                                                 n.get_string("ram_style", "distributed"));
  ps.insert(ps.end(), tp.begin(), tp.end());
  const hw::StreamShapes ss = hw::stream_shapes(n);
  if (ss.in_width != pe * ib || ss.out_width != pe * odt.bitwidth())
    op_fail(n, fmt::format("stream widths {}/{} differ from the core's {}/{}", ss.in_width, ss.out_width, pe * ib,
                           pe * odt.bitwidth()),
            "internal error");
  e.use({"sf_mvau_outq"});
  e.top("sf_thresholding", ps, {{"in0_V", (int)(pe * ib)}}, {{"out_V", (int)(pe * odt.bitwidth())}});
}

}  // namespace sf::rtl
