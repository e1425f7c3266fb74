// AbsorbFlattenIntoMVAU: HW layer (1, H, W, C) -> Reshape (1, H*W*C) -> MVAU
// becomes HW layer -> MVAU reading the feature map directly. On a stream the
// flatten of a contiguous NHWC map reorders nothing (RemoveCNVtoFCFlatten
// already put the FC weights in NHWC order), so the Reshape is the only
// non-HW node a CNN would otherwise leave inside its dataflow partition.
#include <fmt/format.h>

#include "ops/op.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sf {
namespace {

constexpr const char* kPass = "AbsorbFlattenIntoMVAU";

bool absorb_flatten(Model& m) {
  Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& r = g.nodes[i];
    if (domain_family(r.domain) != OpDomain::ONNX || (r.op_type != "Reshape" && r.op_type != "Flatten")) continue;
    const int c = single_consumer(g, r.outputs.at(0));
    if (c < 0) continue;
    const Node& mv = g.nodes[c];
    if (mv.op_type != "MVAU" || domain_family(mv.domain) != OpDomain::FPGADATAFLOW || mv.inputs.at(0) != r.outputs[0])
      continue;
    const int p = g.find_producer(r.inputs.at(0));
    if (p < 0 || domain_family(g.nodes[p].domain) != OpDomain::FPGADATAFLOW) continue;
    auto in = tensor_shape(g, r.inputs.at(0));
    auto out = tensor_shape(g, r.outputs.at(0));
    const int64_t mw = mv.get_int("MW");
    // the MVAU then reads the map as its single input vector (numInputVectors [1])
    if (mv.get_ints("numInputVectors", {}) != std::vector<int64_t>{1}) continue;
    if (!in || !out || out->size() != 2 || (*out)[0] != 1 || (*out)[1] != mw || (*in)[0] != 1 ||
        shape_numel(*in) != mw) {
      note_refusal(r.name, kPass, "it is not a batch-1 flatten of the whole feature map into the MVAU's MW");
      continue;
    }
    g.nodes[c].inputs[0] = r.inputs[0];
    erase_nodes(g, {(int)i});
    remove_unused_tensors(g);
    return true;
  }
  return false;
}

}  // namespace

SF_REGISTER_PASS(kPass, "to_hw", "drop a flatten Reshape between an HW layer and the MVAU FC head that reads it",
                 absorb_flatten);

}  // namespace sf
