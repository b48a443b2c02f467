#!/usr/bin/env python3
"""harmony_swift.run_harmony (in process, through libHarmonyC) against `harmony fit` and harmonypy, in one
session on the same simulated data.

It simulates cells with `harmony simulate`, then alternates, per repeat: `harmony fit` (its report's
`fit_seconds`), `harmony_swift.run_harmony` (wall time of the call, which includes handing the arrays over,
plus the library's own fit time) and `harmonypy.run_harmony` (wall time). Same settings for all three: default
K, 10 iterations without early stop, 4 clustering rounds, the given threads. Prints one JSON object of medians.

    python3 Samples/bench/python_integrate.py --bin .build/release --cells 200000 --dims 30 --batches 4 --repeat 3
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="directory holding the `harmony` executable")
    parser.add_argument("--cells", type=int, default=200000)
    parser.add_argument("--dims", type=int, default=30)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-harmonypy", action="store_true")
    args = parser.parse_args()

    import pandas as pd

    import harmony_swift as hs

    harmony = os.path.join(args.bin, "harmony")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([harmony, "simulate", "--cells", str(args.cells), "--dims", str(args.dims),
                        "--batches", str(args.batches), "--types", "10", "--seed", "1", "--format", "npy",
                        "--out-dir", tmp], check=True, stderr=subprocess.DEVNULL)
        data = np.load(os.path.join(tmp, "pcs.npy"))
        with open(os.path.join(tmp, "pcs.ids.txt")) as fh:
            ids = fh.read().split()
        meta = pd.read_csv(os.path.join(tmp, "meta.tsv.gz"), sep="\t", index_col=0).loc[ids]
        batches = meta["batch"].astype(str).to_numpy()
        times = {"harmony_fit": [], "harmony_swift_call": [], "harmony_swift_fit": [], "harmonypy": []}
        for _ in range(args.repeat):
            report = os.path.join(tmp, "report.json")
            subprocess.run([harmony, "fit", os.path.join(tmp, "pcs.npy"), "--meta", os.path.join(tmp, "meta.tsv.gz"),
                            "--vars", "batch", "--no-early-stop", "--threads", str(args.threads), "--quiet",
                            "--out", os.path.join(tmp, "z.npy"), "--report", report], check=True)
            with open(report) as fh:
                times["harmony_fit"].append(json.load(fh)["fit_seconds"])
            started = time.perf_counter()
            result = hs.run_harmony(data, {"batch": batches}, "batch", epsilon_harmony=-1, ncores=args.threads)
            times["harmony_swift_call"].append(time.perf_counter() - started)
            times["harmony_swift_fit"].append(result.fit_seconds)
            if not args.skip_harmonypy:
                import harmonypy
                started = time.perf_counter()
                harmonypy.run_harmony(data, {"batch": batches}, ["batch"], epsilon_harmony=-1, ncores=args.threads,
                                      verbose=False, random_state=0)
                times["harmonypy"].append(time.perf_counter() - started)
        same = float(np.abs(result.Z_corr - np.load(os.path.join(tmp, "z.npy"))).max())
    medians = {k: statistics.median(v) for k, v in times.items() if v}
    out = {"cells": args.cells, "dims": args.dims, "batches": args.batches, "threads": args.threads,
           "median_seconds": medians, "runs": times, "max_abs_difference_vs_harmony_fit": same,
           "call_over_harmony_fit": medians["harmony_swift_call"] / medians["harmony_fit"]}
    if "harmonypy" in medians:
        out["harmonypy_over_call"] = medians["harmonypy"] / medians["harmony_swift_call"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
