#!/usr/bin/env python3
"""Reference build from counts: `harmony reference` against scanpy + harmonypy, side by side in one run.

Simulates counts with `harmony simulate --counts` (an AnnData .h5ad by default, or a 10x directory; --umis 2200
gives about 1,500 non-zero genes per cell at 20k genes), then runs, each in its own process so that peak memory
is its own:
  - harmony:  harmony reference INPUT --vars batch --out ref.hmod (defaults: 2000 genes, 20 PCs, Harmony's
              defaults);
  - python:   anndata read_h5ad (or scanpy read_10x_mtx), filter_genes(min_cells=3), highly_variable_genes(seurat_v3, 2000,
              batch_key="batch") on the counts, normalize_total(1e4), log1p, subset, scale(max_value=10),
              pca(20), then harmonypy.run_harmony with its defaults.
Prints one JSON line per tool: wall seconds (end to end, reading included) and peak resident memory
(GNU time's maximum RSS).

  python3 Samples/bench/reference_bench.py --cells 100000 --genes 20000 --harmony .build/release/harmony
Add --repeat 3 to alternate the two tools three times and print medians.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from side_by_side import alternate

PYTHON_PIPELINE = r"""
import sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, scanpy as sc, harmonypy
path = sys.argv[1]
if path.endswith(".h5ad"):
    import anndata
    adata = anndata.read_h5ad(path)
else:
    adata = sc.read_10x_mtx(path, var_names="gene_ids", cache=False)
    meta = pd.read_csv(path + "/meta.tsv.gz", sep="\t", index_col=0)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--types", type=int, default=10)
    parser.add_argument("--umis", type=float, default=2200)
    parser.add_argument("--format", choices=["h5ad", "10x"], default="h5ad")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--harmony", default=".build/release/harmony")
    parser.add_argument("--skip-python", action="store_true")
    parser.add_argument("--keep", help="simulate into this directory and keep it (reused if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or os.path.join(tmp, "counts")
        if not os.path.isdir(data):
            started = time.perf_counter()
            subprocess.run([args.harmony, "simulate", "--counts", "--format", args.format, "--cells", str(args.cells),
                            "--genes", str(args.genes), "--batches", str(args.batches), "--types", str(args.types),
                            "--umis", str(args.umis), "--seed", "1", "--out-dir", data], check=True)
            print(json.dumps({"tool": "simulate", "seconds": round(time.perf_counter() - started, 2)}), flush=True)
        source = os.path.join(data, "counts.h5ad") if args.format == "h5ad" else data
        meta = [] if args.format == "h5ad" else ["--meta", os.path.join(data, "meta.tsv.gz")]
        tools = {"harmony reference": [args.harmony, "reference", source, *meta, "--vars", "batch",
                                       "--out", os.path.join(tmp, "ref.hmod"), "--quiet"]}
        if not args.skip_python:
            tools["scanpy + harmonypy"] = [sys.executable, "-c", PYTHON_PIPELINE, source]
        medians = alternate(tools, args.repeat)
        summary = {name: {"median_seconds": round(s, 2), "median_peak_rss_gb": round(p / 1e9, 2)}
                   for name, (s, p) in medians.items()}
        if len(medians) == 2:
            (ours, our_peak), (theirs, their_peak) = medians.values()
            summary["speedup"] = round(theirs / ours, 2)
            summary["memory_ratio"] = round(their_peak / our_peak, 2)
        print(json.dumps({"cells": args.cells, "genes": args.genes, "format": args.format, "runs": args.repeat,
                          **summary}), flush=True)


if __name__ == "__main__":
    main()
