// FINN's AddStreams: element-wise sum of two equally shaped channels-last
// streams (the residual add). Output type: the smallest type holding the sum
// of the two input ranges.
#include <fmt/format.h>

#include "ops/hw/common.h"

namespace sf {

void addstreams_emit_rtl(rtl::LayerEmitter& e);  // addstreams_rtl.cpp
void addstreams_emit_hls(hls::LayerEmitter& e);  // addstreams_hls.cpp
namespace {

struct AddAttrs {
  int64_t c, pe;
  Shape niv;
  DataType dt0, dt1;
};

AddAttrs read(const Node& n) {
  AddAttrs a;
  a.c = hw::pos_int(n, "NumChannels");
  a.pe = hw::pos_int(n, "PE", 1);
  hw::check_fold(n, "PE", a.pe, "NumChannels", a.c);
  a.niv = hw::pos_ints(n, "numInputVectors", 0, {1});
  const Attribute* t = n.attr("inputDataTypes");
  if (!t || t->strings.size() != 2 || !DataType::is_valid_name(t->strings[0]) ||
      !DataType::is_valid_name(t->strings[1]))
    op_fail(n, "attribute 'inputDataTypes' must list two QONNX datatype names", "e.g. inputDataTypes=['INT4', 'INT4']");
  a.dt0 = DataType::from_name(t->strings[0]);
  a.dt1 = DataType::from_name(t->strings[1]);
  return a;
}

OpDef make_addstreams_def() {
  OpDef d;
  d.op_type = "AddStreams";
  d.domain = OpDomain::FPGADATAFLOW;
  d.min_inputs = d.max_inputs = 2;
  d.validate = [](const Node& n) { read(n); };
  d.infer_shape = [](InferCtx& c) {
    const AddAttrs a = read(c.node);
    const Shape &s0 = c.shape(0), &s1 = c.shape(1);
    if (s0 != s1 || s0.empty() || s0.back() != a.c)
      op_fail(c.node,
              fmt::format("inputs have shapes {} and {}; both must be equal with NumChannels={} last", shape_str(s0),
                          shape_str(s1), a.c),
              "AddStreams adds two identically shaped streams; no broadcasting");
    c.set_out(0, ElemType::FLOAT, s0);
  };
  d.infer_datatype = [](const DataTypeCtx& c) -> std::vector<DataType> {
    const AddAttrs a = read(c.node);
    return {hw::range_datatype(a.dt0.min() + a.dt1.min(), a.dt0.max() + a.dt1.max())};
  };
  d.execute = [](ExecCtx& c) {
    read(c.node);
    const Tensor &x = c.input(0), &y = c.input(1);
    if (x.shape() != y.shape())
      op_fail(c.node, fmt::format("inputs have shapes {} and {}", shape_str(x.shape()), shape_str(y.shape())),
              "both streams must have the same shape");
    std::vector<double> v = x.to_double();
    const std::vector<double> w = y.to_double();
    for (size_t i = 0; i < v.size(); ++i) v[i] += w[i];
    c.out.resize(1);
    c.out[0] = hw::float_tensor(x.shape(), v);
  };
  d.estimate = [](const Node& n, const Model& m) {
    const AddAttrs a = read(n);
    HwEstimate e;
    e.cycles = hw::prod(a.niv) * a.c / a.pe;
    // sf_addstreams (calibrated against Yosys): PE adders of the output width
    // into a two-entry skid buffer (its mux costs about as much as the adders).
    const int ob = hw::range_datatype(a.dt0.min() + a.dt1.min(), a.dt0.max() + a.dt1.max()).bitwidth();
    e.lut = 4 + 2.0 * a.pe * ob;
    e.ff = 2 + 2.0 * a.pe * ob;
    return e;
  };
  d.schedule = [](const Node& n, const Model&) {
    const AddAttrs a = read(n);
    const int64_t beats = hw::prod(a.niv) * a.c / a.pe;
    // sf_addstreams fires only when both inputs are valid (each input's ready
    // is the other's valid and the skid buffer's room), so both inputs take
    // beat j in the same cycle. With an always-ready sink the skid buffer
    // never fills (room stays 1); the sum enters its output register in the
    // firing cycle and is offered the next (latency 1).
    hw::Schedule s = hw::one_to_one(beats, 1, 0);
    s.in_beats = {beats, beats};
    s.need = {{s.need[0][0], s.need[0][0]}};
    s.joint_inputs = true;
    return s;
  };
  d.emit_rtl = addstreams_emit_rtl;
  d.emit_hls = addstreams_emit_hls;
  return d;
}

}  // namespace

SF_REGISTER_OP(make_addstreams_def());

}  // namespace sf
