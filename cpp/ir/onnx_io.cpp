#include "ir/onnx_io.h"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

#include "ir/errors.h"
#include "onnx/onnx.pb.h"

namespace sf {
namespace fs = std::filesystem;

namespace {

// ---- tensors ---------------------------------------------------------------

template <typename Src, typename Dst>
void copy_field(const google::protobuf::RepeatedField<Src>& f, Tensor& t) {
  Dst* d = static_cast<Dst*>(t.raw());
  for (int i = 0; i < f.size(); ++i) d[i] = (Dst)f.Get(i);
}

std::string read_external(const onnx::TensorProto& tp, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : tp.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (base_dir.empty())
    throw ModelError(fmt::format("initializer '{}' keeps its data in an external file", tp.name()),
                     "load the model from its file path (not bytes) so the external data can be found",
                     tp.name());
  fs::path p = fs::path(base_dir) / location;
  std::ifstream f(p, std::ios::binary);
  if (location.empty() || !f)
    throw ModelError(fmt::format("external data '{}' of initializer '{}' cannot be opened", p.string(), tp.name()),
                     "keep the external data file next to the .onnx file", tp.name());
  f.seekg(0, std::ios::end);
  int64_t size = f.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || offset + length > size)
    throw ModelError(fmt::format("external data of initializer '{}' is truncated", tp.name()),
                     "re-export the model", tp.name());
  std::string buf((size_t)length, '\0');
  f.seekg(offset);
  f.read(buf.data(), length);
  return buf;
}

Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::string& base_dir) {
  const std::string& name = tp.name();
  auto type = static_cast<ElemType>(tp.data_type());
  switch (type) {
    case ElemType::FLOAT: case ElemType::DOUBLE: case ElemType::FLOAT16: case ElemType::INT8:
    case ElemType::INT16: case ElemType::INT32: case ElemType::INT64: case ElemType::UINT8:
    case ElemType::UINT16: case ElemType::UINT32: case ElemType::UINT64: case ElemType::BOOL: break;
    default:
      throw ModelError(fmt::format("tensor '{}' has ONNX element type {}, which streamfold does not support", name,
                                   tp.data_type()),
                       "streamfold handles float16/32/64, (u)int8..64 and bool tensors", name);
  }
  Shape shape(tp.dims().begin(), tp.dims().end());
  for (auto d : shape)
    if (d < 0) throw ModelError(fmt::format("tensor '{}' has a negative dimension", name), "", name);
  if (shape_numel(shape) > (int64_t(1) << 36))
    throw ModelError(fmt::format("tensor '{}' claims {} elements", name, shape_numel(shape)),
                     "the file is probably corrupt", name);
  Tensor t(type, shape);
  const int64_t n = t.numel();
  const size_t nbytes = t.nbytes();
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string raw = read_external(tp, base_dir);
    if (raw.size() != nbytes)
      throw ModelError(fmt::format("external data of '{}' has {} bytes, expected {}", name, raw.size(), nbytes),
                       "re-export the model", name);
    std::memcpy(t.raw(), raw.data(), nbytes);
    return t;
  }
  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != nbytes)
      throw ModelError(fmt::format("tensor '{}' of shape {} holds {} raw bytes, expected {}", name, shape_str(shape),
                                   tp.raw_data().size(), nbytes),
                       "the file is truncated or corrupt; re-export it", name);
    if (nbytes) std::memcpy(t.raw(), tp.raw_data().data(), nbytes);
    return t;
  }
  int64_t have = 0;
  switch (type) {
    case ElemType::FLOAT: have = tp.float_data_size(); break;
    case ElemType::DOUBLE: have = tp.double_data_size(); break;
    case ElemType::INT64: have = tp.int64_data_size(); break;
    case ElemType::UINT32: case ElemType::UINT64: have = tp.uint64_data_size(); break;
    default: have = tp.int32_data_size(); break;
  }
  if (have != n)
    throw ModelError(fmt::format("tensor '{}' of shape {} holds {} values, expected {}", name, shape_str(shape), have, n),
                     "the file is truncated or corrupt; re-export it", name);
  switch (type) {
    case ElemType::FLOAT: copy_field<float, float>(tp.float_data(), t); break;
    case ElemType::DOUBLE: copy_field<double, double>(tp.double_data(), t); break;
    case ElemType::INT64: copy_field<int64_t, int64_t>(tp.int64_data(), t); break;
    case ElemType::UINT32: copy_field<uint64_t, uint32_t>(tp.uint64_data(), t); break;
    case ElemType::UINT64: copy_field<uint64_t, uint64_t>(tp.uint64_data(), t); break;
    case ElemType::INT32: copy_field<int32_t, int32_t>(tp.int32_data(), t); break;
    case ElemType::INT16: copy_field<int32_t, int16_t>(tp.int32_data(), t); break;
    case ElemType::INT8: copy_field<int32_t, int8_t>(tp.int32_data(), t); break;
    case ElemType::UINT16: case ElemType::FLOAT16: copy_field<int32_t, uint16_t>(tp.int32_data(), t); break;
    case ElemType::UINT8: case ElemType::BOOL: copy_field<int32_t, uint8_t>(tp.int32_data(), t); break;
    default: break;
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  tp->set_name(name);
  tp->set_data_type((int32_t)t.type());
  for (auto d : t.shape()) tp->add_dims(d);
  // Raw little-endian bytes: compact and what every ONNX reader accepts.
  tp->set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

// ---- value info ------------------------------------------------------------

ValueInfo vi_from_proto(const onnx::ValueInfoProto& p) {
  ValueInfo vi;
  vi.name = p.name();
  vi.doc_string = p.doc_string();
  if (p.type().has_tensor_type()) {
    const auto& tt = p.type().tensor_type();
    vi.elem_type = static_cast<ElemType>(tt.elem_type());
    if (tt.has_shape()) {
      vi.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        else if (d.has_dim_param()) dim.param = d.dim_param();
        vi.dims.push_back(dim);
      }
    }
  }
  return vi;
}

void vi_to_proto(const ValueInfo& vi, onnx::ValueInfoProto* p) {
  p->set_name(vi.name);
  if (!vi.doc_string.empty()) p->set_doc_string(vi.doc_string);
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type((int32_t)vi.elem_type);
  if (vi.has_shape) {
    auto* sh = tt->mutable_shape();
    for (const auto& d : vi.dims) {
      auto* pd = sh->add_dim();
      if (d.value >= 0) pd->set_dim_value(d.value);
      else if (!d.param.empty()) pd->set_dim_param(d.param);
    }
  }
}

// ---- attributes ------------------------------------------------------------

Attribute attr_from_proto(const onnx::AttributeProto& p, const std::string& base_dir, const std::string& node) {
  Attribute a;
  a.name = p.name();
  a.doc_string = p.doc_string();
  a.ref_attr_name = p.ref_attr_name();
  auto type = static_cast<AttrType>(p.type());
  if (type == AttrType::UNDEFINED) {
    // Very old exporters leave the type unset; deduce it from the filled field.
    if (p.has_f()) type = AttrType::FLOAT;
    else if (p.has_i()) type = AttrType::INT;
    else if (p.has_s()) type = AttrType::STRING;
    else if (p.has_t()) type = AttrType::TENSOR;
    else if (p.floats_size()) type = AttrType::FLOATS;
    else if (p.ints_size()) type = AttrType::INTS;
    else if (p.strings_size()) type = AttrType::STRINGS;
    else if (p.tensors_size()) type = AttrType::TENSORS;
  }
  a.type = type;
  switch (type) {
    case AttrType::FLOAT: a.f = p.f(); break;
    case AttrType::INT: a.i = p.i(); break;
    case AttrType::STRING: a.s = p.s(); break;
    case AttrType::TENSOR: a.t = tensor_from_proto(p.t(), base_dir); break;
    case AttrType::FLOATS: a.floats.assign(p.floats().begin(), p.floats().end()); break;
    case AttrType::INTS: a.ints.assign(p.ints().begin(), p.ints().end()); break;
    case AttrType::STRINGS: a.strings.assign(p.strings().begin(), p.strings().end()); break;
    case AttrType::TENSORS:
      for (const auto& t : p.tensors()) a.tensors.push_back(tensor_from_proto(t, base_dir));
      break;
    case AttrType::UNDEFINED:
      throw ModelError(fmt::format("attribute '{}' of node '{}' has no value", p.name(), node),
                       "the file is corrupt or was written by a broken exporter", node);
    default: a.raw = p.SerializeAsString(); break;  // graphs, sparse tensors, type protos
  }
  return a;
}

void attr_to_proto(const Attribute& a, onnx::AttributeProto* p) {
  if (!a.raw.empty()) {
    p->ParseFromString(a.raw);
    p->set_name(a.name);
    return;
  }
  p->set_name(a.name);
  p->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
  if (!a.doc_string.empty()) p->set_doc_string(a.doc_string);
  if (!a.ref_attr_name.empty()) p->set_ref_attr_name(a.ref_attr_name);
  switch (a.type) {
    case AttrType::FLOAT: p->set_f(a.f); break;
    case AttrType::INT: p->set_i(a.i); break;
    case AttrType::STRING: p->set_s(a.s); break;
    case AttrType::TENSOR: tensor_to_proto(a.t, "", p->mutable_t()); break;
    case AttrType::FLOATS: for (float f : a.floats) p->add_floats(f); break;
    case AttrType::INTS: for (auto i : a.ints) p->add_ints(i); break;
    case AttrType::STRINGS: for (const auto& s : a.strings) p->add_strings(s); break;
    case AttrType::TENSORS: for (const auto& t : a.tensors) tensor_to_proto(t, "", p->add_tensors()); break;
    default: break;
  }
}

// ---- graph / model ---------------------------------------------------------

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (!len || i + len > n) return false;
    for (int k = 1; k < len; ++k)
      if (((unsigned char)s[i + k] >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

// Names are text to every ONNX reader; bytes that are not UTF-8 mean the
// file is corrupt, and would otherwise fail later far from the cause.
void check_text(const std::string& s, const char* what) {
  if (!valid_utf8(s))
    throw ModelError(fmt::format("the model contains a {} that is not valid UTF-8 text", what),
                     "the file is corrupt; re-export it");
}

Graph graph_from_proto(const onnx::GraphProto& g, const std::string& base_dir) {
  Graph r;
  r.name = g.name();
  r.doc_string = g.doc_string();
  for (const auto& n : g.node()) {
    Node node;
    check_text(n.name(), "node name");
    check_text(n.op_type(), "op_type");
    check_text(n.domain(), "domain");
    for (const auto& t : n.input()) check_text(t, "tensor name");
    for (const auto& t : n.output()) check_text(t, "tensor name");
    for (const auto& a : n.attribute()) check_text(a.name(), "attribute name");
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain();
    node.doc_string = n.doc_string();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) node.attrs.push_back(attr_from_proto(a, base_dir, n.name()));
    if (node.op_type.empty())
      throw ModelError(fmt::format("node '{}' has no op_type", node.name), "the file is corrupt; re-export it",
                       node.name);
    r.nodes.push_back(std::move(node));
  }
  for (const auto* list : {&g.input(), &g.output(), &g.value_info()})
    for (const auto& vi : *list) check_text(vi.name(), "tensor name");
  for (const auto& t : g.initializer()) check_text(t.name(), "initializer name");
  for (const auto& qa : g.quantization_annotation()) {
    check_text(qa.tensor_name(), "tensor name");
    for (const auto& e : qa.quant_parameter_tensor_names()) {
      check_text(e.key(), "annotation key");
      check_text(e.value(), "annotation value");
    }
  }
  check_text(g.name(), "graph name");
  for (const auto& vi : g.input()) r.inputs.push_back(vi_from_proto(vi));
  for (const auto& vi : g.output()) r.outputs.push_back(vi_from_proto(vi));
  for (const auto& vi : g.value_info()) r.value_info.push_back(vi_from_proto(vi));
  for (const auto& t : g.initializer()) r.initializers.emplace_back(t.name(), tensor_from_proto(t, base_dir));
  for (const auto& s : g.sparse_initializer()) r.raw_sparse_initializers.push_back(s.SerializeAsString());
  for (const auto& qa : g.quantization_annotation()) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& e : qa.quant_parameter_tensor_names()) kv.emplace_back(e.key(), e.value());
    r.quant_annotation.emplace_back(qa.tensor_name(), std::move(kv));
  }
  return r;
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p) {
  p->set_name(g.name);
  if (!g.doc_string.empty()) p->set_doc_string(g.doc_string);
  for (const auto& n : g.nodes) {
    auto* pn = p->add_node();
    pn->set_name(n.name);
    pn->set_op_type(n.op_type);
    if (!n.domain.empty()) pn->set_domain(n.domain);
    if (!n.doc_string.empty()) pn->set_doc_string(n.doc_string);
    for (const auto& i : n.inputs) pn->add_input(i);
    for (const auto& o : n.outputs) pn->add_output(o);
    for (const auto& a : n.attrs) attr_to_proto(a, pn->add_attribute());
  }
  for (const auto& vi : g.inputs) vi_to_proto(vi, p->add_input());
  for (const auto& vi : g.outputs) vi_to_proto(vi, p->add_output());
  for (const auto& vi : g.value_info) vi_to_proto(vi, p->add_value_info());
  for (const auto& [n, t] : g.initializers) tensor_to_proto(t, n, p->add_initializer());
  for (const auto& s : g.raw_sparse_initializers) p->add_sparse_initializer()->ParseFromString(s);
  for (const auto& [t, kv] : g.quant_annotation) {
    auto* qa = p->add_quantization_annotation();
    qa->set_tensor_name(t);
    for (const auto& [k, v] : kv) {
      auto* e = qa->add_quant_parameter_tensor_names();
      e->set_key(k);
      e->set_value(v);
    }
  }
}

// Structural checks that make every later stage safe: unique producers, no
// dangling inputs. Errors name the node and tensor.
void check_structure(const Graph& g) {
  std::set<std::string> defined;
  for (const auto& vi : g.inputs) defined.insert(vi.name);
  for (const auto& [n, t] : g.initializers) defined.insert(n);
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      if (defined.count(o))
        throw ModelError(fmt::format("tensor '{}' is written by {} but is already a graph input, an initializer or "
                                     "another node's output",
                                     o, n.label()),
                         "ONNX graphs are SSA: give each output a unique name", n.name);
      defined.insert(o);
    }
  for (const auto& n : g.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty() && !defined.count(i))
        throw ModelError(fmt::format("node {} reads tensor '{}', which is neither a graph input, an initializer nor "
                                     "produced by any node",
                                     n.label(), i),
                         "the model is missing an initializer or a node; re-export it", n.name);
  for (const auto& o : g.outputs)
    if (!defined.count(o.name))
      throw ModelError(fmt::format("graph output '{}' is not produced by any node", o.name),
                       "the model is incomplete; re-export it", o.name);
}

Model model_from_proto(const onnx::ModelProto& p, const std::string& base_dir) {
  if (!p.has_graph())
    throw ModelError("the data is not an ONNX model (it has no graph)",
                     "pass a .onnx file exported by Brevitas (export_qonnx), qonnx or FINN");
  for (const auto& o : p.opset_import()) check_text(o.domain(), "opset domain");
  for (const auto& kv : p.metadata_props()) {
    check_text(kv.key(), "metadata key");
    check_text(kv.value(), "metadata value");
  }
  check_text(p.producer_name(), "producer name");
  check_text(p.producer_version(), "producer version");
  check_text(p.domain(), "model domain");
  check_text(p.doc_string(), "doc string");
  Model m;
  m.ir_version = p.ir_version();
  for (const auto& o : p.opset_import()) m.opset_imports.push_back({o.domain(), o.version()});
  m.producer_name = p.producer_name();
  m.producer_version = p.producer_version();
  m.domain = p.domain();
  m.model_version = p.model_version();
  m.doc_string = p.doc_string();
  for (const auto& kv : p.metadata_props()) m.metadata_props.emplace_back(kv.key(), kv.value());
  for (const auto& f : p.functions()) m.raw_functions.push_back(f.SerializeAsString());
  m.graph = graph_from_proto(p.graph(), base_dir);
  check_structure(m.graph);
  return m;
}

Model parse(const std::string& bytes, const std::string& base_dir, const std::string& what) {
  if (bytes.empty())
    throw ModelError(fmt::format("{} is empty", what), "export the model again; the file has no content");
  onnx::ModelProto p;
  if (!p.ParseFromString(bytes))
    throw ModelError(fmt::format("{} is not a valid ONNX protobuf (truncated or corrupt)", what),
                     "re-export the model with brevitas.export.export_qonnx or check the file transfer");
  return model_from_proto(p, base_dir);
}

}  // namespace

Model load_model_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw ModelError(fmt::format("model file '{}' does not exist", path), "check the path", path);
  if (fs::is_directory(path, ec))
    throw ModelError(fmt::format("'{}' is a directory, not a model file", path), "pass the .onnx file itself", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError(fmt::format("model file '{}' cannot be read", path), "check its permissions", path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string dir = fs::path(path).parent_path().string();
  return parse(ss.str(), dir.empty() ? "." : dir, fmt::format("model file '{}'", path));
}

Model load_model_bytes(const std::string& bytes) { return parse(bytes, "", "the model bytes"); }

std::string save_model_bytes(const Model& m) {
  onnx::ModelProto p;
  p.set_ir_version(m.ir_version);
  for (const auto& o : m.opset_imports) {
    auto* op = p.add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) p.set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) p.set_producer_version(m.producer_version);
  if (!m.domain.empty()) p.set_domain(m.domain);
  if (m.model_version) p.set_model_version(m.model_version);
  if (!m.doc_string.empty()) p.set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata_props) {
    auto* e = p.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  for (const auto& f : m.raw_functions) p.add_functions()->ParseFromString(f);
  graph_to_proto(m.graph, p.mutable_graph());
  std::string out;
  if (!p.SerializeToString(&out))
    throw ModelError("the model could not be serialized (it exceeds protobuf's 2 GiB limit?)",
                     "reduce the model size");
  return out;
}

void save_model_file(const Model& m, const std::string& path) {
  std::string bytes = save_model_bytes(m);
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path() && !fs::exists(target.parent_path(), ec))
    throw ModelError(fmt::format("directory '{}' does not exist", target.parent_path().string()),
                     "create it first", path);
  fs::path tmp = target;
  tmp += fmt::format(".tmp{}", (unsigned long)std::hash<std::string>{}(path) ^ (unsigned long)bytes.size());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw ModelError(fmt::format("cannot write '{}'", path), "check the directory permissions", path);
    f.write(bytes.data(), (std::streamsize)bytes.size());
    if (!f) {
      fs::remove(tmp, ec);
      throw ModelError(fmt::format("writing '{}' failed (disk full?)", path), "free disk space", path);
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw ModelError(fmt::format("cannot replace '{}'", path), "check the directory permissions", path);
  }
}

}  // namespace sf
