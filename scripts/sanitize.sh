#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-sanitize/ (the normal build is left alone) and runs the test suite, or
# the test files given as arguments, against it.
#
# Node itself is not instrumented, so libasan must be loaded first
# (LD_PRELOAD). Leak checking is off: V8 and Node keep allocations alive until
# exit by design, and those reports are not ours (scripts/lsan.supp lists the
# Node/V8 frames if it is turned on with NTK_SANITIZE_LEAKS=1).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-sanitize
if [ "${NTK_SANITIZE_SKIP_BUILD:-0}" != 1 ]; then
  npx cmake-js compile --out "$build_dir" --CDNTK_SKETCH_SANITIZE=ON --CDNTK_SKETCH_CUDA=OFF
fi
addon="$build_dir/Release/ntk_sketch.node"
[ -f "$addon" ] || { echo "sanitize: $addon was not built" >&2; exit 1; }

asan=$(${CXX:-g++} -print-file-name=libasan.so)
ubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
export LD_PRELOAD="$asan:$ubsan${LD_PRELOAD:+:$LD_PRELOAD}"
export NTK_SKETCH_ADDON="$PWD/$addon"
# halt_on_error: a finding fails the run instead of scrolling past;
# new_delete_type_mismatch and ODR checks trip on Node's own allocators.
export ASAN_OPTIONS="detect_leaks=${NTK_SANITIZE_LEAKS:-0}:halt_on_error=1:abort_on_error=1:new_delete_type_mismatch=0:detect_odr_violation=0:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/ubsan.supp"

# Sanitized code is 2-5x slower: longer test timeouts, one fork at a time
# would be slower still, so vitest keeps its pool.
npx vitest run --testTimeout=600000 --hookTimeout=600000 "$@"
