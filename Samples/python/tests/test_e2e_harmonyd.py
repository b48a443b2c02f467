"""End to end: `harmony simulate` + `harmony fit --reference-out` make a model, `harmonyd` serves it, and the
Python client and the Swift `harmony client` talk to it. Binaries come from $HARMONY_BIN_DIR; absent binaries
fail the tests with a clear message (nothing is skipped)."""

import gzip
import os
import signal
import socket
import struct
import subprocess
import time

import numpy as np
import pytest

from harmony_swift import harmony_client as hc
from binaries import binary

D = 8


def run(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def read_tsv_gz(path):
    with gzip.open(path, "rt") as fh:
        lines = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    return lines[0], lines[1:]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A reference model with labels, and a query of two new batches (the simulated names prefixed with q)."""
    root = tmp_path_factory.mktemp("e2e")
    harmony = binary("harmony")
    run(harmony, "simulate", "--cells", "600", "--dims", str(D), "--batches", "3", "--types", "4", "--seed", "11",
        "--out-dir", str(root / "ref"))
    run(harmony, "fit", str(root / "ref" / "pcs.tsv.gz"), "--meta", str(root / "ref" / "meta.tsv.gz"),
        "--vars", "batch", "--out", str(root / "ref" / "corrected.tsv.gz"), "--reference-out",
        str(root / "model.hmod"), "--labels", "cell_type", "--quiet")
    run(harmony, "simulate", "--cells", "150", "--dims", str(D), "--batches", "2", "--types", "4", "--seed", "12",
        "--out-dir", str(root / "query"))
    header, rows = read_tsv_gz(root / "query" / "meta.tsv.gz")
    batch_col = header.index("batch")
    with open(root / "query_meta.tsv", "w") as fh:
        fh.write("cell_id\tsample\n")
        for row in rows:
            fh.write(f"q{row[0]}\t{'q' + row[batch_col]}\n")
    header, rows = read_tsv_gz(root / "query" / "pcs.tsv.gz")
    with open(root / "query.tsv", "w") as fh:
        fh.write("\t".join(["cell_id"] + header[1:]) + "\n")
        for row in rows:
            fh.write("\t".join([f"q{row[0]}"] + row[1:]) + "\n")
    cells = np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float32)
    ids = [f"q{row[0]}" for row in rows]
    with open(root / "query_meta.tsv") as fh:
        batches = [line.split("\t")[1].strip() for line in fh.readlines()[1:]]
    return {"root": root, "cells": cells, "ids": ids, "batches": batches, "levels": sorted(set(batches))}


def start_daemon(data, tmp_path, *extra):
    sock = str(tmp_path / "h.sock")
    process = subprocess.Popen([binary("harmonyd"), "--reference", str(data["root"] / "model.hmod"), "--socket", sock,
                                "--state-dir", str(tmp_path / "state"), "--quiet", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not os.path.exists(sock):
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"harmonyd did not create {sock}: {process.stderr.read().decode()}")
        time.sleep(0.05)
    return sock, process


def stop_daemon(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def daemon(data, tmp_path):
    sock, process = start_daemon(data, tmp_path)
    yield sock, process
    stop_daemon(process)


def read_mapped(path):
    with open(path) as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh][1:]
    return [row[0] for row in rows], np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float32)


def test_python_client_maps_and_exports(data, daemon):
    sock, _ = daemon
    cells, ids, batches = data["cells"], data["ids"], np.array(data["batches"])
    with hc.HarmonyClient.connect(sock, timeout=60) as client:
        assert client.hello().version == 3
        info = client.info()
        assert info.dimensions == D and info.clusters > 1 and info.reference_cells == 600
        assert sorted(info.labels) == sorted(set(info.labels)) and len(info.labels) == 4
        requests = [hc.MapRequest(b, cells[batches == b][i:i + 20], list(np.array(ids)[batches == b][i:i + 20]))
                    for b in data["levels"] for i in range(0, int((batches == b).sum()), 20)]
        results = client.map_many(requests, window=4)
        for request, result in zip(requests, results):
            assert result.corrected.shape == request.cells.shape
            assert np.all(result.top_cluster < info.clusters)
            assert np.all((result.top_probability > 0) & (result.top_probability <= 1))
            assert np.all((result.predicted_label >= 0) & (result.predicted_label < 4))
        for b in data["levels"]:
            export = client.export(b)
            assert export.cell_ids == list(np.array(ids)[batches == b])
            assert np.all(np.isfinite(export.corrected)) and export.corrected.shape == ((batches == b).sum(), D)
        stats = client.stats()
        assert stats.cells_mapped == len(ids)
        assert stats.batches == {b: int((batches == b).sum()) for b in data["levels"]}


def test_bad_requests_get_typed_errors_and_the_connection_survives(daemon):
    sock, _ = daemon
    with hc.HarmonyClient.connect(sock, timeout=60) as client:
        with pytest.raises(hc.ServerError) as err:
            client.map("q9", np.zeros((2, D + 1), np.float32))
        assert err.value.name == "BAD_DIMENSION"
        nan = hc.MapRequest("q9", np.zeros((1, D), np.float32)).encode()
        nan = nan[:11 + 2] + struct.pack("<f", float("nan")) + nan[11 + 2 + 4:]
        client.sock.sendall(hc.HEADER.pack(hc.MAGIC, 1, hc.MAP, 0, 99, len(nan)) + nan)
        with pytest.raises(hc.ServerError) as err:
            client._receive(99, hc.MapResult)
        assert err.value.name == "NON_FINITE"
        with pytest.raises(hc.ServerError) as err:
            client.export("never-mapped")
        assert err.value.name == "UNKNOWN_BATCH"
        assert client.info().dimensions == D
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(30)
    raw.connect(sock)
    raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
    decoder = hc.FrameDecoder()
    while (chunk := raw.recv(4096)):
        decoder.feed(chunk)
    assert hc.decode_message(decoder.next_frame()).name == "BAD_MAGIC"
    raw.close()


def test_swift_client_map_equals_python_export(data, daemon, tmp_path):
    sock, process = daemon
    root = data["root"]
    out = tmp_path / "mapped.tsv"
    r = run(binary("harmony"), "client", "map", "--socket", sock, str(root / "query.tsv"), "--meta",
            str(root / "query_meta.tsv"), "--batch-key", "sample", "--out", str(out), "--predictions",
            str(tmp_path / "pred.tsv"), "--chunk-size", "32")
    assert "mapped 150 cells" in r.stderr
    ids, swift = read_mapped(out)
    assert ids == data["ids"]
    batches = np.array(data["batches"])
    with hc.HarmonyClient.connect(sock, timeout=60) as client:
        for b in data["levels"]:
            export = client.export(b)
            assert np.array_equal(swift[batches == b], export.corrected)
    # The final corrections use the whole batch, so they differ from the first chunks' immediate answers
    # but stay close to the input scale.
    assert np.all(np.isfinite(swift))
    with open(tmp_path / "pred.tsv") as fh:
        assert len(fh.readlines()) == 151
    stats = run(binary("harmony"), "client", "stats", "--socket", sock).stdout
    assert '"cells_mapped": 150' in stats
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_swift_client_output_equals_offline_harmony_map_per_batch(data, tmp_path):
    """The daemon contract: once a batch is complete, the daemon's corrections equal offline `harmony map` of the whole
    batch. harmonyd estimates each query batch on its own, so offline `harmony map` runs once per batch (given
    several batches at once it estimates them jointly, which differs). Both use query lambda 1."""
    root = data["root"]
    sock, process = start_daemon(data, tmp_path, "--query-lambda", "1")
    try:
        run(binary("harmony"), "client", "map", "--socket", sock, str(root / "query.tsv"), "--meta",
            str(root / "query_meta.tsv"), "--batch-key", "sample", "--out", str(tmp_path / "online.tsv"),
            "--chunk-size", "16")
    finally:
        stop_daemon(process)
    online_ids, online = read_mapped(tmp_path / "online.tsv")
    position = {cell: i for i, cell in enumerate(online_ids)}
    with open(root / "query.tsv") as fh:
        query_lines = fh.readlines()
    for level in data["levels"]:
        keep = {cell for cell, b in zip(data["ids"], data["batches"]) if b == level}
        with open(tmp_path / f"{level}.tsv", "w") as fh:
            fh.writelines([query_lines[0]] + [line for line in query_lines[1:] if line.split("\t")[0] in keep])
        with open(tmp_path / f"{level}_meta.tsv", "w") as fh:
            fh.write("cell_id\tsample\n" + "".join(f"{cell}\t{level}\n" for cell in sorted(keep)))
        run(binary("harmony"), "map", str(tmp_path / f"{level}.tsv"), "--reference", str(root / "model.hmod"),
            "--meta", str(tmp_path / f"{level}_meta.tsv"), "--batch-key", "sample", "--out",
            str(tmp_path / f"{level}_offline.tsv"), "--query-lambda", "1", "--quiet")
        offline_ids, offline = read_mapped(tmp_path / f"{level}_offline.tsv")
        worst = float(np.abs(online[[position[c] for c in offline_ids]] - offline).max())
        assert worst < 1e-4, f"batch {level}: harmonyd's final corrections differ from offline harmony map by {worst}"


def test_python_client_resends_transient_maps_and_forgets(data, daemon):
    """Exactly once, MAP_TRANSIENT and FORGET through the Python client (protocol version 2)."""
    sock, _ = daemon
    cells, ids = data["cells"][:30], data["ids"][:30]
    with hc.HarmonyClient.connect(sock, timeout=60) as client:
        with pytest.raises(hc.ProtocolError):
            client.forget("p")  # version 1 until hello()
        assert client.hello().version == 3
        client.map("p", cells[:20], ids[:20])
        again = client.map("p", cells[10:30], ids[10:30])  # 10 held already, 10 new
        assert again.corrected.shape == (20, D)
        assert client.stats().batches == {"p": 30}
        before = client.export("p")
        peek = client.map_transient("p", cells[:5])
        assert peek.corrected.shape == (5, D) and np.all(np.isfinite(peek.corrected))
        after = client.export("p")
        assert after.cell_ids == before.cell_ids and np.array_equal(after.corrected, before.corrected)
        assert client.stats().batches == {"p": 30}
        assert client.forget("p") == 30
        assert client.stats().batches == {}
        with pytest.raises(hc.ServerError) as err:
            client.export("p")
        assert err.value.name == "UNKNOWN_BATCH"
