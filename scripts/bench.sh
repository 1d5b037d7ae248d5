#!/usr/bin/env bash
# Runs the W0–W4 training-step suite (release build) and writes the results table.
# Usage: scripts/bench.sh [output.md]   (default: build/bench/results.md; JSON beside it)
# With libtorch-dev installed, bench_libtorch runs too and adds the libtorch column.
# Extra Google Benchmark flags go in BENCH_FLAGS, e.g. BENCH_FLAGS=--benchmark_filter=W1.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bench/results.md}"
json="${out%.md}.json"
mkdir -p "$(dirname "$out")"
[ -d build ] || meson setup build >/dev/null
ninja -C build benchmarks/bench_train_step
# The libtorch peer column is built only where libtorch-dev is installed.
torch_exe=build/benchmarks/bench_libtorch
if ninja -C build -t targets all 2>/dev/null | grep -q '^benchmarks/bench_libtorch:'; then
  ninja -C build benchmarks/bench_libtorch
else
  torch_exe=
fi
# Let the benchmarks pick 1 or 2 OpenBLAS threads (openblas_set_num_threads); the pool is
# created with 2. No OpenMP pool is involved.
export OPENBLAS_NUM_THREADS=2
# The repetitions of all benchmarks run in a shuffled order: this machine's speed drifts by
# up to 1.7x within minutes, and run back to back, autograd and its twin met different speeds
# (W0's ratio read 3.1 to 5.7 in three runs of one build; interleaved medians hold steadier).
build/benchmarks/bench_train_step --benchmark_format=json --benchmark_out="$json" \
  --benchmark_out_format=json --benchmark_repetitions="${BENCH_REPETITIONS:-5}" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true ${BENCH_FLAGS:-} >/dev/null
jsons=("$json")
if [ -n "$torch_exe" ]; then
  torch_json="${out%.md}-libtorch.json"
  "$torch_exe" --benchmark_out="$torch_json" --benchmark_out_format=json \
    --benchmark_repetitions="${BENCH_REPETITIONS:-5}" --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true \
    ${BENCH_FLAGS:-} >/dev/null
  jsons+=("$torch_json")
fi
python3 scripts/bench_table.py "${jsons[@]}" > "$out"
cat "$out"
