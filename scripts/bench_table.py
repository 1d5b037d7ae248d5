#!/usr/bin/env python3
"""Turns bench_train_step's Google Benchmark JSON into the markdown results table.

Pairs train_step/<W>/<impl>/threads:<n> by workload and thread count; uses the median of
repetitions when present. Standard library only. Usage: bench_table.py results.json
[more.json ...]: runs of several executables (bench_train_step, bench_libtorch) are merged;
the machine context is the first file's.
"""
import json
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(path):
    runs = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
        _, workload, impl, threads = b["run_name"].split("/")
        runs[(workload, int(threads.split(":")[1]), impl)] = b
    return runs


def seconds(b, clock="real_time"):
    return b[clock] * UNIT_SECONDS[b["time_unit"]]


def show_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def main(paths):
    runs = {}
    for path in paths:
        runs.update(load(path))
    context = json.load(open(paths[0]))["context"]
    has_torch = any(impl == "libtorch" for (_, _, impl) in runs)
    head = ["workload", "threads", "autograd", "twin", "autograd / twin", "(CPU time)"]
    head += ["libtorch (÷ autograd)"] if has_torch else []
    head += ["GFLOP/s autograd / twin", "peak heap autograd / twin", "graph nodes, bytes"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = sorted({(w, t) for (w, t, _) in runs})
    for workload, threads in keys:
        a, t = runs.get((workload, threads, "autograd")), runs.get((workload, threads, "twin"))
        if a is None or t is None:
            continue
        cells = [workload, str(threads), show_time(seconds(a)), show_time(seconds(t)),
                 f"{seconds(a) / seconds(t):.2f}",
                 f"{seconds(a, 'cpu_time') / seconds(t, 'cpu_time'):.2f}"]
        if has_torch:
            torch = runs.get((workload, threads, "libtorch"))
            cells.append(f"{show_time(seconds(torch))} ({seconds(torch) / seconds(a):.1f}×)"
                         if torch else "–")
        if "FLOP/s" in a:
            cells.append(f"{a['FLOP/s'] / 1e9:.1f} / {t['FLOP/s'] / 1e9:.1f}")
        else:
            cells.append("–")
        if t.get("peak_bytes"):
            cells.append(f"{a['peak_bytes'] / 2**20:.2f} / {t['peak_bytes'] / 2**20:.2f} MiB "
                         f"({a['peak_bytes'] / t['peak_bytes']:.2f})")
        else:
            cells.append("–")
        cells.append(f"{a['graph_nodes']:.0f}, {a['graph_bytes'] / 2**10:.0f} KiB")
        rows.append("| " + " | ".join(cells) + " |")

    notes = []
    for threads in sorted({t for (w, t) in keys if w == "W4"}):
        a, t = runs.get(("W4", threads, "autograd")), runs.get(("W4", threads, "twin"))
        if a and t:
            notes.append(f"- W4, {threads} thread(s): autograd {a['time_per_node'] * 1e9:.0f} ns "
                         f"per node (CPU time), twin {t['time_per_node'] * 1e9:.1f} ns, engine cost "
                         f"{(a['time_per_node'] - t['time_per_node']) * 1e9:.0f} ns per node"
                         + (f"; libtorch {torch['time_per_node'] * 1e6:.1f} µs per node "
                            f"({torch['time_per_node'] / a['time_per_node']:.0f}× autograd)."
                            if (torch := runs.get(("W4", threads, "libtorch"))) else "."))
    w3 = {th: runs.get(("W3", th, "autograd")) for th in (1, 2)}
    if all(w3.values()):
        notes.append(f"- W3 autograd, 2 threads vs 1: {seconds(w3[1]) / seconds(w3[2]):.2f}× faster.")
    notes.append(f"- Load average when the run started: "
                 f"{', '.join(f'{x:.1f}' for x in context.get('load_avg', []))} "
                 f"on {context.get('num_cpus')} CPUs. Times are wall-clock medians of "
                 f"repetitions; the CPU-time ratio (the benchmark thread only) is the steadier "
                 f"one on a busy machine, the wall-clock one the one that counts for 2 threads.")
    print("\n".join(rows + [""] + notes))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: bench_table.py results.json [more.json ...]")
    main(sys.argv[1:])
