#!/usr/bin/env bash
# The main job, end to end, on the shipped sample (Samples/data: 3,000 simulated cells, 3 batches, 5 cell
# types): install what a fresh Debian machine lacks, build, fit a Harmony reference on batches 01 and 02,
# start harmonyd on it, stream batch 03 through `harmony client map` in chunks while a background refit
# triggers, and print what happened. Everything is written under demo-out/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-demo-out}
Samples/setup.sh
echo "== building (release)"
swift build -c release 2>&1 | tail -1
bin=$(swift build -c release --show-bin-path)
rm -rf "$out" && mkdir -p "$out"

echo "== splitting Samples/data: reference = batch01 + batch02, query = batch03"
python3 - "$out" <<'PY'
import gzip, sys
out = sys.argv[1]
pcs = gzip.open("Samples/data/pcs.tsv.gz", "rt").read().splitlines()
meta = gzip.open("Samples/data/meta.tsv.gz", "rt").read().splitlines()
batch_col = meta[0].split("\t").index("batch")
batch = {line.split("\t")[0]: line.split("\t")[batch_col] for line in meta[1:]}
for role, keep in (("reference", {"batch01", "batch02"}), ("query", {"batch03"})):
    with open(f"{out}/{role}_pcs.tsv", "w") as f:
        f.write("\n".join([pcs[0]] + [l for l in pcs[1:] if batch[l.split("\t")[0]] in keep]) + "\n")
    with open(f"{out}/{role}_meta.tsv", "w") as f:
        f.write("\n".join([meta[0]] + [l for l in meta[1:] if batch[l.split("\t")[0]] in keep]) + "\n")
PY

echo "== harmony fit: the reference (with labels, as a model file)"
"$bin/harmony" fit "$out/reference_pcs.tsv" --meta "$out/reference_meta.tsv" --vars batch --labels cell_type \
    --out "$out/reference_corrected.tsv" --reference-out "$out/reference.hmod" --report "$out/fit_report.json"
"$bin/harmony" inspect "$out/reference.hmod"
echo "== LISI of the reference before and after (iLISI over batch: higher mixes better; cLISI over cell_type: 1 keeps types apart)"
"$bin/harmony" lisi "$out/reference_pcs.tsv" --meta "$out/reference_meta.tsv" --vars batch,cell_type > "$out/lisi_before.json"
"$bin/harmony" lisi "$out/reference_corrected.tsv" --meta "$out/reference_meta.tsv" --vars batch,cell_type > "$out/lisi_after.json"

echo "== starting harmonyd (refit after 600 new cells)"
sock="$out/harmonyd.sock"
"$bin/harmonyd" --reference "$out/reference.hmod" --socket "$sock" --state-dir "$out/state" \
    --refit-after 600 2> "$out/harmonyd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
"$bin/harmony" client info --socket "$sock" > "$out/info_before.json"

echo "== streaming the query (1,169 cells of batch03) in chunks of 100"
"$bin/harmony" client map "$out/query_pcs.tsv" --socket "$sock" --meta "$out/query_meta.tsv" --batch-key batch \
    --chunk-size 100 --out "$out/query_mapped.tsv" --predictions "$out/query_predictions.tsv"
for _ in $(seq 300); do
    "$bin/harmony" client stats --socket "$sock" > "$out/stats.json"
    python3 -c "import json,sys; s=json.load(open('$out/stats.json')); sys.exit(0 if not s.get('refit_running') and s.get('refits_done',0)+s.get('refits_failed',0)>0 else 1)" && break
    sleep 0.2
done
echo "== the corrections of batch03 under the model serving now (EXPORT after the refit)"
"$bin/harmony" client export --socket "$sock" --batch batch03 --out "$out/query_exported.tsv"
"$bin/harmony" client stats --socket "$sock" > "$out/stats.json"
kill -TERM $daemon; wait $daemon; status=$?
trap - EXIT

echo "== LISI of reference + mapped query (iLISI over role: 2 = query and reference fully mixed)"
python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
ref = open(f"{out}/reference_corrected.tsv").read().splitlines()
query = open(f"{out}/query_mapped.tsv").read().splitlines()
meta = {}
for role, path in (("reference", "reference_meta.tsv"), ("query", "query_meta.tsv")):
    lines = open(f"{out}/{path}").read().splitlines()
    col = lines[0].split("\t").index("cell_type")
    for l in lines[1:]:
        f = l.split("\t"); meta[f[0]] = (role, f[col])
with open(f"{out}/combined.tsv", "w") as f:
    f.write("\n".join([ref[0]] + ref[1:] + query[1:]) + "\n")
with open(f"{out}/combined_meta.tsv", "w") as f:
    f.write("cell_id\trole\tcell_type\n" + "".join(f"{c}\t{r}\t{t}\n" for c, (r, t) in meta.items()))
PY
"$bin/harmony" lisi "$out/combined.tsv" --meta "$out/combined_meta.tsv" --vars role,cell_type > "$out/lisi_mapped.json"

python3 - "$out" "$status" <<'PY'
import json, sys
out, status = sys.argv[1], sys.argv[2]
fit = json.load(open(f"{out}/fit_report.json"))
before, after = json.load(open(f"{out}/lisi_before.json")), json.load(open(f"{out}/lisi_after.json"))
mapped = json.load(open(f"{out}/lisi_mapped.json"))
info, stats = json.load(open(f"{out}/info_before.json")), json.load(open(f"{out}/stats.json"))
truth = {}
lines = open(f"{out}/query_meta.tsv").read().splitlines()
col = lines[0].split("\t").index("cell_type")
for l in lines[1:]:
    f = l.split("\t"); truth[f[0]] = f[col]
pred = open(f"{out}/query_predictions.tsv").read().splitlines()
h = pred[0].split("\t")
rows = [dict(zip(h, l.split("\t"))) for l in pred[1:]]
accuracy = sum(r["label"] == truth[r["cell_id"]] for r in rows) / len(rows)
print()
print("What happened")
print(f"  reference fit: {fit['N']} cells x {fit['d']} dims, K = {fit['K']}, {fit['iterations']} iterations "
      f"(converged: {fit['converged']}), fit {fit['fit_seconds']:.3f} s")
print(f"  reference median iLISI(batch) {before['median']['batch']:.2f} -> {after['median']['batch']:.2f}, "
      f"cLISI(cell_type) {before['median']['cell_type']:.2f} -> {after['median']['cell_type']:.2f}")
print(f"  harmonyd served model version {info['model_version']} at start, "
      f"{stats['model_version']} at the end ({stats['refits_done']} refit(s) done, {stats['refits_failed']} failed)")
print(f"  cells mapped over the socket: {stats['cells_mapped']}; latency p50 {stats['latency_us']['p50']} us, "
      f"p99 {stats['latency_us']['p99']} us")
print(f"  mapped query: label accuracy {accuracy:.3f} (kNN/cluster vote against the reference labels)")
print(f"  reference + query median iLISI(role) {mapped['median']['role']:.2f} (2 = fully mixed), "
      f"cLISI(cell_type) {mapped['median']['cell_type']:.2f}")
print(f"  harmonyd stopped on SIGTERM with exit status {status}; log: {out}/harmonyd.log")
PY
