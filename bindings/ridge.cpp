// Linear-algebra entry points used by RidgeRegression / KernelRidgeRegression:
//   gramAccumulate(phi, n, m, y | null, k, A, B | null, async)
//   ridgeSolve(A, m, B, k, lambda, W, status, async)   status = [info, rcond]
//   symmetricEigh(A, m, evals, vt, status, async)      status = [info]
//   gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, async, engine?)
//     engine "vendor": the BLAS library's GEMM instead of the core's (benchmarks)
//   ridgeLeverage(Phi, n, m, lambdaRel, scores, status, async)   status = [info, lambda]
//   gatherColumns(pool, rows, m, columns, scales, normalize, out)  (LeverageSelection)
#include <napi.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "job.hpp"
#include "maps/column_selection.hpp"
#include "linalg/blas.hpp"
#include "linalg/leverage.hpp"
#include "linalg/ridge.hpp"

namespace ntk_bindings {

namespace {

template <typename T>
Napi::Value gram_accumulate_typed(const Napi::CallbackInfo& info) {
  const int64_t n = size_arg(info[1], "n");
  const int64_t m = size_arg(info[2], "m");
  const int64_t k = info[3].IsNull() ? 0 : size_arg(info[4], "k");
  const T* phi = typed_data<T>(info[0], "Phi", n * m);
  const T* y = info[3].IsNull() ? nullptr : typed_data<T>(info[3], "Y", n * k);
  double* a = typed_data<double>(info[5], "A", m * m);
  double* b = info[6].IsNull() ? nullptr : typed_data<double>(info[6], "B", m * k);
  auto job = [=]() { ntk::gram_accumulate<T>(phi, n, m, b ? y : nullptr, k, a, b); };
  return run_job(info.Env(), info[7].ToBoolean(), job, {info[0], info[3], info[5], info[6]});
}

Napi::Value GramAccumulate(const Napi::CallbackInfo& info) {
  if (info.Length() < 8) throw Napi::TypeError::New(info.Env(), "gramAccumulate: expected 8 arguments");
  return dtype_of(info[0], "Phi") == DType::Float32 ? gram_accumulate_typed<float>(info)
                                                    : gram_accumulate_typed<double>(info);
}

Napi::Value RidgeSolve(const Napi::CallbackInfo& info) {
  if (info.Length() < 8) throw Napi::TypeError::New(info.Env(), "ridgeSolve: expected 8 arguments");
  const int64_t m = size_arg(info[1], "m");
  const int64_t k = size_arg(info[3], "k");
  const double* a = typed_data<double>(info[0], "A", m * m);
  const double* b = typed_data<double>(info[2], "B", m * k);
  const double lambda = info[4].As<Napi::Number>().DoubleValue();
  double* w = typed_data<double>(info[5], "W", m * k);
  double* status = typed_data<double>(info[6], "status", 2);
  auto job = [=]() {
    const ntk::RidgeSolveResult r = ntk::ridge_solve(a, m, b, k, lambda, w);
    status[0] = r.info;
    status[1] = r.rcond;
  };
  return run_job(info.Env(), info[7].ToBoolean(), job, {info[0], info[2], info[5], info[6]});
}

Napi::Value SymmetricEigh(const Napi::CallbackInfo& info) {
  if (info.Length() < 6) throw Napi::TypeError::New(info.Env(), "symmetricEigh: expected 6 arguments");
  const int64_t m = size_arg(info[1], "m");
  const double* a = typed_data<double>(info[0], "A", m * m);
  double* evals = typed_data<double>(info[2], "evals", m);
  double* vt = typed_data<double>(info[3], "vt", m * m);
  double* status = typed_data<double>(info[4], "status", 1);
  auto job = [=]() { status[0] = ntk::symmetric_eigh(a, m, evals, vt); };
  return run_job(info.Env(), info[5].ToBoolean(), job, {info[0], info[2], info[3], info[4]});
}

template <typename T>
Napi::Value gemm_typed(const Napi::CallbackInfo& info) {
  const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
  const int64_t M = size_arg(info[2], "M"), N = size_arg(info[3], "N"), K = size_arg(info[4], "K");
  const T alpha = static_cast<T>(info[5].As<Napi::Number>().DoubleValue());
  const int64_t lda = size_arg(info[7], "lda"), ldb = size_arg(info[9], "ldb");
  const T beta = static_cast<T>(info[10].As<Napi::Number>().DoubleValue());
  const int64_t ldc = size_arg(info[12], "ldc");
  // Extents of the stored operands (row-major): op(A) is M x K, op(B) is K x N.
  const int64_t a_rows = ta ? K : M, b_rows = tb ? N : K;
  const T* a = typed_data<T>(info[6], "A", a_rows == 0 ? 0 : (a_rows - 1) * lda + (ta ? M : K));
  const T* b = typed_data<T>(info[8], "B", b_rows == 0 ? 0 : (b_rows - 1) * ldb + (tb ? K : N));
  T* c = typed_data<T>(info[11], "C", M == 0 ? 0 : (M - 1) * ldc + N);
  const bool vendor = info.Length() > 14 && info[14].IsString() && info[14].As<Napi::String>().Utf8Value() == "vendor";
  auto job = [=]() {
    if (vendor)
      ntk::gemm_vendor(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else
      ntk::gemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  return run_job(info.Env(), info[13].ToBoolean(), job, {info[6], info[8], info[11]});
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  if (info.Length() < 14) throw Napi::TypeError::New(info.Env(), "gemm: expected 14 arguments");
  return dtype_of(info[6], "A") == DType::Float32 ? gemm_typed<float>(info) : gemm_typed<double>(info);
}

template <typename T>
Napi::Value ridge_leverage_typed(const Napi::CallbackInfo& info) {
  const int64_t n = size_arg(info[1], "n");
  const int64_t m = size_arg(info[2], "m");
  const T* phi = typed_data<T>(info[0], "Phi", n * m);
  const double lambda_rel = info[3].As<Napi::Number>().DoubleValue();
  double* scores = typed_data<double>(info[4], "scores", m);
  double* status = typed_data<double>(info[5], "status", 2);
  auto job = [=]() {
    const ntk::LeverageResult r = ntk::ridge_leverage_scores<T>(phi, n, m, lambda_rel, scores);
    status[0] = r.info;
    status[1] = r.lambda;
  };
  return run_job(info.Env(), info[6].ToBoolean(), job, {info[0], info[4], info[5]});
}

Napi::Value RidgeLeverage(const Napi::CallbackInfo& info) {
  if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "ridgeLeverage: expected 7 arguments");
  return dtype_of(info[0], "Phi") == DType::Float32 ? ridge_leverage_typed<float>(info)
                                                    : ridge_leverage_typed<double>(info);
}

template <typename T>
Napi::Value gather_columns_typed(const Napi::CallbackInfo& info) {
  const int64_t rows = size_arg(info[1], "rows");
  const int64_t m = size_arg(info[2], "m");
  const T* pool = typed_data<T>(info[0], "pool", rows * m);
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "columns must be an Int32Array");
  auto columns = info[3].As<Napi::Int32Array>();
  const int64_t k = static_cast<int64_t>(columns.ElementLength());
  for (int64_t t = 0; t < k; ++t)
    if (columns[t] < 0 || columns[t] >= m) throw Napi::RangeError::New(info.Env(), "columns out of range");
  const double* scales = typed_data<double>(info[4], "scales", k);
  const bool normalize = info[5].ToBoolean();
  T* out = typed_data<T>(info[6], "out", rows * k);
  ntk::gather_scaled_columns<T>(pool, rows, m, columns.Data(), scales, k, normalize, out);
  return info.Env().Undefined();
}

Napi::Value GatherColumns(const Napi::CallbackInfo& info) {
  if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "gatherColumns: expected 7 arguments");
  return dtype_of(info[0], "pool") == DType::Float32 ? gather_columns_typed<float>(info)
                                                     : gather_columns_typed<double>(info);
}

}  // namespace

void register_ridge(Napi::Env env, Napi::Object exports) {
  exports.Set("gramAccumulate", Napi::Function::New(env, GramAccumulate, "gramAccumulate"));
  exports.Set("ridgeSolve", Napi::Function::New(env, RidgeSolve, "ridgeSolve"));
  exports.Set("symmetricEigh", Napi::Function::New(env, SymmetricEigh, "symmetricEigh"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("ridgeLeverage", Napi::Function::New(env, RidgeLeverage, "ridgeLeverage"));
  exports.Set("gatherColumns", Napi::Function::New(env, GatherColumns, "gatherColumns"));
}

}  // namespace ntk_bindings
