// Split: the inverse of Concat. Sizes come from the 'split' attribute (opset
// < 13), the 'split' input (opset >= 13), 'num_outputs' (opset 18: chunks of
// ceil(dim/n), the last one smaller), or else an equal split over the outputs.
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "ops/reshape/movement.h"

namespace sf {
namespace {
using namespace movement;

std::vector<int64_t> split_sizes(const Node& n, const Shape& in, const Tensor* split_input, int64_t* axis_out) {
  if (in.empty()) op_fail(n, "Split needs an input of rank >= 1", "Unsqueeze the scalar first");
  const int64_t axis = norm_axis(n, n.get_int("axis", 0), (int64_t)in.size(), "axis");
  *axis_out = axis;
  const int64_t dim = in[axis];
  const int64_t nout = (int64_t)n.outputs.size();
  std::vector<int64_t> sizes;
  // An empty 'split' input means "not given" (optional inputs may be empty).
  if (split_input && split_input->numel() > 0) {
    sizes = split_input->to_int64();
  } else if (n.has_attr("split")) {
    sizes = n.get_ints("split");
  } else if (n.has_attr("num_outputs")) {
    const int64_t k = n.get_int("num_outputs");
    if (k != nout)
      op_fail(n, fmt::format("num_outputs = {} but the node has {} outputs", k, nout),
              "make num_outputs equal to the number of outputs");
    const int64_t chunk = k > 0 ? (dim + k - 1) / k : 0;
    const int64_t last = dim - chunk * (k - 1);
    if (k <= 0 || last < 0 || (last == 0 && dim > 0))
      op_fail(n, fmt::format("axis {} of size {} cannot be split into {} chunks of {} (the last chunk would be empty)",
                             axis, dim, k, chunk),
              "use fewer outputs or give explicit sizes in the 'split' input");
    sizes.assign((size_t)k, chunk);
    if (k > 0) sizes.back() = last;
    return sizes;
  } else {
    if (nout <= 0 || dim % nout != 0)
      op_fail(n, fmt::format("axis {} of size {} does not split evenly into {} outputs", axis, dim, nout),
              "give explicit sizes via 'split' (or num_outputs in opset 18)");
    return std::vector<int64_t>((size_t)nout, dim / nout);
  }
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      op_fail(n, fmt::format("split = {} has a negative size", ints_str(sizes)), "use sizes >= 0");
    sum += s;
  }
  if ((int64_t)sizes.size() != nout || sum != dim)
    op_fail(n, fmt::format("split = {} ({} parts summing to {}) does not fit {} outputs and axis {} of size {}",
                           ints_str(sizes), sizes.size(), sum, nout, axis, dim),
            "give one size per output, summing to the size of the split axis");
  return sizes;
}

OpDef split_def() {
  OpDef d;
  d.op_type = "Split";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.infer_shape = [](InferCtx& c) {
    const Shape& in = c.shape(0);
    int64_t axis = 0;
    auto sizes = split_sizes(c.node, in, c.has_input(1) ? &const_input(c, 1, "split") : nullptr, &axis);
    for (size_t i = 0; i < sizes.size(); ++i) {
      Shape s = in;
      s[axis] = sizes[i];
      c.set_out(i, c.in[0].elem_type, s);
    }
  };
  d.infer_datatype = same_datatype_as_input0;
  d.execute = [](ExecCtx& c) {
    const Tensor& x = c.input(0);
    int64_t axis = 0;
    auto sizes = split_sizes(c.node, x.shape(), c.has_input(1) ? &c.input(1) : nullptr, &axis);
    const int64_t outer = prod(x.shape(), 0, (size_t)axis);
    const size_t row = (size_t)prod(x.shape(), (size_t)axis + 1, x.shape().size()) * elem_size(x.type());
    const size_t in_chunk = (size_t)x.shape()[axis] * row;
    c.out.resize(c.node.outputs.size());
    size_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      Shape s = x.shape();
      s[axis] = sizes[i];
      c.out[i] = Tensor(x.type(), s);
      const size_t chunk = (size_t)sizes[i] * row;
      auto* dst = static_cast<uint8_t*>(c.out[i].raw());
      const auto* src = static_cast<const uint8_t*>(x.raw()) + offset;
      for (int64_t o = 0; o < outer && chunk; ++o) std::memcpy(dst + o * chunk, src + o * in_chunk, chunk);
      offset += chunk;
    }
  };
  return d;
}

}  // namespace

SF_REGISTER_OP(split_def());

}  // namespace sf
