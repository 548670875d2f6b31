// Exact CNTK (docs/math.md#convolutional-ntk), in two steps so that per-image work is done once:
//   shape = { channels, height, width, depth, filterSize, padding: 'valid' | 'same' }
//   cntkLayout(shape) -> { prepDoubles, scratchBytes (per thread), threads, outHeight, outWidth }
//   cntkPrepare({ shape, x, n, prep }, async)
//   cntkPairs({ shape, prepX, n, prepZ: Float64Array | null, m, rowBegin, rowEnd,
//               ntkOut: T | null, nngpOut: T | null, backend?: 'cpu' | 'cuda' }, async)
// cntkPairs computes the rows [rowBegin, rowEnd) of the n x m result, so the
// TypeScript layer can report progress between row blocks.
#include <napi.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "job.hpp"
#include "options.hpp"
#include "common/threads.hpp"
#include "cuda/cuda_backend.hpp"
#include "kernels/cntk_exact.hpp"

namespace ntk_bindings {

namespace {

/// Reads the image and network shape from an options object and checks it.
ntk::CntkShape shape_of(const Options& o) {
  Napi::Env env = o.env();
  ntk::CntkShape s;
  s.channels = o.integer("channels", 1);
  s.height = o.integer("height", 1);
  s.width = o.integer("width", 1);
  const int64_t depth = o.integer("depth", 1, 1000000);
  const int64_t filter = o.integer("filterSize", 1, 1000000);
  // Keeps every size product below int64 overflow (2^40 values per image).
  const double pixels = static_cast<double>(s.channels) * static_cast<double>(s.height) * static_cast<double>(s.width);
  if (pixels > 1099511627776.0) throw Napi::RangeError::New(env, "images are too large");
  s.depth = static_cast<int>(depth);
  s.filter = static_cast<int>(filter);
  const std::string padding = o.string("padding");
  if (padding != "same" && padding != "valid") throw Napi::RangeError::New(env, "padding must be 'valid' or 'same'");
  s.same = padding == "same";
  try {
    ntk::cntk_check_shape(s);
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return s;
}

ntk::CntkShape shape_arg(const Options& o) {
  const auto shape = o.object("shape");
  if (!shape) throw Napi::TypeError::New(o.env(), "shape is required");
  return shape_of(*shape);
}

Napi::Value CntkLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ntk::CntkShape s = shape_of(Options(info, 0, "cntkLayout"));
  Napi::Object out = Napi::Object::New(env);
  out.Set("prepDoubles", static_cast<double>(ntk::cntk_prep_doubles(s)));
  out.Set("scratchBytes", static_cast<double>(ntk::cntk_scratch_bytes(s)));
  out.Set("threads", ntk::thread_setting());  // an upper bound: concurrent jobs share it
  out.Set("outHeight", static_cast<double>(ntk::cntk_grid_edge(s.height, s.depth, s.filter, s.same)));
  out.Set("outWidth", static_cast<double>(ntk::cntk_grid_edge(s.width, s.depth, s.filter, s.same)));
  return out;
}

template <typename T>
Napi::Value prepare_typed(const Napi::CallbackInfo& info, const Options& o) {
  const int64_t n = o.integer("n");
  const ntk::CntkShape s = shape_arg(o);
  if (static_cast<double>(n) * static_cast<double>(ntk::cntk_prep_doubles(s)) > 9.0e18)
    throw Napi::RangeError::New(info.Env(), "n is too large");
  const T* x = typed_data<T>(o.get("x"), "X", n * s.channels * s.height * s.width);
  double* prep = typed_data<double>(o.get("prep"), "prep", n * ntk::cntk_prep_doubles(s));
  const bool async = info.Length() > 1 && info[1].ToBoolean();
  auto job = [=]() { ntk::cntk_prepare<T>(x, n, s, prep); };
  return run_job(info.Env(), async, job, {o.get("x"), o.get("prep")});
}

Napi::Value CntkPrepare(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "cntkPrepare");
  return dtype_of(o.get("x"), "X") == DType::Float32 ? prepare_typed<float>(info, o) : prepare_typed<double>(info, o);
}

template <typename T>
Napi::Value pairs_typed(const Napi::CallbackInfo& info, const Options& o) {
  Napi::Env env = info.Env();
  const int64_t n = o.integer("n");
  const bool symmetric = o.get("prepZ").IsNull();
  const int64_t m = symmetric ? n : o.integer("m");
  const ntk::CntkShape s = shape_arg(o);
  const int64_t row_begin = o.integer("rowBegin");
  const int64_t row_end = o.integer("rowEnd");
  if (row_begin > row_end || row_end > n)
    throw Napi::RangeError::New(env, "rowBegin and rowEnd must satisfy 0 <= rowBegin <= rowEnd <= n");
  const int64_t per = ntk::cntk_prep_doubles(s);
  if (static_cast<double>(std::max(n, m)) * static_cast<double>(per) > 9.0e18 ||
      static_cast<double>(n) * static_cast<double>(m) > 9.0e18)
    throw Napi::RangeError::New(env, "n and m are too large");
  const Napi::Value vx = o.get("prepX"), vz = o.get("prepZ"), vntk = o.get("ntkOut"), vnngp = o.get("nngpOut");
  const double* px = typed_data<double>(vx, "prepX", n * per);
  const double* pz = symmetric ? nullptr : typed_data<double>(vz, "prepZ", m * per);
  T* ntk_out = vntk.IsNull() ? nullptr : typed_data<T>(vntk, "ntkOut", n * m);
  T* nngp_out = vnngp.IsNull() ? nullptr : typed_data<T>(vnngp, "nngpOut", n * m);
  const bool async = info.Length() > 1 && info[1].ToBoolean();
  const bool cuda = o.cuda();
  auto job = [=]() {
    if (cuda)
      ntk::cntk_exact_rows_cuda<T>(px, n, pz, m, symmetric, s, row_begin, row_end, ntk_out, nngp_out);
    else
      ntk::cntk_exact_rows<T>(px, n, pz, m, symmetric, s, row_begin, row_end, ntk_out, nngp_out);
  };
  return run_job(env, async, job, {vx, vz, vntk, vnngp});
}

Napi::Value CntkPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(info, 0, "cntkPairs");
  const Napi::Value out = o.get("ntkOut").IsNull() ? o.get("nngpOut") : o.get("ntkOut");
  if (out.IsNull() || out.IsUndefined()) throw Napi::TypeError::New(env, "cntkPairs: ntkOut and nngpOut are both null");
  return dtype_of(out, "ntkOut") == DType::Float32 ? pairs_typed<float>(info, o) : pairs_typed<double>(info, o);
}

}  // namespace

void register_cntk_kernel(Napi::Env env, Napi::Object exports) {
  exports.Set("cntkLayout", Napi::Function::New(env, CntkLayout, "cntkLayout"));
  exports.Set("cntkPrepare", Napi::Function::New(env, CntkPrepare, "cntkPrepare"));
  exports.Set("cntkPairs", Napi::Function::New(env, CntkPairs, "cntkPairs"));
}

}  // namespace ntk_bindings
