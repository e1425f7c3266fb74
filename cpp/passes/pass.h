// Passes: named, free functions Model -> changed?. Each registers itself
// with SF_REGISTER_PASS in its own file, under a FINN-style verb-phrase name
// that logs, errors, build configs and Python (`sf.transformation.<Name>()`)
// all use.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "ir/graph.h"

namespace sf {

// Returns true if it changed the model. Must leave the model valid (sorted
// or not, but SSA and executable) and must preserve its function. Never
// write into an existing Tensor's buffer: model copies share buffers, so
// build a new Tensor and set_initializer it.
using PassFn = std::function<bool(Model&)>;

struct PassDef {
  std::string name;   // "AbsorbMulIntoMultiThreshold"
  std::string group;  // "cleanup", "qonnx_to_finn", "streamline", "lower", ...
  std::string doc;    // one line: what it rewrites
  PassFn fn;
  // Apply until it reports no change (most rewrites match one site per call).
  bool fixpoint = true;
};

class PassRegistry {
 public:
  static PassRegistry& instance();
  void add(PassDef def);
  const PassDef* find(const std::string& name) const;
  // Throws ConfigError naming the unknown pass and suggesting close names.
  const PassDef& get(const std::string& name) const;
  std::vector<const PassDef*> all() const;

 private:
  std::vector<PassDef> defs_;
};

struct PassRegistrar {
  explicit PassRegistrar(PassDef def) { PassRegistry::instance().add(std::move(def)); }
};

#define SF_PASS_CONCAT_INNER(a, b) a##b
#define SF_PASS_CONCAT(a, b) SF_PASS_CONCAT_INNER(a, b)
// SF_REGISTER_PASS("FoldConstants", "cleanup", "evaluate all-constant nodes", fold_constants);
#define SF_REGISTER_PASS(name, group, doc, fn) \
  static ::sf::PassRegistrar SF_PASS_CONCAT(sf_pass_registrar_, __LINE__)(::sf::PassDef{name, group, doc, fn, true})
#define SF_REGISTER_PASS_ONCE(name, group, doc, fn) \
  static ::sf::PassRegistrar SF_PASS_CONCAT(sf_pass_registrar_, __LINE__)(::sf::PassDef{name, group, doc, fn, false})

// Applies a pass (to a fixpoint if def.fixpoint). Returns whether anything
// changed. A pass that never settles is a bug: ModelError after max_iters.
bool apply_pass(Model& m, const PassDef& def, int max_iters = 1000);
bool apply_pass(Model& m, const std::string& name);

// ---- refusal notes: why a pass left a node alone ----
// Passes call note_refusal when a node looks like their pattern but a
// condition fails ("per-channel scale after MaxPool_3 needs a non-negative
// scale"). The canonical-form check quotes them for nodes that survive.
struct Refusal {
  std::string node, pass, reason;
};
void note_refusal(const std::string& node, const std::string& pass, const std::string& reason);
std::vector<Refusal> refusals_for(const std::string& node);
void clear_refusals();

// ---- pipeline runner with pass-by-pass verification ----

struct VerifyOptions {
  bool enabled = false;
  std::vector<TensorMap> inputs;  // each entry: one set of graph inputs
  double rtol = 1e-5, atol = 1e-6;  // float tensors; integer-valued ones must match exactly
  // Moving a float scale across a MatMul/Conv changes float32 rounding, so a
  // value sitting within an ulp of a quantizer step may land one step away.
  // Accepted only when the first differing tensor is a quantizer output
  // whose input is still float (non-integral) and at most max(2, 0.1 %) of
  // its elements moved by exactly one step. Integer-input stages stay strict.
  bool allow_boundary_flips = true;
};

struct PassRecord {
  std::string name;
  double seconds = 0;
  bool changed = false;
  int64_t boundary_flips = 0;  // quantizer elements accepted one step away (see VerifyOptions)
};

struct VerifyFailure {
  std::string pass;          // the pass that changed the function
  std::string tensor;        // first differing tensor (a graph output if nothing earlier differs)
  int64_t flat_index = -1;   // first differing element
  std::string index;         // as "(0, 3, 1)"
  double before = 0, after = 0;
  std::string message() const;
};

struct PipelineReport {
  std::vector<PassRecord> passes;
  bool ok = true;
  VerifyFailure failure;  // valid when !ok
};

// Runs the named passes in order. With verification on, executes the model
// before and after every pass that changed it and stops at the first pass
// whose outputs differ.
PipelineReport run_pipeline(Model& m, const std::vector<std::string>& passes, const VerifyOptions& verify = {});

// Compares two executions; fills `f` (except `pass`) and returns false on the
// first difference. Tensors compared by name, in `order`.
bool compare_outputs(const TensorMap& a, const TensorMap& b, const std::vector<std::string>& order, double rtol,
                     double atol, VerifyFailure& f);

}  // namespace sf
