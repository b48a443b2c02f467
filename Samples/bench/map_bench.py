#!/usr/bin/env python3
"""Offline mapping of counts: `harmony map` against symphonypy's map_embedding, side by side in one run.

Simulates counts once (`harmony simulate --counts`, same seed): a reference of --ref-cells as an .h5ad and a query
of --query-cells as a 10x directory (the query's batches are renamed q1..qB, so they are new batches to both
tools). Each side first builds its reference, untimed:
  - harmony: harmony reference ref.h5ad --vars batch --out ref.hmod;
  - python:  scanpy filter_genes(min_cells=3), highly_variable_genes(seurat_v3, 2000, batch_key="batch"),
             normalize_total(1e4), log1p, scale(max_value=10), pca(20), symphonypy pp.harmony_integrate; saved
             as an .h5ad.
Then the timed step, each in its own process (wall seconds and peak resident memory), reading included:
  - harmony: harmony map QUERY_10X --reference ref.hmod --meta qmeta.tsv --batch-key batch --joint
             --query-lambda 1 --sigma 0.1 --out mapped.npy (Symphony's settings);
  - python:  read the reference .h5ad and the query's 10x directory, normalize_total(1e4), log1p, then
             symphonypy tl.map_embedding(query, reference, key="batch").

  python3 Samples/bench/map_bench.py --ref-cells 20000 --query-cells 100000 --harmony .build/release/harmony
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

from side_by_side import alternate

PREPARE = r"""
import sys, warnings
warnings.simplefilter("ignore")
import anndata, scanpy as sc, symphonypy as sp
source, out = sys.argv[1], sys.argv[2]
ref = anndata.read_h5ad(source)
sc.pp.filter_genes(ref, min_cells=3)
sc.pp.highly_variable_genes(ref, flavor="seurat_v3", n_top_genes=2000, batch_key="batch")
sc.pp.normalize_total(ref, target_sum=1e4)
sc.pp.log1p(ref)
ref.raw = ref
ref = ref[:, ref.var["highly_variable"]].copy()
sc.pp.scale(ref, max_value=10)
sc.tl.pca(ref, n_comps=20)
sp.pp.harmony_integrate(ref, key="batch", random_seed=0)
ref.uns["harmony"].pop("harmony_kwargs", None)
ref.raw = None
ref.write_h5ad(out)
"""

MAP = r"""
import sys, time, warnings
warnings.simplefilter("ignore")
import anndata, pandas as pd, scanpy as sc, symphonypy as sp
reference, query_dir, meta = sys.argv[1], sys.argv[2], sys.argv[3]
ref = anndata.read_h5ad(reference)
query = sc.read_10x_mtx(query_dir, var_names="gene_symbols", cache=False)
query.obs["batch"] = pd.read_csv(meta, sep="\t", index_col=0).loc[query.obs_names, "batch"].astype(str).to_numpy()
sc.pp.normalize_total(query, target_sum=1e4)
sc.pp.log1p(query)
started = time.perf_counter()
sp.tl.map_embedding(query, ref, key="batch")
print(f"map_embedding alone: {time.perf_counter() - started:.2f} s", file=sys.stderr)
"""


def simulate(harmony, cells, fmt, out, args):
    subprocess.run([harmony, "simulate", "--counts", "--format", fmt, "--cells", str(cells), "--genes",
                    str(args.genes), "--batches", str(args.batches), "--types", "10", "--umis", "2200", "--seed", "3",
                    "--out-dir", out], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref-cells", type=int, default=20_000)
    parser.add_argument("--query-cells", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--harmony", default=".build/release/harmony")
    parser.add_argument("--keep", help="work in this directory and keep it (data reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        os.makedirs(work, exist_ok=True)
        ref_dir, query_dir = os.path.join(work, "ref"), os.path.join(work, "query")
        if not os.path.isdir(ref_dir):
            simulate(args.harmony, args.ref_cells, "h5ad", ref_dir, args)
        if not os.path.isdir(query_dir):
            simulate(args.harmony, args.query_cells, "10x", query_dir, args)
        qmeta = os.path.join(work, "qmeta.tsv")
        with gzip.open(os.path.join(query_dir, "meta.tsv.gz"), "rt") as fh:
            rows = fh.read().splitlines()
        with open(qmeta, "w") as fh:
            fh.write("cell_id\tbatch\n")
            for row in rows[1:]:
                cell, batch = row.split("\t")[:2]
                fh.write(f"{cell}\tq{batch}\n")
        model, ref_h5ad = os.path.join(work, "ref.hmod"), os.path.join(work, "ref_symphonypy.h5ad")
        subprocess.run([args.harmony, "reference", os.path.join(ref_dir, "counts.h5ad"), "--vars", "batch",
                        "--out", model, "--quiet"], check=True)
        if not os.path.exists(ref_h5ad):
            subprocess.run([sys.executable, "-c", PREPARE, os.path.join(ref_dir, "counts.h5ad"), ref_h5ad], check=True)
        tools = {
            "harmony map": [args.harmony, "map", query_dir, "--reference", model, "--meta", qmeta, "--batch-key",
                            "batch", "--joint", "--query-lambda", "1", "--sigma", "0.1",
                            "--out", os.path.join(work, "mapped.npy"), "--quiet"],
            "symphonypy": [sys.executable, "-c", MAP, ref_h5ad, query_dir, qmeta],
        }
        medians = alternate(tools, args.repeat)
        (ours, our_peak), (theirs, their_peak) = medians.values()
        print(json.dumps({"ref_cells": args.ref_cells, "query_cells": args.query_cells, "genes": args.genes,
                          "runs": args.repeat, "harmony_median_seconds": round(ours, 2),
                          "symphonypy_median_seconds": round(theirs, 2), "speedup": round(theirs / ours, 2),
                          "memory_ratio": round(their_peak / our_peak, 2)}), flush=True)


if __name__ == "__main__":
    main()
