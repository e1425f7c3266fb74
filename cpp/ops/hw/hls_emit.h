// What an op's HLS emitter writes for one HW-layer node (DESIGN §7.7): a
// synthesizable top function named after the node with FINN's AXI-Stream
// ports, its parameter arrays, the hlslib headers it includes and a vitis_hls
// script, all in the node's code_gen_ipgen_<node> folder (the same folder
// serves cppsim: FINN's code_gen_dir_cppsim points there too), plus
// sf_hls_layer.json, the manifest the cppsim harness and hw_ipgen read.
//
// Files of a layer folder (<t> = the node name as a C identifier):
//   top_<t>.cpp       the top function <t>(hls::stream<ap_uint<TDATA>>& in0_V, ..., out_V)
//                     with the INTERFACE pragmas; one call processes one frame
//                     (with ap_ctrl_none the synthesized block restarts by itself)
//   params_<t>.h      the parameter arrays as initialized const arrays (synthesis)
//   <t>_<stem>.dat    the same words, one hex word per line (cppsim loads them)
//   hlslib/*.hpp      the library headers the top includes (self-contained folder)
//   hls_syn_<t>.tcl   vitis_hls: csynth_design + export_design -format ip_catalog
//   sf_hls_layer.json the manifest
//
// Why two copies of the weights: with SF_CPPSIM defined, the top declares the
// arrays extern and the cppsim harness defines and fills them from the .dat
// files at run time, so the compiled simulation does not depend on the
// weights and layers that differ only in weights share one g++ build (the
// RTL flow shares Verilator builds the same way through $readmemh files).
//
// Streams carry exactly the RTL layers' beats (cpp/ops/hw/rtl/README.md):
// element i at bits [i*w +: w], BIPOLAR as {0,1}, TDATA padded to whole bytes
// (the stream type is ap_uint<TDATA width>; padding bits are written as 0 and
// ignored on input), and the same order_shape/order_perm as the RTL emitter.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ops/hw/rtl_emit.h"
#include "ops/op.h"

namespace sf::hls {

using rtl::Bits;    // one packed word (little-endian bit string)
using rtl::Stream;  // name ("in0_V"), payload width, beat order

// One parameter array of packed words (element type ap_uint<width>).
struct Array {
  std::string name;           // C identifier (<t>_<stem>)
  int width = 0;              // bits per word
  std::vector<int64_t> dims;  // outer first; product = number of words
  std::string file;           // <t>_<stem>.dat
};

class LayerEmitter {
 public:
  LayerEmitter(const Node& n, const Model& m, std::string dir, std::string fpga_part = "", double clk_ns = 10.0);
  const Node& node() const { return n_; }
  const Model& model() const { return m_; }
  const std::string& dir() const { return dir_; }
  // The constant value of node input i (weights, thresholds); ModelError
  // naming the node if it is not an initializer.
  const Tensor& initializer(size_t i) const;
  // hlslib headers this layer includes ("sf_mvau.hpp"); the headers they
  // include ("#include \"x.hpp\"") are added too. An unknown name is an
  // internal error naming it.
  void use(const std::vector<std::string>& headers);
  // A constant array of packed words, `dims` outer first (their product must
  // equal words.size(); all words of one width). Returns its C identifier
  // <t>_<stem> for the top's body.
  std::string array(const std::string& stem, const std::vector<int64_t>& dims, const std::vector<Bits>& words);
  // Widest ap_uint the body uses beyond the streams and arrays (sets
  // AP_INT_MAX_W when over 1024).
  void need_width(int bits);
  // The top function: `body` is C++ statements using the stream parameters
  // (named after the streams: in0_V, out_V, ...) and the arrays; it must
  // consume exactly one frame from every input and produce one frame on
  // every output. Stream i is hls::stream<ap_uint<tdata_width(width_i)>>.
  void top(const std::string& body, const std::vector<Stream>& ins, const std::vector<Stream>& outs);
  // Writes the files listed above; called by emit_layer after the op's emitter.
  void finish();

  std::string top_name() const;
  const std::vector<std::string>& headers() const { return headers_; }
  const std::vector<Array>& arrays() const { return arrays_; }
  const std::vector<Stream>& ins() const { return ins_; }
  const std::vector<Stream>& outs() const { return outs_; }

 private:
  const Node& n_;
  const Model& m_;
  std::string dir_, part_;
  double clk_ns_;
  std::vector<std::string> headers_;
  std::vector<Array> arrays_;
  std::vector<std::string> array_init_;  // initializer text per array (params_<t>.h)
  std::vector<Stream> ins_, outs_;
  std::string body_;
  int max_width_ = 0;
  bool has_top_ = false;
};

// A weight memory as PE lane ROMs (the MVAU's and VVAU's layout): lane p holds
// `words` words of `simd` codes of `wb` bits, code(p, word, q) being code q of
// word `word`. The array is partitioned by lane and bound to `impl` ("bram",
// "lutram", "uram"); `pragmas` are those two lines for the top function.
struct LaneRom {
  std::string name, pragmas;
};
LaneRom lane_rom(LayerEmitter& e, const std::string& stem, int64_t pe, int64_t words, int64_t simd, int wb,
                 const std::function<int64_t(int64_t p, int64_t word, int64_t q)>& code, const std::string& impl);

// Text of an hlslib header by file name ("sf_mvau.hpp"); nullptr if unknown.
const std::string* library_source(const std::string& header);
std::vector<std::string> library_headers();

// Emits the HLS of HW node `node_name` of `m` into `dir` (created), using the
// op's OpDef::emit_hls. UnsupportedOpError naming the node and op_type when
// the op has no HLS implementation. fpga_part "" -> xc7z020clg400-1.
void emit_layer(const Model& m, const std::string& node_name, const std::string& dir,
                const std::string& fpga_part = "", double clk_ns = 10.0);
bool has_hls(const Node& n);

}  // namespace sf::hls
