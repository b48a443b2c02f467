"""The Python client against the fake daemon (tests/fake_harmonyd.py)."""

import numpy as np
import pytest

from harmony_swift import harmony_client as hc
from fake_harmonyd import FakeHarmonyd


@pytest.fixture
def server(tmp_path):
    fake = FakeHarmonyd(str(tmp_path / "fake.sock"))
    yield fake
    fake.close()


def test_requests_and_replies(server):
    with hc.HarmonyClient.connect(server.path, timeout=10) as client:
        assert client.hello().server_name == "fake-harmonyd"
        info = client.info()
        assert (info.dimensions, info.clusters, info.labels) == (3, 4, ["T", "B"])
        cells = np.arange(12, dtype=np.float32).reshape(4, 3)
        result = client.map("q1", cells, ids=["a", "b", "c", "d"])
        assert np.array_equal(result.corrected, cells - 1)
        assert result.top_cluster.tolist() == [0, 1, 2, 3] and result.predicted_label.tolist() == [0, 1, 0, 1]
        export = client.export("q1")
        assert export.cell_ids == ["a", "b", "c", "d"]
        assert np.allclose(export.corrected, cells - cells.mean(axis=0))
        stats = client.stats()
        assert stats.batches == {"q1": 4} and stats.cells_mapped == 4
        assert client.refit().accepted
        with pytest.raises(hc.ServerError) as err:
            client.refit()
        assert err.value.name == "REFIT_IN_PROGRESS"
        with pytest.raises(hc.ServerError) as err:
            client.export("nobody")
        assert err.value.name == "UNKNOWN_BATCH"


def test_map_many_pipelines_and_surfaces_errors(server):
    with hc.HarmonyClient.connect(server.path, timeout=10) as client:
        chunks = [np.full((5, 3), i, dtype=np.float32) for i in range(10)]
        seen = []
        results = client.map_many([hc.MapRequest("q2", c) for c in chunks], window=4,
                                  on_reply=lambda k, r: seen.append(k))
        assert seen == list(range(10))
        assert all(np.array_equal(r.corrected, c - 1) for r, c in zip(results, chunks))
        bad = [hc.MapRequest("q3", np.zeros((2, 3), np.float32)), hc.MapRequest("q3", np.zeros((2, 4), np.float32)),
               hc.MapRequest("q3", np.zeros((2, 3), np.float32))]
        with pytest.raises(hc.ServerError) as err:
            client.map_many(bad, window=3)
        assert err.value.name == "BAD_DIMENSION"
        # The connection is still in sync after the payload error.
        assert client.stats().batches["q2"] == 50

        def stop_at_two(k, reply):
            if k == 2:
                raise RuntimeError("enough")

        with pytest.raises(RuntimeError):
            client.map_many([hc.MapRequest("q4", c) for c in chunks], window=3, on_reply=stop_at_two)
        # Requests 0..4 were sent (3 in flight when reply 2 arrived), their replies drained, nothing more sent.
        assert client.stats().batches["q4"] == 25
        with pytest.raises(hc.ServerError) as err:
            client.map_many([hc.MapRequest("q5", np.zeros((2, 4), np.float32))] * 3, window=1)
        assert err.value.name == "BAD_DIMENSION"
        assert "q5" not in client.stats().batches


def test_map_anndata(server):
    class FakeAnnData:
        def __init__(self, x, batches):
            self.obsm = {"X_pca": x}
            self.obs = {"batch": batches}
            self.obs_names = [f"cell{i}" for i in range(len(batches))]

    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    batches = ["s1" if i % 3 else "s2" for i in range(30)]
    with hc.HarmonyClient.connect(server.path, timeout=10) as client:
        adata = hc.map_anndata(client, FakeAnnData(x, batches), "batch", chunk_size=4)
    out = adata.obsm["X_pca_harmony"]
    for b in ("s1", "s2"):
        rows = [i for i, v in enumerate(batches) if v == b]
        assert np.allclose(out[rows], x[rows] - x[rows].mean(axis=0), atol=1e-6)
    assert set(adata.obs["harmony_label"]) == {"T", "B"}
    assert adata.obs["harmony_cluster_probability"].tolist() == [0.5] * 30


def test_bad_magic_gets_an_error_and_a_close(server):
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(server.path)
    sock.sendall(b"GET / HTTP/1.1\r\n")
    decoder = hc.FrameDecoder()
    while (data := sock.recv(4096)):
        decoder.feed(data)
    frame = decoder.next_frame()
    assert hc.decode_message(frame).name == "BAD_MAGIC"
    sock.close()


def test_example_script_writes_final_corrections(server, tmp_path):
    import map_tsv as example_map
    x = np.arange(30, dtype=np.float32).reshape(10, 3) / 7
    with open(tmp_path / "q.tsv", "w") as fh:
        fh.write("cell\tPC1\tPC2\tPC3\n")
        for i, row in enumerate(x):
            fh.write(f"c{i}\t" + "\t".join(repr(float(v)) for v in row) + "\n")
    with open(tmp_path / "m.tsv", "w") as fh:
        fh.write("cell\tsample\n" + "".join(f"c{i}\t{'a' if i < 4 else 'b'}\n" for i in range(10)))
    example_map.main(["--socket", server.path, "--chunk-size", "3", str(tmp_path / "q.tsv"), str(tmp_path / "m.tsv"),
                      "sample", str(tmp_path / "out.tsv")])
    with open(tmp_path / "out.tsv") as fh:
        got = np.array([line.split("\t")[1:] for line in fh.readlines()[1:]], dtype=np.float32)
    assert np.allclose(got[:4], x[:4] - x[:4].mean(axis=0), atol=1e-6)
    assert np.allclose(got[4:], x[4:] - x[4:].mean(axis=0), atol=1e-6)
