// Dataflow partitioning: the HW layers of a converted model go into child
// models (one per contiguous HW region), which the parent calls through
// StreamingDataflowPartition nodes; everything else runs on the host.
// The node's "model" attribute has two forms, and both are read:
//  - streamfold's: the child serialized into the attribute, so the parent is
//    one self-contained, executable file (what this pass writes, and what
//    the build passes between steps);
//  - FINN's: the path of the child's .onnx file. The build writes this form
//    for intermediate_models/dataflow_parent.onnx, the file FINN's tools
//    read (streamfold.partition.save_parent_finn_form).
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace sf {

constexpr const char* kSdpOpType = "StreamingDataflowPartition";
// Parent metadata key listing the host-side nodes and why, as a JSON list of
// {"node", "op_type", "reason"} objects (read by streamfold.partition).
constexpr const char* kCpuNodesKey = "streamfold.cpu_nodes";

struct CpuNode {
  std::string node, op_type;
  std::string reason;  // "Softmax_12: no HW implementation; runs on the host after the accelerator"
};

struct PartitionResult {
  Model parent;
  std::vector<Model> children;  // partition_id order (= topological order of their first node)
  std::vector<CpuNode> cpu_nodes;
};

// Splits `m` (after ConvertToHW). Regions are connected HW layers that no
// host node separates: two HW layers share a region only when no path leaves
// the region and comes back, so forks and joins (residual blocks) stay whole
// and the parent stays acyclic. A Reshape/Flatten between two HW layers is
// kept inside (it renames the axes of a row-major stream; the element order
// on the wire does not change).
void partition_dataflow(const Model& m, PartitionResult& r);

}  // namespace sf
