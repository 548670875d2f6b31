#include "maps/random_weights.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/parallel.hpp"
#include "linalg/blas.hpp"

namespace ntk {

namespace {

// Doornik's ZIGNOR constants: 128 layers of equal area V; R the start of the tail.
constexpr int kLayers = 128;
constexpr double kR = 3.442619855899;
constexpr double kV = 9.91256303526217e-3;
// Values of the aux stream each normal may use before falling back to Box–Muller.
constexpr uint64_t kAuxPerNormal = 64;

struct ZigguratTables {
  double x[kLayers + 1];
  double ratio[kLayers];
  ZigguratTables() {
    double f = std::exp(-0.5 * kR * kR);
    x[0] = kV / f;  // the bottom layer: rectangle plus tail, of area V
    x[1] = kR;
    x[kLayers] = 0;
    for (int i = 2; i < kLayers; ++i) {
      x[i] = std::sqrt(-2 * std::log(kV / x[i - 1] + f));
      f = std::exp(-0.5 * x[i] * x[i]);
    }
    for (int i = 0; i < kLayers; ++i) ratio[i] = x[i + 1] / x[i];
  }
};

const ZigguratTables& tables() {
  static const ZigguratTables t;
  return t;
}

// Uniform in [0, 1) and (0, 1] from 53 bits.
inline double unit(uint64_t b) { return static_cast<double>(b >> 11) * 0x1.0p-53; }
inline double open_unit(uint64_t b) { return (static_cast<double>(b >> 11) + 1.0) * 0x1.0p-53; }

double slow_normal(const CounterRng& aux, uint64_t q, uint64_t b) {
  const ZigguratTables& t = tables();
  const uint64_t base = q * kAuxPerNormal;
  uint64_t c = 0;
  auto next = [&]() { return aux.bits(base + c++); };
  while (c + 4 <= kAuxPerNormal - 2) {
    const double u = 2 * unit(b) - 1;
    const int i = static_cast<int>(b & (kLayers - 1));
    if (std::fabs(u) < t.ratio[i]) return u * t.x[i];
    if (i == 0) {  // the tail beyond R (Marsaglia 1964)
      double x, y;
      do {
        x = std::log(open_unit(next())) / kR;
        y = std::log(open_unit(next()));
      } while (-2 * y < x * x && c + 2 <= kAuxPerNormal - 2);
      if (-2 * y >= x * x) return u < 0 ? x - kR : kR - x;
    } else {  // the wedge between layers i and i + 1
      const double x = u * t.x[i];
      const double f0 = std::exp(-0.5 * (t.x[i] * t.x[i] - x * x));
      const double f1 = std::exp(-0.5 * (t.x[i + 1] * t.x[i + 1] - x * x));
      if (f1 + unit(next()) * (f0 - f1) < 1.0) return x;
    }
    b = next();
  }
  // Unreachable in practice (probability < 1e-50): Box–Muller from the last two values.
  const double r = std::sqrt(-2.0 * std::log(open_unit(aux.bits(base + kAuxPerNormal - 2))));
  return r * std::cos(6.283185307179586476925 * unit(aux.bits(base + kAuxPerNormal - 1)));
}

// Columns per task. A block is drawn into a float64 buffer, then copied to
// the row-major output row by row (whole cache lines): interleaving the draws
// with stores that stride by the row length runs at half the speed.
constexpr int64_t kColumnBlock = 16;

template <typename Fn>
void for_column_blocks(int64_t rows, int64_t col_begin, int64_t col_end, std::vector<double>* scratch_shape, Fn fn) {
  const int64_t blocks = (col_end - col_begin + kColumnBlock - 1) / kColumnBlock;
  auto make = [&]() { return scratch_shape ? *scratch_shape : std::vector<double>(); };
  auto body = [&](int64_t b, std::vector<double>& scratch) {
    const int64_t j0 = col_begin + b * kColumnBlock;
    fn(j0, std::min(col_end, j0 + kColumnBlock), scratch);
  };
  // Small matrices are drawn on the calling thread (a parallel region costs
  // more than the work, and much more on a busy machine).
  if (rows * (col_end - col_begin) < (int64_t{1} << 15)) {
    auto scratch = make();
    for (int64_t b = 0; b < blocks; ++b) body(b, scratch);
    return;
  }
  parallel_rows(blocks, make, body);
}

}  // namespace

double ziggurat_normal(const CounterRng& main, const CounterRng& aux, uint64_t q) {
  const ZigguratTables& t = tables();
  const uint64_t b = main.bits(q);
  const double u = 2 * unit(b) - 1;
  const int i = static_cast<int>(b & (kLayers - 1));
  if (std::fabs(u) < t.ratio[i]) return u * t.x[i];
  return slow_normal(aux, q, b);
}

namespace {

// |h| for column j of the leverage sampler, h ~ N(0, I_(rows+2)) from the
// streams (h_main, h_aux): chi with rows + 2 degrees of freedom.
double leverage_length(const CounterRng& h_main, const CounterRng& h_aux, int64_t rows, int64_t j) {
  const uint64_t nh = static_cast<uint64_t>(rows) + 2, base = static_cast<uint64_t>(j) * nh;
  double hh = 0;
  for (uint64_t k = 0; k < nh; ++k) {
    const double z = ziggurat_normal(h_main, h_aux, base + k);
    hh += z * z;
  }
  return std::sqrt(hh);
}

uint64_t leverage_stream(uint64_t stream) { return sub_stream(stream, 0x6c6576); }  // "lev"

// Orthonormalises the k columns of g (rows x k, row-major, ld k) in place:
// g <- g R^-1 with R the Cholesky factor of g^T g (Cholesky QR; R has a
// positive diagonal, so this is the Q of the unique such QR). Each pass
// leaves an orthogonality error of about eps cond(g)^2; a second pass on the
// (then nearly orthonormal) result brings it to eps. Falls back to modified
// Gram-Schmidt if the Gram matrix is numerically singular.
void orthonormalise_columns(int64_t rows, int64_t k, double* g, int passes) {
  std::vector<double> gram(static_cast<size_t>(k * k));
  for (int p = 0; p < passes; ++p) {
    syrk_upper_at_a(k, rows, 1.0, g, k, 0.0, gram.data(), k);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < i; ++j) gram[i * k + j] = gram[j * k + i];
    if (cholesky(k, gram.data()) != 0) {
      for (int64_t j = 0; j < k; ++j) {
        for (int64_t i = 0; i < j; ++i) {
          double dot = 0;
          for (int64_t r = 0; r < rows; ++r) dot += g[r * k + i] * g[r * k + j];
          for (int64_t r = 0; r < rows; ++r) g[r * k + j] -= dot * g[r * k + i];
        }
        double nn = 0;
        for (int64_t r = 0; r < rows; ++r) nn += g[r * k + j] * g[r * k + j];
        const double inv = nn > 0 ? 1 / std::sqrt(nn) : 0;
        for (int64_t r = 0; r < rows; ++r) g[r * k + j] *= inv;
      }
      return;
    }
    triangular_solve_rows(rows, k, gram.data(), g, k);
  }
}

}  // namespace

template <typename T>
void gaussian_columns(int64_t rows, int64_t col_begin, int64_t col_end, uint64_t seed, uint64_t stream, T* out,
                      int64_t ldo) {
  if (rows <= 0 || col_end <= col_begin) return;
  tables();
  const CounterRng main(seed, stream), aux(seed, sub_stream(stream, 0x617578));  // "aux"
  const uint64_t n = static_cast<uint64_t>(rows);
  std::vector<double> shape(static_cast<size_t>(rows * kColumnBlock));
  for_column_blocks(rows, col_begin, col_end, &shape, [&](int64_t j0, int64_t j1, std::vector<double>& buf) {
    const int64_t cols = j1 - j0;
    for (int64_t c = 0; c < cols; ++c) {
      const uint64_t base = static_cast<uint64_t>(j0 + c) * n;
      double* col = buf.data() + c * rows;
      for (int64_t k = 0; k < rows; ++k) col[k] = ziggurat_normal(main, aux, base + static_cast<uint64_t>(k));
    }
    T* dst = out + (j0 - col_begin);
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t c = 0; c < cols; ++c) dst[k * ldo + c] = static_cast<T>(buf[c * rows + k]);
  });
}

template <typename T>
void leverage_columns(int64_t rows, int64_t col_begin, int64_t col_end, uint64_t seed, uint64_t stream, T* out,
                      int64_t ldo, double* norms) {
  if (rows <= 0 || col_end <= col_begin) return;
  tables();
  const CounterRng main(seed, stream), aux(seed, sub_stream(stream, 0x617578));
  const uint64_t h_stream = leverage_stream(stream);
  const CounterRng h_main(seed, h_stream), h_aux(seed, sub_stream(h_stream, 0x617578));
  const uint64_t n = static_cast<uint64_t>(rows);
  std::vector<double> shape(static_cast<size_t>(rows * kColumnBlock));
  for_column_blocks(rows, col_begin, col_end, &shape, [&](int64_t j0, int64_t j1, std::vector<double>& g) {
    // g in float64 (column c at g[c * rows]), so that float32 maps round
    // w = (g / |g|) |h| once.
    const int64_t cols = j1 - j0;
    double scale[kColumnBlock];
    for (int64_t c = 0; c < cols; ++c) {
      const uint64_t base = static_cast<uint64_t>(j0 + c) * n;
      double* col = g.data() + c * rows;
      double gg = 0;
      for (int64_t k = 0; k < rows; ++k) {
        const double z = ziggurat_normal(main, aux, base + static_cast<uint64_t>(k));
        col[k] = z;
        gg += z * z;
      }
      if (!(gg > 0)) {  // g = 0 (probability 0 for rows > 0 in exact arithmetic): use e1
        col[0] = 1;
        gg = 1;
      }
      const double h = leverage_length(h_main, h_aux, rows, j0 + c);
      scale[c] = h / std::sqrt(gg);
      norms[j0 + c - col_begin] = h;
    }
    T* dst = out + (j0 - col_begin);
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t c = 0; c < cols; ++c) dst[k * ldo + c] = static_cast<T>(scale[c] * g[c * rows + k]);
  });
}

template <typename T>
void structured_columns(int64_t rows, int64_t count, uint64_t seed, uint64_t stream, bool orthogonal, bool leverage,
                        T* out, int64_t ldo, double* norms) {
  if (rows <= 0 || count <= 0) return;
  const int64_t directions = (count + 1) / 2;
  const uint64_t h_stream = leverage_stream(stream);
  const CounterRng h_main(seed, h_stream), h_aux(seed, sub_stream(h_stream, 0x617578));
  std::vector<double> g, length;
  for (int64_t j0 = 0; j0 < directions; j0 += rows) {
    const int64_t k = std::min(rows, directions - j0);
    if (!orthogonal || k * kMinOrthogonalShare < rows) {
      // Independent columns, drawn straight into place.
      if (leverage) {
        length.resize(static_cast<size_t>(k));
        leverage_columns(rows, j0, j0 + k, seed, stream, out + j0, ldo, norms ? norms + j0 : length.data());
      } else {
        gaussian_columns(rows, j0, j0 + k, seed, stream, out + j0, ldo);
        if (norms) {
          std::fill(norms + j0, norms + j0 + k, 0.0);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < k; ++j) norms[j0 + j] += static_cast<double>(out[r * ldo + j0 + j]) * out[r * ldo + j0 + j];
          for (int64_t j = 0; j < k; ++j) norms[j0 + j] = std::sqrt(norms[j0 + j]);
        }
      }
      continue;
    }
    g.resize(static_cast<size_t>(rows * k));
    length.assign(static_cast<size_t>(k), 0.0);
    gaussian_columns(rows, j0, j0 + k, seed, stream, g.data(), k);
    // The Gaussian lengths (accumulated row by row: contiguous reads), then
    // the directions, then each direction scaled to its length (or to the
    // leverage length).
    if (!leverage)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < k; ++j) length[j] += g[r * k + j] * g[r * k + j];
    orthonormalise_columns(rows, k, g.data(), 2 * k <= rows ? 1 : 2);
    for (int64_t j = 0; j < k; ++j) {
      length[j] = leverage ? leverage_length(h_main, h_aux, rows, j0 + j) : std::sqrt(length[j]);
      if (norms) norms[j0 + j] = length[j];
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) out[r * ldo + j0 + j] = static_cast<T>(length[j] * g[r * k + j]);
  }
  // Antithetic partners: column directions + i = -column i.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count - directions; ++i) out[r * ldo + directions + i] = -out[r * ldo + i];
  if (norms)
    for (int64_t i = 0; i < count - directions; ++i) norms[directions + i] = norms[i];
}

template void gaussian_columns<float>(int64_t, int64_t, int64_t, uint64_t, uint64_t, float*, int64_t);
template void gaussian_columns<double>(int64_t, int64_t, int64_t, uint64_t, uint64_t, double*, int64_t);
template void leverage_columns<float>(int64_t, int64_t, int64_t, uint64_t, uint64_t, float*, int64_t, double*);
template void leverage_columns<double>(int64_t, int64_t, int64_t, uint64_t, uint64_t, double*, int64_t, double*);
template void structured_columns<float>(int64_t, int64_t, uint64_t, uint64_t, bool, bool, float*, int64_t, double*);
template void structured_columns<double>(int64_t, int64_t, uint64_t, uint64_t, bool, bool, double*, int64_t, double*);

}  // namespace ntk
