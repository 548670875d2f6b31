// Linear-algebra entry points used by RidgeRegression / KernelRidgeRegression and LeverageSelection.
// Each takes one options object (read by name) and `async`:
//   gramAccumulate({ phi, n, m, y: Float64Array | null, k, gram, rhs: Float64Array | null }, async)
//     gram (m x m, upper triangle) += phi^T phi; rhs (m x k) += phi^T y when both y and rhs are given
//     (phi float32 or float64; targets always float64, so float32 features keep their targets' precision)
//   ridgeSolve({ gram, m, rhs, k, lambda, weights, status }, async)
//     weights (m x k) = (gram + lambda I)^-1 rhs; status = [info, rcond]
//   symmetricEigh({ matrix, m, eigenvalues, eigenvectors, status }, async)
//     ascending eigenvalues; eigenvectors (m x m) holds V^T (one eigenvector per row); status = [info]
//   gemm({ transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, engine?: 'core' | 'vendor' }, async)
//     c = alpha op(a) op(b) + beta c, row-major; engine 'vendor': the BLAS library's GEMM (benchmarks)
//   ridgeLeverage({ phi, n, m, lambdaRel, scores, status }, async)   status = [info, lambda]
#include <napi.h>

#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "job.hpp"
#include "linalg/blas.hpp"
#include "linalg/leverage.hpp"
#include "linalg/ridge.hpp"
#include "options.hpp"

namespace ntk_bindings {

namespace {

bool async_arg(const Napi::CallbackInfo& info) { return info.Length() > 1 && info[1].ToBoolean(); }

template <typename T>
Napi::Value gram_accumulate_typed(const Napi::CallbackInfo& info, const Options& o) {
  const int64_t n = o.integer("n");
  const int64_t m = o.integer("m");
  const Napi::Value vphi = o.get("phi"), vy = o.get("y"), vgram = o.get("gram"), vrhs = o.get("rhs");
  const int64_t k = vy.IsNull() ? 0 : o.integer("k");
  const T* phi = typed_data<T>(vphi, "phi", n * m);
  const double* y = vy.IsNull() ? nullptr : typed_data<double>(vy, "y", n * k);
  double* gram = typed_data<double>(vgram, "gram", m * m);
  double* rhs = vrhs.IsNull() ? nullptr : typed_data<double>(vrhs, "rhs", m * k);
  auto job = [=]() { ntk::gram_accumulate<T>(phi, n, m, rhs ? y : nullptr, k, gram, rhs); };
  return run_job(info.Env(), async_arg(info), job, {vphi, vy, vgram, vrhs});
}

Napi::Value GramAccumulate(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "gramAccumulate");
  return dtype_of(o.get("phi"), "phi") == DType::Float32 ? gram_accumulate_typed<float>(info, o)
                                                         : gram_accumulate_typed<double>(info, o);
}

Napi::Value RidgeSolve(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "ridgeSolve");
  const int64_t m = o.integer("m");
  const int64_t k = o.integer("k");
  const Napi::Value vgram = o.get("gram"), vrhs = o.get("rhs"), vw = o.get("weights"), vstatus = o.get("status");
  const double* gram = typed_data<double>(vgram, "gram", m * m);
  const double* rhs = typed_data<double>(vrhs, "rhs", m * k);
  const double lambda = o.number("lambda");
  double* w = typed_data<double>(vw, "weights", m * k);
  double* status = typed_data<double>(vstatus, "status", 2);
  auto job = [=]() {
    const ntk::RidgeSolveResult r = ntk::ridge_solve(gram, m, rhs, k, lambda, w);
    status[0] = r.info;
    status[1] = r.rcond;
  };
  return run_job(info.Env(), async_arg(info), job, {vgram, vrhs, vw, vstatus});
}

Napi::Value SymmetricEigh(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "symmetricEigh");
  const int64_t m = o.integer("m");
  const Napi::Value va = o.get("matrix"), vvals = o.get("eigenvalues"), vvecs = o.get("eigenvectors"),
                    vstatus = o.get("status");
  const double* a = typed_data<double>(va, "matrix", m * m);
  double* evals = typed_data<double>(vvals, "eigenvalues", m);
  double* vt = typed_data<double>(vvecs, "eigenvectors", m * m);
  double* status = typed_data<double>(vstatus, "status", 1);
  auto job = [=]() { status[0] = ntk::symmetric_eigh(a, m, evals, vt); };
  return run_job(info.Env(), async_arg(info), job, {va, vvals, vvecs, vstatus});
}

/// engine: 'core' (absent) or 'vendor'.
bool vendor_engine(const Options& o) {
  if (!o.has("engine")) return false;
  const std::string e = o.string("engine");
  if (e != "core" && e != "vendor") throw Napi::RangeError::New(o.env(), "gemm.engine must be 'core' or 'vendor'");
  return e == "vendor";
}

template <typename T>
Napi::Value gemm_typed(const Napi::CallbackInfo& info, const Options& o) {
  const bool ta = o.boolean("transA"), tb = o.boolean("transB");
  const int64_t M = o.integer("m"), N = o.integer("n"), K = o.integer("k");
  const T alpha = static_cast<T>(o.number("alpha"));
  const int64_t lda = o.integer("lda"), ldb = o.integer("ldb");
  const T beta = static_cast<T>(o.number("beta"));
  const int64_t ldc = o.integer("ldc");
  const Napi::Value va = o.get("a"), vb = o.get("b"), vc = o.get("c");
  // Extents of the stored operands (row-major): op(A) is M x K, op(B) is K x N.
  const int64_t a_rows = ta ? K : M, b_rows = tb ? N : K;
  const T* a = typed_data<T>(va, "a", a_rows == 0 ? 0 : (a_rows - 1) * lda + (ta ? M : K));
  const T* b = typed_data<T>(vb, "b", b_rows == 0 ? 0 : (b_rows - 1) * ldb + (tb ? K : N));
  T* c = typed_data<T>(vc, "c", M == 0 ? 0 : (M - 1) * ldc + N);
  const bool vendor = vendor_engine(o);
  auto job = [=]() {
    if (vendor)
      ntk::gemm_vendor(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else
      ntk::gemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  return run_job(info.Env(), async_arg(info), job, {va, vb, vc});
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "gemm");
  return dtype_of(o.get("a"), "a") == DType::Float32 ? gemm_typed<float>(info, o) : gemm_typed<double>(info, o);
}

template <typename T>
Napi::Value ridge_leverage_typed(const Napi::CallbackInfo& info, const Options& o) {
  const int64_t n = o.integer("n");
  const int64_t m = o.integer("m");
  const Napi::Value vphi = o.get("phi"), vscores = o.get("scores"), vstatus = o.get("status");
  const T* phi = typed_data<T>(vphi, "phi", n * m);
  const double lambda_rel = o.number("lambdaRel");
  double* scores = typed_data<double>(vscores, "scores", m);
  double* status = typed_data<double>(vstatus, "status", 2);
  auto job = [=]() {
    const ntk::LeverageResult r = ntk::ridge_leverage_scores<T>(phi, n, m, lambda_rel, scores);
    status[0] = r.info;
    status[1] = r.lambda;
  };
  return run_job(info.Env(), async_arg(info), job, {vphi, vscores, vstatus});
}

Napi::Value RidgeLeverage(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "ridgeLeverage");
  return dtype_of(o.get("phi"), "phi") == DType::Float32 ? ridge_leverage_typed<float>(info, o)
                                                         : ridge_leverage_typed<double>(info, o);
}

}  // namespace

void register_ridge(Napi::Env env, Napi::Object exports) {
  exports.Set("gramAccumulate", Napi::Function::New(env, GramAccumulate, "gramAccumulate"));
  exports.Set("ridgeSolve", Napi::Function::New(env, RidgeSolve, "ridgeSolve"));
  exports.Set("symmetricEigh", Napi::Function::New(env, SymmetricEigh, "symmetricEigh"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("ridgeLeverage", Napi::Function::New(env, RidgeLeverage, "ridgeLeverage"));
}

}  // namespace ntk_bindings
