#include "ops/hw/hls_emit.h"

#include "ops/hw/emit_util.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <regex>

namespace sf::hls {

const std::map<std::string, std::string>& library_texts();  // hls_library.cpp (generated)

namespace fs = std::filesystem;

using emit::json_str;
using emit::pad8;
using emit::write_text;

namespace {

// One word as a C++ expression of type ap_uint<width>: an integer literal up
// to 64 bits, else the (hex string, radix) constructor, which both g++ and
// vitis_hls evaluate at compile time.
std::string word_literal(const Bits& b) {
  const std::string h = b.hex();
  if (b.width() <= 64) return "0x" + h + "ULL";
  // With the 0x prefix: ap_int's parser reads a leading "0b"/"0d"/"0o" as a radix prefix.
  return fmt::format("ap_uint<{}>(\"0x{}\", 16)", b.width(), h);
}

// Nested brace initializer of `dims` over words[lo, ...).
void init_text(std::string& out, const std::vector<Bits>& words, const std::vector<int64_t>& dims, size_t d,
               size_t& pos) {
  out += "{";
  for (int64_t i = 0; i < dims[d]; ++i) {
    if (i) out += d + 1 == dims.size() ? ", " : ",\n";
    if (d + 1 == dims.size())
      out += word_literal(words[pos++]);
    else
      init_text(out, words, dims, d + 1, pos);
  }
  out += "}";
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += fmt::format("[{}]", d);
  return s;
}

}  // namespace

LaneRom lane_rom(LayerEmitter& e, const std::string& stem, int64_t pe, int64_t words, int64_t simd, int wb,
                 const std::function<int64_t(int64_t, int64_t, int64_t)>& code, const std::string& impl) {
  std::vector<Bits> bits;
  bits.reserve((size_t)(pe * words));
  for (int64_t p = 0; p < pe; ++p)
    for (int64_t w = 0; w < words; ++w) {
      Bits b((int)(simd * wb));
      for (int64_t q = 0; q < simd; ++q) b.set((int)(q * wb), wb, code(p, w, q));
      bits.push_back(b);
    }
  LaneRom r;
  r.name = e.array(stem, {pe, words}, bits);
  r.pragmas = fmt::format("#pragma HLS ARRAY_PARTITION variable={} complete dim=1\n", r.name) +
              fmt::format("#pragma HLS BIND_STORAGE variable={} type=rom_2p impl={}\n", r.name, impl);
  return r;
}

LayerEmitter::LayerEmitter(const Node& n, const Model& m, std::string dir, std::string fpga_part, double clk_ns)
    : n_(n), m_(m), dir_(std::move(dir)), part_(fpga_part.empty() ? "xc7z020clg400-1" : std::move(fpga_part)),
      clk_ns_(clk_ns) {}

std::string LayerEmitter::top_name() const { return rtl::module_name(n_.name); }

const Tensor& LayerEmitter::initializer(size_t i) const {
  const Tensor* t = i < n_.inputs.size() ? m_.graph.get_initializer(n_.inputs[i]) : nullptr;
  if (!t)
    throw ModelError(fmt::format("{}: input {} is not an initializer, but its HLS keeps it in a constant array",
                                 n_.label(), i),
                     "weights and thresholds of HW layers must be constant initializers", n_.name);
  return *t;
}

void LayerEmitter::use(const std::vector<std::string>& headers) {
  static const std::regex inc("#include\\s+\"([^\"]+\\.hpp)\"");
  for (const std::string& h : headers) {
    const std::string* text = library_source(h);
    if (!text)
      throw StreamfoldError(fmt::format("{}: the HLS library has no header '{}'", n_.label(), h),
                            "internal error: the op's emitter names a header that is not under hlslib/");
    if (std::find(headers_.begin(), headers_.end(), h) != headers_.end()) continue;
    headers_.push_back(h);
    std::vector<std::string> deps;
    for (std::sregex_iterator it(text->begin(), text->end(), inc), end; it != end; ++it) deps.push_back((*it)[1]);
    use(deps);
  }
}

std::string LayerEmitter::array(const std::string& stem, const std::vector<int64_t>& dims,
                                const std::vector<Bits>& words) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  if (dims.empty() || count != (int64_t)words.size() || words.empty())
    throw StreamfoldError(fmt::format("{}: array {} has {} words for dims [{}]", n_.label(), stem, words.size(),
                                      fmt::join(dims, ", ")),
                          "internal error in the op's emit_hls");
  const int w = words[0].width();
  for (const Bits& b : words)
    if (b.width() != w)
      throw StreamfoldError(fmt::format("{}: array {} mixes word widths", n_.label(), stem), "internal error");
  Array a{top_name() + "_" + stem, w, dims, top_name() + "_" + stem + ".dat"};
  std::string text;
  text.reserve(words.size() * ((size_t)w / 4 + 2));
  for (const Bits& b : words) text += b.hex() + "\n";
  write_text(fs::path(dir_) / a.file, text);
  std::string init;
  size_t pos = 0;
  init_text(init, words, dims, 0, pos);
  array_init_.push_back(std::move(init));
  arrays_.push_back(a);
  max_width_ = std::max(max_width_, w);
  return a.name;
}

void LayerEmitter::need_width(int bits) { max_width_ = std::max(max_width_, bits); }

void LayerEmitter::top(const std::string& body, const std::vector<Stream>& ins, const std::vector<Stream>& outs) {
  ins_ = ins;
  outs_ = outs;
  body_ = body;
  for (const Stream& s : ins) max_width_ = std::max(max_width_, pad8(s.width));
  for (const Stream& s : outs) max_width_ = std::max(max_width_, pad8(s.width));
  has_top_ = true;
}

void LayerEmitter::finish() {
  if (!has_top_)
    throw StreamfoldError(fmt::format("{}: the op's HLS emitter wrote no top function", n_.label()),
                          "internal error in the op's emit_hls");
  const std::string t = top_name();
  fs::create_directories(fs::path(dir_) / "hlslib");
  for (const std::string& h : headers_) write_text(fs::path(dir_) / "hlslib" / h, *library_source(h));

  // params_<t>.h: the initialized arrays (synthesis).
  std::string p = fmt::format(
      "// Generated by streamfold for node {}: parameter arrays (packed words as in the RTL layer's memories).\n"
      "#pragma once\n#include <ap_int.h>\n",
      n_.label());
  for (size_t i = 0; i < arrays_.size(); ++i)
    p += fmt::format("static const ap_uint<{}> {}{} =\n{};\n", arrays_[i].width, arrays_[i].name,
                     dims_text(arrays_[i].dims), array_init_[i]);
  write_text(fs::path(dir_) / fmt::format("params_{}.h", t), p);

  // top_<t>.cpp
  std::string c = fmt::format("// Generated by streamfold for node {}.\n", n_.label());
  // ap_int's default limit is 1024 bits; it must be raised before the first include.
  if (max_width_ > 1024) c += fmt::format("#define AP_INT_MAX_W {}\n", (max_width_ + 1023) / 1024 * 1024);
  c += "#include <ap_int.h>\n#include <hls_stream.h>\n";
  for (const std::string& h : headers_) c += fmt::format("#include \"hlslib/{}\"\n", h);
  if (!arrays_.empty()) {
    c += "#ifdef SF_CPPSIM\n// cppsim: the harness defines these and loads them from the .dat files.\n";
    for (const Array& a : arrays_) c += fmt::format("extern ap_uint<{}> {}{};\n", a.width, a.name, dims_text(a.dims));
    c += fmt::format("#else\n#include \"params_{}.h\"\n#endif\n", t);
  }
  c += fmt::format("\nvoid {}(", t);
  bool first = true;
  for (const auto* v : {&ins_, &outs_})
    for (const Stream& s : *v) {
      c += fmt::format("{}hls::stream<ap_uint<{}>>& {}", first ? "" : ", ", pad8(s.width), s.name);
      first = false;
    }
  c += ") {\n";
  for (const auto* v : {&ins_, &outs_})
    for (const Stream& s : *v) c += fmt::format("#pragma HLS INTERFACE axis port={}\n", s.name);
  c += "#pragma HLS INTERFACE ap_ctrl_none port=return\n";
  c += body_;
  if (!body_.empty() && body_.back() != '\n') c += "\n";
  c += "}\n";
  write_text(fs::path(dir_) / fmt::format("top_{}.cpp", t), c);

  // hls_syn_<t>.tcl: run as `vitis_hls -f hls_syn_<t>.tcl` in the layer folder.
  const std::string tcl = fmt::format(
      "# Generated by streamfold for node {}: vitis_hls -f hls_syn_{}.tcl (in this folder)\n"
      "set d [file dirname [file normalize [info script]]]\n"
      "open_project -reset project_{}\n"
      "set_top {}\n"
      "add_files $d/top_{}.cpp -cflags \"-std=c++14 -I$d -I$d/hlslib\"\n"
      "open_solution -reset sol1 -flow_target vivado\n"
      "set_part {}\n"
      "create_clock -period {} -name default\n"
      "csynth_design\n"
      "export_design -format ip_catalog\n"
      "exit\n",
      n_.label(), t, t, t, t, part_, clk_ns_);
  write_text(fs::path(dir_) / fmt::format("hls_syn_{}.tcl", t), tcl);

  auto streams = [](const std::vector<Stream>& v) {
    std::string s;
    for (const Stream& x : v)
      s += fmt::format("{}{{\"name\": {}, \"width\": {}, \"tdata_width\": {}, \"order_shape\": [{}], "
                       "\"order_perm\": [{}]}}",
                       s.empty() ? "" : ", ", json_str(x.name), x.width, pad8(x.width),
                       fmt::join(x.order_shape, ", "), fmt::join(x.order_perm, ", "));
    return s;
  };
  std::string hdrs, arrs;
  for (const std::string& h : headers_) hdrs += (hdrs.empty() ? "" : ", ") + json_str("hlslib/" + h);
  for (const Array& a : arrays_)
    arrs += fmt::format("{}{{\"name\": {}, \"width\": {}, \"dims\": [{}], \"file\": {}}}", arrs.empty() ? "" : ", ",
                        json_str(a.name), a.width, fmt::join(a.dims, ", "), json_str(a.file));
  const std::string j = fmt::format(
      "{{\n  \"node\": {},\n  \"op_type\": {},\n  \"top\": {},\n  \"top_file\": {},\n  \"params_header\": {},\n"
      "  \"headers\": [{}],\n  \"arrays\": [{}],\n  \"ap_int_max_w\": {},\n  \"tcl\": {},\n  \"fpga_part\": {},\n"
      "  \"clk_ns\": {},\n  \"inputs\": [{}],\n  \"outputs\": [{}]\n}}\n",
      json_str(n_.name), json_str(n_.op_type), json_str(t), json_str(fmt::format("top_{}.cpp", t)),
      json_str(fmt::format("params_{}.h", t)), hdrs, arrs, std::max(1024, (max_width_ + 1023) / 1024 * 1024),
      json_str(fmt::format("hls_syn_{}.tcl", t)), json_str(part_), clk_ns_, streams(ins_), streams(outs_));
  write_text(fs::path(dir_) / "sf_hls_layer.json", j);
}

const std::string* library_source(const std::string& header) { return emit::library_text(library_texts(), header); }

std::vector<std::string> library_headers() { return emit::library_names(library_texts()); }

bool has_hls(const Node& n) {
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  return d && d->emit_hls;
}

void emit_layer(const Model& m, const std::string& node_name, const std::string& dir, const std::string& fpga_part,
                double clk_ns) {
  const Node& n = emit::node_named(m, node_name);
  const OpDef* d = OpRegistry::instance().find(n.op_type, n.domain);
  if (!d || !d->emit_hls)
    throw UnsupportedOpError(fmt::format("{}: op_type {} has no HLS implementation in this version", n.label(),
                                         n.op_type),
                             "use preferred_impl_style=rtl for this node, or keep it on the host; "
                             "streamfold.cppsim.hls_ops() lists the ops with HLS",
                             n.name, n.op_type, n.domain);
  if (d->validate) d->validate(n);
  emit::make_dir(dir);
  LayerEmitter e(n, m, dir, fpga_part, clk_ns);
  d->emit_hls(e);
  e.finish();
}

}  // namespace sf::hls
