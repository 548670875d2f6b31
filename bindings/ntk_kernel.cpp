// ntkKernel(x, n, d, z | null, m, depth, ntkOut | null, nngpOut | null, backend, async)
#include <napi.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "cuda/cuda_backend.hpp"
#include "job.hpp"
#include "kernels/ntk_exact.hpp"

namespace ntk_bindings {

namespace {

template <typename T>
Napi::Value ntk_kernel_typed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = size_arg(info[1], "n");
  const int64_t d = size_arg(info[2], "d");
  const bool symmetric = info[3].IsNull();
  const int64_t m = symmetric ? n : size_arg(info[4], "m");
  const int64_t depth = size_arg(info[5], "depth");
  const T* x = typed_data<T>(info[0], "X", n * d);
  const T* z = symmetric ? nullptr : typed_data<T>(info[3], "Z", m * d);
  T* ntk_out = info[6].IsNull() ? nullptr : typed_data<T>(info[6], "ntkOut", n * m);
  T* nngp_out = info[7].IsNull() ? nullptr : typed_data<T>(info[7], "nngpOut", n * m);
  const bool use_cuda = cuda_backend_arg(info, 8);
  const bool async = info[9].ToBoolean();
  const int dep = static_cast<int>(depth);
  auto job = [=]() {
    if (use_cuda)
      ntk::ntk_exact_cuda<T>(x, n, z, m, d, symmetric, dep, ntk_out, nngp_out);
    else
      ntk::ntk_exact<T>(x, n, z, m, d, symmetric, dep, ntk_out, nngp_out);
  };
  return run_job(env, async, job, {info[0], info[3], info[6], info[7]});
}

Napi::Value NtkKernel(const Napi::CallbackInfo& info) {
  if (info.Length() < 10) throw Napi::TypeError::New(info.Env(), "ntkKernel: expected 10 arguments");
  return dtype_of(info[0], "X") == DType::Float32 ? ntk_kernel_typed<float>(info)
                                                  : ntk_kernel_typed<double>(info);
}

}  // namespace

void register_ntk_kernel(Napi::Env env, Napi::Object exports) {
  exports.Set("ntkKernel", Napi::Function::New(env, NtkKernel, "ntkKernel"));
}

}  // namespace ntk_bindings
