// Index layout of the complete binary trees of TensorSRHT nodes behind
// PolySketch and BlockPolySketch.
#pragma once

#include <cstdint>
#include <vector>

#include "sketches/rng.hpp"

namespace ntk {

/// A tree over `leaves` = 2^levels leaves. Level l (0: the nodes whose
/// children are leaves) holds leaves >> (l + 1) nodes, numbered from
/// node[l]; child slot 2 * (node[l] + k) + side of node k starts at entry
/// slot[...] of a buffer holding leaf_padded entries per slot at level 0 and
/// node_padded above.
struct TreeLayout {
  int levels = 0;
  std::vector<int64_t> node, slot;
};

inline TreeLayout tree_layout(int leaves, int64_t leaf_padded, int64_t node_padded) {
  TreeLayout t;
  while ((1 << t.levels) < leaves) ++t.levels;
  t.node.assign(static_cast<size_t>(t.levels) + 1, 0);
  for (int l = 0; l < t.levels; ++l) t.node[l + 1] = t.node[l] + (leaves >> (l + 1));
  t.slot.assign(2 * static_cast<size_t>(t.node[t.levels]) + 1, 0);
  for (int l = 0; l < t.levels; ++l)
    for (int64_t k = 0; k < (leaves >> (l + 1)); ++k)
      for (int side = 0; side < 2; ++side) {
        const int64_t s = 2 * (t.node[l] + k) + side;
        t.slot[s + 1] = t.slot[s] + (l == 0 ? leaf_padded : node_padded);
      }
  return t;
}

/// The nodes of a tree laid out as t, level by level, node i drawn from
/// stream sub_stream(stream, i): the children of level-0 nodes have
/// leaf_dim entries, the others m, and every node has m output rows.
template <typename Node>
std::vector<Node> tree_nodes(const TreeLayout& t, int leaves, int64_t leaf_dim, int64_t m, uint64_t seed, uint64_t stream) {
  std::vector<Node> nodes;
  for (int l = 0; l < t.levels; ++l) {
    const int64_t child_dim = l == 0 ? leaf_dim : m;
    for (int64_t k = 0; k < (leaves >> (l + 1)); ++k)
      nodes.emplace_back(child_dim, child_dim, m, seed, sub_stream(stream, t.node[l] + k));
  }
  return nodes;
}

}  // namespace ntk
