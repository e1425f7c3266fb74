// ONNX protobuf <-> IR. Uses the real onnx.proto schema compiled by protoc.
#pragma once
#include <string>

#include "ir/graph.h"

namespace sf {

Model load_model_file(const std::string& path);   // ModelError on missing/corrupt files
Model load_model_bytes(const std::string& bytes);  // ModelError on corrupt bytes
std::string save_model_bytes(const Model& m);
// Writes to a temporary file beside `path` and renames it, so a failure never
// leaves a half-written model behind.
void save_model_file(const Model& m, const std::string& path);

}  // namespace sf
