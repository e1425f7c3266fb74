// Streamline: FINN's streamlining sequence as one pass, repeated until
// nothing changes (a move can expose a collapse, which exposes an absorb).
// Each entry is a registered pass of its own, so a pipeline that wants
// pass-by-pass verification lists kStreamlineSequence instead.
#include <string>
#include <vector>

#include "passes/pass.h"

namespace sf::streamline {
namespace {

const std::vector<std::string> kStreamlineSequence = {
    "ConvertSubToAdd",
    "ConvertDivToMul",
    "BatchNormToAffine",
    "ConvertSignToThres",
    "MoveMulPastMaxPool",
    "MoveScalarLinearPastInvariants",
    "AbsorbSignBiasIntoMultiThreshold",  // before forks copy the bias Add
    "MoveLinearPastFork",
    "MoveLinearPastEltwiseAdd",
    "MoveAddPastMul",
    "MoveScalarAddPastMatMul",
    "MoveAddPastConv",
    "MoveScalarMulPastMatMul",
    "MoveScalarMulPastConv",
    "MoveScalarMulPastDWConv",
    "MoveAddPastMul",
    "CollapseRepeatedAdd",
    "CollapseRepeatedMul",
    "MoveMulPastMaxPool",
    "AbsorbAddIntoMultiThreshold",
    "FactorOutMulSignMagnitude",
    "AbsorbMulIntoMultiThreshold",
    "Absorb1BitMulIntoMatMul",
    "Absorb1BitMulIntoConv",
    "RoundAndClipThresholds",
};

bool streamline(Model& m) {
  bool any = false;
  for (int round = 0; round < 16; ++round) {
    bool changed = false;
    for (const auto& name : kStreamlineSequence) changed = apply_pass(m, name) || changed;
    any = any || changed;
    if (!changed) break;
  }
  return any;
}

}  // namespace

SF_REGISTER_PASS_ONCE("Streamline", "streamline",
                      "FINN's streamlining sequence (convert, move, collapse, absorb, round) until nothing changes",
                      streamline);

}  // namespace sf::streamline
