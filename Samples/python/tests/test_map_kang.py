"""Label transfer and mapping distance of `harmony map` on real counts (kang_muscat_counts, two donors).

The reference is donor 101 (samples ctrl101 and stim101, batch key sample_id) and the query donor 107. Both are
brought into the reference's PC space here with numpy (counts scaled to 10,000 per cell, log1p, genes scaled
with the reference's mean and SD and clipped at 10, PCA of the reference by SVD, the query projected on the
same loadings), so this checks the mapping itself: `harmony fit --reference-out --labels`, then
`harmony map --predictions`.
"""

import csv
import gzip
import os
import subprocess

import numpy as np
import pytest

from binaries import binary

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "data",
                    "kang_muscat_counts")
PCS = 20


def read_counts():
    """Cells x genes dense counts (the set is 1,556 x 1,267), cell ids and the meta columns by cell id."""
    folder = os.path.join(DATA, "mtx")
    if not os.path.isdir(folder):
        pytest.fail(f"shared data missing: {folder}")
    with gzip.open(os.path.join(folder, "barcodes.tsv.gz"), "rt") as fh:
        cells = [line.rstrip("\n") for line in fh]
    with gzip.open(os.path.join(folder, "features.tsv.gz"), "rt") as fh:
        genes = [line.split("\t")[0] for line in fh]
    counts = np.zeros((len(cells), len(genes)))
    with gzip.open(os.path.join(folder, "matrix.mtx.gz"), "rt") as fh:
        line = fh.readline()
        while line.startswith("%"):
            line = fh.readline()
        rows, cols, _ = (int(v) for v in line.split())
        assert (rows, cols) == (len(genes), len(cells))
        entries = np.loadtxt(fh, ndmin=2)
    counts[entries[:, 1].astype(int) - 1, entries[:, 0].astype(int) - 1] = entries[:, 2]
    with gzip.open(os.path.join(DATA, "meta.tsv.gz"), "rt") as fh:
        meta = {row["cell_id"]: row for row in csv.DictReader(fh, delimiter="\t")}
    return counts, cells, meta


def project(counts, reference):
    """Reference and query PCs from counts: the recipe of a Symphony reference, in numpy."""
    x = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    ref = x[reference]
    keep = (counts[reference] > 0).sum(axis=0) >= 3
    mean, sd = ref[:, keep].mean(axis=0), ref[:, keep].std(axis=0, ddof=1)
    scaled = np.clip((x[:, keep] - mean) / sd, -10, 10)
    centre = scaled[reference].mean(axis=0)
    _, _, vt = np.linalg.svd(scaled[reference] - centre, full_matrices=False)
    return (scaled - centre) @ vt[:PCS].T


def write_embedding(path, ids, values):
    with open(path, "w") as fh:
        fh.write("cell_id\t" + "\t".join(f"PC{j + 1}" for j in range(values.shape[1])) + "\n")
        for i, row in zip(ids, values):
            fh.write(i + "\t" + "\t".join(repr(float(v)) for v in row) + "\n")


def write_meta(path, ids, meta):
    with open(path, "w") as fh:
        fh.write("cell_id\tsample_id\tcell_type\n")
        for i in ids:
            fh.write(f"{i}\t{meta[i]['sample_id']}\t{meta[i]['cell_type']}\n")


def map_donor_107(tmp_path, leave_out=None):
    """Builds the donor-101 reference (without `leave_out`) and maps donor 107: the predictions table as
    (header, rows) and the query's true cell types."""
    counts, cells, meta = read_counts()
    donor = np.array([meta[c]["donor"] for c in cells])
    kind = np.array([meta[c]["cell_type"] for c in cells])
    reference = (donor == "101") & (kind != leave_out)
    query = donor == "107"
    pcs = project(counts, reference)
    ref_ids = [c for c, r in zip(cells, reference) if r]
    query_ids = [c for c, q in zip(cells, query) if q]
    write_embedding(tmp_path / "ref.tsv", ref_ids, pcs[reference])
    write_meta(tmp_path / "ref_meta.tsv", ref_ids, meta)
    write_embedding(tmp_path / "query.tsv", query_ids, pcs[query])
    write_meta(tmp_path / "query_meta.tsv", query_ids, meta)
    harmony = binary("harmony")
    fit = subprocess.run([harmony, "fit", str(tmp_path / "ref.tsv"), "--meta", str(tmp_path / "ref_meta.tsv"),
                          "--vars", "sample_id", "--labels", "cell_type", "--out", str(tmp_path / "ref_corrected.tsv"),
                          "--reference-out", str(tmp_path / "ref.hmod"), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert fit.returncode == 0, fit.stderr
    mapped = subprocess.run([harmony, "map", str(tmp_path / "query.tsv"), "--reference", str(tmp_path / "ref.hmod"),
                             "--meta", str(tmp_path / "query_meta.tsv"), "--batch-key", "sample_id",
                             "--out", str(tmp_path / "mapped.tsv"), "--predictions", str(tmp_path / "pred.tsv"),
                             "--quiet"], capture_output=True, text=True, timeout=300)
    assert mapped.returncode == 0, mapped.stderr
    with open(tmp_path / "pred.tsv") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert [r[0] for r in rows[1:]] == query_ids
    return rows[0], rows[1:], [meta[i]["cell_type"] for i in query_ids]


def auroc(scores, positive):
    """Probability that a positive scores above a negative (ties count half), by ranks."""
    scores, positive = np.asarray(scores), np.asarray(positive, dtype=bool)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    p, n = positive.sum(), (~positive).sum()
    return (ranks[positive].sum() - p * (p + 1) / 2) / (p * n)


def test_auroc_helper():
    assert auroc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auroc([1, 2, 3, 4], [True, True, False, False]) == 0.0
    assert auroc([1, 1, 1, 1], [True, False, True, False]) == 0.5


def test_labels_transfer_to_a_new_donor(tmp_path):
    header, rows, truth = map_donor_107(tmp_path)
    assert header == ["cell_id", "label", "confidence", "cluster", "cluster_prob", "mapping_distance"]
    accuracy = np.mean([r[1] == t for r, t in zip(rows, truth)])
    print(f"kang_muscat_counts donor 101 -> 107: kNN label accuracy {accuracy:.3f}")
    assert accuracy >= 0.85


def test_mapping_distance_finds_a_cell_type_the_reference_lacks(tmp_path):
    header, rows, truth = map_donor_107(tmp_path, leave_out="B cells")
    distance = [float(r[header.index("mapping_distance")]) for r in rows]
    positive = [t == "B cells" for t in truth]
    score = auroc(distance, positive)
    print(f"B cells left out of the reference: mapping_distance AUROC {score:.3f}; median distance "
          f"B {np.median(np.array(distance)[positive]):.2f}, others "
          f"{np.median(np.array(distance)[~np.array(positive)]):.2f}")
    assert score >= 0.8
