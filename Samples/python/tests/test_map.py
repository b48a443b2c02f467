"""Reference building and query mapping against `harmony fit --reference-out` and `harmony map`."""

import subprocess

import numpy as np
import pandas as pd
import pytest

import harmony_swift as hs
from binaries import binary
from shared_data import cell_lines, write_meta, write_npy


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """cell_lines cut into a reference (the pure jurkat and 293T libraries) and a query (the 50:50 mixture,
    as two new batches), with the command line's reference and mapping of the same files."""
    out = tmp_path_factory.mktemp("map")
    adata = cell_lines()
    ref = adata[adata.obs["dataset"] != "half"].copy()
    query = adata[adata.obs["dataset"] == "half"].copy()
    query.obs["dataset"] = np.where(np.arange(query.n_obs) % 3 == 0, "half_a", "half_b")
    write_npy(out / "ref.npy", ref.obsm["X_pca"], ref.obs_names)
    write_meta(out / "ref_meta.tsv", ref.obs)
    write_npy(out / "query.npy", query.obsm["X_pca"], query.obs_names)
    write_meta(out / "query_meta.tsv", query.obs)
    harmony = binary("harmony")
    subprocess.run([harmony, "fit", str(out / "ref.npy"), "--meta", str(out / "ref_meta.tsv"), "--vars", "dataset",
                    "--out", str(out / "ref_z.npy"), "--reference-out", str(out / "cli.hmod"),
                    "--labels", "cell_type", "--quiet"], check=True)
    subprocess.run([harmony, "map", str(out / "query.npy"), "--reference", str(out / "cli.hmod"),
                    "--meta", str(out / "query_meta.tsv"), "--batch-key", "dataset", "--out", str(out / "query_z.npy"),
                    "--predictions", str(out / "pred.tsv"), "--quiet"], check=True)
    predictions = pd.read_csv(out / "pred.tsv", sep="\t", index_col=0, keep_default_na=False)
    return out, ref, query, predictions


def close(got, expected):
    return np.abs(got - expected).max() <= 1e-6 * float(np.abs(expected).max())


def test_build_reference_equals_harmony_fit_reference_out(split, tmp_path):
    out, ref, _, _ = split
    ref = ref.copy()
    model = hs.tl.build_reference(ref, "dataset", "X_pca", label_key="cell_type", progress=False)
    assert close(ref.obsm["X_pca_harmony"], np.load(out / "ref_z.npy"))
    assert (model.n_cells, model.n_dims, model.compact) == (ref.n_obs, 20, False)
    assert model.covariates == {"dataset": ["jurkat", "t293"]}
    assert (model.label_name, model.labels) == ("cell_type", ["jurkat", "t293"])
    model.save(tmp_path / "py.hmod")
    # Same data, parameters and seed: the same model, byte for byte.
    assert (tmp_path / "py.hmod").read_bytes() == (out / "cli.hmod").read_bytes()


def test_map_query_equals_harmony_map(split):
    out, _, query, predictions = split
    query = query.copy()
    hs.tl.map_query(query, hs.Reference.load(out / "cli.hmod"), "dataset")
    assert close(query.obsm["X_pca_harmony"], np.load(out / "query_z.npy"))
    expected = predictions.loc[query.obs_names]
    assert list(query.obs["harmony_label"].astype(str)) == list(expected["label"])
    np.testing.assert_allclose(query.obs["harmony_label_confidence"], expected["confidence"], rtol=1e-6)
    assert list(query.obs["harmony_cluster"].astype(int)) == list(expected["cluster"])
    np.testing.assert_allclose(query.obs["harmony_cluster_probability"], expected["cluster_prob"], rtol=1e-6)
    np.testing.assert_allclose(query.obs["harmony_mapping_distance"], expected["mapping_distance"], rtol=1e-9)
    assert isinstance(query.obs["harmony_label"].dtype, pd.CategoricalDtype)
    assert query.uns["harmony"]["reference"]["cells"] == 6114
    # The mixture's cell types are recovered from the pure libraries.
    assert (query.obs["harmony_label"].astype(str) == query.obs["cell_type"]).mean() > 0.95


def test_map_query_without_a_key_is_one_batch_as_harmony_map_batch(split):
    """No key: every cell in one batch ("query", or `batch`), the numbers of `harmony map --batch NAME`; a
    reference level's name takes that batch's terms (the reference's first covariate, dataset here)."""
    out, _, query, _ = split
    reference = hs.Reference.load(out / "cli.hmod")
    harmony = binary("harmony")
    for batch, expected_name in [(None, "query"), ("jurkat", "jurkat")]:
        mapped = query.copy()
        hs.tl.map_query(mapped, reference, batch=batch)
        z = out / f"one_{expected_name}.npy"
        subprocess.run([harmony, "map", str(out / "query.npy"), "--reference", str(out / "cli.hmod"),
                        "--batch", expected_name, "--out", str(z), "--quiet"], check=True)
        assert close(mapped.obsm["X_pca_harmony"], np.load(z))
        assert mapped.uns["harmony"]["batch"] == expected_name
    assert "jurkat" in reference.covariates["dataset"]
    assert not close(np.load(out / "one_query.npy"), np.load(out / "one_jurkat.npy"))
    with pytest.raises(hs.HarmonyError, match="not both"):
        hs.tl.map_query(query.copy(), reference, "dataset", batch="x")


def test_reference_errors(split, tmp_path):
    out, _, query, _ = split
    (tmp_path / "bad.hmod").write_bytes(b"not a model")
    with pytest.raises(hs.HarmonyError) as err:
        hs.Reference.load(tmp_path / "bad.hmod")
    assert "bad.hmod" in str(err.value) and err.value.status == 3
    model = hs.Reference.load(out / "cli.hmod")
    with pytest.raises(hs.HarmonyError, match="19 dimensions; the reference has 20"):
        model.map(query.obsm["X_pca"][:, :19], query.obs["dataset"], "dataset")
    with pytest.raises(hs.HarmonyError, match="cannot create a temporary file"):
        model.save(tmp_path / "no" / "such" / "dir.hmod")
