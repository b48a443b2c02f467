"""A model that keeps its layout (format 3): build_reference(layout=True) stores the UMAP of the corrected
reference; map_query, `harmony map --layout-out` and `harmony plot mapping --model` place query cells on it,
and that equals placing them on the same layout given as a file (`harmony plot mapping --reference-layout`)."""

import subprocess

import numpy as np
import pytest

import harmony_swift as hs
from binaries import binary
from shared_data import cell_lines, write_meta, write_npy


@pytest.fixture(scope="module")
def split():
    adata = cell_lines()
    is_query = (adata.obs["dataset"] == "half").to_numpy()
    return adata[~is_query].copy(), adata[is_query].copy()


def test_stored_layout_places_like_the_layout_file(split, tmp_path):
    reference, query = split[0].copy(), split[1].copy()
    model = hs.tl.build_reference(reference, "dataset", "X_pca", label_key="cell_type", progress=False,
                                  layout=True, layout_params={"n_neighbors": 12, "maxiter": 80, "random_state": 4})
    assert model.has_layout and model.layout_params["n_neighbors"] == 12
    # The stored layout is the UMAP of the corrected reference, and reference.obsm["X_umap"] holds it.
    positions = model.layout
    expected = hs._core.umap_layout(reference.obsm["X_pca_harmony"], n_neighbors=12, maxiter=80, random_state=4)
    assert np.array_equal(positions, expected) and np.array_equal(reference.obsm["X_umap"], positions)
    model.save(tmp_path / "ref.hmod")
    loaded = hs.Reference.load(tmp_path / "ref.hmod")
    assert np.array_equal(loaded.layout, positions)

    hs.tl.map_query(query, loaded, "dataset", basis="X_pca")
    placed = query.obsm["X_umap"]
    assert placed.shape == (query.n_obs, 2) and placed.dtype == np.float32

    # The command line from the model file.
    ids = list(query.obs_names)
    write_npy(tmp_path / "query.npy", query.obsm["X_pca"], ids)
    write_meta(tmp_path / "query_meta.tsv", query.obs)
    subprocess.run([binary("harmony"), "map", str(tmp_path / "query.npy"), "--reference", str(tmp_path / "ref.hmod"),
                    "--meta", str(tmp_path / "query_meta.tsv"), "--batch-key", "dataset", "--out",
                    str(tmp_path / "mapped.npy"), "--layout-out", str(tmp_path / "placed.npy"), "--quiet"], check=True)
    assert np.array_equal(np.load(tmp_path / "placed.npy"), placed)

    # The same layout given as a file, with the layout's settings: the same positions.
    ref_ids = list(reference.obs_names)
    write_npy(tmp_path / "ref_corrected.npy", reference.obsm["X_pca_harmony"], ref_ids)
    write_npy(tmp_path / "ref_layout.npy", positions, ref_ids)
    write_meta(tmp_path / "ref_meta.tsv", reference.obs)
    common = ["--reference-meta", str(tmp_path / "ref_meta.tsv"), "--color-by", "cell_type",
              "--query", str(tmp_path / "mapped.npy")]
    subprocess.run([binary("harmony"), "plot", "mapping", "--reference", str(tmp_path / "ref_corrected.npy"),
                    "--reference-layout", str(tmp_path / "ref_layout.npy"), *common, "--neighbors", "12",
                    "--seed", "4", "--out", str(tmp_path / "from_file.png"),
                    "--placed-out", str(tmp_path / "from_file.npy")], check=True)
    subprocess.run([binary("harmony"), "plot", "mapping", "--model", str(tmp_path / "ref.hmod"), *common,
                    "--out", str(tmp_path / "from_model.png"), "--placed-out", str(tmp_path / "from_model.npy")],
                   check=True)
    assert np.array_equal(np.load(tmp_path / "from_file.npy"), placed)
    assert np.array_equal(np.load(tmp_path / "from_model.npy"), placed)

    # pl.mapping draws the stored layout and map_query's positions.
    assert query.uns["harmony"]["placed_on_layout"]
    figure = hs.pl.mapping(reference, query, "cell_type")
    assert np.array_equal(np.unique(np.asarray(figure.axes[0].collections[0].get_offsets()), axis=0),
                          np.unique(positions, axis=0))
    assert np.array_equal(np.unique(np.asarray(figure.axes[1].collections[1].get_offsets()), axis=0),
                          np.unique(placed, axis=0))

    # What the placement shows: the mixture's cells land among reference cells of their own type.
    nearest = np.argmin(((placed[:, None, :] - positions[None, :, :]) ** 2).sum(-1), axis=1)
    agree = np.mean(reference.obs["cell_type"].to_numpy()[nearest] == query.obs["cell_type"].to_numpy())
    assert agree >= 0.95


def test_models_without_a_layout(split, tmp_path):
    reference, query = split[0].copy(), split[1].copy()
    model = hs.tl.build_reference(reference.copy(), "dataset", "X_pca", progress=False)
    assert not model.has_layout and model.layout is None and model.layout_params is None
    model.save(tmp_path / "plain.hmod")
    with open(tmp_path / "plain.hmod", "rb") as fh:
        assert fh.read(12)[8] == 2   # still format 2: readers of format 2 read it
    mapped = query.copy()
    hs.tl.map_query(mapped, hs.Reference.load(tmp_path / "plain.hmod"), "dataset", basis="X_pca")
    assert "X_umap" not in mapped.obsm
    with pytest.raises(hs.HarmonyError, match="keeps no 2-D layout"):
        model.place(mapped.obsm["X_pca_harmony"])
    with pytest.raises(hs.HarmonyError, match="compact"):
        hs.tl.build_reference(reference.copy(), "dataset", "X_pca", compact=True, layout=True, progress=False)
    run = subprocess.run([binary("harmony"), "plot", "mapping", "--model", str(tmp_path / "plain.hmod"),
                          "--reference-meta", "x.tsv", "--color-by", "cell_type", "--query", "q.npy",
                          "--out", str(tmp_path / "x.png")], capture_output=True, text=True)
    assert run.returncode == 2 and "keeps no 2-D layout" in run.stderr
