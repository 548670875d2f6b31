// What the bindings of the feature maps (NtkSketchMap, NtkRandomFeaturesMap,
// CntkSketchMap) share: argument parsing, and transform calls that run as
// jobs on the map in the float32 or float64 form it was built in.
//
// A transform job takes X in either float dtype and checks it itself, so that
// the JavaScript layer neither converts nor scans it on its own thread:
//   1. every value of X, as converted to the map's dtype, must be finite, or
//      the job throws JobRangeError (a RangeError in JavaScript) naming X (or
//      X.data for CSR) and the flat index, before anything is written;
//   2. a fresh result array (allocate() in arrays.ts, markFreshResult) is
//      prefaulted in bulk, in parallel (result_memory.hpp);
//   3. X of the map's dtype is transformed in place; X of the other dtype is
//      converted in chunks of rows into a scratch buffer, each chunk
//      transformed into its rows of out. Every map gives bit-identical
//      features for any split of the rows into calls, so the chunks change
//      nothing but the memory used: a few MiB instead of a converted copy of X.
#pragma once

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "arrays.hpp"
#include "common/aligned_buffer.hpp"
#include "common/threads.hpp"
#include "maps/feature_kernel.hpp"
#include "job.hpp"
#include "result_memory.hpp"

namespace ntk_bindings {

inline ntk::FeatureKernel kernel_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::FeatureKernel::Ntk;
  if (k == "nngp") return ntk::FeatureKernel::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

/// An immutable native map Map<float> or Map<double>, shared with running
/// jobs (shared_ptr) so that an async job keeps it alive even if the
/// JavaScript object is collected meanwhile.
///
/// The map's parameter bytes are reported to V8 as external memory: a small
/// JavaScript object holding hundreds of MiB of weights must count as such,
/// or a loop that builds and drops maps grows the process until the
/// collector happens to run for other reasons.
template <template <typename> class Map>
class TypedMap {
 public:
  TypedMap() = default;
  TypedMap(const TypedMap&) = delete;
  TypedMap& operator=(const TypedMap&) = delete;
  ~TypedMap() {
    int64_t ignored = 0;
    if (env_ && reported_ != 0) napi_adjust_external_memory(env_, -reported_, &ignored);
  }

  /// Reports `bytes` (the map's current total) to V8, adjusting by the
  /// change since the last report.
  void track(Napi::Env env, int64_t bytes) {
    if (bytes == reported_) return;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported_);
    env_ = env;
    reported_ = bytes;
  }

  /// Builds the map; its errors become RangeErrors (out of memory: `out_of_memory` when given).
  template <typename Config>
  void build(Napi::Env env, DType dtype, const Config& config, const char* out_of_memory = nullptr) {
    try {
      if (dtype == DType::Float32)
        f32_ = std::make_shared<const Map<float>>(config);
      else
        f64_ = std::make_shared<const Map<double>>(config);
    } catch (const std::bad_alloc& e) {
      throw Napi::RangeError::New(env, out_of_memory ? out_of_memory : e.what());
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
    env_ = env;
    visit([&](const auto& map) { track(env, map->parameter_bytes()); });
  }

  /// f(map) with the shared_ptr of the form that was built; throws once
  /// disposed (the TypeScript layer refuses such calls first).
  template <typename F>
  decltype(auto) visit(F&& f) const {
    if (!f32_ && !f64_) throw Napi::Error::New(Napi::Env(env_), "the map has been disposed");
    return f32_ ? f(f32_) : f(f64_);
  }

  /// Drops this object's reference to the map (jobs still running hold
  /// their own) and reports the memory as released.
  void dispose(Napi::Env env) {
    f32_.reset();
    f64_.reset();
    track(env, 0);
  }

 private:
  std::shared_ptr<const Map<float>> f32_;
  std::shared_ptr<const Map<double>> f64_;
  napi_env env_ = nullptr;
  int64_t reported_ = 0;
};

// ------------------------------------------------------------- input values

/// The other float type: double for float, float for double.
template <typename T>
using OtherFloat = std::conditional_t<std::is_same_v<T, float>, double, float>;

template <typename T>
constexpr DType dtype_v = std::is_same_v<T, float> ? DType::Float32 : DType::Float64;

namespace input_values {

/// Entries per piece of the parallel passes over X.
constexpr int64_t kPiece = int64_t{1} << 16;

/// Threads for a pass over `count` entries: one below a few pieces.
inline int pass_threads(int64_t count) {
  const int64_t pieces = (count + kPiece - 1) / kPiece;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ntk::thread_count(), pieces / 4)));
}

/// Whether every x[i], converted to T, is finite (a branch-free pass that vectorises).
template <typename T, typename S>
bool all_finite(const S* x, int64_t count) {
  constexpr T lim = std::numeric_limits<T>::max();
  int bad = 0;
  for (int64_t i = 0; i < count; ++i) bad |= !(std::fabs(static_cast<T>(x[i])) <= lim);
  return bad == 0;
}

/// How JavaScript prints a non-finite number.
template <typename T>
const char* js_name(T v) {
  return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/// Throws JobRangeError when an entry of x[0, count), converted to T, is not
/// finite, with the message of the JavaScript layer's check (arrays.ts
/// assertFinite): "<name> must contain only finite numbers, found <v> at flat index <i>",
/// i the first such entry.
template <typename T, typename S>
void check_finite(const S* x, int64_t count, const char* name) {
  const int64_t pieces = (count + kPiece - 1) / kPiece;
  std::atomic<int64_t> first{pieces};  // the first piece holding a bad entry
#pragma omp parallel for num_threads(pass_threads(count)) schedule(static)
  for (int64_t p = 0; p < pieces; ++p) {
    if (p > first.load(std::memory_order_relaxed)) continue;
    const int64_t begin = p * kPiece, len = std::min(kPiece, count - begin);
    if (all_finite<T>(x + begin, len)) continue;
    int64_t seen = first.load(std::memory_order_relaxed);
    while (p < seen && !first.compare_exchange_weak(seen, p, std::memory_order_relaxed)) {
    }
  }
  const int64_t p = first.load();
  if (p == pieces) return;
  for (int64_t i = p * kPiece; i < count; ++i) {
    const T v = static_cast<T>(x[i]);
    if (std::fabs(v) <= std::numeric_limits<T>::max()) continue;
    throw JobRangeError(std::string(name) + " must contain only finite numbers, found " + js_name(v) + " at flat index " +
                        std::to_string(i));
  }
}

/// out[i] = T(x[i]) for i < count, in parallel pieces.
template <typename T, typename S>
void convert(const S* x, int64_t count, T* out) {
  const int64_t pieces = (count + kPiece - 1) / kPiece;
#pragma omp parallel for num_threads(pass_threads(count)) schedule(static)
  for (int64_t p = 0; p < pieces; ++p) {
    const int64_t begin = p * kPiece, end = std::min(count, begin + kPiece);
    for (int64_t i = begin; i < end; ++i) out[i] = static_cast<T>(x[i]);
  }
}

/// Scratch for converted chunks. The last one released is kept (up to
/// kKeepBytes) for the next job: a new buffer costs page faults on first
/// touch, as much as the conversion itself.
class Scratch {
 public:
  static constexpr int64_t kKeepBytes = int64_t{32} << 20;

  explicit Scratch(int64_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex());
      if (kept().size() >= bytes) buf_ = std::move(kept());
    }
    if (buf_.size() < bytes) buf_.allocate(bytes);
  }
  ~Scratch() {
    if (buf_.size() > kKeepBytes) return;
    std::lock_guard<std::mutex> lock(mutex());
    if (buf_.size() > kept().size()) kept() = std::move(buf_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(buf_.data());
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static ntk::AlignedBuffer<unsigned char>& kept() {
    static ntk::AlignedBuffer<unsigned char> b;
    return b;
  }
  ntk::AlignedBuffer<unsigned char> buf_;
};

/// Rows per converted chunk of `row_bytes` each within `chunk_bytes`: at
/// least one, a multiple of 256 (NTKRandomFeatures' block) when there are that many.
inline int64_t chunk_rows(int64_t row_bytes, int64_t chunk_bytes) {
  int64_t rows = std::max<int64_t>(1, chunk_bytes / std::max<int64_t>(1, row_bytes));
  if (rows >= 256) rows = rows / 256 * 256;
  return rows;
}

/// fn(rows, r0, count) for chunks of the n dense rows of x (d entries each),
/// rows converted to T.
template <typename T, typename S, typename F>
void for_converted_rows(const S* x, int64_t n, int64_t d, int64_t chunk_bytes, F&& fn) {
  if (n == 0) return;
  const int64_t rows = std::min(n, chunk_rows(d * static_cast<int64_t>(sizeof(T)), chunk_bytes));
  Scratch scratch(rows * d * static_cast<int64_t>(sizeof(T)));
  T* buf = scratch.as<T>();
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    const int64_t count = std::min(rows, n - r0);
    convert(x + r0 * d, count * d, buf);
    fn(static_cast<const T*>(buf), r0, count);
  }
}

/// fn(indptr, indices, values, r0, count) for chunks of the n CSR rows, each
/// of at most `chunk_bytes` of values (or one row), values converted to T and
/// indptr rebased to the chunk.
template <typename T, typename S, typename F>
void for_converted_csr(const int32_t* indptr, const int32_t* indices, const S* values, int64_t n, int64_t chunk_bytes,
                       F&& fn) {
  if (n == 0) return;
  const int64_t budget = std::max<int64_t>(1, chunk_bytes / static_cast<int64_t>(sizeof(T)));
  int64_t widest = 0;  // values of the largest chunk
  std::vector<int64_t> ends;
  for (int64_t r0 = 0; r0 < n;) {
    int64_t r1 = r0 + 1;
    while (r1 < n && indptr[r1 + 1] - indptr[r0] <= budget) ++r1;
    if (r1 < n && r1 - r0 >= 256) r1 = r0 + (r1 - r0) / 256 * 256;
    widest = std::max<int64_t>(widest, indptr[r1] - indptr[r0]);
    ends.push_back(r1);
    r0 = r1;
  }
  Scratch scratch(std::max<int64_t>(1, widest) * static_cast<int64_t>(sizeof(T)));
  T* buf = scratch.as<T>();
  std::vector<int32_t> local;
  int64_t r0 = 0;
  for (const int64_t r1 : ends) {
    const int64_t count = r1 - r0, base = indptr[r0];
    local.resize(static_cast<size_t>(count + 1));
    for (int64_t i = 0; i <= count; ++i) local[static_cast<size_t>(i)] = static_cast<int32_t>(indptr[r0 + i] - base);
    convert(values + base, indptr[r1] - base, buf);
    fn(static_cast<const int32_t*>(local.data()), indices + base, static_cast<const T*>(buf), r0, count);
    r0 = r1;
  }
}

}  // namespace input_values

/// Runs a map's own CPU transforms (the default of the calls below).
struct CpuTransform {
  /// Converted input per chunk (X of the other dtype): small enough to stay
  /// around in the cache while its rows are transformed.
  static constexpr int64_t kConvertChunkBytes = int64_t{4} << 20;

  template <typename M, typename T>
  void dense(const M& map, const T* x, int64_t n, T* out, ntk::FeatureKernel kernel) const {
    map.transform(x, n, out, kernel);
  }
  template <typename M, typename T>
  void csr(const M& map, const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
           ntk::FeatureKernel kernel) const {
    map.transform_csr(indptr, indices, values, n, out, kernel);
  }
};

/// transform(x, n, out, kernel, async): features of n dense inputs of `input_dim` values each,
/// computed by run.dense(map, ...). x is a Float32Array or Float64Array whatever the map's dtype
/// (see the notes at the top).
template <typename T, template <typename> class Map, typename Run = CpuTransform>
Napi::Value transform_dense(const Napi::CallbackInfo& info, std::shared_ptr<const Map<T>> map, int64_t input_dim,
                            Run run = Run()) {
  if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "transform: expected 5 arguments");
  const int64_t n = size_arg(info[1], "n");
  const DType xtype = dtype_of(info[0], "X");
  const int64_t count = n * input_dim, f = map->features();
  T* out = typed_data<T>(info[2], "out", n * f);
  const ntk::FeatureKernel kernel = kernel_arg(info[3]);
  const size_t out_bytes = static_cast<size_t>(n * f) * sizeof(T);
  std::function<void()> job;
  if (xtype == dtype_v<T>) {
    const T* x = typed_data<T>(info[0], "X", count);
    job = [=]() {
      input_values::check_finite<T>(x, count, "X");
      result_memory::prefault(out, out_bytes);
      run.dense(*map, x, n, out, kernel);
    };
  } else {
    const OtherFloat<T>* x = typed_data<OtherFloat<T>>(info[0], "X", count);
    job = [=]() {
      input_values::check_finite<T>(x, count, "X");
      result_memory::prefault(out, out_bytes);
      input_values::for_converted_rows<T>(x, n, input_dim, Run::kConvertChunkBytes,
                                          [&](const T* rows, int64_t r0, int64_t m) {
                                            run.dense(*map, rows, m, out + r0 * f, kernel);
                                          });
    };
  }
  return run_job(info.Env(), info[4].ToBoolean(), job, {info[0], info[2]});
}

/// transformCsr(indptr, indices, values, n, out, kernel, async): features of n CSR rows of `input_dim` columns;
/// values of either float dtype, as X of transform_dense.
template <typename T, template <typename> class Map, typename Run = CpuTransform>
Napi::Value transform_csr(const Napi::CallbackInfo& info, std::shared_ptr<const Map<T>> map, int64_t input_dim,
                          Run run = Run()) {
  if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "transformCsr: expected 7 arguments");
  const int64_t n = size_arg(info[3], "n");
  // The TypeScript layer has validated the structure; recheck what guards
  // memory (indices are read through) at O(nnz).
  const CsrStructure csr = csr_structure(info[0], info[1], n, input_dim);
  const DType vtype = dtype_of(info[2], "values");
  const int64_t f = map->features();
  T* out = typed_data<T>(info[4], "out", n * f);
  const ntk::FeatureKernel kernel = kernel_arg(info[5]);
  const size_t out_bytes = static_cast<size_t>(n * f) * sizeof(T);
  std::function<void()> job;
  if (vtype == dtype_v<T>) {
    const T* values = typed_data<T>(info[2], "values", csr.nnz);
    job = [=]() {
      input_values::check_finite<T>(values, csr.nnz, "X.data");
      result_memory::prefault(out, out_bytes);
      run.csr(*map, csr.indptr, csr.indices, values, n, out, kernel);
    };
  } else {
    const OtherFloat<T>* values = typed_data<OtherFloat<T>>(info[2], "values", csr.nnz);
    job = [=]() {
      input_values::check_finite<T>(values, csr.nnz, "X.data");
      result_memory::prefault(out, out_bytes);
      input_values::for_converted_csr<T>(
          csr.indptr, csr.indices, values, n, Run::kConvertChunkBytes,
          [&](const int32_t* indptr, const int32_t* indices, const T* v, int64_t r0, int64_t m) {
            run.csr(*map, indptr, indices, v, m, out + r0 * f, kernel);
          });
    };
  }
  return run_job(info.Env(), info[6].ToBoolean(), job, {info[0], info[1], info[2], info[4]});
}

}  // namespace ntk_bindings
