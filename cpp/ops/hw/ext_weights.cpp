#include "ops/hw/ext_weights.h"

#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf::rtl {

namespace {
bool is_op(const Node& n, const char* base) {
  return n.op_type == base || n.op_type == std::string(base) + "_hls" || n.op_type == std::string(base) + "_rtl";
}
}  // namespace

bool uses_external_weights(const Node& n) {
  return (is_op(n, "MVAU") || is_op(n, "VVAU")) && n.get_string("mem_mode", "") == "external";
}

ExternalWeights external_weights(const Model& m, const Node& n) {
  if (!uses_external_weights(n))
    throw ModelError(fmt::format("{} does not stream its weights (not an MVAU/VVAU with mem_mode=external)", n.label()),
                     "set mem_mode=\"external\" on the MVAU or VVAU", n.name);
  const Tensor* w = n.inputs.size() > 1 ? m.graph.get_initializer(n.inputs[1]) : nullptr;
  if (!w)
    throw ModelError(fmt::format("{}: the weights (input 1) are not an initializer", n.label()),
                     "external weights are still stored in the model as the node's weight initializer; "
                     "the DMA reads them from DDR",
                     n.name);
  ExternalWeights e;
  e.node = n.name;
  const int64_t pe = hw::pos_int(n, "PE"), simd = hw::pos_int(n, "SIMD", 1);
  e.width = (int)(pe * simd * hw::dtype_attr(n, "weightDataType").bitwidth());
  if (is_op(n, "MVAU")) {
    e.words = mvau_weight_words(n, *w);
    e.repeat = hw::prod(hw::pos_ints(n, "numInputVectors", 0, {1}));
  } else {
    e.words = vvau_weight_words(n, *w);
    e.repeat = hw::prod(hw::pos_ints(n, "Dim", 2));
  }
  e.pass_beats = (int64_t)e.words.size();
  return e;
}

}  // namespace sf::rtl
