// Typed errors. Every failure a user can cause is one of these, carrying a
// hint that says what to do; the bindings map them onto Python classes that
// derive from streamfold.StreamfoldError.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>

namespace sf {

class StreamfoldError : public std::runtime_error {
 public:
  StreamfoldError(const std::string& msg, std::string hint = "")
      : std::runtime_error(msg), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

// The model itself is wrong: corrupt file, missing initializer, bad attribute,
// dangling tensor, inconsistent shapes. `where` names the node/tensor/field.
class ModelError : public StreamfoldError {
 public:
  ModelError(const std::string& msg, std::string hint = "", std::string where = "")
      : StreamfoldError(msg, std::move(hint)), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

// An op (op_type, domain) that streamfold has no semantics for.
class UnsupportedOpError : public ModelError {
 public:
  UnsupportedOpError(const std::string& msg, std::string hint, std::string node,
                     std::string op_type, std::string domain)
      : ModelError(msg, std::move(hint), node),
        node_(std::move(node)), op_type_(std::move(op_type)), domain_(std::move(domain)) {}
  const std::string& node() const { return node_; }
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }

 private:
  std::string node_, op_type_, domain_;
};

// The caller's inputs do not fit the model: wrong name, shape or dtype.
class InputError : public StreamfoldError {
 public:
  using StreamfoldError::StreamfoldError;
};

// A configuration key is wrong (build configs, folding JSON). `key` names it.
class ConfigError : public StreamfoldError {
 public:
  ConfigError(const std::string& msg, std::string hint = "", std::string key = "")
      : StreamfoldError(msg, std::move(hint)), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace sf
