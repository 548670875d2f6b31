// Fresh result arrays (result_memory.hpp), for every feature map:
//   markFreshResult(array): a new result array, to prefault in bulk when first written
//   freshResultInfo() -> { arrays, bytes }: the arrays registered and alive now
#include <napi.h>

#include "bindings.hpp"
#include "result_memory.hpp"

namespace ntk_bindings {

void register_result_memory(Napi::Env env, Napi::Object exports) {
  exports.Set("markFreshResult", Napi::Function::New(env, MarkFreshResult, "markFreshResult"));
  exports.Set("freshResultInfo", Napi::Function::New(env, FreshResultInfo, "freshResultInfo"));
}

}  // namespace ntk_bindings
