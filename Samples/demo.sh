#!/usr/bin/env bash
# The main job, end to end, on simulated UMI counts (what a sequencing pipeline writes): install what a fresh
# Debian machine lacks, build, simulate 10x-style counts of four samples, build a gene-space reference from three
# of them (variable genes, PCA, Harmony, labels), map the fourth sample's counts onto it offline, serve the
# reference with harmonyd and stream the new sample into it while a background refit runs, then print what
# happened and draw the pictures. Everything is written under demo-out/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}
if ! command -v swift >/dev/null 2>&1; then
    echo "demo: the Swift 6 toolchain is needed and 'swift' is not on the PATH." >&2
    echo "      Install it (https://www.swift.org/install/linux/) and add its usr/bin to PATH, then run again." >&2
    exit 1
fi
Samples/setup.sh
# Code tuned for this machine's CPU (see Package.swift): the demo runs here, nothing is distributed.
export HARMONY_NATIVE=1
rm -rf "$out" && mkdir -p "$out"
echo "== building (release)"
if ! swift build -c release > "$out/build.log" 2>&1; then
    cat "$out/build.log" >&2
    echo "demo: the build failed (full log above and in $out/build.log)" >&2
    exit 1
fi
bin=$(swift build -c release --show-bin-path)
echo "   harmony and harmonyd are in $bin"

echo "== harmony simulate --counts: 6,000 cells x 2,000 genes, 4 samples, 6 cell types (a 10x directory)"
"$bin/harmony" simulate --counts --cells 6000 --genes 2000 --umis 3000 --batches 4 --types 6 --seed 11 \
    --out-dir "$out/counts"
echo "== splitting: reference = samples batch1-batch3, query = batch4 (two 10x directories)"
python3 - "$out" <<'PY'
import gzip, os, sys
import scipy.io
out = sys.argv[1]
src = f"{out}/counts"
m = scipy.io.mmread(f"{src}/matrix.mtx.gz").tocsc()              # genes x cells
barcodes = gzip.open(f"{src}/barcodes.tsv.gz", "rt").read().split()
meta = gzip.open(f"{src}/meta.tsv.gz", "rt").read().splitlines()
col = meta[0].split("\t").index("batch")
batch = {l.split("\t")[0]: l.split("\t")[col] for l in meta[1:]}
features = gzip.open(f"{src}/features.tsv.gz", "rb").read()
for role, keep in (("reference", {"batch1", "batch2", "batch3"}), ("query", {"batch4"})):
    cells = [i for i, b in enumerate(barcodes) if batch[b] in keep]
    d = f"{out}/{role}_counts"
    os.makedirs(d, exist_ok=True)
    with gzip.open(f"{d}/matrix.mtx.gz", "wb") as f:
        scipy.io.mmwrite(f, m[:, cells], field="integer")
    with gzip.open(f"{d}/features.tsv.gz", "wb") as f:
        f.write(features)
    with gzip.open(f"{d}/barcodes.tsv.gz", "wt") as f:
        f.write("".join(barcodes[i] + "\n" for i in cells))
    ids = {barcodes[i] for i in cells}
    with open(f"{out}/{role}_meta.tsv", "w") as f:
        f.write("\n".join([meta[0]] + [l for l in meta[1:] if l.split("\t")[0] in ids]) + "\n")
    print(f"   {role}: {len(cells)} cells")
PY

echo "== harmony reference: counts -> variable genes -> PCA -> Harmony, with labels, as a gene-space model"
"$bin/harmony" reference "$out/reference_counts" --meta "$out/reference_meta.tsv" --vars batch \
    --labels cell_type --genes 1000 --pcs 20 --out "$out/reference.hmod" --pcs-out "$out/reference_pcs.tsv" \
    --corrected-out "$out/reference_corrected.tsv" --report "$out/fit_report.json"
"$bin/harmony" inspect "$out/reference.hmod"
echo "== LISI of the reference before and after (iLISI over batch: higher mixes better; cLISI over cell_type: 1 keeps types apart)"
"$bin/harmony" lisi "$out/reference_pcs.tsv" --meta "$out/reference_meta.tsv" --vars batch,cell_type \
    --per-cell "$out/lisi_before.tsv" > "$out/lisi_before.json"
"$bin/harmony" lisi "$out/reference_corrected.tsv" --meta "$out/reference_meta.tsv" --vars batch,cell_type \
    --per-cell "$out/lisi_after.tsv" > "$out/lisi_after.json"

echo "== harmony map: the new sample's counts (10x directory) onto the reference, offline"
"$bin/harmony" map "$out/query_counts" --reference "$out/reference.hmod" --meta "$out/query_meta.tsv" \
    --batch-key batch --out "$out/query_mapped.tsv" --projection-out "$out/query_projection.tsv" \
    --predictions "$out/query_predictions.tsv"

echo "== starting harmonyd on the reference (a refit after 1,000 new cells)"
sock="$out/harmonyd.sock"
"$bin/harmonyd" --reference "$out/reference.hmod" --socket "$sock" --state-dir "$out/state" \
    --refit-after 1000 2> "$out/harmonyd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.1; done
"$bin/harmony" client info --socket "$sock" > "$out/info_before.json"
echo "== streaming the new sample's counts (10x directory) in chunks of 100 cells; the daemon projects them"
"$bin/harmony" client map "$out/query_counts" --socket "$sock" --meta "$out/query_meta.tsv" \
    --batch-key batch --chunk-size 100 --out "$out/query_streamed.tsv" --predictions "$out/query_streamed_predictions.tsv"
echo "== the same counts again: exactly once, the daemon keeps the batch at its cell count"
"$bin/harmony" client map "$out/query_counts" --socket "$sock" --meta "$out/query_meta.tsv" \
    --batch-key batch --chunk-size 500 --out "$out/query_streamed_again.tsv"
for _ in $(seq 600); do
    "$bin/harmony" client stats --socket "$sock" > "$out/stats.json"
    python3 -c "import json,sys; s=json.load(open('$out/stats.json')); sys.exit(0 if not s.get('refit_running') and s.get('refits_done',0)+s.get('refits_failed',0)>0 else 1)" && break
    sleep 0.2
done
"$bin/harmony" client stats --socket "$sock" > "$out/stats.json"
kill -TERM $daemon; wait $daemon; status=$?
trap - EXIT

echo "== pictures"
python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
# Reference and query together for the "before/after" view of the whole data.
def rows(path):
    return open(path).read().splitlines()
ref_pcs, ref_cor = rows(f"{out}/reference_pcs.tsv"), rows(f"{out}/reference_corrected.tsv")
q_pcs, q_cor = rows(f"{out}/query_projection.tsv"), rows(f"{out}/query_mapped.tsv")
open(f"{out}/all_uncorrected.tsv", "w").write("\n".join(ref_pcs + q_pcs[1:]) + "\n")
open(f"{out}/all_corrected.tsv", "w").write("\n".join(ref_cor + q_cor[1:]) + "\n")
meta = rows(f"{out}/reference_meta.tsv") + rows(f"{out}/query_meta.tsv")[1:]
open(f"{out}/all_meta.tsv", "w").write("\n".join(meta) + "\n")
PY
"$bin/harmony" plot convergence "$out/fit_report.json" --out "$out/convergence.png"
"$bin/harmony" plot embedding --before "$out/all_uncorrected.tsv" --after "$out/all_corrected.tsv" \
    --meta "$out/all_meta.tsv" --color-by batch,cell_type --out "$out/umap_before_after.png"
"$bin/harmony" plot lisi "$out/lisi_before.tsv" "$out/lisi_after.tsv" --names before,after \
    --meta "$out/reference_meta.tsv" --by batch --out "$out/lisi.png"
"$bin/harmony" plot mapping --reference "$out/reference_corrected.tsv" --reference-meta "$out/reference_meta.tsv" \
    --color-by cell_type --query "$out/query_mapped.tsv" --query-meta "$out/query_predictions.tsv" \
    --query-color-by label --out "$out/mapping.png"

python3 - "$out" "$status" <<'PY'
import json, sys
out, status = sys.argv[1], sys.argv[2]
fit = json.load(open(f"{out}/fit_report.json"))
before, after = json.load(open(f"{out}/lisi_before.json")), json.load(open(f"{out}/lisi_after.json"))
info, stats = json.load(open(f"{out}/info_before.json")), json.load(open(f"{out}/stats.json"))
def table(path):
    lines = open(path).read().splitlines()
    h = lines[0].split("\t")
    return [dict(zip(h, l.split("\t"))) for l in lines[1:]]
truth = {r["cell_id"]: r["cell_type"] for r in table(f"{out}/query_meta.tsv")}
def accuracy(path):
    rows = table(path)
    return sum(r["label"] == truth[r["cell_id"]] for r in rows) / len(rows), rows
offline, rows = accuracy(f"{out}/query_predictions.tsv")
streamed, _ = accuracy(f"{out}/query_streamed_predictions.tsv")
distances = sorted(float(r["mapping_distance"]) for r in rows)
batches = stats.get("batches", {})
print()
print("What happened")
print(f"  simulated 6,000 cells x 2,000 genes of UMI counts in 4 samples; reference = 3 samples, query = 1")
print(f"  reference: {fit['N']} cells, 1,000 variable genes, {fit['d']} PCs, K = {fit['K']}, "
      f"{fit['iterations']} Harmony iterations (converged: {fit['converged']}), fit {fit['fit_seconds']:.2f} s")
print(f"  reference median iLISI(batch) {before['median']['batch']:.2f} -> {after['median']['batch']:.2f}, "
      f"cLISI(cell_type) {before['median']['cell_type']:.2f} -> {after['median']['cell_type']:.2f}")
print(f"  offline mapping of the new sample's counts: label accuracy {offline:.3f}, "
      f"median mapping distance {distances[len(distances) // 2]:.2f}")
print(f"  harmonyd: model version {info['model_version']} at start, {stats['model_version']} at the end "
      f"({stats['refits_done']} refit(s) done, {stats['refits_failed']} failed); label accuracy of the streamed "
      f"cells {streamed:.3f}")
print(f"  the same {len(truth)} cells streamed twice: batch4 holds {batches.get('batch4')} cells (exactly once); "
      f"latency p50 {stats['latency_us']['p50']} us, p99 {stats['latency_us']['p99']} us")
print(f"  harmonyd stopped on SIGTERM with exit status {status}; its log: {out}/harmonyd.log")
print()
print("Pictures")
for name, what in (("convergence.png", "the objective per iteration and per clustering round"),
                   ("umap_before_after.png", "UMAP of reference + query before and after, by batch and cell type"),
                   ("lisi.png", "iLISI per batch before and after integration"),
                   ("mapping.png", "the new sample placed on the reference's UMAP, by predicted label")):
    print(f"  {out}/{name}: {what}")
PY
