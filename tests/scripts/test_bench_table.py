#!/usr/bin/env python3
"""scripts/bench_table.py on hand-made Google Benchmark JSON: it pairs autograd with the twin
per workload and thread count, merges a second file (the libtorch column), uses medians of
repetitions, computes the W4 per-node notes and refuses a run that reported an error.
Usage: test_bench_table.py path/to/bench_table.py"""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = sys.argv[1]


def run(name, real, cpu=None, unit="us", aggregate="median", **counters):
    entry = {"name": f"{name}_{aggregate}", "run_name": name, "run_type": "aggregate",
             "aggregate_name": aggregate, "real_time": real, "cpu_time": real if cpu is None else cpu,
             "time_unit": unit}
    entry.update(counters)
    return entry


def write(directory, file_name, benchmarks):
    path = os.path.join(directory, file_name)
    context = {"num_cpus": 2, "load_avg": [0.5, 0.25, 0.125]}
    with open(path, "w") as out:
        json.dump({"context": context, "benchmarks": benchmarks}, out)
    return path


def table(*paths):
    done = subprocess.run([sys.executable, SCRIPT, *paths], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def row(text, workload, threads):
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[:2] == [workload, str(threads)]:
            return cells
    raise AssertionError(f"no row {workload}/{threads} in:\n{text}")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


graph = {"graph_nodes": 8, "graph_bytes": 4096.0, "peak_bytes": 2.0 * 2**20}
ours = [
    run("train_step/W2/autograd/threads:1", 2200.0, unit="us", **graph),
    run("train_step/W2/autograd/threads:1", 9999.0, unit="us", aggregate="mean", **graph),
    run("train_step/W2/twin/threads:1", 2.0, unit="ms", graph_nodes=0, graph_bytes=0,
        peak_bytes=4.0 * 2**20),
    run("train_step/W3/autograd/threads:1", 90.0, unit="ms", **graph),
    run("train_step/W3/twin/threads:1", 90.0, unit="ms", **graph),
    run("train_step/W3/autograd/threads:2", 45.0, unit="ms", **graph),
    run("train_step/W3/twin/threads:2", 50.0, unit="ms", **graph),
    run("train_step/W4/autograd/threads:1", 120.0, unit="ms", graph_nodes=300000,
        graph_bytes=2.0**27, time_per_node=4.0e-7),
    run("train_step/W4/twin/threads:1", 3.0, unit="ms", graph_nodes=0, graph_bytes=0,
        time_per_node=1.0e-8),
]
torch = [
    run("train_step/W2/libtorch/threads:1", 4.4, unit="ms"),
    run("train_step/W4/libtorch/threads:1", 3.0, unit="s", time_per_node=1.0e-5),
]

with tempfile.TemporaryDirectory() as directory:
    ours_path = write(directory, "ours.json", ours)
    torch_path = write(directory, "torch.json", torch)

    code, alone, err = table(ours_path)
    check(code == 0, f"bench_table failed: {err}")
    check("libtorch" not in alone, "a libtorch column without libtorch runs")
    w2 = row(alone, "W2", 1)
    check(w2[2:5] == ["2.2 ms", "2 ms", "1.10"], f"W2 row: the median, not the mean, paired: {w2}")
    check("2.00 / 4.00 MiB (0.50)" in w2, f"W2 peak heap: {w2}")
    check("W3 autograd, 2 threads vs 1: 2.00× faster." in alone, alone)
    check("autograd 400 ns per node (CPU time), twin 10.0 ns, engine cost 390 ns per node." in alone,
          alone)

    code, merged, err = table(ours_path, torch_path)
    check(code == 0, f"bench_table failed on two files: {err}")
    check("libtorch (÷ autograd)" in merged.splitlines()[0], merged)
    check("4.4 ms (2.0×)" in row(merged, "W2", 1), f"W2 libtorch cell: {row(merged, 'W2', 1)}")
    check("–" in row(merged, "W3", 1), "W3 has no libtorch run: its cell is a dash")
    check("libtorch 10.0 µs per node (25× autograd)." in merged, merged)

    broken = ours + [dict(run("train_step/W1/autograd/threads:1", 1.0),
                          error_occurred=True, error_message="the twin disagrees")]
    code, _, err = table(write(directory, "broken.json", broken))
    check(code != 0 and "the twin disagrees" in err, f"an errored run must fail the table: {err}")

    code, _, err = table()
    check(code != 0 and "usage" in err, "no file: a usage message")

print("bench_table: all checks passed")
