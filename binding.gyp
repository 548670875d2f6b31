# CPU-only build of the addon with node-gyp (npm run build:gyp), from the same
# source list as CMakeLists.txt (native/sources.json). Needs libopenblas-dev.
# -fno-math-errno -fno-trapping-math let the exact kernels' loops vectorise
# (CMake sets them for those files only); they change no values.
{
  "targets": [
    {
      "target_name": "ntk_sketch",
      "sources": [
        "<!@(node -p \"const s=require('./native/sources.json'); [...s.core, ...s.bindings, ...s.cudaFallback].join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NTK_HAVE_OPENBLAS_EXTENSIONS=1"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-lopenblas", "-fopenmp"]
    }
  ]
}
