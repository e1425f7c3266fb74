#include "ops/op.h"

#include <fmt/format.h>

namespace sf {

OpDomain domain_family(const std::string& d) {
  if (d.empty() || d == "ai.onnx") return OpDomain::ONNX;
  if (d == "onnx.brevitas" || d == "qonnx.custom_op.general" || d == "finn.custom_op.general" || d == "finn" ||
      d == "qonnx")
    return OpDomain::QONNX;
  if (d.rfind("finn.custom_op.fpgadataflow", 0) == 0) return OpDomain::FPGADATAFLOW;
  return OpDomain::UNKNOWN;
}

const char* canonical_domain(OpDomain d) {
  switch (d) {
    case OpDomain::ONNX: return "";
    case OpDomain::QONNX: return "qonnx.custom_op.general";
    case OpDomain::FPGADATAFLOW: return "finn.custom_op.fpgadataflow";
    default: return "";
  }
}

OpRegistry& OpRegistry::instance() {
  static OpRegistry r;
  return r;
}

void OpRegistry::add(OpDef def) {
  for (auto& d : defs_)
    if (d.op_type == def.op_type && d.domain == def.domain) {
      d = std::move(def);  // a later registration replaces (tests may override)
      return;
    }
  defs_.push_back(std::move(def));
}

const OpDef* OpRegistry::find(const std::string& op_type, const std::string& domain) const {
  OpDomain fam = domain_family(domain);
  for (const auto& d : defs_)
    if (d.op_type == op_type && d.domain == fam) return &d;
  return nullptr;
}

const OpDef& OpRegistry::get(const Node& node) const {
  if (const OpDef* d = find(node.op_type, node.domain)) return *d;
  std::string hint;
  OpDomain fam = domain_family(node.domain);
  // Same op_type in another family usually means a wrong domain string.
  for (const auto& d : defs_)
    if (d.op_type == node.op_type && d.domain != fam)
      hint = fmt::format("streamfold knows {} in domain '{}'; fix the node's domain", node.op_type,
                         canonical_domain(d.domain));
  if (hint.empty()) {
    if (fam == OpDomain::UNKNOWN)
      hint = "unknown domain: streamfold supports ai.onnx, qonnx.custom_op.general (also onnx.brevitas, "
             "finn.custom_op.general) and finn.custom_op.fpgadataflow";
    else
      hint = "replace the layer with a supported one (see `streamfold info --ops`) or keep it out of the exported "
             "graph";
  }
  throw UnsupportedOpError(fmt::format("node '{}' has op_type '{}' in domain '{}', which streamfold does not support",
                                       node.name, node.op_type, node.domain.empty() ? "ai.onnx" : node.domain),
                           hint, node.name, node.op_type, node.domain);
}

std::vector<const OpDef*> OpRegistry::all() const {
  std::vector<const OpDef*> r;
  for (const auto& d : defs_) r.push_back(&d);
  return r;
}

void op_fail(const Node& n, const std::string& msg, const std::string& hint) {
  // `where` is never empty here, so callers don't prefix the label again.
  throw ModelError(fmt::format("{}: {}", n.label(), msg), hint, n.name.empty() ? n.label() : n.name);
}

const Shape& InferCtx::shape(size_t i) const {
  if (i >= in.size() || node.inputs[i].empty())
    op_fail(node, fmt::format("input {} is missing", i), "connect the required input");
  if (!in[i].shape)
    op_fail(node, fmt::format("the shape of input '{}' is unknown", node.inputs[i]),
            "give the graph input a concrete shape (e.g. batch size 1) so shapes can be inferred");
  return *in[i].shape;
}

const Tensor& InferCtx::constant(size_t i) const {
  if (i >= in.size() || node.inputs[i].empty())
    op_fail(node, fmt::format("input {} is missing", i), "connect the required input");
  if (!in[i].value)
    op_fail(node, fmt::format("input '{}' must be a constant (an initializer) for shape inference",
                              node.inputs[i]),
            "fold constants first, or make this input an initializer");
  return *in[i].value;
}

void InferCtx::set_out(size_t i, ElemType t, Shape s) {
  if (i >= out.size()) out.resize(i + 1);
  out[i].elem_type = t;
  out[i].shape = std::move(s);
}

const Tensor& ExecCtx::input(size_t i) const {
  if (!has_input(i)) op_fail(node, fmt::format("required input {} is missing", i), "connect the input");
  return *in[i];
}

}  // namespace sf
