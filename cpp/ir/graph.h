// The IR: plain structs mirroring ONNX's ModelProto closely enough that a
// round trip keeps everything (annotations, value_info, opsets, metadata).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/datatype.h"
#include "ir/tensor.h"

namespace sf {

struct Dim {
  int64_t value = -1;  // -1: unknown / symbolic
  std::string param;   // symbolic name, if any
};

struct ValueInfo {
  std::string name;
  ElemType elem_type = ElemType::UNDEFINED;
  bool has_shape = false;
  std::vector<Dim> dims;
  std::string doc_string;

  bool shape_known() const;  // has_shape and every dim concrete
  Shape shape() const;       // concrete dims (-1 where unknown)
  void set_shape(const Shape& s);
};

// Numbering is ONNX AttributeProto.AttributeType.
enum class AttrType : int32_t {
  UNDEFINED = 0, FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5,
  FLOATS = 6, INTS = 7, STRINGS = 8, TENSORS = 9, GRAPHS = 10,
  SPARSE_TENSOR = 11, SPARSE_TENSORS = 12, TYPE_PROTO = 13, TYPE_PROTOS = 14,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::UNDEFINED;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  // Kinds streamfold never interprets (graphs, sparse tensors, type protos)
  // travel as the serialized AttributeProto so the round trip is lossless.
  std::string raw;
  std::string doc_string;
  std::string ref_attr_name;
};

struct Node {
  std::string name, op_type, domain, doc_string;
  std::vector<std::string> inputs, outputs;  // "" marks an omitted optional input
  std::vector<Attribute> attrs;

  const Attribute* attr(const std::string& n) const;
  bool has_attr(const std::string& n) const { return attr(n) != nullptr; }
  // Typed getters. Without a default, a missing attribute is a ModelError
  // naming the node; a wrongly typed one always is.
  int64_t get_int(const std::string& n) const;
  int64_t get_int(const std::string& n, int64_t dflt) const;
  float get_float(const std::string& n) const;
  float get_float(const std::string& n, float dflt) const;
  std::string get_string(const std::string& n) const;
  std::string get_string(const std::string& n, const std::string& dflt) const;
  std::vector<int64_t> get_ints(const std::string& n) const;
  std::vector<int64_t> get_ints(const std::string& n, const std::vector<int64_t>& dflt) const;
  std::vector<float> get_floats(const std::string& n, const std::vector<float>& dflt) const;
  const Tensor& get_tensor(const std::string& n) const;

  void set_int(const std::string& n, int64_t v);
  void set_float(const std::string& n, float v);
  void set_string(const std::string& n, const std::string& v);
  void set_ints(const std::string& n, const std::vector<int64_t>& v);
  void set_floats(const std::string& n, const std::vector<float>& v);
  void set_tensor(const std::string& n, const Tensor& v);
  void remove_attr(const std::string& n);

  std::string label() const;  // "Quant_3 (Quant, qonnx.custom_op.general)" for messages
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

struct Graph {
  std::string name, doc_string;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs, outputs, value_info;
  // Ordered so that export reproduces the input order.
  std::vector<std::pair<std::string, Tensor>> initializers;
  // quantization_annotation: tensor name -> ordered (key, value) pairs.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> quant_annotation;
  std::vector<std::string> raw_sparse_initializers;  // passed through

  // Lookups (linear; graphs are small).
  const Tensor* get_initializer(const std::string& name) const;
  void set_initializer(const std::string& name, const Tensor& t);
  bool remove_initializer(const std::string& name);
  int find_producer(const std::string& tensor) const;                // node index or -1
  std::vector<int> find_consumers(const std::string& tensor) const;  // node indices
  int find_node(const std::string& node_name) const;
  const ValueInfo* find_value_info(const std::string& tensor) const;  // inputs, outputs, value_info
  ValueInfo* find_value_info(const std::string& tensor);
  // Graph inputs that are not initializers: what a user must feed.
  std::vector<const ValueInfo*> runtime_inputs() const;

  // quantization_annotation access. A tensor with no finn_datatype is FLOAT32.
  std::string get_annotation(const std::string& tensor, const std::string& key) const;
  void set_annotation(const std::string& tensor, const std::string& key, const std::string& value);
  void remove_annotation(const std::string& tensor, const std::string& key);
  DataType get_datatype(const std::string& tensor) const;
  void set_datatype(const std::string& tensor, const DataType& dt);
  // tensor_layout as a list of axis names, e.g. {"N","H","W","C"}; empty if none.
  std::vector<std::string> get_layout(const std::string& tensor) const;
  void set_layout(const std::string& tensor, const std::vector<std::string>& layout);

  // Every tensor name used anywhere (inputs, outputs, node I/O, initializers).
  std::vector<std::string> all_tensor_names() const;
};

struct Model {
  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;
  std::vector<std::string> raw_functions;  // serialized FunctionProtos, passed through

  int64_t opset_version(const std::string& domain) const;  // -1 if not imported
  void set_opset_version(const std::string& domain, int64_t v);
};

// Parse the Python-list string FINN writes for tensor_layout: "['N', 'C']".
std::vector<std::string> parse_layout_string(const std::string& s);
std::string format_layout_string(const std::vector<std::string>& l);

}  // namespace sf
