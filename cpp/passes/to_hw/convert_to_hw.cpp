// ConvertToHW: every convert-to-HW pass, in an order where the layers that
// absorb neighbours go first (MVAU/VVAU take their MultiThreshold before
// InferThresholdingLayer would make it standalone), and DuplicateStreams last
// (it needs every reader of a fork to be HW already). Repeated until nothing
// changes, since one conversion can enable another.
#include "ir/errors.h"
#include "passes/pass.h"

namespace sf {
namespace {

const char* const kOrder[] = {
    "InferVectorVectorActivation", "InferBinaryMatrixVectorActivation", "InferQuantizedMatrixVectorActivation",
    "InferThresholdingLayer",      "InferConvInpGen",                   "InferStreamingMaxPool",
    "InferPool",                   "InferLabelSelectLayer",             "InferGlobalAccPoolLayer",
    "InferAddStreamsLayer",        "InferChannelwiseLinearLayer",       "InferConcatLayer",
    "InferDuplicateStreamsLayer", "AbsorbFlattenIntoMVAU",
};

bool convert_to_hw(Model& m) {
  bool any = false;
  for (int round = 0; round < 100; ++round) {
    bool changed = false;
    for (const char* name : kOrder) changed = apply_pass(m, name) || changed;
    if (!changed) return any;
    any = true;
  }
  throw ModelError("ConvertToHW did not settle after 100 rounds", "this is a bug in a to_hw pass; please report it");
}

}  // namespace

SF_REGISTER_PASS_ONCE("ConvertToHW", "to_hw", "all convert-to-HW passes, to a fixpoint", convert_to_hw);

}  // namespace sf
