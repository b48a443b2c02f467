#!/usr/bin/env python3
"""Compare `harmony fit` with harmonypy 2.1 on the same simulated files, in one session.

For each size it simulates data with `harmony simulate`, then alternates runs of both tools (so machine noise
hits both alike) with the same settings: K clusters, 10 iterations, no early stop, 4 clustering rounds, the
given threads. It reports medians of `fit_seconds` (each tool's own fit timing, file I/O excluded), the ratio
harmonypy / ours, and each process's peak resident memory (from wait4's rusage).

    python3 Samples/bench/compare.py --bin .build/release --sizes 200000x30x4,200000x30x64 --repeat 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    """Runs cmd, returns (stdout, peak RSS in MiB) using the child's own rusage."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{err.decode()}")
    return out.decode(), usage.ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release", help="directory with the built `harmony`")
    parser.add_argument("--sizes", default="200000x30x4", help="comma-separated CELLSxDIMSxBATCHES")
    parser.add_argument("--nclust", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--types", type=int, default=12)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()

    harmony = os.path.join(args.bin, "harmony")
    work = args.workdir or tempfile.mkdtemp(prefix="harmony-bench-")
    results = []
    for size in args.sizes.split(","):
        cells, dims, batches = (int(x) for x in size.split("x"))
        data_dir = os.path.join(work, size)
        if not os.path.exists(os.path.join(data_dir, "pcs.npy")):
            run([harmony, "simulate", "--cells", str(cells), "--dims", str(dims), "--batches", str(batches),
                 "--types", str(args.types), "--seed", "1", "--format", "npy", "--out-dir", data_dir])
        pcs = os.path.join(data_dir, "pcs.npy")
        meta = os.path.join(data_dir, "meta.tsv.gz")
        ours, theirs = [], []
        for _ in range(args.repeat):
            report = os.path.join(data_dir, "report.json")
            _, rss = run([harmony, "fit", pcs, "--meta", meta, "--vars", "batch", "--out",
                          os.path.join(data_dir, "ours.npy"), "--nclust", str(args.nclust), "--max-iter", "10",
                          "--max-iter-cluster", "4", "--no-early-stop", "--threads", str(args.threads),
                          "--report", report, "--quiet"])
            with open(report) as handle:
                rep = json.load(handle)
            ours.append((rep["fit_seconds"], rss, rep.get("timings", {})))
            out, rss = run([sys.executable, os.path.join(HERE, "harmonypy_fit.py"), pcs, "--meta", meta,
                            "--vars", "batch", "--nclust", str(args.nclust), "--threads", str(args.threads),
                            "--no-early-stop"])
            theirs.append((json.loads(out)["fit_seconds"], rss))
        row = {
            "cells": cells, "dims": dims, "batches": batches, "K": args.nclust, "threads": args.threads,
            "ours_fit_s": statistics.median(x[0] for x in ours),
            "ours_fit_s_all": [round(x[0], 3) for x in ours],
            "ours_peak_mib": statistics.median(x[1] for x in ours),
            "ours_phases": ours[len(ours) // 2][2],
            "harmonypy_fit_s": statistics.median(x[0] for x in theirs),
            "harmonypy_fit_s_all": [round(x[0], 3) for x in theirs],
            "harmonypy_peak_mib": statistics.median(x[1] for x in theirs),
        }
        row["speedup"] = row["harmonypy_fit_s"] / row["ours_fit_s"]
        results.append(row)
        print(json.dumps(row), flush=True)
    print("\n| cells | dims | batches | ours fit s (median) | harmonypy fit s (median) | speed-up | ours peak MiB | harmonypy peak MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['cells']:,} | {r['dims']} | {r['batches']} | {r['ours_fit_s']:.2f} | {r['harmonypy_fit_s']:.2f} "
              f"| {r['speedup']:.1f}x | {r['ours_peak_mib']:.0f} | {r['harmonypy_peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
