#!/usr/bin/env bash
# Runs the whole test suite in the release build and in an ASan+UBSan build, then prints one
# line "N passed, N failed". Usage: scripts/test.sh [release|sanitize|all]   (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
logs=()
status=0

run_suite() {  # name, meson options...
  local dir="$1"; shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$@" >/dev/null || { echo "meson setup $dir failed"; status=1; return; }
  fi
  ninja -C "$dir" || { echo "build $dir failed"; status=1; return; }
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  logs+=("$dir/meson-logs/testlog.json")
}

case "$which" in
  release|all) run_suite build ;;&
  sanitize|all) run_suite build-sanitize -Dbuildtype=debugoptimized \
                  -Db_sanitize=address,undefined -Dbenchmarks=false ;;
  release|sanitize|all) ;;
  *) echo "usage: $0 [release|sanitize|all]"; exit 2 ;;
esac

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = 0
for path in sys.argv[1:]:
    for line in open(path):
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
