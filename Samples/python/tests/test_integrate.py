"""harmony_swift.pp.harmony_integrate and run_harmony against the `harmony fit` binary on cell_lines."""

import json
import subprocess

import numpy as np
import pytest

import harmony_swift as hs
from binaries import binary
from shared_data import cell_lines, path


@pytest.fixture(scope="module")
def cli_fit(tmp_path_factory):
    """`harmony fit` on the shared files themselves (no file written by this package)."""
    out = tmp_path_factory.mktemp("fit")
    subprocess.run([binary("harmony"), "fit", path("data/cell_lines/pcs.tsv.gz"),
                    "--meta", path("data/cell_lines/meta.tsv.gz"), "--vars", "dataset", "--seed", "3",
                    "--out", str(out / "z.npy"), "--report", str(out / "report.json"), "--quiet"], check=True)
    with open(out / "report.json") as fh:
        report = json.load(fh)
    ids = open(out / "z.ids.txt").read().split()
    return np.load(out / "z.npy"), ids, report


def test_harmony_integrate_equals_harmony_fit(cli_fit):
    expected, ids, report = cli_fit
    adata = cell_lines()
    assert list(adata.obs_names) == ids
    seen = []
    hs.pp.harmony_integrate(adata, "dataset", random_state=3, progress=lambda i, o: seen.append((i, o)))
    got = adata.obsm["X_pca_harmony"]
    assert got.shape == expected.shape and got.dtype == np.float32
    # Tolerance: 1e-6 of the embedding's scale (|x| is below about 0.03 here, so an absolute 1e-6 would say little).
    scale = float(np.abs(expected).max())
    assert np.abs(got - expected).max() <= 1e-6 * scale
    info = adata.uns["harmony"]
    assert info["iterations"] == report["iterations"] and info["converged"] == report["converged"]
    np.testing.assert_allclose(info["objective"], report["objective"], rtol=1e-12)
    # The objective per clustering round and the rounds per iteration (what pl.convergence draws).
    np.testing.assert_allclose(info["objective_kmeans"], report["objective_kmeans"], rtol=1e-12)
    assert list(info["cluster_rounds"]) == report["cluster_rounds"]
    assert [i for i, _ in seen] == list(range(1, report["iterations"] + 1))
    np.testing.assert_allclose([o for _, o in seen], report["objective"][1:], rtol=1e-12)
    # The corrected embedding really moved: batches mix after integration, not before.
    assert np.abs(got - adata.obsm["X_pca"]).max() > 0.1 * scale


def test_float32_input_and_run_harmony(cli_fit):
    expected, _, report = cli_fit
    adata = cell_lines()
    result = hs.run_harmony(adata.obsm["X_pca"].astype(np.float32), adata.obs, ["dataset"], random_state=3)
    assert np.abs(result.Z_corr - expected).max() <= 1e-6 * float(np.abs(expected).max())
    assert result.K == report["K"] and result.iterations == report["iterations"]
    # harmonypy accepts PCs x cells too.
    transposed = hs.run_harmony(np.asarray(adata.obsm["X_pca"]).T, {"dataset": adata.obs["dataset"].to_numpy()},
                                "dataset", random_state=3)
    assert np.array_equal(transposed.Z_corr, result.Z_corr)


def test_two_batch_variables_and_parameters_reach_the_library(tmp_path):
    adata = cell_lines()
    adata.obs["half"] = np.where(np.arange(adata.n_obs) % 2 == 0, "even", "odd")
    meta = tmp_path / "meta.tsv"
    adata.obs.to_csv(meta, sep="\t", index_label="cell_id")
    subprocess.run([binary("harmony"), "fit", path("data/cell_lines/pcs.tsv.gz"), "--meta", str(meta),
                    "--vars", "dataset,half", "--theta", "2,1", "--lambda", "0.5,2", "--nclust", "40",
                    "--max-iter", "3", "--out", str(tmp_path / "z.npy"), "--quiet"], check=True)
    hs.pp.harmony_integrate(adata, ["dataset", "half"], theta=[2, 1], lamb=[0.5, 2], nclust=40,
                            max_iter_harmony=3, progress=False)
    expected = np.load(tmp_path / "z.npy")
    assert np.abs(adata.obsm["X_pca_harmony"] - expected).max() <= 1e-6 * float(np.abs(expected).max())
    assert adata.uns["harmony"]["params"]["nclust"] == 40


def test_errors_are_python_exceptions_with_the_library_message():
    adata = cell_lines()
    bad = np.array(adata.obsm["X_pca"])
    bad[249, 4] = np.nan
    with pytest.raises(hs.HarmonyError, match="cell 250, dimension 5") as err:
        hs.run_harmony(bad, adata.obs, "dataset")
    assert isinstance(err.value, ValueError) and err.value.status == 2
    with pytest.raises(hs.HarmonyError, match="single level"):
        hs.run_harmony(adata.obsm["X_pca"], {"dataset": ["a"] * adata.n_obs}, "dataset")
    with pytest.raises(hs.HarmonyError, match="sigma"):
        hs.run_harmony(adata.obsm["X_pca"], adata.obs, "dataset", sigma=-1)
    obs = adata.obs.copy()
    obs.loc[obs.index[7], "dataset"] = None
    adata.obs = obs
    with pytest.raises(hs.HarmonyError, match=f"missing value at cell '{adata.obs_names[7]}'"):
        hs.pp.harmony_integrate(adata, "dataset", progress=False)
    with pytest.raises(hs.HarmonyError, match="no column 'donor'"):
        hs.pp.harmony_integrate(adata, "donor", progress=False)
