#!/usr/bin/env python3
"""UMAP of a simulated data set: `harmony umap` against umap-learn fed the same exact kNN graph.

Usage: python3 Samples/bench/umap_compare.py [--cells 100000] [--dims 30] [--harmony .build/release/harmony]

Simulates cells with `harmony simulate`, times `harmony umap` (its own exact kNN search included), then
computes the exact 15-NN graph with scikit-learn (brute force, timed separately) and times umap-learn's
fit on that precomputed graph (n_neighbors 16: umap-learn counts the cell itself), after an untimed
warm-up fit that compiles its numba kernels, seeded (its descent then runs on one thread) and unseeded (its
parallel, non-reproducible descent). Both use min_dist 0.1 and
their default epochs (200 above 10,000 cells). Quality: trustworthiness (k = 15) of both layouts on a random
subsample of 5,000 cells. Wall and CPU seconds are both reported: on a shared machine the CPU time is the
steadier measure. Prints one JSON object. Needs umap-learn and scikit-learn.
"""

import argparse
import gzip
import json
import os
import resource
import subprocess
import tempfile
import time

import numpy as np


def read_table(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        f.readline()
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=30)
    parser.add_argument("--harmony", default=os.path.join(".build", "release", "harmony"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import umap
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.harmony, "simulate", "--cells", str(args.cells), "--dims", str(args.dims), "--batches", "4",
                        "--types", "8", "--seed", "1", "--out-dir", tmp], check=True)
        pcs = os.path.join(tmp, "pcs.tsv.gz")
        out = os.path.join(tmp, "layout.tsv")
        t0 = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([args.harmony, "umap", pcs, "--out", out, "--threads", str(args.threads), "--quiet"], check=True)
        ours_seconds = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours_cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        x = read_table(pcs)
        ours = read_table(out)

    t0 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=16, algorithm="brute", n_jobs=args.threads).fit(x)
    dists, idx = nn.kneighbors(x)
    knn_seconds = time.perf_counter() - t0
    # umap-learn compiles its numba kernels on first use: warm them up on a small fit, untimed.
    umap.UMAP(n_neighbors=16, min_dist=0.1, random_state=0, n_epochs=5).fit_transform(x[:2000])
    model = umap.UMAP(n_neighbors=16, min_dist=0.1, random_state=0, precomputed_knn=(idx, dists, None),
                      n_jobs=args.threads)
    t0, p0 = time.perf_counter(), time.process_time()
    theirs = model.fit_transform(x)
    theirs_seconds, theirs_cpu = time.perf_counter() - t0, time.process_time() - p0
    # Unseeded, umap-learn runs its descent on every thread (Hogwild: not reproducible); timed for reference.
    parallel = umap.UMAP(n_neighbors=16, min_dist=0.1, precomputed_knn=(idx, dists, None), n_jobs=args.threads)
    t0, p0 = time.perf_counter(), time.process_time()
    theirs_parallel = parallel.fit_transform(x)
    parallel_seconds, parallel_cpu = time.perf_counter() - t0, time.process_time() - p0

    rng = np.random.default_rng(0)
    sub = rng.choice(len(x), size=min(5000, len(x)), replace=False)
    print(json.dumps({
        "cells": args.cells, "dims": args.dims, "threads": args.threads,
        "harmony_umap_seconds_with_knn": round(ours_seconds, 2),
        "harmony_umap_cpu_seconds_with_knn": round(ours_cpu, 2),
        "umap_learn_seconds_on_precomputed_knn": round(theirs_seconds, 2),
        "umap_learn_cpu_seconds_on_precomputed_knn": round(theirs_cpu, 2),
        "umap_learn_unseeded_parallel_seconds": round(parallel_seconds, 2),
        "umap_learn_unseeded_parallel_cpu_seconds": round(parallel_cpu, 2),
        "load_average_1min_at_end": os.getloadavg()[0],
        "sklearn_exact_knn_seconds": round(knn_seconds, 2),
        "umap_learn_version": umap.__version__,
        "trustworthiness_subsample_harmony": round(float(trustworthiness(x[sub], ours[sub], n_neighbors=15)), 4),
        "trustworthiness_subsample_umap_learn": round(float(trustworthiness(x[sub], theirs[sub], n_neighbors=15)), 4),
        "trustworthiness_subsample_umap_learn_parallel": round(float(trustworthiness(x[sub], theirs_parallel[sub],
                                                                                      n_neighbors=15)), 4),
    }, indent=2))


if __name__ == "__main__":
    main()
