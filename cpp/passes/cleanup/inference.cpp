// Shape and datatype inference as passes, so pipelines can name them.
#include "exec/infer.h"
#include "passes/pass.h"

namespace sf {
namespace {
// Inference only annotates; it never changes the function, so it reports
// "no change" and a fixpoint loop stops after one application.
bool infer_shapes_pass(Model& m) {
  infer_shapes(m);
  return false;
}
bool infer_datatypes_pass(Model& m) {
  infer_datatypes(m, false);
  return false;
}
}  // namespace

SF_REGISTER_PASS_ONCE("InferShapes", "cleanup", "annotate every tensor with its element type and shape",
                      infer_shapes_pass);
SF_REGISTER_PASS_ONCE("InferDataTypes", "cleanup", "annotate every tensor with its QONNX datatype",
                      infer_datatypes_pass);

}  // namespace sf
