// The default pipeline: FINN's step order, one readable list per step.
// Each entry is a registered pass; run_pipeline can verify after each one.
#include "passes/pipeline.h"

#include <fmt/format.h>
#include <map>

#include "ir/errors.h"
#include "ops/op.h"
#include "passes/pass.h"

namespace sf {

namespace {

const std::map<std::string, std::vector<std::string>>& steps() {
  static const std::map<std::string, std::vector<std::string>> s = {
      {"step_qonnx_to_finn",
       {
           "InferShapes",
           "FoldConstants",
           "GemmToMatMul",
           "ExtractBiasFromConv",
           "FoldTransposeIntoQuantInit",
           "FoldQuantWeights",
           "ConvertQuantActToMultiThreshold",
           "AvgPoolAndTruncToQuantAvgPool",
           "RemoveIdentityOps",
           "RemoveEmptyPadding",
           "InferShapes",
           "InferDataTypes",
       }},
      {"step_tidy_up",
       {
           "InferShapes",
           "FoldConstants",
           "GiveUniqueNodeNames",
           "GiveReadableTensorNames",
           "InferDataTypes",
           "RemoveStaticGraphInputs",
           "RemoveUnusedTensors",
           "SortGraph",
       }},
      {"step_streamline",
       {
           // first round: float affine ops into thresholds, on the NCHW graph
           "MoveScalarLinearPastInvariants",
           "Streamline",
           // conv lowering to Im2Col + MatMul in NHWC, transposes cancelled
           "LowerConvsToMatMul",
           // the input quantizer's NHWC Transpose goes to the graph input
           // first: when that quantizer also feeds a residual skip, the fork
           // becomes NHWC and only a Transpose on the skip is left to cancel
           "MoveTransposeToGraphInput",
           "CancelLayoutTransposes",
           // second round on the lowered graph
           "Streamline",
           "CancelLayoutTransposes",
           "RemoveCNVtoFCFlatten",
           "ConvertBipolarMatMulToXnorPopcount",
           "Streamline",
           "AbsorbScalarMulAddIntoTopK",
           "AbsorbUnitScaleIntoQuantAvgPool",
           "MoveTransposeToGraphInput",
           "RoundAndClipThresholds",
           "InferThresholdOutputTypes",
           "InferShapes",
           "InferDataTypes",
           "RemoveUnusedTensors",
           "SortGraph",
       }},
  };
  return s;
}

// The layout moves travel one node per application; repeated as a group
// until nothing moves, so transposes from neighbouring lowered convs meet
// and cancel.
bool cancel_layout_transposes(Model& m) {
  static const std::vector<std::string> group = {
      "MakeMaxPoolNHWC",          "AbsorbTransposeIntoMultiThreshold", "MoveTransposePastScalarMul",
      "MoveTransposePastEltwise", "MoveTransposePastJoinAdd",          "MoveTransposePastFork",
      "AbsorbConsecutiveTransposes",
  };
  bool any = false;
  for (int round = 0; round < 32; ++round) {
    bool changed = false;
    for (const auto& p : group) changed = apply_pass(m, p) || changed;
    any = any || changed;
    if (!changed) return any;
  }
  return any;
}

}  // namespace

SF_REGISTER_PASS_ONCE("CancelLayoutTransposes", "lower",
                      "repeat the NHWC layout moves until the lowered convs' transposes meet and cancel",
                      cancel_layout_transposes);

const std::vector<std::string>& step_passes(const std::string& step) {
  auto it = steps().find(step);
  if (it == steps().end())
    throw ConfigError(fmt::format("'{}' is not a transformation step", step),
                      "use step_qonnx_to_finn, step_tidy_up or step_streamline", step);
  return it->second;
}

std::vector<std::string> pipeline_step_names() {
  return {"step_qonnx_to_finn", "step_tidy_up", "step_streamline"};
}

}  // namespace sf
