// Weights streamed from DDR (MVAU / VVAU mem_mode=external, FINN's
// "external" memory mode): the layer has no weight memory and reads its
// weights as a second AXI-Stream in1_V, fed by a DMA that reads them from DDR
// (FINN: an IODMA in "wrap" mode, one .npy per weight DMA in the driver's
// runtime_weights/). The beat layout is the layer's own weight-memory word:
// PE*SIMD*wbits bits, element (pe, simd) at bits [(pe*SIMD + simd)*wbits +:
// wbits] (BIPOLAR as {0,1}), TDATA padded to whole bytes, byte 0 least
// significant. The layer consumes one word per compute step, so one pass is
// the whole weight memory in word order, and it repeats for every input
// vector (MVAU: numInputVectors per frame; VVAU: every output pixel).
//
// This is the one definition of that stream: the RTL emitters build their
// ROM (internal modes) from the same words, the stitcher writes the packed
// pass next to the design, and Python (streamfold.rtlsim.weights) reads it
// through the binding for the simulations and the driver package.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/hw/rtl_emit.h"

namespace sf::rtl {

struct ExternalWeights {
  std::string node;
  int width = 0;            // payload bits per beat: PE*SIMD*wbits
  int64_t pass_beats = 0;   // beats per pass over the weights
  int64_t repeat = 0;       // passes per frame
  std::vector<Bits> words;  // one pass, in stream order
};

// True for an MVAU/VVAU whose mem_mode is "external".
bool uses_external_weights(const Node& n);
// The weight stream of such a node; ModelError naming the node otherwise.
ExternalWeights external_weights(const Model& m, const Node& n);

// The weight-memory words of one layer (ROM contents = one stream pass);
// the op emitters define them (mvau_rtl.cpp, vvau_rtl.cpp).
std::vector<Bits> mvau_weight_words(const Node& n, const Tensor& w);
std::vector<Bits> vvau_weight_words(const Node& n, const Tensor& w);

}  // namespace sf::rtl
