#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan) in build-sanitize and runs each
# for a bounded time, starting from its seed corpus (fuzz/corpus/<target>) plus what earlier
# runs found (build-sanitize/fuzz-corpus/<target>). Usage: scripts/fuzz.sh [seconds per target]
# (default 60). A crashing input is saved in build-sanitize/fuzz-crashes/<target>/; copy it to
# fuzz/regressions/<target>/ and tests/nn/test_fuzz_regressions.cpp replays it in the normal
# suite. Exits 1 on any crash.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OPENBLAS_NUM_THREADS=1
source scripts/sanitize-build.sh
setup_sanitize_build || exit 1
ninja -C build-sanitize fuzz/fuzz_checkpoint fuzz/fuzz_idx || { echo "building the fuzz targets failed"; exit 1; }

status=0
: > build-sanitize/fuzzlog.json
for target in checkpoint idx; do
  corpus="build-sanitize/fuzz-corpus/$target" crashes="build-sanitize/fuzz-crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp fuzz/corpus/"$target"/* "$corpus"/
  log="build-sanitize/fuzz-$target.log"
  "build-sanitize/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
  rc=$?
  rm -f /dev/shm/xgrad-fuzz-"$target"-* /tmp/xgrad-fuzz-"$target"-*  # the targets' scratch files
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then result=OK; else result=FAIL; status=1; tail -40 "$log"; fi
  echo "fuzz_$target: $result after ${seconds}s, ${execs:-0} inputs, ${rate:-0} execs/s, corpus $(ls "$corpus" | wc -l) files"
  echo "{\"name\": \"fuzz_$target\", \"result\": \"$result\"}" >> build-sanitize/fuzzlog.json
done
exit $status
