// The columns a LeverageSelection keeps of its pool map's features (native/maps/column_selection.hpp):
//   gatherColumns({ pool, rows, poolFeatures, columns: Int32Array, scales: Float64Array, normalize, out })
//     out (rows x columns.length) = pool (rows x poolFeatures)[:, columns] * scales, each row rescaled to
//     its pool row's norm when normalize. Synchronous: one block of rows between two pool transforms.
#include <napi.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "maps/column_selection.hpp"
#include "options.hpp"

namespace ntk_bindings {

namespace {

template <typename T>
void gather_columns_typed(const Options& o) {
  Napi::Env env = o.env();
  const int64_t rows = o.integer("rows");
  const int64_t m = o.integer("poolFeatures");
  const T* pool = typed_data<T>(o.get("pool"), "pool", rows * m);
  const Napi::Value vcolumns = o.get("columns");
  if (!vcolumns.IsTypedArray() || vcolumns.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "columns must be an Int32Array");
  auto columns = vcolumns.As<Napi::Int32Array>();
  const int64_t k = static_cast<int64_t>(columns.ElementLength());
  for (int64_t t = 0; t < k; ++t)
    if (columns[t] < 0 || columns[t] >= m) throw Napi::RangeError::New(env, "columns out of range");
  const double* scales = typed_data<double>(o.get("scales"), "scales", k);
  const bool normalize = o.boolean("normalize");
  T* out = typed_data<T>(o.get("out"), "out", rows * k);
  ntk::gather_scaled_columns<T>(pool, rows, m, columns.Data(), scales, k, normalize, out);
}

Napi::Value GatherColumns(const Napi::CallbackInfo& info) {
  const Options o(info, 0, "gatherColumns");
  if (dtype_of(o.get("pool"), "pool") == DType::Float32)
    gather_columns_typed<float>(o);
  else
    gather_columns_typed<double>(o);
  return info.Env().Undefined();
}

}  // namespace

void register_column_selection(Napi::Env env, Napi::Object exports) {
  exports.Set("gatherColumns", Napi::Function::New(env, GatherColumns, "gatherColumns"));
}

}  // namespace ntk_bindings
