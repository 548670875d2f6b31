// What the bindings of the feature maps (NtkSketchMap, NtkRandomFeaturesMap,
// CntkSketchMap) share: one base class (FeatureMapBinding) with transform,
// info and dispose, whose transforms run as jobs through the ntk::FeatureMap
// interface on the map of the float32 or float64 form it was built in (the
// CPU map, or a copy of it that runs elsewhere, such as NTKSketch's GPU copy).
//
//   transform({ x, n, out, kernel }, async)                          dense rows
//   transform({ indptr, indices, values, n, out, kernel }, async)    CSR rows (maps that read them)
//
// A transform job takes X in either float dtype and checks it itself, so that
// the JavaScript layer neither converts nor scans it on its own thread:
//   1. every value of X, as converted to the map's dtype, must be finite, or
//      the job throws JobRangeError (a RangeError in JavaScript) naming X (or
//      X.data for CSR) and the flat index, before anything is written;
//   2. a fresh result array (allocate() in arrays.ts, markFreshResult) is
//      prefaulted in bulk, in parallel (result_memory.hpp);
//   3. X of the map's dtype is transformed in place; X of the other dtype is
//      converted in chunks of rows (FeatureMap::preferred_chunk_bytes) into a
//      scratch buffer, each chunk transformed into its rows of out. Every map
//      gives bit-identical features for any split of the rows into calls, so
//      the chunks change nothing but the memory used: a few MiB instead of a
//      converted copy of X.
#pragma once

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
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
#include "maps/feature_map.hpp"
#include "job.hpp"
#include "options.hpp"
#include "result_memory.hpp"

namespace ntk_bindings {

inline ntk::FeatureKernel kernel_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::FeatureKernel::Ntk;
  if (k == "nngp") return ntk::FeatureKernel::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

/// make() (a shared_ptr to a new map), its errors as RangeErrors (out of
/// memory: `out_of_memory` when given).
template <typename F>
auto construct_map(Napi::Env env, F&& make, const char* out_of_memory = nullptr) {
  try {
    return make();
  } catch (const std::bad_alloc& e) {
    throw Napi::RangeError::New(env, out_of_memory ? out_of_memory : e.what());
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

/// An immutable native map Map<float> or Map<double>, and the FeatureMap
/// that runs its transforms (the map itself unless run_on gave a copy),
/// shared with running jobs (shared_ptr) so that an async job keeps them
/// alive even if the JavaScript object is disposed or collected meanwhile.
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

  /// Builds the map from its config; its errors become RangeErrors.
  template <typename Config>
  void build(Napi::Env env, DType dtype, const Config& config, const char* out_of_memory = nullptr) {
    if (dtype == DType::Float32)
      adopt(env, construct_map(env, [&] { return std::make_shared<const Map<float>>(config); }, out_of_memory));
    else
      adopt(env, construct_map(env, [&] { return std::make_shared<const Map<double>>(config); }, out_of_memory));
  }

  /// Holds a map built elsewhere; it runs its own transforms.
  template <typename T>
  void adopt(Napi::Env env, std::shared_ptr<const Map<T>> map) {
    track(env, map->parameter_bytes());
    slot<T>().runner = map;
    slot<T>().map = std::move(map);
  }

  /// Transforms of the form built run on `runner` (a copy of the map elsewhere) from now on.
  template <typename T>
  void run_on(std::shared_ptr<const ntk::FeatureMap<T>> runner) {
    slot<T>().runner = std::move(runner);
  }

  bool live() const { return f32_.map || f64_.map; }

  /// f(map) with the shared_ptr of the form that was built; throws once
  /// disposed (the TypeScript layer refuses such calls first).
  template <typename F>
  decltype(auto) visit(F&& f) const {
    if (!live()) throw Napi::Error::New(Napi::Env(env_), "the map has been disposed");
    return f32_.map ? f(f32_.map) : f(f64_.map);
  }

  /// The FeatureMap that runs the transforms of the form T (call within visit).
  template <typename T>
  std::shared_ptr<const ntk::FeatureMap<T>> runner() const {
    return slot<T>().runner;
  }

  /// Parameter bytes of a runner that is not the map itself (a device copy), else 0.
  template <typename T>
  int64_t runner_bytes() const {
    const Slot<T>& s = slot<T>();
    return s.runner && s.runner.get() != s.map.get() ? s.runner->parameter_bytes() : 0;
  }

  /// Drops this object's references (jobs still running hold their own)
  /// and reports the memory as released.
  void dispose(Napi::Env env) {
    f32_ = Slot<float>();
    f64_ = Slot<double>();
    track(env, 0);
  }

 private:
  template <typename T>
  struct Slot {
    std::shared_ptr<const Map<T>> map;
    std::shared_ptr<const ntk::FeatureMap<T>> runner;
  };
  template <typename T>
  Slot<T>& slot() {
    if constexpr (std::is_same_v<T, float>) return f32_; else return f64_;
  }
  template <typename T>
  const Slot<T>& slot() const {
    if constexpr (std::is_same_v<T, float>) return f32_; else return f64_;
  }

  Slot<float> f32_;
  Slot<double> f64_;
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


// ------------------------------------------------------------- transform calls

/// The job on n dense rows x of dtype S into out: check, prefault, transform
/// (in converted chunks when S is not the map's T).
template <typename T, typename S>
std::function<void()> dense_job(std::shared_ptr<const ntk::FeatureMap<T>> map, const S* x, int64_t n, T* out,
                                ntk::FeatureKernel kernel) {
  return [=]() {
    const int64_t d = map->input_dim(), f = map->features();
    input_values::check_finite<T>(x, n * d, "X");
    result_memory::prefault(out, static_cast<size_t>(n * f) * sizeof(T));
    if constexpr (std::is_same_v<S, T>) {
      map->transform(x, n, out, kernel);
    } else {
      input_values::for_converted_rows<T>(x, n, d, map->preferred_chunk_bytes(),
                                          [&](const T* rows, int64_t r0, int64_t m) {
                                            map->transform(rows, m, out + r0 * f, kernel);
                                          });
    }
  };
}

/// The same for n CSR rows with values of dtype S.
template <typename T, typename S>
std::function<void()> csr_job(std::shared_ptr<const ntk::FeatureMap<T>> map, const CsrStructure& csr, const S* values,
                              int64_t n, T* out, ntk::FeatureKernel kernel) {
  return [=]() {
    const int64_t f = map->features();
    input_values::check_finite<T>(values, csr.nnz, "X.data");
    result_memory::prefault(out, static_cast<size_t>(n * f) * sizeof(T));
    if constexpr (std::is_same_v<S, T>) {
      map->transform_csr(csr.indptr, csr.indices, values, n, out, kernel);
    } else {
      input_values::for_converted_csr<T>(
          csr.indptr, csr.indices, values, n, map->preferred_chunk_bytes(),
          [&](const int32_t* indptr, const int32_t* indices, const T* v, int64_t r0, int64_t m) {
            map->transform_csr(indptr, indices, v, m, out + r0 * f, kernel);
          });
    }
  };
}

/// transform({ x, n, out, kernel } | { indptr, indices, values, n, out, kernel }, async) on `map`:
/// features of n rows of map->input_dim() values, x / values of either float dtype.
template <typename T>
Napi::Value transform_call(const Options& o, bool async, std::shared_ptr<const ntk::FeatureMap<T>> map,
                           ntk::FeatureKernel kernel) {
  Napi::Env env = o.env();
  const bool sparse = o.has("indptr");
  if (sparse && !map->reads_csr())
    throw Napi::TypeError::New(env, "transform: this map reads dense input only (no indptr, indices, values)");
  const int64_t n = o.integer("n");
  const Napi::Value vout = o.value("out");
  T* out = typed_data<T>(vout, "out", n * map->features());
  if (!sparse) {
    const Napi::Value vx = o.value("x");
    const int64_t count = n * map->input_dim();
    const bool same = dtype_of(vx, "X") == dtype_v<T>;
    auto job = same ? dense_job(map, typed_data<T>(vx, "X", count), n, out, kernel)
                    : dense_job(map, typed_data<OtherFloat<T>>(vx, "X", count), n, out, kernel);
    return run_job(env, async, job, {vx, vout});
  }
  // The TypeScript layer has validated the structure; recheck what guards
  // memory (indices are read through) at O(nnz).
  const Napi::Value vp = o.value("indptr"), vi = o.value("indices"), vv = o.value("values");
  const CsrStructure csr = csr_structure(vp, vi, n, map->input_dim());
  const bool same = dtype_of(vv, "values") == dtype_v<T>;
  auto job = same ? csr_job(map, csr, typed_data<T>(vv, "values", csr.nnz), n, out, kernel)
                  : csr_job(map, csr, typed_data<OtherFloat<T>>(vv, "values", csr.nnz), n, out, kernel);
  return run_job(env, async, job, {vp, vi, vv, vout});
}

// ------------------------------------------------------------- the binding base

/// The JavaScript class of a feature map (CRTP): transform, info and dispose
/// for every map; Derived adds its constructor (options -> config, then
/// map_.build) and its own methods, and may provide
///   void before_transform(Napi::Env, const Map<T>&, ntk::FeatureKernel)   (refusals, accounting)
///   void add_info(Napi::Object&, const Map<T>&) const                     (map-specific info fields)
/// (templates over T; Derived befriends the base when they are private).
template <typename Derived, template <typename> class Map>
class FeatureMapBinding : public Napi::ObjectWrap<Derived> {
 public:
  using Wrap = Napi::ObjectWrap<Derived>;
  using Method = typename Wrap::PropertyDescriptor;

 protected:
  explicit FeatureMapBinding(const Napi::CallbackInfo& info) : Wrap(info) {}

  /// The class: transform, info and dispose, plus Derived's `methods`.
  static Napi::Function define(Napi::Env env, const char* name, std::vector<Method> methods) {
    using Callback = Napi::Value (Derived::*)(const Napi::CallbackInfo&);
    methods.push_back(Wrap::InstanceMethod("transform", static_cast<Callback>(&FeatureMapBinding::Transform)));
    methods.push_back(Wrap::InstanceMethod("info", static_cast<Callback>(&FeatureMapBinding::Info)));
    methods.push_back(Wrap::InstanceMethod("dispose", static_cast<Callback>(&FeatureMapBinding::Dispose)));
    return Wrap::DefineClass(env, name, methods);
  }

  // Defaults of Derived's hooks.
  template <typename T>
  void before_transform(Napi::Env, const Map<T>&, ntk::FeatureKernel) {}
  template <typename T>
  void add_info(Napi::Object&, const Map<T>&) const {}

  TypedMap<Map> map_;

 private:
  Napi::Value Transform(const Napi::CallbackInfo& info) {
    const Options o(info, 0, "transform");
    const ntk::FeatureKernel kernel = o.kernel();
    const bool async = info.Length() > 1 && info[1].ToBoolean();
    return map_.visit([&](auto map) {
      using T = typename std::decay_t<decltype(*map)>::Scalar;
      static_cast<Derived*>(this)->before_transform(info.Env(), *map, kernel);
      return transform_call<T>(o, async, map_.template runner<T>(), kernel);
    });
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return map_.visit([&](auto map) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("parameterBytes", static_cast<double>(map->parameter_bytes()));
      static_cast<const Derived*>(this)->add_info(o, *map);
      return o;
    });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    map_.dispose(info.Env());
    return info.Env().Undefined();
  }
};

}  // namespace ntk_bindings
