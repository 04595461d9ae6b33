#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (build-fuzz/) and
# runs each for a bounded time. Exits non-zero on any crash, leak, timeout or
# sanitizer report. docs/hardening.md, "Fuzzing and sanitizers".
#
#   FUZZ_SECONDS=30        time per harness (default 30)
#   FUZZ_TARGETS="a b"     harnesses to run (default: all five)
#   FUZZ_BUILD_DIR=...     build directory (default build-fuzz)
#
# New inputs go to $FUZZ_BUILD_DIR/corpus/NAME (kept between runs, so each
# run starts where the last one stopped); the seeds in tests/fuzz/corpus/NAME
# are read, never written. Crashing inputs land in
# $FUZZ_BUILD_DIR/artifacts/NAME-crash-*; replay one with
#   $FUZZ_BUILD_DIR/tests/fuzz/fuzz_NAME FILE
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
TARGETS=${FUZZ_TARGETS:-"answer zone import config geoip"}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
CXX=${FUZZ_CXX:-clang++-14}

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
start=$(date +%s)
cmake -S . -B "$BUILD" -DMERIDIAN_FUZZ=ON -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target fuzzers
built=$(date +%s)

# Leaks count as failures (LeakSanitizer runs after each input that
# allocated more than it freed); UBSan stops at the first report.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# Leaks inside system libraries we cannot fix, each explained in the file.
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"

mkdir -p "$BUILD/artifacts"
failed=()
summary=()
for t in $TARGETS; do
  bin="$BUILD/tests/fuzz/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  work="$BUILD/corpus/$t"
  mkdir -p "$work"
  log="$BUILD/fuzz_$t.log"
  echo "== fuzz_$t: ${SECONDS_EACH}s, seeds $(find "$seeds" -type f | wc -l) in $seeds, corpus $work"
  rc=0
  asan="$ASAN_OPTIONS"
  # libmaxminddb has no frame pointers: without the slow unwinder a leak's
  # stack stops inside it and the suppression (by function name) can't match.
  if [ "$t" = geoip ]; then asan="$asan:fast_unwind_on_malloc=0"; fi
  # -timeout: one input taking longer than 10 s is a hang, reported as a failure.
  ASAN_OPTIONS="$asan" "$bin" "$work" "$seeds" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  files=$(find "$work" -type f | wc -l)
  line=$(printf 'fuzz_%-7s execs %-10s corpus %-12s (%s files in %s) exit %s' \
    "$t" "${execs:-?}" "${corp:-?}" "$files" "$work" "$rc")
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    tail -60 "$log"
  fi
done

echo
echo "fuzzers: build $((built - start)) s, runs $(( $(date +%s) - built )) s"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]} (logs: $BUILD/fuzz_NAME.log, inputs: $BUILD/artifacts/)"
  exit 1
fi
echo "fuzzers: no crash, leak or hang"
