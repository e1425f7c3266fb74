// Dataflow partitioning: the HW layers of a converted model go into child
// models (one per contiguous HW region), which the parent calls through
// StreamingDataflowPartition nodes; everything else runs on the host. FINN
// writes each child to a file and stores its path; streamfold keeps one
// Model in memory, so the child travels serialized in the node's "model"
// attribute and the parent stays a single, executable file.
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
