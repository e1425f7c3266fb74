// RemoveEmptyPadding: Pad nodes whose pads are all zero (Brevitas exports
// them for padding=0 layers in some versions) are identities; FINN removes
// them before lowering so Im2Col never sees a Pad.
#include "passes/cleanup/identity.h"
#include "passes/pass.h"

namespace sf {
namespace {

bool remove_empty_padding(Model& m) {
  Graph& g = m.graph;
  for (int i = 0; i < (int)g.nodes.size(); ++i)
    if (cleanup::pad_is_empty(g, g.nodes[i]) && cleanup::remove_identity_node(g, i, g.nodes[i].inputs[0]))
      return true;
  return false;
}

}  // namespace

SF_REGISTER_PASS("RemoveEmptyPadding", "qonnx_to_finn", "remove Pad nodes with all-zero pads", remove_empty_padding);

}  // namespace sf
