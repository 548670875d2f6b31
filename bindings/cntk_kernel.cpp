// Exact CNTK (docs/math.md#convolutional-ntk), in two steps so that per-image work is done once:
//   cntkLayout(C, H, W, depth, filter, same)
//     -> { prepDoubles, scratchBytes (per thread), threads, outHeight, outWidth }
//   cntkPrepare(x, n, C, H, W, depth, filter, same, prep, async)
//   cntkPairs(prepX, n, prepZ | null, m, C, H, W, depth, filter, same,
//             rowBegin, rowEnd, ntkOut | null, nngpOut | null, async, backend = 'cpu')
// cntkPairs computes the rows [rowBegin, rowEnd) of the n x m result, so the
// TypeScript layer can report progress between row blocks.
#include <napi.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "job.hpp"
#include "common/threads.hpp"
#include "cuda/cuda_backend.hpp"
#include "kernels/cntk_exact.hpp"

namespace ntk_bindings {

namespace {

/// Reads (C, H, W, depth, filter, same) from info[first..first+5] and checks it.
ntk::CntkShape shape_args(const Napi::CallbackInfo& info, size_t first) {
  ntk::CntkShape s;
  s.channels = size_arg(info[first], "channels");
  s.height = size_arg(info[first + 1], "height");
  s.width = size_arg(info[first + 2], "width");
  const int64_t depth = size_arg(info[first + 3], "depth");
  const int64_t filter = size_arg(info[first + 4], "filterSize");
  if (depth > 1000000 || filter > 1000000)
    throw Napi::RangeError::New(info.Env(), "depth and filterSize are out of range");
  // Keeps every size product below int64 overflow (2^40 values per image).
  const double pixels = static_cast<double>(s.channels) * static_cast<double>(s.height) * static_cast<double>(s.width);
  if (pixels > 1099511627776.0) throw Napi::RangeError::New(info.Env(), "images are too large");
  s.depth = static_cast<int>(depth);
  s.filter = static_cast<int>(filter);
  s.same = info[first + 5].ToBoolean();
  try {
    ntk::cntk_check_shape(s);
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
  return s;
}

Napi::Value CntkLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) throw Napi::TypeError::New(env, "cntkLayout: expected 6 arguments");
  const ntk::CntkShape s = shape_args(info, 0);
  Napi::Object out = Napi::Object::New(env);
  out.Set("prepDoubles", static_cast<double>(ntk::cntk_prep_doubles(s)));
  out.Set("scratchBytes", static_cast<double>(ntk::cntk_scratch_bytes(s)));
  out.Set("threads", ntk::thread_count());
  out.Set("outHeight", static_cast<double>(ntk::cntk_grid_edge(s.height, s.depth, s.filter, s.same)));
  out.Set("outWidth", static_cast<double>(ntk::cntk_grid_edge(s.width, s.depth, s.filter, s.same)));
  return out;
}

template <typename T>
Napi::Value prepare_typed(const Napi::CallbackInfo& info) {
  const int64_t n = size_arg(info[1], "n");
  const ntk::CntkShape s = shape_args(info, 2);
  if (static_cast<double>(n) * static_cast<double>(ntk::cntk_prep_doubles(s)) > 9.0e18)
    throw Napi::RangeError::New(info.Env(), "n is too large");
  const T* x = typed_data<T>(info[0], "X", n * s.channels * s.height * s.width);
  double* prep = typed_data<double>(info[8], "prep", n * ntk::cntk_prep_doubles(s));
  const bool async = info[9].ToBoolean();
  auto job = [=]() { ntk::cntk_prepare<T>(x, n, s, prep); };
  return run_job(info.Env(), async, job, {info[0], info[8]});
}

Napi::Value CntkPrepare(const Napi::CallbackInfo& info) {
  if (info.Length() < 10) throw Napi::TypeError::New(info.Env(), "cntkPrepare: expected 10 arguments");
  return dtype_of(info[0], "X") == DType::Float32 ? prepare_typed<float>(info)
                                                  : prepare_typed<double>(info);
}

template <typename T>
Napi::Value pairs_typed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = size_arg(info[1], "n");
  const bool symmetric = info[2].IsNull();
  const int64_t m = symmetric ? n : size_arg(info[3], "m");
  const ntk::CntkShape s = shape_args(info, 4);
  const int64_t row_begin = size_arg(info[10], "rowBegin");
  const int64_t row_end = size_arg(info[11], "rowEnd");
  if (row_begin > row_end || row_end > n)
    throw Napi::RangeError::New(env, "rowBegin and rowEnd must satisfy 0 <= rowBegin <= rowEnd <= n");
  const int64_t per = ntk::cntk_prep_doubles(s);
  if (static_cast<double>(std::max(n, m)) * static_cast<double>(per) > 9.0e18 ||
      static_cast<double>(n) * static_cast<double>(m) > 9.0e18)
    throw Napi::RangeError::New(env, "n and m are too large");
  const double* px = typed_data<double>(info[0], "prepX", n * per);
  const double* pz = symmetric ? nullptr : typed_data<double>(info[2], "prepZ", m * per);
  T* ntk_out = info[12].IsNull() ? nullptr : typed_data<T>(info[12], "ntkOut", n * m);
  T* nngp_out = info[13].IsNull() ? nullptr : typed_data<T>(info[13], "nngpOut", n * m);
  const bool async = info[14].ToBoolean();
  const bool cuda = cuda_backend_arg(info, 15);
  auto job = [=]() {
    if (cuda)
      ntk::cntk_exact_rows_cuda<T>(px, n, pz, m, symmetric, s, row_begin, row_end, ntk_out, nngp_out);
    else
      ntk::cntk_exact_rows<T>(px, n, pz, m, symmetric, s, row_begin, row_end, ntk_out, nngp_out);
  };
  return run_job(env, async, job, {info[0], info[2], info[12], info[13]});
}

Napi::Value CntkPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 15) throw Napi::TypeError::New(env, "cntkPairs: expected 15 arguments");
  const Napi::Value out = info[12].IsNull() ? info[13] : info[12];
  if (out.IsNull()) throw Napi::TypeError::New(env, "cntkPairs: ntkOut and nngpOut are both null");
  return dtype_of(out, "ntkOut") == DType::Float32 ? pairs_typed<float>(info)
                                                   : pairs_typed<double>(info);
}

}  // namespace

void register_cntk_kernel(Napi::Env env, Napi::Object exports) {
  exports.Set("cntkLayout", Napi::Function::New(env, CntkLayout, "cntkLayout"));
  exports.Set("cntkPrepare", Napi::Function::New(env, CntkPrepare, "cntkPrepare"));
  exports.Set("cntkPairs", Napi::Function::New(env, CntkPairs, "cntkPairs"));
}

}  // namespace ntk_bindings
