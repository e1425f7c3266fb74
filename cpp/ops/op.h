// The op interface. One op = one folder under cpp/ops/, holding its semantics
// (attribute validation, shape and datatype rules) and its reference
// execution; hardware ops add cost models and emitters there later. An op
// registers itself with SF_REGISTER_OP in its own .cpp, so adding an op never
// touches a central file.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/datatype.h"
#include "ir/errors.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "ops/hw/schedule.h"

namespace sf {

namespace rtl {
class LayerEmitter;  // ops/hw/rtl_emit.h
}
namespace hls {
class LayerEmitter;  // ops/hw/hls_emit.h
}

// Domain families: every spelling of a domain maps onto one of these.
enum class OpDomain { ONNX, QONNX, FPGADATAFLOW, UNKNOWN };
// "" / "ai.onnx" -> ONNX; "onnx.brevitas", "qonnx.custom_op.general",
// "finn.custom_op.general", "finn" -> QONNX; "finn.custom_op.fpgadataflow[.hls|.rtl]" -> FPGADATAFLOW.
OpDomain domain_family(const std::string& domain);
const char* canonical_domain(OpDomain d);  // what we write on export

// What shape inference knows about one tensor.
struct TensorInfo {
  ElemType elem_type = ElemType::UNDEFINED;
  std::optional<Shape> shape;  // nullopt: unknown
  const Tensor* value = nullptr;  // set when the tensor is a constant (initializer or folded)
};

struct InferCtx {
  const Node& node;
  const Model& model;
  std::vector<TensorInfo> in;   // one per node input ("" inputs have elem_type UNDEFINED)
  std::vector<TensorInfo> out;  // to fill: one per node output

  bool has_input(size_t i) const { return i < in.size() && !node.inputs[i].empty(); }
  // Shape of input i; throws ModelError naming node and input when unknown.
  const Shape& shape(size_t i) const;
  // Constant value of input i (initializer); throws ModelError if not constant.
  const Tensor& constant(size_t i) const;
  void set_out(size_t i, ElemType t, Shape s);
};

struct DataTypeCtx {
  const Node& node;
  const Model& model;
  std::vector<DataType> out_current;   // current annotation of each output
  std::vector<DataType> in;            // QONNX datatype of each input (FLOAT32 if none)
  std::vector<const Tensor*> in_value; // constant value of each input, or nullptr
};

struct ExecCtx {
  const Node& node;
  int64_t onnx_opset;             // the model's ai.onnx opset (attribute vs input forms)
  std::vector<const Tensor*> in;  // nullptr for omitted optional inputs
  std::vector<Tensor> out;        // to fill: one per node output

  bool has_input(size_t i) const { return i < in.size() && in[i] != nullptr; }
  const Tensor& input(size_t i) const;  // throws ModelError if absent
};

// Hardware cost of one HW-layer node (finn.custom_op.fpgadataflow ops):
// FINN's estimate names, so reports read like FINN's.
struct HwEstimate {
  int64_t cycles = 0;  // cycles per input frame (exp_cycles)
  double lut = 0, ff = 0, bram18 = 0, uram = 0, dsp = 0;
};

struct OpDef {
  std::string op_type;
  OpDomain domain = OpDomain::ONNX;
  size_t min_inputs = 0, max_inputs = 0;  // checked before anything else
  // Validate attributes (throw ModelError naming node and attribute). Optional.
  std::function<void(const Node&)> validate;
  // Output element types and shapes. Required.
  std::function<void(InferCtx&)> infer_shape;
  // QONNX datatypes of outputs. Optional: default FLOAT32 for every output.
  std::function<std::vector<DataType>(const DataTypeCtx&)> infer_datatype;
  // Reference execution. Required.
  std::function<void(ExecCtx&)> execute;
  // HW layers only: cycle and resource model (one place per op, so later
  // calibration against synthesis touches one function).
  std::function<HwEstimate(const Node&, const Model&)> estimate;
  // HW layers with an RTL implementation: write the layer's Verilog top,
  // library modules and memory files (ops/hw/rtl_emit.h).
  std::function<void(rtl::LayerEmitter&)> emit_rtl;
  // HW layers with an HLS implementation: write the layer's top function,
  // parameter arrays and the hlslib headers it uses (ops/hw/hls_emit.h).
  std::function<void(hls::LayerEmitter&)> emit_hls;
  // HW layers: when the RTL takes and offers stream beats (ops/hw/schedule.h),
  // for FIFO sizing without simulation. Checked against the RTL's trace.
  std::function<hw::Schedule(const Node&, const Model&)> schedule;
};

class OpRegistry {
 public:
  static OpRegistry& instance();
  void add(OpDef def);
  // nullptr if unknown.
  const OpDef* find(const std::string& op_type, const std::string& domain) const;
  // Throws UnsupportedOpError naming node, op_type and domain.
  const OpDef& get(const Node& node) const;
  std::vector<const OpDef*> all() const;

 private:
  std::vector<OpDef> defs_;
};

struct OpRegistrar {
  explicit OpRegistrar(OpDef def) { OpRegistry::instance().add(std::move(def)); }
};

#define SF_CONCAT_INNER(a, b) a##b
#define SF_CONCAT(a, b) SF_CONCAT_INNER(a, b)
// Usage: SF_REGISTER_OP(make_quant_def());
#define SF_REGISTER_OP(def_expr) \
  static ::sf::OpRegistrar SF_CONCAT(sf_op_registrar_, __LINE__)(def_expr)

// Helpers shared by op implementations.
[[noreturn]] void op_fail(const Node& n, const std::string& msg, const std::string& hint = "");
// Throws ModelError unless cond.
inline void op_check(bool cond, const Node& n, const std::string& msg, const std::string& hint = "") {
  if (!cond) op_fail(n, msg, hint);
}

}  // namespace sf
