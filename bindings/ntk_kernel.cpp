// ntkKernel({ x, n, d, z: T | null, m, depth, ntkOut: T | null, nngpOut: T | null, backend?: 'cpu' | 'cuda',
//             flags?: Int32Array(2) [cancel, tiles done] }, async)
#include <napi.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "cuda/cuda_backend.hpp"
#include "job.hpp"
#include "options.hpp"
#include "kernels/ntk_exact.hpp"

namespace ntk_bindings {

namespace {

template <typename T>
Napi::Value ntk_kernel_typed(const Napi::CallbackInfo& info, const Options& o) {
  Napi::Env env = info.Env();
  const int64_t n = o.integer("n");
  const int64_t d = o.integer("d");
  const Napi::Value vx = o.get("x"), vz = o.get("z"), vntk = o.get("ntkOut"), vnngp = o.get("nngpOut");
  const bool symmetric = vz.IsNull();
  const int64_t m = symmetric ? n : o.integer("m");
  const int dep = static_cast<int>(o.integer("depth", 1, 1000));
  const T* x = typed_data<T>(vx, "X", n * d);
  const T* z = symmetric ? nullptr : typed_data<T>(vz, "Z", m * d);
  T* ntk_out = vntk.IsNull() ? nullptr : typed_data<T>(vntk, "ntkOut", n * m);
  T* nngp_out = vnngp.IsNull() ? nullptr : typed_data<T>(vnngp, "nngpOut", n * m);
  const bool use_cuda = o.cuda();
  const Napi::Value vflags = o.get("flags");
  int32_t* flag_words = nullptr;
  if (!vflags.IsUndefined() && !vflags.IsNull()) {
    if (!vflags.IsTypedArray() || vflags.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        vflags.As<Napi::Int32Array>().ElementLength() < 2)
      throw Napi::TypeError::New(env, "ntkKernel: flags must be an Int32Array of 2");
    flag_words = vflags.As<Napi::Int32Array>().Data();
  }
  const ntk::JobFlags flags(flag_words);
  const bool async = info.Length() > 1 && info[1].ToBoolean();
  auto job = [=]() {
    if (use_cuda)
      ntk::ntk_exact_cuda<T>(x, n, z, m, d, symmetric, dep, ntk_out, nngp_out, flags);
    else
      ntk::ntk_exact<T>(x, n, z, m, d, symmetric, dep, ntk_out, nngp_out, flags);
  };
  return run_job(env, async, job, {vx, vz, vntk, vnngp, vflags});
}

Napi::Value NtkKernel(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "ntkKernel");
  return dtype_of(o.get("x"), "X") == DType::Float32 ? ntk_kernel_typed<float>(info, o) : ntk_kernel_typed<double>(info, o);
}

}  // namespace

void register_ntk_kernel(Napi::Env env, Napi::Object exports) {
  exports.Set("ntkKernel", Napi::Function::New(env, NtkKernel, "ntkKernel"));
}

}  // namespace ntk_bindings
