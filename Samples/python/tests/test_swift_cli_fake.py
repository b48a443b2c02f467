"""`harmony client ...` (the Swift client) against the fake daemon: socket I/O, chunking, pipelining, EXPORT
matching by id, outputs and exit codes."""

import csv
import json
import subprocess

import numpy as np
import pytest

from binaries import binary
from fake_harmonyd import FakeHarmonyd


@pytest.fixture
def server(tmp_path):
    fake = FakeHarmonyd(str(tmp_path / "fake.sock"))
    yield fake
    fake.close()


def write_query(tmp_path, n=23, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, d)), 3).astype(np.float32)
    ids = [f"q{i}" for i in range(n)]
    batches = ["s1" if i % 4 else "s2" for i in range(n)]
    with open(tmp_path / "query.tsv", "w") as fh:
        fh.write("cell\t" + "\t".join(f"PC{j + 1}" for j in range(d)) + "\n")
        for i in range(n):
            fh.write(ids[i] + "\t" + "\t".join(repr(float(v)) for v in x[i]) + "\n")
    with open(tmp_path / "meta.tsv", "w") as fh:
        fh.write("cell\tsample\n")
        for i in range(n):
            fh.write(f"{ids[i]}\t{batches[i]}\n")
    return x, ids, batches


def run(*args):
    return subprocess.run([binary("harmony"), "client", *args], capture_output=True, text=True, timeout=60)


def read_table(path):
    with open(path) as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    return rows[0], rows[1:]


def test_map_writes_final_corrections_and_predictions(server, tmp_path):
    x, ids, batches = write_query(tmp_path)
    out, pred = tmp_path / "mapped.tsv", tmp_path / "pred.tsv"
    r = run("map", "--socket", server.path, str(tmp_path / "query.tsv"), "--meta", str(tmp_path / "meta.tsv"),
            "--batch-key", "sample", "--out", str(out), "--predictions", str(pred), "--chunk-size", "4",
            "--window", "3")
    assert r.returncode == 0, r.stderr
    header, rows = read_table(out)
    assert header == ["cell_id", "PC1", "PC2", "PC3"]
    assert [row[0] for row in rows] == ids
    got = np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float32)
    b = np.array(batches)
    for batch in ("s1", "s2"):
        expected = x[b == batch] - x[b == batch].astype(np.float32).mean(axis=0)
        assert np.allclose(got[b == batch], expected, atol=1e-5)
    header, rows = read_table(pred)
    assert header == ["cell_id", "label", "confidence", "cluster", "cluster_prob"]
    assert len(rows) == len(ids) and {row[1] for row in rows} == {"T", "B"}
    assert {row[2] for row in rows} == {"0.75"} and {row[4] for row in rows} == {"0.5"}
    # 23 cells in chunks of at most 4 per batch: s1 has 17 cells (5 chunks), s2 has 6 (2 chunks).
    assert server.requests == 2 + 7 + 2  # HELLO + INFO, 7 MAPs, 2 EXPORTs
    assert "7 request(s)" in r.stderr


def test_stream_prints_immediate_answers(server, tmp_path):
    x, ids, _ = write_query(tmp_path, n=9)
    r = run("map", "--socket", server.path, str(tmp_path / "query.tsv"), "--meta", str(tmp_path / "meta.tsv"),
            "--batch-key", "sample", "--stream", "--chunk-size", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert lines[0].split("\t") == ["cell_id", "PC1", "PC2", "PC3"]
    printed = {line.split("\t")[0]: np.array(line.split("\t")[1:], dtype=np.float32) for line in lines[1:]}
    assert sorted(printed) == sorted(ids)
    for i, cell in enumerate(ids):
        assert np.allclose(printed[cell], x[i] - 1, atol=1e-6)


def test_info_stats_refit_and_export(server, tmp_path):
    write_query(tmp_path, n=5)
    assert run("map", "--socket", server.path, str(tmp_path / "query.tsv"), "--meta", str(tmp_path / "meta.tsv"),
               "--batch-key", "sample", "--out", str(tmp_path / "m.tsv")).returncode == 0
    info = json.loads(run("info", "--socket", server.path).stdout)
    assert info["dimensions"] == 3 and info["labels"] == ["T", "B"] and info["batches"] == ["r1", "r2"]
    stats = json.loads(run("stats", "--socket", server.path).stdout)
    assert stats["batches"] == {"s1": 3, "s2": 2} and stats["latency_us"]["p999"] == 40
    assert json.loads(run("refit", "--socket", server.path).stdout)["accepted"] is True
    r = run("refit", "--socket", server.path)
    assert r.returncode == 1 and "REFIT_IN_PROGRESS" in r.stderr
    r = run("export", "--socket", server.path, "--batch", "s1", "--out", str(tmp_path / "s1.tsv"))
    assert r.returncode == 0, r.stderr
    header, rows = read_table(tmp_path / "s1.tsv")
    assert header == ["cell_id", "PC1", "PC2", "PC3"] and [row[0] for row in rows] == ["q1", "q2", "q3"]
    r = run("export", "--socket", server.path, "--batch", "nope", "--out", str(tmp_path / "x.tsv"))
    assert r.returncode == 2 and "UNKNOWN_BATCH" in r.stderr


def test_errors_have_exit_codes(server, tmp_path):
    write_query(tmp_path, n=5, d=4)  # the fake's model has d = 3
    r = run("map", "--socket", server.path, str(tmp_path / "query.tsv"), "--meta", str(tmp_path / "meta.tsv"),
            "--batch-key", "sample", "--out", str(tmp_path / "m.tsv"))
    assert r.returncode == 2 and "d = 3" in r.stderr
    assert not (tmp_path / "m.tsv").exists()
    r = run("info", "--socket", str(tmp_path / "absent.sock"))
    assert r.returncode == 1 and "cannot connect" in r.stderr
    r = run("map", "--socket", server.path, str(tmp_path / "query.tsv"), "--meta", str(tmp_path / "meta.tsv"),
            "--batch-key", "sample")
    assert r.returncode == 2 and "--out is required" in r.stderr
