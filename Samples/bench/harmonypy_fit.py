#!/usr/bin/env python3
"""Fit harmonypy on an embedding (.npy) and metadata (.tsv[.gz]) and print one JSON line of timings.

Used by compare.py to measure harmonypy in the same session and on the same files as `harmony fit`.
`fit_seconds` is the wall time of `harmonypy.run_harmony` alone (reading the files is excluded).
"""
import argparse
import csv
import gzip
import json
import math
import time

import numpy as np


def read_meta(path, column):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader)
        index = header.index(column)
        return np.array([row[index] for row in reader])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("embedding", help="cells x dims .npy file")
    parser.add_argument("--meta", required=True, help="metadata TSV with a header; first column cell id")
    parser.add_argument("--vars", default="batch", help="batch column")
    parser.add_argument("--nclust", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--max-iter-cluster", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-early-stop", action="store_true", help="run every iteration (epsilon_harmony < 0)")
    parser.add_argument("--out", default=None, help="optional .npy output of Z_corr")
    args = parser.parse_args()

    import harmonypy

    data = np.load(args.embedding)
    labels = read_meta(args.meta, args.vars)
    started = time.perf_counter()
    result = harmonypy.run_harmony(
        data, {args.vars: labels}, [args.vars], nclust=args.nclust,
        max_iter_harmony=args.max_iter, max_iter_kmeans=args.max_iter_cluster,
        epsilon_harmony=-1.0 if args.no_early_stop else 1e-2,
        ncores=args.threads, verbose=False, random_state=0)
    fit_seconds = time.perf_counter() - started
    if args.out:
        np.save(args.out, np.asarray(result.Z_corr, dtype=np.float32))
    print(json.dumps({
        "fit_seconds": fit_seconds,
        "iterations": len(result.objective_harmony) - 1,
        "objective": [float(x) for x in result.objective_harmony if math.isfinite(x)],
    }))


if __name__ == "__main__":
    main()
