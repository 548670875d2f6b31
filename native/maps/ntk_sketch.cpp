#include "maps/ntk_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

#include "common/parallel.hpp"
#include "sketches/fwht.hpp"
#include "sketches/product.hpp"

namespace ntk {

namespace {

// Each random parameter is drawn from its own counter stream, named by
// (role, layer, ids): the map is a pure function of (config, seed).
enum Role : uint64_t { kCs0 = 1, kLeafSigns, kTpartSigns, kNodeSigns, kNodeIndex, kBlockIndex, kStart };

uint64_t stream_of(Role role, int layer, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
  // The tag differs from version 1's so that no stream is shared by accident.
  uint64_t s = sub_stream(sub_stream(0x4e544b536b657432ULL, role), static_cast<uint64_t>(layer));
  return sub_stream(sub_stream(sub_stream(s, a), b), c);
}

void check_coefficients(const std::vector<std::vector<double>>& c, int depth, const char* name) {
  if (static_cast<int>(c.size()) != depth)
    throw std::invalid_argument(std::string("NTKSketch: ") + name + " needs one polynomial per layer");
  for (const auto& layer : c) {
    if (layer.empty()) throw std::invalid_argument(std::string("NTKSketch: empty ") + name + " polynomial");
    double sum = 0;
    for (double v : layer) {
      if (!std::isfinite(v) || v < 0)
        throw std::invalid_argument(std::string("NTKSketch: ") + name + " coefficients must be finite and >= 0");
      sum += v;
    }
    if (!(sum > 0)) throw std::invalid_argument(std::string("NTKSketch: ") + name + " polynomial is zero");
  }
}

int floor_log2(int64_t v) {
  int l = 0;
  while ((int64_t{2} << l) <= v) ++l;
  return l;
}

template <typename T>
std::vector<T> random_signs(int64_t n, T scale, uint64_t seed, uint64_t stream) {
  const CounterRng rng(seed, stream);
  std::vector<T> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s[i] = rng.sign(static_cast<uint64_t>(i)) > 0 ? scale : -scale;
  return s;
}

// Signed, zero-padded, transformed: out (padded entries) = H D x.
template <typename T>
void signed_transform(const T* x, const T* signs, int64_t n, int64_t padded, T* out) {
  multiply_pad(x, signs, n, padded, out);
  fwht(out, padded);
}

int64_t random_start(int64_t n, uint64_t seed, uint64_t stream) {
  return static_cast<int64_t>(CounterRng(seed, stream).below(0, static_cast<uint64_t>(n)));
}

// Rows of a product whose first factor is read sequentially from
// first[start ...] with wrap-around at first_len (see NtkSketch::Block), the
// others gathered; times weights[r] if given. Returns the sum of squares.
template <typename T>
double sequential_product(const T* first, int64_t first_len, int64_t start, int parts, const T* const* src,
                          const int32_t* const* index, const T* weights, int64_t rows, T* out) {
  const int32_t* shifted[64];
  double ss = 0;
  for (int64_t r = 0, a = start; r < rows; a = 0) {
    const int64_t len = std::min(rows - r, first_len - a);
    for (int p = 0; p < parts; ++p) shifted[p] = index[p] + r;
    ss += product_rows(first + a, parts, src, shifted, weights ? weights + r : nullptr, len, out + r);
    r += len;
  }
  return ss;
}

// Highest degree of a layer's blocks: K = max(q1, q0 + 1) over the nonzero
// coefficients of P1^h (a) and P0^h (b).
int top_degree(const std::vector<double>& a, const std::vector<double>& b) {
  int top = 0;
  for (size_t j = 0; j < a.size(); ++j)
    if (a[j] > 0) top = std::max(top, static_cast<int>(j));
  for (size_t j = 0; j < b.size(); ++j)
    if (b[j] > 0) top = std::max(top, static_cast<int>(j) + 1);
  return top;
}

// A layer's tree, grown on demand, and the parts of its blocks. Nodes are at
// levels 1..max_level (a level-l node ~ phi^(x)2^l). A degree-k block takes
// the binary decomposition of k into node degrees <= 2^max_level (leaf
// factors for the 1s), except that a power of two is split into its two
// halves (Q_4 = N1_0 N1_1 rather than the transform of a level-2 node, which
// would add a second sampling). Parts of one block cover disjoint leaves,
// hence are independent given the leaf transform.
template <typename T>
class LayerTree {
 public:
  using Map = NtkSketch<T>;

  LayerTree(std::vector<typename Map::Node>& nodes, int top_degree)
      : nodes_(nodes), max_level_(top_degree >= 4 ? floor_log2(top_degree) - 1 : (top_degree == 3 ? 1 : 0)) {}

  // Sources of the factors of a degree-k block.
  std::vector<int> parts_of(int k) {
    std::vector<int> parts;
    int cursor = 0;
    const int whole = k;
    while (k > 0) {
      int s = std::min<int64_t>(int64_t{1} << floor_log2(k), int64_t{1} << max_level_);
      if (k == whole && (k & (k - 1)) == 0 && k >= 2) s = k / 2;
      if (s == 1) {
        parts.push_back(Map::kLeaf);
      } else {
        parts.push_back(node(floor_log2(s), cursor / s));
        cursor += s;
      }
      k -= s;
    }
    return parts;
  }

 private:
  // Source id of node `pos` of `level`, made (children first) on first use.
  int node(int level, int pos) {
    const auto key = std::make_pair(level, pos);
    auto it = id_.find(key);
    if (it != id_.end()) return it->second;
    typename Map::Node n;
    n.level = level;
    if (level == 1) {
      n.child[0] = n.child[1] = Map::kLeaf;
    } else {
      n.child[0] = node(level - 1, 2 * pos);
      n.child[1] = node(level - 1, 2 * pos + 1);
    }
    const int id = Map::kFirstNode + static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(n));
    id_[key] = id;
    return id;
  }

  std::vector<typename Map::Node>& nodes_;
  const int max_level_;
  std::map<std::pair<int, int>, int> id_;
};

template <typename T>
typename NtkSketch<T>::Block make_block(std::vector<int> parts, double weight) {
  typename NtkSketch<T>::Block blk;
  blk.parts = std::move(parts);
  blk.weight = blk.coef = weight;
  return blk;
}

// The blocks of layer h's outputs (parts and weights; rows come later) and
// the tree nodes they use: phi^h from P1^h (a); T^h (h < depth) or psi^h =
// T^h (+) phi^h (h = depth) from P0^h (b), where the phi part of psi^(h-1)
// merges into the polynomial blocks of degree j + 1 (see the header).
template <typename T>
void plan_blocks(typename NtkSketch<T>::Layer& layer, int h, const std::vector<double>& a,
                 const std::vector<double>& b, bool last) {
  using Map = NtkSketch<T>;
  const int top = top_degree(a, b);
  LayerTree<T> tree(layer.nodes, top);
  const double t_norm2 = static_cast<double>(h - 1);  // |T^(h-1)|^2
  // The T^(h-1) (x) phi^(h-1)^(x)j blocks (layers >= 2).
  auto t_blocks = [&](typename Map::Output& out) {
    if (h < 2) return;
    for (size_t j = 0; j < b.size(); ++j) {
      if (b[j] <= 0) continue;
      std::vector<int> parts = tree.parts_of(static_cast<int>(j));
      parts.insert(parts.begin(), Map::kTpart);
      out.blocks.push_back(make_block<T>(parts, t_norm2 * b[j]));
      out.blocks.back().coef = b[j];
    }
  };
  for (size_t j = 0; j < a.size(); ++j)
    if (a[j] > 0) layer.phi.blocks.push_back(make_block<T>(tree.parts_of(static_cast<int>(j)), a[j]));
  // Nodes made so far serve the phi blocks: needed for NNGP features too.
  for (auto& n : layer.nodes) n.nngp = true;
  if (!last) {
    t_blocks(layer.tpart);
    for (size_t j = 0; j < b.size(); ++j)
      if (b[j] > 0) layer.tpart.blocks.push_back(make_block<T>(tree.parts_of(static_cast<int>(j) + 1), b[j]));
  } else {
    t_blocks(layer.psi);
    for (int k = 0; k <= top; ++k) {
      const double w = (k < static_cast<int>(a.size()) ? a[k] : 0.0) +
                       (k >= 1 && k - 1 < static_cast<int>(b.size()) ? b[k - 1] : 0.0);
      if (w > 0) layer.psi.blocks.push_back(make_block<T>(tree.parts_of(k), w));
    }
  }
}

}  // namespace

template <typename T>
NtkSketch<T>::NtkSketch(const NtkSketchConfig& config) : config_(config) {
  const NtkSketchConfig& c = config_;
  if (c.input_dim < 1 || c.depth < 1 || c.features < 1 || c.sketch_dim < 2)
    throw std::invalid_argument("NTKSketch: input_dim, depth, features >= 1 and sketch_dim >= 2 required");
  check_coefficients(c.k1, c.depth, "k1");
  check_coefficients(c.k0, c.depth, "k0");
  node_padded_ = next_pow2(c.sketch_dim);
  choose_input_sketch();
  int64_t phi_dim = dim0_, t_dim = 0;
  std::vector<Layer> layers;
  for (int h = 1; h <= c.depth; ++h) {
    layers.push_back(make_layer(h, phi_dim, t_dim));
    phi_dim = layers.back().phi.dim;
    t_dim = layers.back().tpart.dim;
  }
  layers_ = std::make_shared<const std::vector<Layer>>(std::move(layers));
}

// The layers are the pool's (the same shared_ptr): the kept map computes the
// pool's hidden layers bit for bit and draws nothing itself.
template <typename T>
NtkSketch<T>::NtkSketch(std::shared_ptr<const NtkSketch> pool, const NtkSketchKept& kept)
    : config_(pool ? pool->config_ : throw std::invalid_argument("NTKSketch: kept rows need a pool")),
      identity0_(pool->identity0_),
      dim0_(pool->dim0_),
      node_padded_(pool->node_padded_),
      cs0_(pool->cs0_),
      layers_(pool->layers_),
      max_nodes_(pool->max_nodes_),
      max_leaf_(pool->max_leaf_),
      kept_(true),
      kept_kernel_(kept.kernel) {
  if (pool->kept_) throw std::invalid_argument("NTKSketch: the pool keeps rows itself");
  check_kept(kept);
  keep_rows(kept);
}

// phi^0 = u exactly while the input is at most 2m wide (its transform costs
// no more than a sketch's would); wider inputs are CountSketched to 2m
// buckets (O(nnz), half the collision variance of m buckets).
template <typename T>
void NtkSketch<T>::choose_input_sketch() {
  const NtkSketchConfig& c = config_;
  const int64_t m = c.sketch_dim;
  identity0_ = c.input_dim <= 2 * m;
  if (identity0_) {
    dim0_ = c.input_dim;
  } else {
    dim0_ = std::min(next_pow2(c.input_dim), 2 * next_pow2(m));
    cs0_ = CountSketch<T>(c.input_dim, dim0_, c.seed, stream_of(kCs0, 0));
  }
}

// Layer h (1-based) on phi^(h-1) (phi_dim entries) and T^(h-1) (t_dim).
template <typename T>
typename NtkSketch<T>::Layer NtkSketch<T>::make_layer(int h, int64_t phi_dim, int64_t t_dim) {
  const NtkSketchConfig& c = config_;
  Layer layer;
  draw_leaf_transforms(layer, h, phi_dim, t_dim);
  plan_blocks<T>(layer, h, c.k1[h - 1], c.k0[h - 1], h == c.depth);
  draw_nodes(layer, h);
  int out_id = 0;
  for (Output* out : {&layer.phi, &layer.tpart, &layer.psi}) {
    ++out_id;
    if (out->blocks.empty()) continue;
    allocate_rows(*out, h == c.depth ? c.features : c.sketch_dim, layer.phi_dim, layer.t_dim, c.exact_copies);
    draw_block_samples(*out, layer, h, out_id);
  }
  parameter_bytes_ += static_cast<int64_t>((layer.phi_signs.size() + layer.t_signs.size()) * sizeof(T));
  max_nodes_ = std::max(max_nodes_, static_cast<int64_t>(layer.nodes.size()));
  max_leaf_ = std::max(max_leaf_, layer.phi_padded);
  return layer;
}

// The signs D of the Hadamard transforms of the layer inputs phi^(h-1) and T^(h-1).
template <typename T>
void NtkSketch<T>::draw_leaf_transforms(Layer& layer, int h, int64_t phi_dim, int64_t t_dim) const {
  const uint64_t seed = config_.seed;
  layer.phi_dim = phi_dim;
  layer.phi_padded = next_pow2(phi_dim);
  layer.t_dim = t_dim;
  layer.t_padded = t_dim > 0 ? next_pow2(t_dim) : 0;
  layer.phi_signs = random_signs<T>(phi_dim, T(1), seed, stream_of(kLeafSigns, h));
  if (t_dim > 0) layer.t_signs = random_signs<T>(t_dim, T(1), seed, stream_of(kTpartSigns, h));
}

// Each tree node's samples: the start of its sequential first factor, the
// rows of its second, and the signs of its transform.
template <typename T>
void NtkSketch<T>::draw_nodes(Layer& layer, int h) {
  const NtkSketchConfig& c = config_;
  const int64_t m = c.sketch_dim;
  const int64_t node_count = static_cast<int64_t>(layer.nodes.size());
  for (int64_t i = 0; i < node_count; ++i) {
    Node& n = layer.nodes[i];
    n.start = random_start(source_padded(layer, n.child[0]), c.seed, stream_of(kStart, h, 0, i));
    n.index = sample_rows(m, source_padded(layer, n.child[1]), c.seed, stream_of(kNodeIndex, h, i, 1));
    // 1/sqrt(m) keeps node values at unit scale (E|v|^2 = 1).
    n.signs = random_signs<T>(m, static_cast<T>(1 / std::sqrt(static_cast<double>(m))), c.seed,
                              stream_of(kNodeSigns, h, i));
    parameter_bytes_ += static_cast<int64_t>(m * sizeof(int32_t) + m * sizeof(T));
  }
}

// Row samples of the sampled blocks of output `out_id` (1: phi, 2: T, 3: psi)
// of layer h, once their rows are allocated: the first part is read
// sequentially from a random start when there are several (see Block).
template <typename T>
void NtkSketch<T>::draw_block_samples(Output& out, const Layer& layer, int h, int out_id) {
  const uint64_t seed = config_.seed;
  for (size_t k = 0; k < out.blocks.size(); ++k) {
    Block& blk = out.blocks[k];
    if (blk.copy || blk.parts.empty()) continue;
    const size_t first = blk.parts.size() > 1 ? 1 : 0;  // part 0 sequential when there are several
    if (first == 1)
      blk.start = random_start(source_padded(layer, blk.parts[0]), seed, stream_of(kStart, h, static_cast<uint64_t>(out_id), k + 1));
    for (size_t p = first; p < blk.parts.size(); ++p) {
      blk.index.push_back(sample_rows(blk.rows, source_padded(layer, blk.parts[p]), seed,
                                      stream_of(kBlockIndex, h, static_cast<uint64_t>(out_id), k, p)));
      parameter_bytes_ += static_cast<int64_t>(blk.rows * sizeof(int32_t));
    }
  }
}

template <typename T>
void NtkSketch<T>::check_kept(const NtkSketchKept& kept) const {
  const int64_t count = static_cast<int64_t>(kept.rows.size());
  if (!config_.normalize) throw std::invalid_argument("NTKSketch: kept rows require normalized blocks");
  if (count == 0) throw std::invalid_argument("NTKSketch: kept rows must not be empty");
  if (static_cast<int64_t>(kept.scales.size()) != count)
    throw std::invalid_argument("NTKSketch: one scale per kept row required");
  for (int64_t k = 0; k < count; ++k) {
    if (kept.rows[k] < 0 || kept.rows[k] >= config_.features || (k > 0 && kept.rows[k] <= kept.rows[k - 1]))
      throw std::invalid_argument("NTKSketch: kept rows must be strictly increasing and below features");
    if (!std::isfinite(kept.scales[k]) || !(kept.scales[k] > 0))
      throw std::invalid_argument("NTKSketch: kept scales must be finite and positive");
  }
  for (const Block& blk : last_output(kept.kernel == FeatureKernel::Ntk).blocks)
    if (blk.copy) throw std::invalid_argument("NTKSketch: kept rows require a map without exact copies");
}

// The kept rows of the pool's last output (kept_out_, used in its place): a
// block keeps its parts and weight, and gathers each part at the kept rows'
// sample positions (a sequential first part becomes (start + r) mod its
// length). The rows of a sampled block are alike (independent samples of one
// product), so the kept rows are rescaled to the block's exact norm among
// themselves, a ratio estimator like the whole block: the other rows are
// never computed. Exact copies are refused: their rows are the layer
// input's entries, not alike (measured on Fashion-MNIST, 8,192 of 32,768
// rows: Gram errors up to 0.07 rescaled over the kept rows, 0.15 by the whole
// copy's norm, against 0.035 without copies).
template <typename T>
void NtkSketch<T>::keep_rows(const NtkSketchKept& kept) {
  const Layer& layer = layers_->back();
  const int64_t count = static_cast<int64_t>(kept.rows.size());
  int64_t k = 0;
  for (const Block& blk : last_output(kept.kernel == FeatureKernel::Ntk).blocks) {
    Block nb;
    nb.parts = blk.parts;
    nb.weight = blk.weight;
    nb.coef = blk.coef;
    nb.gathered = true;
    nb.offset = kept_out_.dim;
    const size_t parts = blk.parts.size();
    nb.index.resize(parts);
    for (; k < count && kept.rows[k] < blk.offset + blk.rows; ++k) {
      const int64_t r = kept.rows[k] - blk.offset;
      nb.scales.push_back(static_cast<T>(kept.scales[k]));
      if (blk.parts.empty()) continue;
      if (parts == 1) {
        nb.index[0].push_back(blk.index[0][r]);
      } else {
        nb.index[0].push_back(static_cast<int32_t>((blk.start + r) % source_padded(layer, blk.parts[0])));
        for (size_t p = 1; p < parts; ++p) nb.index[p].push_back(blk.index[p - 1][r]);
      }
    }
    nb.rows = static_cast<int64_t>(nb.scales.size());
    if (nb.rows == 0) continue;
    kept_out_.dim += nb.rows;
    for (const auto& idx : nb.index) parameter_bytes_ += static_cast<int64_t>(idx.size() * sizeof(int32_t));
    kept_out_.blocks.push_back(std::move(nb));
  }
  parameter_bytes_ += count * static_cast<int64_t>(sizeof(T));
  config_.features = count;
}

// The last layer's own output of `ntk`'s features (a kept-rows map's: the pool's).
template <typename T>
const typename NtkSketch<T>::Output& NtkSketch<T>::last_output(bool ntk) const {
  return ntk ? layers_->back().psi : layers_->back().phi;
}

// The output the features are: the kept blocks of a kept-rows map.
template <typename T>
const typename NtkSketch<T>::Output& NtkSketch<T>::final_output(bool ntk) const {
  return kept_ ? kept_out_ : last_output(ntk);
}

// Splits `total` rows among the blocks of an output: one row for the
// constant block; the rest in proportion to the weights (the squared norms),
// which minimises the summed variance when every row of every block has about
// the same relative variance. A single-part leaf or T^(h-1) block whose share
// reaches the dimension of its input becomes an exact copy of that input
// (when `copies`).
// Every block keeps at least min(16, rows / (4 blocks)) rows; when there are
// fewer rows than blocks, the lightest blocks are dropped (tiny feature counts
// only). Deterministic: a pure function of the weights and dimensions.
template <typename T>
void NtkSketch<T>::allocate_rows(Output& out, int64_t total, int64_t leaf_dim, int64_t t_dim, bool copies) {
  std::vector<Block>& blocks = out.blocks;
  std::vector<size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Heaviest first (stable: ties keep the block order).
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return blocks[x].weight > blocks[y].weight; });
  int64_t left = total;
  std::vector<size_t> var;
  for (size_t i : order) {
    Block& blk = blocks[i];
    blk.rows = 0;
    blk.copy = false;
    if (blk.parts.empty()) {
      if (left > 0) {
        blk.rows = 1;
        --left;
      }
    } else {
      var.push_back(i);
    }
  }
  for (bool changed = copies; changed && !var.empty();) {
    changed = false;
    double wsum = 0;
    for (size_t i : var) wsum += blocks[i].weight;
    for (size_t k = 0; k < var.size(); ++k) {
      Block& blk = blocks[var[k]];
      if (blk.parts.size() != 1 || (blk.parts[0] != kLeaf && blk.parts[0] != kTpart)) continue;
      const int64_t dim = blk.parts[0] == kLeaf ? leaf_dim : t_dim;
      if (dim <= left && static_cast<double>(left) * blk.weight / wsum >= static_cast<double>(dim)) {
        blk.copy = true;
        blk.rows = dim;
        left -= dim;
        var.erase(var.begin() + static_cast<std::ptrdiff_t>(k));
        changed = true;
        break;
      }
    }
  }
  if (!var.empty() && left > 0) {
    const int64_t count = static_cast<int64_t>(var.size());
    if (left < count) {
      for (int64_t k = 0; k < left; ++k) blocks[var[k]].rows = 1;
    } else {
      const int64_t min_rows = std::max<int64_t>(1, std::min<int64_t>(16, left / (4 * count)));
      double wsum = 0;
      for (size_t i : var) wsum += blocks[i].weight;
      const int64_t spread = left - min_rows * count;
      int64_t given = 0;
      for (size_t i : var) {
        blocks[i].rows = min_rows + static_cast<int64_t>(std::floor(static_cast<double>(spread) * blocks[i].weight / wsum));
        given += blocks[i].rows;
      }
      blocks[var[0]].rows += left - given;  // rounding to the heaviest block
    }
  }
  // Drop blocks left without rows; lay the rest out in order.
  blocks.erase(std::remove_if(blocks.begin(), blocks.end(), [](const Block& b) { return b.rows == 0; }), blocks.end());
  out.dim = 0;
  for (Block& blk : blocks) {
    blk.offset = out.dim;
    out.dim += blk.rows;
  }
}

template <typename T>
typename NtkSketch<T>::Workspace NtkSketch<T>::make_workspace(FeatureKernel kernel, bool dense) const {
  const int64_t m = config_.sketch_dim;
  const bool ntk = kernel == FeatureKernel::Ntk;
  Workspace ws;
  // Sparse rows keep their unit values in sparse_unit (grown to the longest
  // row): a wide sparse input never needs an input_dim buffer.
  if (dense) ws.unit.resize(static_cast<size_t>(config_.input_dim));
  if (!identity0_ || !dense) ws.phi0.resize(static_cast<size_t>(dim0_));
  ws.leaf.resize(static_cast<size_t>(max_leaf_));
  ws.nodes.resize(static_cast<size_t>(max_nodes_ * node_padded_));
  for (auto& v : ws.phi) v.resize(static_cast<size_t>(m));
  if (ntk) {
    ws.tsrc.resize(static_cast<size_t>(node_padded_));
    for (auto& v : ws.tpart) v.resize(static_cast<size_t>(m));
  }
  return ws;
}

template <typename T>
int64_t NtkSketch<T>::workspace_bytes() const {
  const int64_t m = config_.sketch_dim;
  const int64_t elements = dim0_ + max_leaf_ + max_nodes_ * node_padded_ + node_padded_ + 4 * m;
  return elements * static_cast<int64_t>(sizeof(T));
}

// Padded length of a source of layer products (kLeaf, kTpart or a node).
template <typename T>
int64_t NtkSketch<T>::source_padded(const Layer& layer, int source) const {
  return source == kLeaf ? layer.phi_padded : source == kTpart ? layer.t_padded : node_padded_;
}

// Features of one row (dense, or the CSR row index/value): u = x / |x|,
// phi^0, then each layer's transforms and outputs; the last layer's, times
// |x|, are the features.
template <typename T>
void NtkSketch<T>::transform_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, T* out,
                                 Workspace& ws, FeatureKernel kernel) const {
  const bool ntk = kernel == FeatureKernel::Ntk;
  T norm;
  if (!unit_row(dense, index, value, nnz, ws, norm)) {
    std::fill(out, out + config_.features, T(0));
    return;
  }
  const T* phi = input_sketch_row(dense, index, nnz, ws);
  const T* tprev = nullptr;
  int next = 0;
  const std::vector<Layer>& layers = *layers_;
  for (size_t h = 0; h < layers.size(); ++h) {
    const Layer& layer = layers[h];
    transform_sources(layer, phi, tprev, ntk, ws);
    if (h + 1 == layers.size()) {
      const Output& o = final_output(ntk);
      emit(layer, o, phi, tprev, out, norm, ws);
      // Rows no block took (only when exact copies and constants cover
      // every block) are zeros.
      std::fill(out + o.dim, out + config_.features, T(0));
      return;
    }
    emit(layer, layer.phi, phi, tprev, ws.phi[next].data(), T(1), ws);
    if (ntk) emit(layer, layer.tpart, phi, tprev, ws.tpart[next].data(), T(1), ws);
    phi = ws.phi[next].data();
    tprev = ws.tpart[next].data();
    next ^= 1;
  }
}

// u = x / |x| into ws.unit (dense) or ws.sparse_unit (the CSR row's values),
// and norm = |x|; false for a zero row. |x| is computed in float64, scaled by
// the largest magnitude so squares cannot overflow or underflow (as in the
// exact kernel). The squares are summed in 16 lanes by column index, so a
// CSR row and the same dense row give the same bits (zeros add nothing to a
// lane).
template <typename T>
bool NtkSketch<T>::unit_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, Workspace& ws,
                            T& norm) const {
  const int64_t d = config_.input_dim;
  const int64_t count = dense ? d : nnz;
  const T* vals = dense ? dense : value;
  T tmax = 0;
#pragma omp simd reduction(max : tmax)
  for (int64_t i = 0; i < count; ++i) tmax = std::max(tmax, std::fabs(vals[i]));
  const double amax = static_cast<double>(tmax);
  if (amax == 0) return false;
  const double inv_amax = 1 / amax;
  double lanes[16] = {};
  if (dense) {
    int64_t i = 0;
    for (; i + 16 <= d; i += 16)
      for (int l = 0; l < 16; ++l) {
        const double v = static_cast<double>(vals[i + l]) * inv_amax;
        lanes[l] += v * v;
      }
    for (; i < d; ++i) {
      const double v = static_cast<double>(vals[i]) * inv_amax;
      lanes[i & 15] += v * v;
    }
  } else {
    for (int64_t k = 0; k < nnz; ++k) {
      const double v = static_cast<double>(vals[k]) * inv_amax;
      lanes[index[k] & 15] += v * v;
    }
  }
  double ss = 0;
  for (double v : lanes) ss += v;
  const double scaled = std::sqrt(ss);
  norm = static_cast<T>(amax * scaled);
  const double inv_norm = 1 / (amax * scaled);
  T* unit = ws.unit.data();
  if (!dense) {
    if (static_cast<int64_t>(ws.sparse_unit.size()) < nnz) ws.sparse_unit.resize(static_cast<size_t>(nnz));
    unit = ws.sparse_unit.data();
  }
  for (int64_t i = 0; i < count; ++i) unit[i] = static_cast<T>(static_cast<double>(vals[i]) * inv_norm);
  return true;
}

// phi^0 of the unit row left by unit_row: u itself (scattered when sparse),
// or its CountSketch rescaled to the exact norm |u| = 1 (see the header).
template <typename T>
const T* NtkSketch<T>::input_sketch_row(const T* dense, const int32_t* index, int64_t nnz, Workspace& ws) const {
  const T* unit = dense ? ws.unit.data() : ws.sparse_unit.data();
  if (identity0_) {
    if (dense) return unit;
    std::fill(ws.phi0.begin(), ws.phi0.end(), T(0));
    for (int64_t k = 0; k < nnz; ++k) ws.phi0[index[k]] = unit[k];
    return ws.phi0.data();
  }
  const int64_t d = config_.input_dim;
  const RowView<T> u = dense ? RowView<T>::dense_row(unit, d) : RowView<T>::sparse_row(index, unit, nnz, d);
  cs0_.apply(u, ws.phi0.data());
  const double cs_ss = config_.normalize ? sum_squares(ws.phi0.data(), dim0_) : 0.0;
  if (cs_ss > 0) scale_in_place(ws.phi0.data(), dim0_, static_cast<T>(1 / std::sqrt(cs_ss)));
  return ws.phi0.data();
}

// Transformed source s (kLeaf, kTpart or a node) of the current layer.
template <typename T>
inline const T* NtkSketch<T>::source(const Workspace& ws, int s) const {
  if (s == kLeaf) return ws.leaf.data();
  if (s == kTpart) return ws.tsrc.data();
  return ws.nodes.data() + static_cast<int64_t>(s - kFirstNode) * node_padded_;
}

// The sources of a layer's products: H D phi^(h-1) (the leaf), H D T^(h-1)
// (NTK, layers >= 2), then the tree nodes in order (a node reads only the
// leaf and earlier nodes); NNGP features skip the nodes only psi needs.
template <typename T>
void NtkSketch<T>::transform_sources(const Layer& layer, const T* phi, const T* tprev, bool ntk, Workspace& ws) const {
  signed_transform(phi, layer.phi_signs.data(), layer.phi_dim, layer.phi_padded, ws.leaf.data());
  if (ntk && layer.t_dim > 0)
    signed_transform(tprev, layer.t_signs.data(), layer.t_dim, layer.t_padded, ws.tsrc.data());
  const int64_t m = config_.sketch_dim;
  for (size_t i = 0; i < layer.nodes.size(); ++i) {
    const Node& n = layer.nodes[i];
    if (!ntk && !n.nngp) continue;
    T* v = ws.nodes.data() + static_cast<int64_t>(i) * node_padded_;
    const T* second = source(ws, n.child[1]);
    const int32_t* second_index = n.index.data();
    sequential_product(source(ws, n.child[0]), source_padded(layer, n.child[0]), n.start, 1, &second, &second_index,
                       n.signs.data(), m, v);
    std::fill(v + m, v + node_padded_, T(0));
    fwht(v, node_padded_);
  }
}

// dst (o.dim entries) = the blocks of output o, each times factor: phi and
// tprev are the layer inputs (for exact copies), ws holds the sources.
template <typename T>
void NtkSketch<T>::emit(const Layer& layer, const Output& o, const T* phi, const T* tprev, T* dst, T factor,
                        const Workspace& ws) const {
  for (const Block& blk : o.blocks) {
    T* dd = dst + blk.offset;
    if (blk.parts.empty()) {
      dd[0] = static_cast<T>(std::sqrt(blk.weight)) * factor;
      continue;
    }
    if (!config_.normalize && blk.copy) {
      // Plain product sketch: the copy times sqrt(c).
      const T* in = blk.parts[0] == kLeaf ? phi : tprev;
      std::copy(in, in + blk.rows, dd);
      scale_in_place(dd, blk.rows, static_cast<T>(std::sqrt(blk.coef) * static_cast<double>(factor)));
      continue;
    }
    double bss;
    if (!blk.gathered && blk.copy) {
      const T* in = blk.parts[0] == kLeaf ? phi : tprev;
      std::copy(in, in + blk.rows, dd);
      bss = sum_squares(dd, blk.rows);
    } else {
      bss = sample_block(layer, blk, ws, dd);
    }
    // Rescale to the exact squared norm `weight` (times |x|^2 at the end);
    // the plain product sketch: sqrt(c / rows) prod_i (H D s_i)[P_i(r)].
    const T scale =
        !config_.normalize ? static_cast<T>(std::sqrt(blk.coef / static_cast<double>(blk.rows)) * static_cast<double>(factor))
        : bss > 0          ? static_cast<T>(std::sqrt(blk.weight / bss) * static_cast<double>(factor))
                           : T(0);
    scale_in_place(dd, blk.rows, scale);
  }
}

// dd (blk.rows entries) = the sampled products of a block's parts (gathered
// kept rows, one uniformly sampled part, or a sequential first part times
// sampled others); returns their sum of squares.
template <typename T>
double NtkSketch<T>::sample_block(const Layer& layer, const Block& blk, const Workspace& ws, T* dd) const {
  // A block has at most 2 + log2(degree) parts (degree <= 64 here).
  const T* src[64];
  const int32_t* idx[64];
  if (blk.gathered) {
    const int parts = static_cast<int>(blk.index.size());
    for (int p = 0; p < parts; ++p) {
      src[p] = source(ws, blk.parts[p]);
      idx[p] = blk.index[p].data();
    }
    return product_rows(static_cast<const T*>(nullptr), parts, src, idx, blk.scales.data(), blk.rows, dd);
  }
  const int parts = static_cast<int>(blk.parts.size());
  if (parts == 1) {
    const T* s0 = source(ws, blk.parts[0]);
    const int32_t* i0 = blk.index[0].data();
    return product_rows(static_cast<const T*>(nullptr), 1, &s0, &i0, nullptr, blk.rows, dd);
  }
  for (int p = 1; p < parts; ++p) {
    src[p - 1] = source(ws, blk.parts[p]);
    idx[p - 1] = blk.index[p - 1].data();
  }
  const int first = blk.parts[0];
  return sequential_product(source(ws, first), source_padded(layer, first), blk.start, parts - 1, src, idx,
                            static_cast<const T*>(nullptr), blk.rows, dd);
}

template <typename T>
std::vector<int64_t> NtkSketch<T>::constant_rows(FeatureKernel kernel) const {
  std::vector<int64_t> rows;
  if (kept_ && kernel != kept_kernel_) return rows;  // the other kernel's rows are not computed
  const Output& o = final_output(kernel == FeatureKernel::Ntk);
  for (const Block& blk : o.blocks)
    if (blk.parts.empty()) rows.push_back(blk.offset);
  return rows;
}

template <typename T>
void NtkSketch<T>::check_kernel(FeatureKernel kernel) const {
  if (kept_ && kernel != kept_kernel_)
    throw std::invalid_argument("NTKSketch: the map keeps rows of the other kernel's features");
}

// Rows are independent and run one at a time per thread: the per-row working
// set (the transforms a layer gathers from, sketch_dim entries each) is what
// must stay in L1/L2, and the random parameters (row indices, ~4 bytes per
// factor and output row: ~0.2 MB at the defaults) are read once per row,
// sequentially, from L2. Processing blocks of rows together would multiply
// the transforms' footprint by the block size to save at most that stream
// (about 3 % of the time per row), so it is not done.
// Multiply-adds per row, roughly: every layer sweeps the workspace's vectors
// (leaves, nodes, phi and T) with transforms of log2(sketch_dim) passes.
template <typename T>
int64_t NtkSketch<T>::row_work() const {
  int64_t log_m = 1;
  while ((int64_t{1} << log_m) < config_.sketch_dim) ++log_m;
  return config_.input_dim + config_.depth * (workspace_bytes() / static_cast<int64_t>(sizeof(T))) * log_m;
}

template <typename T>
void NtkSketch<T>::transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const {
  check_kernel(kernel);
  const int64_t d = config_.input_dim, f = config_.features;
  parallel_rows(
      n, row_work(), [&]() { return make_workspace(kernel, true); },
      [&](int64_t i, Workspace& ws) { transform_row(x + i * d, nullptr, nullptr, 0, out + i * f, ws, kernel); });
}

template <typename T>
void NtkSketch<T>::transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n,
                                 T* out, FeatureKernel kernel) const {
  check_kernel(kernel);
  const int64_t f = config_.features;
  parallel_rows(
      n, row_work(), [&]() { return make_workspace(kernel, false); },
      [&](int64_t i, Workspace& ws) {
        const int64_t begin = indptr[i], end = indptr[i + 1];
        transform_row(nullptr, indices + begin, values + begin, end - begin, out + i * f, ws, kernel);
      });
}

template class NtkSketch<float>;
template class NtkSketch<double>;

}  // namespace ntk
