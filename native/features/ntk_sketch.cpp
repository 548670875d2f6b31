#include "features/ntk_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/parallel.hpp"
#include "sketches/fwht.hpp"

namespace ntk {

namespace {

// Each component draws from its own stream, named by (role, layer).
enum Role : uint64_t { kCs0 = 1, kSrht0, kP1, kPhiSrht, kPhiOutSrht, kP0, kTensor, kPsiSrht };

uint64_t stream_of(Role role, int layer) {
  return sub_stream(sub_stream(0x4e544b536b657463ULL, role), static_cast<uint64_t>(layer));
}

void check_coefficients(const std::vector<std::vector<double>>& c, int depth, const char* name) {
  if (static_cast<int>(c.size()) != depth)
    throw std::invalid_argument(std::string("NTKSketch: ") + name + " needs one polynomial per layer");
  for (const auto& layer : c) {
    if (layer.empty()) throw std::invalid_argument(std::string("NTKSketch: empty ") + name + " polynomial");
    for (double v : layer)
      if (!std::isfinite(v) || v < 0)
        throw std::invalid_argument(std::string("NTKSketch: ") + name + " coefficients must be finite and >= 0");
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
  const int64_t m = c.sketch_dim;
  identity0_ = c.input_dim <= m;
  if (identity0_) {
    dim0_ = c.input_dim;
  } else {
    // CountSketch to 2m keeps the collision variance at half the SRHT's.
    const int64_t cs_dim = std::min(next_pow2(c.input_dim), 2 * next_pow2(m));
    cs0_ = CountSketch<T>(c.input_dim, cs_dim, c.seed, stream_of(kCs0, 0));
    srht0_ = Srht<T>(cs_dim, m, c.seed, stream_of(kSrht0, 0));
    dim0_ = m;
    max_work_ = srht0_.work_size();
    parameter_bytes_ += srht0_.bytes();
  }
  for (int h = 1; h <= c.depth; ++h) {
    const bool last = h == c.depth;
    const int64_t in_dim = h == 1 ? dim0_ : m;
    Layer layer;
    layer.p1 = PolyKernelSketch<T>(in_dim, m, c.k1[h - 1], 0, c.seed, stream_of(kP1, h));
    layer.p0 = PolyKernelSketch<T>(in_dim, m, c.k0[h - 1], 0, c.seed, stream_of(kP0, h));
    layer.phi_srht = Srht<T>(layer.p1.packed_dim(), m, c.seed, stream_of(kPhiSrht, h));
    if (last) layer.phi_out_srht = Srht<T>(layer.p1.packed_dim(), c.features, c.seed, stream_of(kPhiOutSrht, h));
    layer.tensor = TensorSrht<T>(in_dim, layer.p0.packed_dim(), m, c.seed, stream_of(kTensor, h));
    layer.psi_srht = Srht<T>(2 * m, last ? c.features : m, c.seed, stream_of(kPsiSrht, h));
    max_work_ = std::max({max_work_, layer.phi_srht.work_size(), layer.psi_srht.work_size()});
    parameter_bytes_ += layer.p1.bytes() + layer.p0.bytes() + layer.phi_srht.bytes() + layer.phi_out_srht.bytes() +
                        layer.tensor.bytes() + layer.psi_srht.bytes();
    layers_.push_back(std::move(layer));
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
  if (identity0_) ws.phi0.resize(static_cast<size_t>(dim0_));
  if (!identity0_) ws.cs.resize(static_cast<size_t>(cs0_.out_dim()));
  ws.work.resize(static_cast<size_t>(max_work_));
  for (auto& v : ws.phi) v.resize(static_cast<size_t>(m));
  int64_t packed1 = 0, packed0 = 0, wa = 0, wb = 0;
  for (const Layer& layer : layers_) {
    packed1 = std::max(packed1, layer.p1.packed_dim());
    ws.p1.push_back(layer.p1.make_workspace());
    if (ntk) {
      packed0 = std::max(packed0, layer.p0.packed_dim());
      wa = std::max(wa, layer.tensor.side_a().padded());
      wb = std::max(wb, layer.tensor.side_b().padded());
      ws.p0.push_back(layer.p0.make_workspace());
    }
  }
  ws.packed1.resize(static_cast<size_t>(packed1));
  if (ntk) {
    for (auto& v : ws.psi) v.resize(static_cast<size_t>(m));
    ws.packed0.resize(static_cast<size_t>(packed0));
    ws.wa.resize(static_cast<size_t>(wa));
    ws.wb.resize(static_cast<size_t>(wb));
    ws.cat.resize(static_cast<size_t>(2 * m));
  }
  return ws;
}

template <typename T>
int64_t NtkSketch<T>::workspace_bytes() const {
  const int64_t m = config_.sketch_dim;
  int64_t elements = dim0_ + (identity0_ ? 0 : cs0_.out_dim()) + max_work_ + 4 * m + 2 * m;
  int64_t poly = 0;
  for (const Layer& layer : layers_) {
    elements += layer.p1.packed_dim() + layer.p0.packed_dim() + layer.tensor.side_a().padded() +
                layer.tensor.side_b().padded();
    poly += layer.p1.workspace_bytes() + layer.p0.workspace_bytes();
  }
  return elements * static_cast<int64_t>(sizeof(T)) + poly;
}

template <typename T>
void NtkSketch<T>::transform_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, T* out,
                                 Workspace& ws, FeatureKernel kernel) const {
  const int64_t d = config_.input_dim, m = config_.sketch_dim;
  const bool ntk = kernel == FeatureKernel::Ntk;
  const int64_t count = dense ? d : nnz;
  const T* vals = dense ? dense : value;

  // |x| in float64, scaled by the largest magnitude so squares cannot
  // overflow or underflow; u = x / |x| (as in the exact kernel).
  double amax = 0;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(static_cast<double>(vals[i])));
  if (amax == 0) {
    std::fill(out, out + config_.features, T(0));
    return;
  }
  double ss = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double v = static_cast<double>(vals[i]) / amax;
    ss += v * v;
  }
  const double scaled = std::sqrt(ss);
  const T norm = static_cast<T>(amax * scaled);
  T* unit = ws.unit.data();
  if (!dense) {
    if (static_cast<int64_t>(ws.sparse_unit.size()) < nnz) ws.sparse_unit.resize(static_cast<size_t>(nnz));
    unit = ws.sparse_unit.data();
  }
  for (int64_t i = 0; i < count; ++i) unit[i] = static_cast<T>((static_cast<double>(vals[i]) / amax) / scaled);
  const RowView<T> u = dense ? RowView<T>::dense_row(unit, d) : RowView<T>::sparse_row(index, unit, nnz, d);

  const T* phi;
  if (identity0_) {
    if (dense) {
      phi = unit;
    } else {
      std::fill(ws.phi0.begin(), ws.phi0.end(), T(0));
      for (int64_t k = 0; k < nnz; ++k) ws.phi0[index[k]] = unit[k];
      phi = ws.phi0.data();
    }
  } else {
    cs0_.apply(u, ws.cs.data());
    srht0_.apply(ws.cs.data(), ws.phi[0].data(), ws.work.data());
    phi = ws.phi[0].data();
  }
  const T* psi = phi;
  int64_t phi_dim = dim0_;
  int next_phi = identity0_ ? 0 : 1, next_psi = 0;

  for (size_t h = 0; h < layers_.size(); ++h) {
    const Layer& layer = layers_[h];
    const bool last = h + 1 == layers_.size();
    const RowView<T> phi_row = RowView<T>::dense_row(phi, phi_dim);
    layer.p1.apply_packed(phi_row, ws.packed1.data(), ws.p1[h]);
    if (last && !ntk) {
      layer.phi_out_srht.apply(ws.packed1.data(), out, ws.work.data(), norm);
      return;
    }
    T* phi_new = ws.phi[next_phi].data();
    layer.phi_srht.apply(ws.packed1.data(), phi_new, ws.work.data());
    if (ntk) {
      layer.p0.apply_packed(phi_row, ws.packed0.data(), ws.p0[h]);
      layer.tensor.side_a().apply(psi, ws.wa.data());
      layer.tensor.side_b().apply(ws.packed0.data(), ws.wb.data());
      layer.tensor.combine(ws.wa.data(), ws.wb.data(), ws.cat.data(), m);
      std::copy(phi_new, phi_new + m, ws.cat.data() + m);
      if (last) {
        layer.psi_srht.apply(ws.cat.data(), out, ws.work.data(), norm);
        return;
      }
      T* psi_new = ws.psi[next_psi].data();
      layer.psi_srht.apply(ws.cat.data(), psi_new, ws.work.data());
      psi = psi_new;
      next_psi ^= 1;
    }
    phi = phi_new;
    phi_dim = m;
    next_phi ^= 1;
  }
}

template <typename T>
void NtkSketch<T>::transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const {
  const int64_t d = config_.input_dim, f = config_.features;
  parallel_rows(
      n, [&]() { return make_workspace(kernel, true); },
      [&](int64_t i, Workspace& ws) { transform_row(x + i * d, nullptr, nullptr, 0, out + i * f, ws, kernel); });
}

template <typename T>
void NtkSketch<T>::transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n,
                                 T* out, FeatureKernel kernel) const {
  const int64_t f = config_.features;
  parallel_rows(
      n, [&]() { return make_workspace(kernel, false); },
      [&](int64_t i, Workspace& ws) {
        const int64_t begin = indptr[i], end = indptr[i + 1];
        transform_row(nullptr, indices + begin, values + begin, end - begin, out + i * f, ws, kernel);
      });
}

template class NtkSketch<float>;
template class NtkSketch<double>;

}  // namespace ntk
