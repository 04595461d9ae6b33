#!/usr/bin/env bash
# Builds the whole project and its tests with ASan + UBSan (build-asan/,
# MERIDIAN_SANITIZE=ON) and runs the full ctest suite, unit and end-to-end
# (the e2e tests start build-asan's meridian). Any sanitizer report fails the
# run: every instrumented process exits with status 66 on its first report,
# the e2e harness fails a test whose meridian did, and reports written to
# $BUILD/sanitizer-reports/ are counted at the end.
# docs/hardening.md, "Fuzzing and sanitizers".
#
#   SANITIZE_BUILD_DIR=...   build directory (default build-asan)
#   CTEST_ARGS="-R unit"     extra ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${SANITIZE_BUILD_DIR:-build-asan}

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
start=$(date +%s)
cmake -S . -B "$BUILD" -DMERIDIAN_SANITIZE=ON "${launcher[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
built=$(date +%s)

reports="$PWD/$BUILD/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export MERIDIAN_SANITIZER_EXITCODE=66
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=66:detect_leaks=1:log_path=$reports/asan:log_exe_name=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=66:log_path=$reports/ubsan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"

rc=0
# shellcheck disable=SC2086
ctest --test-dir "$BUILD" -j"$(nproc)" --output-on-failure ${CTEST_ARGS:-} | tee "$BUILD/ctest-sanitize.log" || rc=$?
ran=$(date +%s)

found=$(find "$reports" -type f | wc -l)
if [ "$found" -ne 0 ]; then
  echo "== $found sanitizer report(s):"
  for f in "$reports"/*; do
    echo "--- $f"
    head -80 "$f"
  done
  rc=1
fi
echo "sanitizers: build $((built - start)) s, tests $((ran - built)) s, $(grep -E 'tests passed' "$BUILD/ctest-sanitize.log" || true), $found report(s)"
exit "$rc"
