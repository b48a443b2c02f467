#!/usr/bin/env python3
"""Reference build from counts: `harmony reference` against scanpy + harmonypy, side by side in one run.

Simulates counts with `harmony simulate --counts` (a 10x directory), then runs, each in its own process so that
peak memory is its own:
  - harmony:  harmony reference DIR --meta DIR/meta.tsv.gz --vars batch --out ref.hmod (defaults: 2000 genes,
              20 PCs, Harmony's defaults);
  - python:   scanpy read_10x_mtx, filter_genes(min_cells=3), highly_variable_genes(seurat_v3, 2000,
              batch_key="batch") on the counts, normalize_total(1e4), log1p, subset, scale(max_value=10),
              pca(20), then harmonypy.run_harmony with its defaults.
Prints one JSON line per tool: wall seconds (end to end, reading included) and peak resident memory
(GNU time's maximum RSS).

  python3 Samples/bench/reference_bench.py --cells 100000 --genes 20000 --harmony .build/release/harmony
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PYTHON_PIPELINE = r"""
import sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, scanpy as sc, harmonypy
directory = sys.argv[1]
adata = sc.read_10x_mtx(directory, var_names="gene_ids", cache=False)
meta = pd.read_csv(directory + "/meta.tsv.gz", sep="\t", index_col=0)
adata.obs["batch"] = meta.loc[adata.obs_names, "batch"].astype(str).to_numpy()
sc.pp.filter_genes(adata, min_cells=3)
sc.pp.highly_variable_genes(adata, flavor="seurat_v3", n_top_genes=2000, batch_key="batch")
sc.pp.normalize_total(adata, target_sum=1e4)
sc.pp.log1p(adata)
adata = adata[:, adata.var["highly_variable"]].copy()
sc.pp.scale(adata, max_value=10)
sc.tl.pca(adata, n_comps=20)
harmonypy.run_harmony(adata.obsm["X_pca"], adata.obs, ["batch"], verbose=False, random_state=0)
"""


def timed(command):
    """Runs `command` under GNU time; returns wall seconds and its peak resident memory in bytes."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name] + command, check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        return seconds, int(report.read().split()[-1]) * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--types", type=int, default=10)
    parser.add_argument("--harmony", default=".build/release/harmony")
    parser.add_argument("--skip-python", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "counts")
        started = time.perf_counter()
        subprocess.run([args.harmony, "simulate", "--counts", "--cells", str(args.cells), "--genes", str(args.genes),
                        "--batches", str(args.batches), "--types", str(args.types), "--seed", "1", "--out-dir", data],
                       check=True)
        print(json.dumps({"tool": "simulate", "seconds": round(time.perf_counter() - started, 2)}), flush=True)
        seconds, peak = timed([args.harmony, "reference", data, "--meta", os.path.join(data, "meta.tsv.gz"),
                               "--vars", "batch", "--out", os.path.join(tmp, "ref.hmod"), "--quiet"])
        print(json.dumps({"tool": "harmony reference", "seconds": round(seconds, 2),
                          "peak_rss_gb": round(peak / 1e9, 2)}), flush=True)
        if not args.skip_python:
            seconds, peak = timed([sys.executable, "-c", PYTHON_PIPELINE, data])
            print(json.dumps({"tool": "scanpy + harmonypy", "seconds": round(seconds, 2),
                              "peak_rss_gb": round(peak / 1e9, 2)}), flush=True)


if __name__ == "__main__":
    main()
