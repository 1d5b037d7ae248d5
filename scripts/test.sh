#!/usr/bin/env bash
# Runs the test suite and prints one line "N passed, N failed" (every test, and every fuzz
# target, counts once per build it ran in).
# Usage: scripts/test.sh [release|sanitize|valgrind|fuzz|all]   (default: all)
#   release   the release build                     (build)
#   sanitize  clang ASan+UBSan+LSan build           (build-sanitize, scripts/sanitize-build.sh)
#   valgrind  every test of the release build under valgrind memcheck
#   fuzz      each libFuzzer target for $FUZZ_SECONDS (default 30) s  (build-sanitize)
#   all       release, sanitize, the valgrind subset below, and fuzz: what CI runs
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# Under valgrind in CI: everything except the long-running tests (a million-node chain,
# 10,000 training steps, 1000 random graphs, training runs), which `valgrind` runs too.
valgrind_subset=(autograd/test_tensor autograd/test_ops autograd/test_engine
  autograd/test_higher_order autograd/test_errors autograd/test_gradcheck
  autograd/test_anomaly autograd/test_zero_size autograd/test_concurrency
  nn/test_module nn/test_init nn/test_loss nn/test_optim nn/test_lr_schedule
  nn/test_checkpoint nn/test_npy nn/test_data nn/test_idx nn/test_csv nn/test_fuzz_regressions
  autograd/test_graphviz nn/test_evaluate nn/test_idx_write nn/test_csv_write
  autograd/test_small_vector autograd/test_memory autograd/test_storage
  autograd/test_grad_slot autograd/test_node)
logs=()
status=0

build() {  # dir: build (release, default options) or build-sanitize
  local dir="$1"
  if [ "$dir" = build-sanitize ]; then
    setup_sanitize_build || return 1
  elif [ ! -d "$dir" ]; then
    meson setup "$dir" >/dev/null || { echo "meson setup $dir failed"; return 1; }
  fi
  ninja -C "$dir" || { echo "build $dir failed"; return 1; }
}

# Each run names its log first and removes any stale copy, so a run that fails before it
# writes one counts as a failure.
run_suite() {  # dir
  local dir="$1" log="$1/meson-logs/testlog.json"
  rm -f "$log"; logs+=("$log")
  build "$dir" || { status=1; return; }
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
}

run_valgrind() {  # test names (none: all)
  local log="build/meson-logs/testlog-valgrind.json"
  rm -f "$log"; logs+=("$log")
  command -v valgrind >/dev/null || { echo "valgrind not installed"; status=1; return; }
  build build || { status=1; return; }
  meson test -C build --setup valgrind --print-errorlogs --num-processes 2 "$@" || status=1
}

run_fuzz() {
  rm -f build-sanitize/fuzzlog.json; logs+=("build-sanitize/fuzzlog.json")
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}" || status=1
}

source scripts/sanitize-build.sh

case "$which" in
  release) run_suite build ;;
  sanitize) run_suite build-sanitize ;;
  valgrind) run_valgrind ;;
  fuzz) run_fuzz ;;
  all)
    run_suite build
    run_suite build-sanitize
    run_valgrind "${valgrind_subset[@]}"
    run_fuzz ;;
  *) echo "usage: $0 [release|sanitize|valgrind|fuzz|all]"; exit 2 ;;
esac

python3 - "${logs[@]}" <<'PY'
import json, os, sys
passed = failed = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        failed += 1  # the run that should have written it did not get that far
        continue
    for line in open(path):
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
