// The canonical streamlined form and the diagnostics for what misses it.
#include <fmt/format.h>
#include <set>

#include "ops/op.h"
#include "passes/pass.h"
#include "passes/pipeline.h"
#include "passes/rewrite.h"

namespace sf {

std::string CanonicalViolation::message() const {
  std::string s = fmt::format("{} ({}) is still in the graph after streamlining: {}", node, op_type, why);
  if (!inputs.empty()) {
    s += "\n    fed by: ";
    for (size_t i = 0; i < inputs.size(); ++i) s += (i ? ", " : "") + inputs[i];
  }
  if (!outputs.empty()) {
    s += "\n    feeds: ";
    for (size_t i = 0; i < outputs.size(); ++i) s += (i ? ", " : "") + outputs[i];
  }
  for (const auto& r : refusals) s += "\n    " + r;
  if (!hint.empty()) s += "\n    hint: " + hint;
  return s;
}

namespace {

bool is_op(const Node& n, const char* op) { return n.op_type == op; }

bool integer_stream(const Graph& g, const std::string& t) {
  return !t.empty() && !g.get_initializer(t) && g.get_datatype(t).is_integer();
}

bool integer_weight(const Graph& g, const std::string& t) {
  const Tensor* w = g.get_initializer(t);
  if (!w || !g.get_datatype(t).is_integer()) return false;
  DataType dt = g.get_datatype(t);
  for (double v : w->to_double())
    if (!dt.allowed(v)) return false;
  return true;
}

bool is_layout_op(const Node& n) {
  return n.op_type == "Transpose" || n.op_type == "Reshape" || n.op_type == "Flatten";
}

// Only layout ops between the graph input and this node.
bool at_graph_input(const Graph& g, const Node& n) {
  std::string t = n.inputs.at(0);
  for (int guard = 0; guard < 64; ++guard) {
    if (is_graph_input(g, t)) return true;
    int p = g.find_producer(t);
    if (p < 0 || !is_layout_op(g.nodes[p])) return false;
    t = g.nodes[p].inputs.at(0);
  }
  return false;
}

// Only layout ops between this node and a MatMul (the FC head).
bool before_fc_head(const Graph& g, const Node& n) {
  std::string t = n.outputs.at(0);
  for (int guard = 0; guard < 64; ++guard) {
    auto cs = g.find_consumers(t);
    if (cs.size() != 1 || is_graph_output(g, t)) return false;
    const Node& c = g.nodes[cs[0]];
    if (c.op_type == "MatMul" || c.op_type == "XnorPopcountMatMul") return true;
    if (!is_layout_op(c)) return false;
    t = c.outputs.at(0);
  }
  return false;
}

// A float Mul/Add (constant operand) after which only other such nodes,
// TopK/ArgMax, or the graph output follow: the output scale.
bool trailing_affine(const Graph& g, const Node& n, int depth = 0) {
  if (depth > 4) return false;
  if (!(is_op(n, "Mul") || is_op(n, "Add"))) return false;
  if (!g.get_initializer(n.inputs.at(1)) && !g.get_initializer(n.inputs.at(0))) return false;
  const std::string& t = n.outputs.at(0);
  for (int c : g.find_consumers(t)) {
    const Node& cn = g.nodes[c];
    if (cn.op_type == "TopK" || cn.op_type == "ArgMax") continue;
    if (!trailing_affine(g, cn, depth + 1)) return false;
  }
  return !g.find_consumers(t).empty() || is_graph_output(g, t);
}

std::string neighbour(const Graph& g, int idx) {
  return fmt::format("{} ({})", g.nodes[idx].name, g.nodes[idx].op_type);
}

// The nodes that see only the raw float graph input, through other such
// nodes and before any quantizer (MultiThreshold ends the head).
std::vector<bool> float_head_nodes(const Graph& g) {
  std::vector<bool> head(g.nodes.size(), false);
  const auto order = topological_order(g);
  for (int i : order) {
    const Node& n = g.nodes[i];
    if (n.op_type == "MultiThreshold") continue;
    bool any = false, all = true;
    for (const auto& t : n.inputs) {
      if (t.empty() || g.get_initializer(t)) continue;
      const int p = g.find_producer(t);
      const bool from_head = is_graph_input(g, t) ? !g.get_datatype(t).is_integer() : (p >= 0 && head[p]);
      any = any || from_head;
      all = all && from_head;
    }
    head[i] = any && all;
  }
  return head;
}

const char* kFloatInputHint =
    "this layer computes on the raw float input: no quantizer comes before it. Put an input quantizer in front "
    "of it in Brevitas (e.g. QuantIdentity(bit_width=8) as the first module), or build with the float layers on "
    "the host (DataflowBuildConfig(host_float_layers=True), or step_streamline(..., host_float_layers=True)): "
    "the dataflow partition then starts after them";

// A Mul scaling one operand of an Add whose other operand is scaled too.
bool joins_other_scale(const Graph& g, const Node& n) {
  if (n.op_type != "Mul") return false;
  for (int c : g.find_consumers(n.outputs.at(0))) {
    const Node& a = g.nodes[c];
    if (a.op_type != "Add" || a.inputs.size() != 2) continue;
    for (const auto& t : a.inputs) {
      const int p = g.find_producer(t);
      if (p >= 0 && &g.nodes[p] != &n && g.nodes[p].op_type == "Mul") return true;
    }
  }
  return false;
}

const char* kTwoScalesHint =
    "a residual Add joins two branches quantized with different scales, so no integer sum exists: let both "
    "branches end in the same quantizer instance in Brevitas (reuse the block input's QuantIdentity/QuantReLU at "
    "the end of the conv path, or one shared quantizer for the skip and the conv path), as FINN's ResNets do";

std::string hint_for(const Graph& g, const Node& n, bool float_head) {
  if (float_head && n.op_type != "Quant" && n.op_type != "BipolarQuant" && n.op_type != "Trunc")
    return kFloatInputHint;
  if (joins_other_scale(g, n)) return kTwoScalesHint;
  if (n.op_type == "Add" && n.inputs.size() == 2) {
    int muls = 0;
    for (const auto& t : n.inputs) {
      const int p = g.find_producer(t);
      muls += p >= 0 && g.nodes[p].op_type == "Mul";
    }
    if (muls == 2) return kTwoScalesHint;
  }
  if (n.op_type == "Mul" || n.op_type == "Add")
    return "a float scale/bias that could not be moved into a MultiThreshold: check the refusals above; "
           "often an activation quantizer is missing after this layer, or a per-channel scale meets a "
           "MaxPool with negative values";
  if (n.op_type == "Quant" || n.op_type == "BipolarQuant" || n.op_type == "Trunc")
    return "only quantizers of at most 8 bits become thresholds; lower the bit width in Brevitas";
  if (n.op_type == "Conv") return "this convolution could not be lowered to Im2Col + MatMul (see refusals)";
  if (n.op_type == "MatMul") {
    if (integer_weight(g, n.inputs.at(1)))
      return "its input is a float tensor: the activation feeding it has no quantizer (or its scale could not be "
             "moved into a MultiThreshold; see the refusals above); add a QuantIdentity/QuantReLU before this layer";
    return "MatMul weights must be integer (quantized by Brevitas with a weight quantizer)";
  }
  return "replace the layer in the Brevitas model with a supported one, or keep it outside the accelerated part";
}

}  // namespace

std::vector<CanonicalViolation> check_streamlined_form(const Model& m) {
  const Graph& g = m.graph;
  std::vector<CanonicalViolation> out;
  int trailing = 0;
  const std::vector<bool> head = float_head_nodes(g);
  for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
    const Node& n = g.nodes[idx];
    const OpDomain fam = domain_family(n.domain);
    std::string why;
    if (fam == OpDomain::QONNX &&
        (n.op_type == "MultiThreshold" || n.op_type == "Im2Col" || n.op_type == "MaxPoolNHWC" ||
         n.op_type == "QuantAvgPool2d" || n.op_type == "XnorPopcountMatMul")) {
      continue;
    } else if (fam == OpDomain::ONNX && n.op_type == "MatMul") {
      if (integer_weight(g, n.inputs.at(1)) && integer_stream(g, n.inputs.at(0))) continue;
      why = integer_weight(g, n.inputs.at(1)) ? "its input is not an integer stream"
                                              : "its weight is not an integer initializer";
    } else if (fam == OpDomain::ONNX && n.op_type == "MaxPool") {
      if (integer_stream(g, n.inputs.at(0))) continue;
      why = "it pools a float tensor";
    } else if (fam == OpDomain::ONNX && n.op_type == "Add" && integer_stream(g, n.inputs.at(0)) &&
               integer_stream(g, n.inputs.at(1))) {
      continue;  // residual join of two integer streams
    } else if (fam == OpDomain::ONNX && is_layout_op(n) && (at_graph_input(g, n) || before_fc_head(g, n))) {
      continue;
    } else if (fam == OpDomain::ONNX && (n.op_type == "TopK" || n.op_type == "ArgMax") &&
               is_graph_output(g, n.outputs.back())) {
      continue;
    } else if (fam == OpDomain::ONNX && trailing_affine(g, n) && ++trailing <= 2) {
      continue;
    } else {
      why = trailing > 2 && (n.op_type == "Mul" || n.op_type == "Add")
                ? "more than one trailing float Mul/Add remains"
                : "it is not part of the integer dataflow form";
    }
    CanonicalViolation v;
    v.node = n.name;
    v.op_type = n.op_type;
    v.why = why;
    for (const auto& i : n.inputs) {
      int p = g.find_producer(i);
      if (p >= 0) v.inputs.push_back(neighbour(g, p));
      else if (is_graph_input(g, i)) v.inputs.push_back(fmt::format("graph input '{}'", i));
    }
    for (const auto& o : n.outputs) {
      for (int c : g.find_consumers(o)) v.outputs.push_back(neighbour(g, c));
      if (is_graph_output(g, o)) v.outputs.push_back(fmt::format("graph output '{}'", o));
    }
    for (const auto& r : refusals_for(n.name)) v.refusals.push_back(fmt::format("{} refused: {}", r.pass, r.reason));
    v.float_head = head[idx];
    v.hint = hint_for(g, n, v.float_head);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sf
