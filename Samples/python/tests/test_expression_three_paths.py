"""One number, three paths: donor 107's counts (kang_muscat_counts) mapped onto a reference built by `harmony
reference` from donor 101's counts give the same corrections, labels and mapping distances through offline
`harmony map`, through harmonyd with `harmony client map`, and through harmonyd with the Python client
(`harmony_swift.Client.map_anndata`). Each daemon path runs on its own fresh daemon, so neither answers from cells
the other sent. The whole donor (602 cells) is mapped. Tolerance: 1e-6 relative to the largest value."""

import csv

import numpy as np
import pytest

from harmony_swift import Client
from test_e2e_harmonyd import start_daemon, stop_daemon
from test_map_expression import run, split

RTOL = 1e-6


def read_table(path):
    with open(path) as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    return rows[0], rows[1:]


def matrix(path):
    header, rows = read_table(path)
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def close(actual, expected, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, what
    scale = max(np.abs(expected).max(), 1e-12)
    worst = np.abs(actual - expected).max()
    assert worst / scale <= RTOL, f"{what}: max |diff| {worst} at scale {scale}"


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("three_paths")
    query = split(root)
    built = run("reference", root / "ref.h5ad", "--vars", "sample_id", "--labels", "cell_type", "--genes", "1000",
                "--out", root / "model.hmod", "--quiet")
    assert built.returncode == 0, built.stderr
    offline = run("map", root / "query.h5ad", "--reference", root / "model.hmod", "--batch-key", "sample_id",
                  "--out", root / "offline.tsv", "--predictions", root / "offline_pred.tsv", "--quiet")
    assert offline.returncode == 0, offline.stderr
    # harmony client map, on its own daemon; small chunks so the stream takes several requests per batch.
    swift_dir = root / "swift"
    swift_dir.mkdir()
    sock, process = start_daemon({"root": root}, swift_dir)
    try:
        client = run("client", "map", root / "query.h5ad", "--batch-key", "sample_id", "--chunk-size", "100",
                     "--out", root / "client.tsv", "--predictions", root / "client_pred.tsv", "--socket", sock)
        assert client.returncode == 0, client.stderr
        assert "gene overlap: 1000 of the reference's 1000 genes" in client.stderr
    finally:
        stop_daemon(process)
    # The Python client, on another fresh daemon.
    python_dir = root / "python"
    python_dir.mkdir()
    sock, process = start_daemon({"root": root}, python_dir)
    try:
        with Client.connect(sock) as connection:
            connection.hello()
            mapped = connection.map_anndata(query.copy(), "sample_id", chunk_size=150)
    finally:
        stop_daemon(process)
    return {"root": root, "query": query, "python": mapped}


def test_three_paths_give_one_number(paths):
    root, query, python = paths["root"], paths["query"], paths["python"]
    ids = list(query.obs_names)
    offline_ids, offline = matrix(root / "offline.tsv")
    client_ids, client = matrix(root / "client.tsv")
    assert offline_ids == ids and client_ids == ids
    close(client, offline, "harmony client map vs harmony map: corrections")
    close(python.obsm["X_pca_harmony"], offline, "Python client vs harmony map: corrections")
    header, offline_pred = read_table(root / "offline_pred.tsv")
    client_header, client_pred = read_table(root / "client_pred.tsv")
    assert header == client_header == ["cell_id", "label", "confidence", "cluster", "cluster_prob", "mapping_distance"]
    labels = [r[1] for r in offline_pred]
    assert [r[1] for r in client_pred] == labels
    assert list(python.obs["harmony_label"].astype(str)) == labels
    distance = np.array([float(r[5]) for r in offline_pred])
    close([float(r[5]) for r in client_pred], distance, "harmony client map: mapping_distance")
    close(python.obs["mapping_distance"], distance, "Python client: mapping_distance")
    close([float(r[2]) for r in client_pred], [float(r[2]) for r in offline_pred], "confidence")
    accuracy = np.mean(np.array(labels) == query.obs["cell_type"].astype(str).to_numpy())
    print(f"three paths agree on {len(ids)} cells; label accuracy {accuracy:.3f}")
    assert accuracy >= 0.85


def test_bad_counts_are_refused_before_anything_is_sent(paths):
    root, query = paths["root"], paths["query"]
    bad = query.copy()
    counts = bad.X.toarray() if hasattr(bad.X, "toarray") else np.array(bad.X)
    counts = counts.astype(np.float32)
    counts[0, np.flatnonzero(counts[0])[0]] = 0.5
    bad.X = counts
    directory = root / "bad"
    directory.mkdir()
    sock, process = start_daemon({"root": root}, directory)
    try:
        with Client.connect(sock) as connection:
            connection.hello()
            with pytest.raises(Exception) as error:
                connection.map_anndata(bad, "sample_id")
            assert "integer" in str(error.value)
            assert connection.stats().batches == {}
    finally:
        stop_daemon(process)
