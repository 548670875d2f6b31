// CNTKSketch (docs/math.md#cntksketch): features whose inner products approximate the
// convolutional NTK / CNN-GP with global average pooling (docs/math.md#convolutional-ntk), at a
// cost linear in the number of pixels.
//
// Every pixel p of layer h carries phi_p (~ Sigma^h: <phi_p(x), phi_p'(z)>
// approximates Sigma^h_{p,p'}) and t_p (the tensor part of psi_p ~ T^h).
// With m the internal sketch dimension and u_p = v_p / |v_p|:
//
//   v^1_p    = the raw patch (x_(p+d))_d in R^(C q^2)   (exact: Gamma^1 = <v^1, v^1'>)
//   xi^1_p   = v^1_p                                     (Xi^1 = Gamma^1)
//   phi^h_p  = sqrt(N^h(p)) [sqrt(c_j) Q_j(u_p)]_j         P1^h ~ k1 (packed)
//   dphi^h_p = [sqrt(c'_j) Q_j(u_p)]_j                     P0^h ~ k0 (packed)
//   t^h_p    = TensorSRHT(xi^h_p, dphi^h_p)               ~ Xi^h dSigma^h
//   psi^h_p  = [t^h_p, phi^h_p]                           ~ T^h = Xi dSigma + Sigma
//   z^h_p    = sum_b S_b(phi^h_p block b)                  (phi compressed to m)
//   v^(h+1)_p  = (1/q) sum_d S_d(z^h_(p+d))                 ~ P[Sigma^h] / q^2 = Gamma^(h+1)
//   xi^(h+1)_p = v^(h+1)_p + (1/q) sum_d S'_d(t^h_(p+d))    ~ P[T^h] / q^2 = Xi^(h+1)
//   NTK features  = [ mean_p t^L_p , SRHT_(f - f_t)( mean_p phi^L_p ) ],  f_t = floor(f / 2)
//   NNGP features = SRHT_f( mean_p phi^L_p )
//
// Q_j is a PolySketch of degree j: one tree per layer, shared by P1 and P0
// (when the degrees are 1 and powers of two, as the default polynomials of
// layers >= 2 are, they are the all-x nodes of that single tree). In the
// all-x case Q_1(u) = H D u / sqrt(m), the transform of the tree's first leaf:
// an exact isometry at no extra cost. (u itself would be exact too, but it
// is not spread out: its large coordinates, e.g. phi's constant entry,
// travel through the sign-and-shift patch sums, whose neighbouring taps have
// neighbouring shifts, and their cross terms then grow; measured 40% worse.)
// S are sign-and-shift maps (a CountSketch whose hash is a random cyclic
// shift per block: "concatenate the q^2 neighbours scaled by 1/q and sketch
// back to m" at O(q^2 m) per pixel, no transform). N^h is the exact diagonal
// (N^1 = |v^1|^2, N^(h+1) = patch sum of N^h / q^2), computed per image in
// float64. Zero padding for 'same'. All samples are balanced
// (pixel_block_sketch.hpp). The last layer's TensorSRHT has f_t rows and its
// pooled mean is the first half of the NTK features as it is: a final SRHT of
// the whole pooled vector (about 2 f entries down to f) was the largest and
// most heavy-tailed error term, as the Gram matrices of images are nearly
// rank one and their error is that of a few norms. (With f = 1 the single
// feature is an SRHT of [mean t (m rows), mean phi].)
//
// Renormalisation: every diagonal is known exactly per image (N^h, and the
// diagonal of Xi^h: M^1 = N^1, M^(h+1) = patch sum of (M^h + N^h) / q^2, as
// P0(1) = P1(1) = 1), so each per-pixel vector is rescaled to its exact norm
// (u_p = v_p / |v_p|, each Q_j(u_p) to unit norm, z_p and phi_p to sqrt(N),
// xi_p and t_p to sqrt(M)): the sketch then only estimates cosines (ratio
// estimators). Gram matrices of images are nearly rank one (all entries
// alike), so their error is that of a few norms; with exact norms it drops
// several-fold for the same m, at a bias of order 1/m. renormalise = false
// gives the literal recursion (u = v / sqrt(N), nothing rescaled).
//
// Each image runs on one thread, pixels in blocks of kLanes
// (pixel_block_sketch.hpp) along image rows, layers in a wavefront that keeps
// only q rows per layer: the scratch per thread is O(q W m + m degree), and
// results are bit-identical for any thread count and batch split.
#pragma once

#include <cstdint>
#include <vector>

#include "maps/feature_kernel.hpp"
#include "maps/feature_map.hpp"
#include "sketches/pixel_block_sketch.hpp"
#include "sketches/poly_coeffs.hpp"

namespace ntk {

/// The polynomial CNTKSketch uses for k0 or k1 at layer h (1-based) and a
/// maximum degree: layer 1 sees cosines in [-1, 1], later layers in [0, 1]
/// (Sigma^h >= 0, so Gamma^(h+1) >= 0). 'taylor' is the folded Taylor series
/// (poly_coeffs.hpp); 'nnls' at layer 1 is nnls_fit on [-1, 1], and at later
/// layers a non-negative least-squares fit on [0, 1] restricted to the
/// degrees 0, 1 and the powers of two up to `degree` (same Chebyshev points
/// and sum(c) = 1 constraint as nnls_fit). Its maximum error is the same as
/// the unrestricted fit's (k0 degree 8: 0.031 both; k1: 3e-4 both), and those
/// degrees are exactly the all-x nodes of one PolySketch tree (plus u itself
/// for degree 1), so a layer costs one tree of 2^k leaves.
std::vector<double> cntk_sketch_polynomial(ArcCosKernel kernel, PolyApprox approx, int degree, int layer);

struct CntkSketchConfig {
  int64_t channels = 0, height = 0, width = 0;
  int depth = 0;
  int filter = 0;     ///< q
  bool same = false;  ///< 'same' zero padding (odd q), else 'valid'
  int64_t features = 0;
  /// Internal sketch dimension m (a power of two >= 8).
  int64_t sketch_dim = 0;
  uint64_t seed = 0;
  /// Coefficients c_0..c_q of P1^h (~k1) and P0^h (~k0), h = 1..depth.
  std::vector<std::vector<double>> k1, k0;
  /// Project every per-pixel vector onto its exact norm (see above).
  bool renormalise = true;
};

template <typename T>
class CntkSketch final : public FeatureMap<T> {
 public:
  explicit CntkSketch(const CntkSketchConfig& config);
  const CntkSketchConfig& config() const { return config_; }
  /// Values per image, C * H * W.
  int64_t input_dim() const override;
  int64_t features() const override { return config_.features; }
  int64_t parameter_bytes() const override { return parameter_bytes_; }
  /// Scratch bytes each thread allocates for one kind of features.
  int64_t workspace_bytes(FeatureKernel kind) const;
  /// The larger of the two kinds'.
  int64_t workspace_bytes() const override;
  /// Images are dense: transform_csr throws.
  bool reads_csr() const override { return false; }
  /// Edge of the grid after layer h (h = 0: the image).
  int64_t grid_rows(int h) const { return rows_[h]; }
  int64_t grid_cols(int h) const { return cols_[h]; }

  /// out (n x features, row-major) = features of the n images of x
  /// (n x C x H x W, row-major).
  void transform(const T* x, int64_t n, T* out, FeatureKernel kind) const override;
  void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                     FeatureKernel kind) const override;

 private:
  /// One block of a packed polynomial sketch: Q_(qi) times factor, `rows`
  /// entries at `offset`; with_const: entry 0 is the constant and the block
  /// holds the first rows - 1 rows of its Q (rescaled).
  struct PackBlock {
    int qi = -1;
    int64_t rows = 0, offset = 0;
    T factor = T(0), raw_factor = T(0);
    bool with_const = false;
  };
  struct Pack {
    bool has_const = false;
    T constant = T(0);
    std::vector<PackBlock> blocks;
    int64_t dim = 0;
  };
  struct Layer {
    int64_t in_dim = 0;  // entries of v (C q^2 at layer 1, else m)
    std::vector<int> degrees;            // sketched by the tree (all used degrees but 1 when q1_leaf)
    BlockPolySketch<T> tree;
    bool powers = false;                 // degrees are the all-x nodes of the tree
    std::vector<int> levels;             // their levels (powers mode)
    bool q1_leaf = false;                // powers mode: Q_1(u) = H D u / sqrt(m) from the tree's leaf 0 (exact), the last Q
    std::vector<int64_t> qrows;  // rows of each Q
    std::vector<int> qdeg;
    Pack p1, p0;
    BlockTensorSrht<T> tensor;  // xi (in_dim) x packed P0 -> t_dim
    int64_t t_dim = 0;
    std::vector<SignShift<T>> compress;        // per P1 block -> z (layers < L)
    int64_t const_index = 0;                   // where phi's constant lands in z
    T const_sign = T(1);
    std::vector<SignShift<T>> patch_z, patch_t;  // q^2 each: neighbour z / t -> v / xi (layers >= 2)
  };
  struct Workspace;
  struct PixelBlock;  // a block of kLanes pixels being computed (compute_block's steps)
  struct PatchTaps;
  // Construction steps.
  void plan_grids();
  Layer make_layer(int h);
  void plan_degrees(Layer& layer, int h) const;
  void draw_patch_maps(Layer& layer, int h) const;
  Pack make_pack(const std::vector<double>& coeffs, const Layer& layer) const;
  Workspace make_workspace(FeatureKernel kind) const;
  int64_t row_elements(int h, FeatureKernel kind) const;
  // Steps of transform_image.
  void transform_image(const T* x, T* out, Workspace& ws, FeatureKernel kind) const;
  template <typename Value>
  std::vector<double> patch_sum(int h, Value value) const;
  void exact_diagonals(const T* x, T scale, Workspace& ws, FeatureKernel kind) const;
  void run_wavefront(const T* x, T scale, Workspace& ws, FeatureKernel kind) const;
  void pool_features(int exponent, T* out, Workspace& ws, FeatureKernel kind) const;
  // Steps of compute_block.
  void compute_block(int h, int64_t r, int64_t c0, const T* x, T scale, Workspace& ws, FeatureKernel kind) const;
  PixelBlock pixel_block(int h, int64_t r, int64_t c0, Workspace& ws, FeatureKernel kind) const;
  void first_layer_patch(int64_t r, int64_t c0, const T* x, T scale, T* v) const;
  const T* patch_sums(PixelBlock& b, Workspace& ws, T* xs) const;
  void gather_taps(const PixelBlock& b, Workspace& ws, PatchTaps& taps) const;
  void sketch_q(const PixelBlock& b, const T* v, Workspace& ws, T** qbuf, T* qn) const;
  bool run_tree(const PixelBlock& b, const T* v, Workspace& ws, T* const* qbuf, T* qsq) const;
  void q1_from_leaf(const PixelBlock& b, const T* v, Workspace& ws, T** qbuf, T* sq, bool tree_ran) const;
  void pool_phi(const PixelBlock& b, T* const* qbuf, const T* qn, Workspace& ws) const;
  void compress_phi(const PixelBlock& b, T* const* qbuf, const T* qn, Workspace& ws) const;
  void tensor_part(const PixelBlock& b, const T* xi, const T* xs, T* const* qbuf, const T* qn, Workspace& ws) const;

  CntkSketchConfig config_;
  int64_t m_ = 0;
  int offset_ = 0;                        // first tap of a patch relative to its pixel
  std::vector<int64_t> rows_, cols_;      // grid edges, h = 0..L
  std::vector<int64_t> blocks_, stride_;  // blocks per row; stored row width (layers 1..L-1)
  std::vector<Layer> layers_;             // index h - 1
  int64_t ntk_direct_ = 0;                // NTK features taken directly from the pooled t (f_t)
  BalancedSrht<T> out_ntk_, out_nngp_;    // pooled phi (or [t, phi] when f = 1) -> the rest
  int64_t parameter_bytes_ = 0;
};

}  // namespace ntk
