// NTKSketch features on the GPU: the same computation as
// maps/ntk_sketch.cpp (read its header for the math), batch of rows by
// batch of rows, with the same operations in the same order, so the features
// are bit-identical to the CPU path's:
//   - every multiply and add is rounded on its own (__fmul_rn / __fadd_rn:
//     nvcc would otherwise fuse them, the CPU build never does);
//   - sums of squares use the CPU's 16 interleaved lanes (lane = row mod 16
//     within each contiguous segment), each lane summed in order by one
//     thread, the lanes reduced in order;
//   - the Walsh–Hadamard transform runs radix-2 stages by increasing stride;
//   - the CountSketch hash is the shared count_sketch_hash().
// Layout: one thread per (input row, lane) in the product kernels (16
// threads per row), one thread block per row piece in the transforms. The
// random parameters (row samples, signs: about 4 bytes per factor and output
// row) are uploaded once, when the GPU map is built from the CPU map, and
// stay on the device for the GPU map's lifetime.
#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_util.cuh"
#include "maps/feature_map.hpp"
#include "maps/ntk_sketch.hpp"

namespace ntk {

namespace {

constexpr int kLanes = 16;
constexpr int kRowsPerBlock = 8;  // 8 rows x 16 lanes = 128 threads
constexpr int kMaxParts = 16;
// Entries of one Walsh–Hadamard piece staged in shared memory (16 KiB of float).
constexpr int64_t kFwhtShared = 4096;
// Device workspace per batch of rows.
constexpr int64_t kBatchBytes = int64_t{1} << 30;

__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline double add(double a, double b) { return __dadd_rn(a, b); }
__device__ inline float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline double sub(double a, double b) { return __dsub_rn(a, b); }

// Sum of the 16 lanes of a row (threads base..base+15 of the warp), as
// double, in lane order: the CPU's reduce_lanes. Every lane gets the sum.
template <typename V>
__device__ inline double reduce_lanes(V lane_value) {
  const int base = (threadIdx.x % 32) & ~(kLanes - 1);
  double s = 0;
  for (int k = 0; k < kLanes; ++k)
    s = __dadd_rn(s, static_cast<double>(__shfl_sync(0xffffffffu, lane_value, base + k)));
  return s;
}

// ---------------------------------------------------------------- unit rows

// Per row: norm (T; 0 for a zero row) and u = x / |x| into unit (dense:
// d entries; CSR: one per non-zero), as transform_row does.
template <typename T>
__global__ void unit_rows_kernel(const T* __restrict__ dense, const int64_t* __restrict__ indptr,
                                 const int32_t* __restrict__ indices, const T* __restrict__ values, int64_t n,
                                 int64_t d, T* __restrict__ unit, T* __restrict__ norms) {
  const int lane = threadIdx.x % kLanes;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kLanes;
  const bool live = row < n;
  const T* vals = nullptr;
  int64_t count = 0;
  if (live) {
    if (dense) {
      vals = dense + row * d;
      count = d;
    } else {
      vals = values + indptr[row];
      count = indptr[row + 1] - indptr[row];
    }
  }
  T tmax = 0;
  for (int64_t i = lane; i < count; i += kLanes) tmax = fmax(tmax, fabs(vals[i]));
  for (int o = kLanes / 2; o > 0; o /= 2) tmax = fmax(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
  const double amax = static_cast<double>(tmax);
  const double inv_amax = amax > 0 ? 1.0 / amax : 0.0;
  // Lane l sums the squares of the columns = l mod 16, in column order.
  double acc = 0;
  if (dense) {
    for (int64_t i = lane; i < count; i += kLanes) {
      const double v = __dmul_rn(static_cast<double>(vals[i]), inv_amax);
      acc = __dadd_rn(acc, __dmul_rn(v, v));
    }
  } else if (live) {
    const int32_t* idx = indices + indptr[row];
    for (int64_t k = 0; k < count; ++k) {
      if ((idx[k] & (kLanes - 1)) != lane) continue;
      const double v = __dmul_rn(static_cast<double>(vals[k]), inv_amax);
      acc = __dadd_rn(acc, __dmul_rn(v, v));
    }
  }
  const double ss = reduce_lanes(acc);
  if (!live) return;
  T* u = unit + (dense ? row * d : indptr[row]);
  if (amax == 0) {
    for (int64_t i = lane; i < count; i += kLanes) u[i] = 0;
    if (lane == 0) norms[row] = 0;
    return;
  }
  const double scaled = sqrt(ss);
  const double inv_norm = 1.0 / __dmul_rn(amax, scaled);
  for (int64_t i = lane; i < count; i += kLanes) u[i] = static_cast<T>(__dmul_rn(static_cast<double>(vals[i]), inv_norm));
  if (lane == 0) norms[row] = static_cast<T>(__dmul_rn(amax, scaled));
}

// phi^0 of each row (zeroed before) from its unit values: the row itself
// scattered into place (identity, CSR input) or its CountSketch, one thread
// per row so the buckets add in the CPU's order.
template <typename T>
__global__ void input_sketch_kernel(const T* __restrict__ unit, const int64_t* __restrict__ indptr,
                                    const int32_t* __restrict__ indices, int64_t n, int64_t d, bool identity,
                                    CounterRng rng, int64_t dim0, T* __restrict__ phi0) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= n) return;
  T* out = phi0 + row * dim0;  // zeroed by the caller
  const bool dense = indptr == nullptr;
  const int64_t count = dense ? d : indptr[row + 1] - indptr[row];
  const T* u = unit + (dense ? row * d : indptr[row]);
  const int32_t* idx = dense ? nullptr : indices + indptr[row];
  for (int64_t k = 0; k < count; ++k) {
    const T v = u[k];
    const int64_t i = dense ? k : idx[k];
    if (identity) {
      out[i] = v;
      continue;
    }
    if (v == T(0)) continue;
    int64_t bucket;
    bool negative;
    count_sketch_hash(rng, dim0, i, &bucket, &negative);
    out[bucket] = add(out[bucket], mul(negative ? T(-1) : T(1), v));
  }
}

// ------------------------------------------------------- Walsh–Hadamard

// out[row][i] = in[row][i] * signs[i] for i < dim, 0 up to padded.
template <typename T>
__global__ void signed_pad_kernel(const T* __restrict__ in, int64_t in_pitch, const T* __restrict__ signs, int64_t dim,
                                  int64_t padded, T* __restrict__ out, int64_t n) {
  const int64_t row = blockIdx.y;
  if (row >= n) return;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < padded;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[row * padded + i] = i < dim ? mul(in[row * in_pitch + i], signs[i]) : T(0);
}

// Stages of stride 1 .. piece/2 on each piece of `piece` entries, in shared memory.
template <typename T>
__global__ void fwht_piece_kernel(T* __restrict__ data, int64_t pitch, int64_t piece) {
  extern __shared__ unsigned char smem_raw[];
  T* s = reinterpret_cast<T*>(smem_raw);
  T* x = data + static_cast<int64_t>(blockIdx.y) * pitch + static_cast<int64_t>(blockIdx.x) * piece;
  for (int64_t i = threadIdx.x; i < piece; i += blockDim.x) s[i] = x[i];
  __syncthreads();
  for (int64_t h = 1; h < piece; h *= 2) {
    for (int64_t t = threadIdx.x; t < piece / 2; t += blockDim.x) {
      const int64_t i = (t / h) * 2 * h + t % h;
      const T u = s[i], v = s[i + h];
      s[i] = add(u, v);
      s[i + h] = sub(u, v);
    }
    __syncthreads();
  }
  for (int64_t i = threadIdx.x; i < piece; i += blockDim.x) x[i] = s[i];
}

// One stage of stride h over whole rows (strides beyond a shared piece).
template <typename T>
__global__ void fwht_stage_kernel(T* __restrict__ data, int64_t len, int64_t pitch, int64_t h) {
  T* x = data + static_cast<int64_t>(blockIdx.y) * pitch;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < len / 2;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = (t / h) * 2 * h + t % h;
    const T u = x[i], v = x[i + h];
    x[i] = add(u, v);
    x[i + h] = sub(u, v);
  }
}

template <typename T>
void fwht_rows(T* data, int64_t rows, int64_t len, int64_t pitch) {
  const int64_t piece = std::min<int64_t>(len, kFwhtShared);
  const dim3 grid(static_cast<unsigned>(len / piece), static_cast<unsigned>(rows));
  fwht_piece_kernel<T><<<grid, 256, static_cast<size_t>(piece) * sizeof(T)>>>(data, pitch, piece);
  for (int64_t h = piece; h < len; h *= 2) {
    const dim3 g(static_cast<unsigned>(std::min<int64_t>((len / 2 + 255) / 256, 1024)), static_cast<unsigned>(rows));
    fwht_stage_kernel<T><<<g, 256>>>(data, len, pitch, h);
  }
  cuda_check(cudaGetLastError(), "kernel launch");
}

// ------------------------------------------------------------ products

// Row r < rows of a product (a block or a tree node), for every input row:
//   v_r = first[(start + r) mod first_len] (or, without first, the first
//         gathered part) * prod_p src_p[index_p[r]] * weights[r],
// with the squares summed per contiguous run of `first` (the CPU's
// sequential_product segments), then an optional rescale:
//   normalize: v *= sqrt(weight / sum of squares) * factor (0 if the sum is 0)
//   plain:     v *= sqrt(plain) * factor
//   unit:      v *= 1 / sqrt(sum of squares) (if > 0; the input CountSketch)
// factor = norms[row] (the last layer) or 1. Entries rows .. pad_to are
// zeroed; a row whose norm is 0 gets zeros (the last layer only).
template <typename T>
struct ProductArgs {
  const T* first = nullptr;
  int64_t first_pitch = 0, first_len = 0, start = 0;
  int parts = 0;
  const T* src[kMaxParts] = {};
  int64_t src_pitch[kMaxParts] = {};
  const int32_t* index[kMaxParts] = {};
  const T* weights = nullptr;
  int64_t rows = 0, pad_to = 0;
  T* out = nullptr;
  int64_t out_pitch = 0;
  int rescale = 0;  // 0 none, 1 normalize, 2 plain, 3 unit
  double weight = 0, plain = 0;
  const T* norms = nullptr;
};

template <typename T>
__global__ void product_kernel(ProductArgs<T> a, int64_t n) {
  const int lane = threadIdx.x % kLanes;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kLanes;
  const bool live = row < n;
  const T* first = a.first ? a.first + (live ? row : 0) * a.first_pitch : nullptr;
  const T* src[kMaxParts];
  for (int p = 0; p < a.parts; ++p) src[p] = a.src[p] + (live ? row : 0) * a.src_pitch[p];
  T* out = a.out + (live ? row : 0) * a.out_pitch;
  double ss = 0;
  // Segments: the same for every row, so the shuffles below stay uniform.
  for (int64_t r = 0, off = a.start; r < a.rows; off = 0) {
    const int64_t len = first && a.first_len - off < a.rows - r ? a.first_len - off : a.rows - r;
    T acc = 0;
    if (live) {
      for (int64_t k = lane; k < len; k += kLanes) {
        const int64_t rr = r + k;
        T v;
        int p = 0;
        if (first) {
          v = first[off + k];
        } else {
          v = src[0][a.index[0][rr]];
          p = 1;
        }
        for (; p < a.parts; ++p) v = mul(v, src[p][a.index[p][rr]]);
        if (a.weights) v = mul(v, a.weights[rr]);
        out[rr] = v;
        acc = add(acc, mul(v, v));
      }
    }
    ss = __dadd_rn(ss, reduce_lanes(acc));
    r += len;
  }
  if (!live) return;
  if (a.rescale != 0) {
    const double factor = a.norms ? static_cast<double>(a.norms[row]) : 1.0;
    T scale;
    if (a.rescale == 1)
      scale = ss > 0 ? static_cast<T>(__dmul_rn(sqrt(a.weight / ss), factor)) : T(0);
    else if (a.rescale == 2)
      scale = static_cast<T>(__dmul_rn(sqrt(a.plain), factor));
    else
      scale = ss > 0 ? static_cast<T>(1.0 / sqrt(ss)) : T(1);
    // A zero input row gives +0 everywhere, as on the CPU (v * 0 would keep signs).
    const bool zero_row = a.norms && a.norms[row] == T(0);
    for (int64_t k = lane; k < a.rows; k += kLanes) out[k] = zero_row ? T(0) : mul(out[k], scale);
  }
  for (int64_t k = a.rows + lane; k < a.pad_to; k += kLanes) out[k] = T(0);
}

// The constant block: out[row][0] = sqrt(weight) * norm (or * 1).
template <typename T>
__global__ void constant_kernel(T* out, int64_t pitch, T value, const T* norms, int64_t n) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= n) return;
  out[row * pitch] = norms ? (norms[row] == T(0) ? T(0) : mul(value, norms[row])) : value;
}

// out[row][from .. to) = 0.
template <typename T>
__global__ void zero_tail_kernel(T* out, int64_t pitch, int64_t from, int64_t to, int64_t n) {
  const int64_t row = blockIdx.y;
  if (row >= n) return;
  for (int64_t i = from + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < to;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[row * pitch + i] = T(0);
}

template <typename T>
void launch_product(const ProductArgs<T>& a, int64_t n) {
  product_kernel<T><<<static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock), kRowsPerBlock * kLanes>>>(a, n);
  cuda_check(cudaGetLastError(), "kernel launch");
}

// --------------------------------------------------------- parameters

// The map's random parameters in one device allocation.
class DeviceParameters {
 public:
  template <typename V>
  size_t add(const std::vector<V>& v) {
    const size_t offset = (host_.size() + 15) & ~size_t{15};
    host_.resize(offset + v.size() * sizeof(V));
    if (!v.empty()) std::memcpy(host_.data() + offset, v.data(), v.size() * sizeof(V));
    return offset;
  }
  void upload() {
    buffer_ = std::make_unique<DeviceBuffer<unsigned char>>(std::max<size_t>(host_.size(), 1));
    cuda_check(cudaMemcpy(buffer_->ptr, host_.data(), host_.size(), cudaMemcpyHostToDevice), "copy to device");
  }
  template <typename V>
  const V* at(size_t offset) const {
    return reinterpret_cast<const V*>(buffer_->ptr + offset);
  }
  /// Bytes on the device.
  int64_t bytes() const { return static_cast<int64_t>(host_.size()); }

 private:
  std::vector<unsigned char> host_;
  std::unique_ptr<DeviceBuffer<unsigned char>> buffer_;
};

template <typename T>
class GpuSketch {
 public:
  using Map = NtkSketch<T>;

  explicit GpuSketch(const Map& map) : map_(map) {
    for (const auto& layer : map.layers()) {
      LayerOffsets lo;
      lo.phi_signs = params_.add(layer.phi_signs);
      lo.t_signs = params_.add(layer.t_signs);
      for (const auto& node : layer.nodes) {
        lo.node_index.push_back(params_.add(node.index));
        lo.node_signs.push_back(params_.add(node.signs));
      }
      for (const auto* out : {&layer.phi, &layer.tpart, &layer.psi}) {
        std::vector<std::vector<size_t>> blocks;
        for (const auto& blk : out->blocks) {
          std::vector<size_t> idx;
          for (const auto& v : blk.index) idx.push_back(params_.add(v));
          blocks.push_back(std::move(idx));
        }
        lo.block_index.push_back(std::move(blocks));
      }
      offsets_.push_back(std::move(lo));
    }
    params_.upload();
  }

  /// Features of n rows (dense: x; CSR: indptr/indices/values) into out (host).
  void run(const T* x, const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
           FeatureKernel kernel) const {
    const NtkSketchConfig& c = map_.config();
    const int64_t d = c.input_dim, m = c.sketch_dim, f = c.features, dim0 = map_.input_sketch_dim();
    const int64_t node_padded = map_.node_padded();
    const bool dense = x != nullptr;
    const bool ntk = kernel == FeatureKernel::Ntk;
    // Per-row device workspace, as make_workspace() on the CPU.
    const int64_t unit_len = dense ? d : 0;
    const bool own_phi0 = !map_.identity_input() || !dense;
    const int64_t per_row = unit_len + (own_phi0 ? dim0 : 0) + map_.max_leaf() + node_padded +
                            map_.max_nodes() * node_padded + 4 * m + f + 1;
    // At most 65,535 rows: the y dimension of the row grids.
    const int64_t batch = std::max<int64_t>(
        1, std::min<int64_t>({n, kBatchBytes / (per_row * static_cast<int64_t>(sizeof(T))), int64_t{65535}}));
    DeviceBuffer<T> w_unit(static_cast<size_t>(batch * unit_len)), w_phi0(own_phi0 ? static_cast<size_t>(batch * dim0) : 0),
        w_leaf(static_cast<size_t>(batch * map_.max_leaf())), w_tsrc(static_cast<size_t>(batch * node_padded)),
        w_nodes(static_cast<size_t>(batch * map_.max_nodes() * node_padded)), w_phi(static_cast<size_t>(2 * batch * m)),
        w_tpart(static_cast<size_t>(2 * batch * m)), w_out(static_cast<size_t>(batch * f)), w_norm(static_cast<size_t>(batch));
    // CSR rows of a batch: indptr rebased to 64-bit offsets, indices, values, unit values.
    std::vector<int64_t> host_ptr;
    for (int64_t i0 = 0; i0 < n; i0 += batch) {
      const int64_t b = std::min(batch, n - i0);
      const unsigned row_blocks = static_cast<unsigned>((b + kRowsPerBlock - 1) / kRowsPerBlock);
      std::unique_ptr<DeviceBuffer<int64_t>> d_ptr;
      std::unique_ptr<DeviceBuffer<int32_t>> d_idx;
      std::unique_ptr<DeviceBuffer<T>> d_val, d_unit_sparse;
      const T* phi;  // phi^0 rows, pitch phi_pitch
      int64_t phi_pitch;
      if (dense) {
        DeviceBuffer<T> raw(static_cast<size_t>(b * d));
        cuda_check(cudaMemcpy(raw.ptr, x + i0 * d, static_cast<size_t>(b * d) * sizeof(T), cudaMemcpyHostToDevice),
                   "copy to device");
        unit_rows_kernel<T><<<row_blocks, kRowsPerBlock * kLanes>>>(raw.ptr, nullptr, nullptr, nullptr, b, d, w_unit.ptr,
                                                                    w_norm.ptr);
        cuda_check(cudaGetLastError(), "kernel launch");
        cuda_check(cudaDeviceSynchronize(), "unit rows");  // raw is freed next
        phi = w_unit.ptr;
        phi_pitch = d;
      } else {
        const int64_t base = indptr[i0], nnz = indptr[i0 + b] - base;
        host_ptr.resize(static_cast<size_t>(b + 1));
        for (int64_t i = 0; i <= b; ++i) host_ptr[i] = indptr[i0 + i] - base;
        d_ptr = std::make_unique<DeviceBuffer<int64_t>>(static_cast<size_t>(b + 1));
        d_idx = std::make_unique<DeviceBuffer<int32_t>>(static_cast<size_t>(nnz));
        d_val = std::make_unique<DeviceBuffer<T>>(static_cast<size_t>(nnz));
        d_unit_sparse = std::make_unique<DeviceBuffer<T>>(static_cast<size_t>(nnz));
        cuda_check(cudaMemcpy(d_ptr->ptr, host_ptr.data(), (b + 1) * sizeof(int64_t), cudaMemcpyHostToDevice), "copy to device");
        if (nnz > 0) {
          cuda_check(cudaMemcpy(d_idx->ptr, indices + base, nnz * sizeof(int32_t), cudaMemcpyHostToDevice), "copy to device");
          cuda_check(cudaMemcpy(d_val->ptr, values + base, nnz * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
        }
        unit_rows_kernel<T><<<row_blocks, kRowsPerBlock * kLanes>>>(nullptr, d_ptr->ptr, d_idx->ptr, d_val->ptr, b, d,
                                                                    d_unit_sparse->ptr, w_norm.ptr);
        cuda_check(cudaGetLastError(), "kernel launch");
        phi = nullptr;
        phi_pitch = dim0;
      }
      if (own_phi0) {
        cuda_check(cudaMemsetAsync(w_phi0.ptr, 0, static_cast<size_t>(b * dim0) * sizeof(T)), "cudaMemset");
        input_sketch_kernel<T><<<static_cast<unsigned>((b + 127) / 128), 128>>>(
            dense ? w_unit.ptr : d_unit_sparse->ptr, dense ? nullptr : d_ptr->ptr, dense ? nullptr : d_idx->ptr, b, d,
            map_.identity_input(), map_.input_sketch().rng(), dim0, w_phi0.ptr);
        cuda_check(cudaGetLastError(), "kernel launch");
        phi = w_phi0.ptr;
        phi_pitch = dim0;
        if (!map_.identity_input() && c.normalize) {
          // Rescale the CountSketch to the exact norm |u| = 1.
          ProductArgs<T> a;
          a.first = w_phi0.ptr;
          a.first_pitch = dim0;
          a.first_len = dim0;
          a.rows = a.pad_to = dim0;
          a.out = w_phi0.ptr;
          a.out_pitch = dim0;
          a.rescale = 3;
          launch_product(a, b);
        }
      }
      layers(phi, phi_pitch, b, ntk, w_leaf.ptr, w_tsrc.ptr, w_nodes.ptr, w_phi.ptr, w_tpart.ptr, w_out.ptr, w_norm.ptr);
      copy_to_host(out + i0 * f, w_out.ptr, static_cast<size_t>(b * f) * sizeof(T));
    }
  }

 private:
  struct LayerOffsets {
    size_t phi_signs = 0, t_signs = 0;
    std::vector<size_t> node_index, node_signs;
    std::vector<std::vector<std::vector<size_t>>> block_index;  // [phi, tpart, psi][block][part]
  };

  void layers(const T* phi, int64_t phi_pitch, int64_t b, bool ntk, T* leaf, T* tsrc, T* nodes, T* phi_buf,
              T* tpart_buf, T* out, const T* norms) const {
    const NtkSketchConfig& c = map_.config();
    const int64_t m = c.sketch_dim, f = c.features, node_padded = map_.node_padded();
    const auto& all = map_.layers();
    const T* tprev = nullptr;
    int64_t t_pitch = 0;
    int next = 0;
    for (size_t h = 0; h < all.size(); ++h) {
      const auto& layer = all[h];
      const LayerOffsets& lo = offsets_[h];
      const bool last = h + 1 == all.size();
      const bool need_t = ntk && layer.t_dim > 0;
      const int64_t leaf_pitch = layer.phi_padded, tsrc_pitch = layer.t_padded;  // packed rows
      signed_transform(phi, phi_pitch, params_.at<T>(lo.phi_signs), layer.phi_dim, layer.phi_padded, leaf, b);
      if (need_t)
        signed_transform(tprev, t_pitch, params_.at<T>(lo.t_signs), layer.t_dim, layer.t_padded, tsrc, b);
      // A row's tree nodes lie side by side.
      const int64_t node_pitch = map_.max_nodes() * node_padded;
      struct Source {
        const T* ptr;
        int64_t pitch, len;
      };
      auto source = [&](int s) -> Source {
        if (s == Map::kLeaf) return {leaf, leaf_pitch, layer.phi_padded};
        if (s == Map::kTpart) return {tsrc, tsrc_pitch, layer.t_padded};
        return {nodes + static_cast<int64_t>(s - Map::kFirstNode) * node_padded, node_pitch, node_padded};
      };
      for (size_t i = 0; i < layer.nodes.size(); ++i) {
        const auto& nd = layer.nodes[i];
        if (!ntk && !nd.nngp) continue;
        ProductArgs<T> a;
        const Source s0 = source(nd.child[0]), s1 = source(nd.child[1]);
        a.first = s0.ptr;
        a.first_pitch = s0.pitch;
        a.first_len = s0.len;
        a.start = nd.start;
        a.parts = 1;
        a.src[0] = s1.ptr;
        a.src_pitch[0] = s1.pitch;
        a.index[0] = params_.at<int32_t>(lo.node_index[i]);
        a.weights = params_.at<T>(lo.node_signs[i]);
        a.rows = m;
        a.pad_to = node_padded;
        a.out = nodes + static_cast<int64_t>(i) * node_padded;
        a.out_pitch = node_pitch;
        launch_product(a, b);
        fwht_rows(a.out, b, node_padded, node_pitch);
      }
      auto emit = [&](const typename Map::Output& o, int which, T* dst, int64_t dst_pitch, const T* factor) {
        for (size_t k = 0; k < o.blocks.size(); ++k) {
          const auto& blk = o.blocks[k];
          T* dd = dst + blk.offset;
          if (blk.parts.empty()) {
            constant_kernel<T><<<static_cast<unsigned>((b + 127) / 128), 128>>>(
                dd, dst_pitch, static_cast<T>(std::sqrt(blk.weight)), factor, b);
            cuda_check(cudaGetLastError(), "kernel launch");
            continue;
          }
          ProductArgs<T> a;
          a.rows = a.pad_to = blk.rows;
          a.out = dd;
          a.out_pitch = dst_pitch;
          a.norms = factor;
          a.rescale = c.normalize ? 1 : 2;
          a.weight = blk.weight;
          if (blk.copy) {
            const bool from_leaf = blk.parts[0] == Map::kLeaf;
            a.first = from_leaf ? phi : tprev;
            a.first_pitch = from_leaf ? phi_pitch : t_pitch;
            a.first_len = blk.rows;
            a.plain = blk.coef;
          } else {
            a.plain = blk.coef / static_cast<double>(blk.rows);
            const int parts = static_cast<int>(blk.parts.size());
            if (parts > kMaxParts) throw std::runtime_error("NTKSketch CUDA: too many factors in a block");
            const auto& idx = lo.block_index[which][k];
            if (parts == 1) {
              const Source s = source(blk.parts[0]);
              a.parts = 1;
              a.src[0] = s.ptr;
              a.src_pitch[0] = s.pitch;
              a.index[0] = params_.at<int32_t>(idx[0]);
            } else {
              const Source s = source(blk.parts[0]);
              a.first = s.ptr;
              a.first_pitch = s.pitch;
              a.first_len = s.len;
              a.start = blk.start;
              a.parts = parts - 1;
              for (int p = 1; p < parts; ++p) {
                const Source sp = source(blk.parts[p]);
                a.src[p - 1] = sp.ptr;
                a.src_pitch[p - 1] = sp.pitch;
                a.index[p - 1] = params_.at<int32_t>(idx[p - 1]);
              }
            }
          }
          launch_product(a, b);
        }
      };
      if (last) {
        const auto& o = ntk ? layer.psi : layer.phi;
        emit(o, ntk ? 2 : 0, out, f, norms);
        if (o.dim < f) {
          const dim3 g(static_cast<unsigned>(std::min<int64_t>((f - o.dim + 255) / 256, 64)), static_cast<unsigned>(b));
          zero_tail_kernel<T><<<g, 256>>>(out, f, o.dim, f, b);
          cuda_check(cudaGetLastError(), "kernel launch");
        }
        return;
      }
      T* phi_next = phi_buf + next * b * m;
      T* t_next = tpart_buf + next * b * m;
      emit(layer.phi, 0, phi_next, m, nullptr);
      if (ntk) emit(layer.tpart, 1, t_next, m, nullptr);
      phi = phi_next;
      phi_pitch = m;
      tprev = t_next;
      t_pitch = m;
      next ^= 1;
    }
  }

  // out (b rows of `padded`, packed) = H D in for each row.
  void signed_transform(const T* in, int64_t in_pitch, const T* signs, int64_t dim, int64_t padded, T* out, int64_t b) const {
    const dim3 g(static_cast<unsigned>(std::min<int64_t>((padded + 255) / 256, 64)), static_cast<unsigned>(b));
    signed_pad_kernel<T><<<g, 256>>>(in, in_pitch, signs, dim, padded, out, b);
    cuda_check(cudaGetLastError(), "kernel launch");
    fwht_rows(out, b, padded, padded);
  }

  const Map& map_;
  DeviceParameters params_;
  std::vector<LayerOffsets> offsets_;

 public:
  int64_t device_bytes() const { return params_.bytes(); }
};

/// The GPU copy of a CPU NtkSketch: the same features, bit for bit.
template <typename T>
class CudaNtkSketch final : public FeatureMap<T> {
 public:
  explicit CudaNtkSketch(std::shared_ptr<const NtkSketch<T>> cpu) : cpu_(std::move(cpu)), gpu_(*cpu_) {}

  int64_t input_dim() const override { return cpu_->config().input_dim; }
  int64_t features() const override { return cpu_->features(); }
  int64_t parameter_bytes() const override { return gpu_.device_bytes(); }
  int64_t workspace_bytes() const override { return 0; }
  int64_t preferred_chunk_bytes() const override { return int64_t{256} << 20; }

  void transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const override {
    if (n > 0) gpu_.run(x, nullptr, nullptr, nullptr, n, out, kernel);
  }
  void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                     FeatureKernel kernel) const override {
    if (n > 0) gpu_.run(nullptr, indptr, indices, values, n, out, kernel);
  }

 private:
  // The GPU map reads the CPU map's layout (blocks, configuration): kept alive with it.
  std::shared_ptr<const NtkSketch<T>> cpu_;
  GpuSketch<T> gpu_;
};

}  // namespace

template <typename T>
std::shared_ptr<const FeatureMap<T>> ntk_sketch_on_cuda(std::shared_ptr<const NtkSketch<T>> map) {
  if (map && map->kept()) throw std::invalid_argument("NTKSketch: a kept-rows map runs on the CPU only");
  require_device();
  return std::make_shared<const CudaNtkSketch<T>>(std::move(map));
}

template std::shared_ptr<const FeatureMap<float>> ntk_sketch_on_cuda<float>(std::shared_ptr<const NtkSketch<float>>);
template std::shared_ptr<const FeatureMap<double>> ntk_sketch_on_cuda<double>(std::shared_ptr<const NtkSketch<double>>);

}  // namespace ntk
