"""harmony_swift.Client.map_anndata checks the whole input before sending any cell (fake daemon)."""

import anndata
import numpy as np
import pandas as pd
import pytest

import harmony_swift as hs
from fake_harmonyd import FakeHarmonyd


@pytest.fixture
def server(tmp_path):
    fake = FakeHarmonyd(str(tmp_path / "fake.sock"))
    yield fake
    fake.close()


def query(n=400, d=3):
    rng = np.random.default_rng(1)
    adata = anndata.AnnData(obs=pd.DataFrame({"sample": np.where(np.arange(n) < 200, "s1", "s2")},
                                             index=[f"cell{i}" for i in range(n)]))
    adata.obsm["X_pca"] = rng.normal(size=(n, d)).astype(np.float32)
    return adata


def test_a_nan_in_row_250_sends_nothing(server):
    adata = query()
    adata.obsm["X_pca"][250, 1] = np.nan
    with hs.Client.connect(server.path, timeout=10) as client:
        client.hello()
        with pytest.raises(hs.HarmonyError, match="cell 'cell250' \\(row 250\\)"):
            client.map_anndata(adata, "sample", chunk_size=30)
        assert client.stats().cells_mapped == 0
    assert server.cells == {}


@pytest.mark.parametrize("spoil, message", [
    (lambda a: setattr(a, "obs", a.obs.assign(sample=a.obs["sample"].where(np.arange(a.n_obs) != 333, None))),
     "missing value at cell 'cell333'"),
    (lambda a: setattr(a, "obs", a.obs.assign(sample=["x" * 1025] + list(a.obs["sample"][1:]))),
     "longer than 1024 bytes"),
    (lambda a: setattr(a, "obs_names", ["same"] * a.n_obs), "not unique"),
    (lambda a: a.obsm.__setitem__("X_pca", a.obsm["X_pca"][:, :2]), "the daemon's model has 3"),
])
def test_bad_inputs_send_nothing(server, spoil, message):
    adata = query()
    spoil(adata)
    with hs.Client.connect(server.path, timeout=10) as client:
        with pytest.raises(hs.HarmonyError, match=message):
            client.map_anndata(adata, "sample")
    assert server.cells == {}


def test_a_good_input_is_mapped_with_categorical_labels(server, tmp_path):
    adata = query(120)
    with hs.Client.connect(server.path, timeout=10) as client:
        client.map_anndata(adata, "sample", chunk_size=25)
    x = adata.obsm["X_pca"]
    first = adata.obs["sample"].to_numpy() == "s1"
    # The fake daemon's final corrections are each cell minus its batch mean.
    np.testing.assert_allclose(adata.obsm["X_pca_harmony"][first], x[first] - x[first].mean(axis=0), atol=1e-6)
    assert isinstance(adata.obs["harmony_label"].dtype, pd.CategoricalDtype)
    assert set(adata.obs["harmony_label"].cat.categories) == {"T", "B"}
    adata.write_h5ad(tmp_path / "mapped.h5ad")
    assert list(anndata.read_h5ad(tmp_path / "mapped.h5ad").obs["harmony_label"]) == list(adata.obs["harmony_label"])
