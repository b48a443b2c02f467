"""harmony_swift.pl: the pictures are checked as images (size, not blank) and by their structure: the number of
panels (axes groups in the SVG, axes in the Figure) and of legend entries, on cell_lines."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import harmony_swift as hs
from shared_data import cell_lines

import matplotlib.image  # a missing matplotlib fails the test run (Samples/setup.sh installs it)
from harmony_swift import pl


@pytest.fixture(scope="module")
def integrated():
    adata = cell_lines()
    hs.pp.harmony_integrate(adata, "dataset", random_state=0, progress=False)
    return adata


def svg_panels(path):
    """The ids of the axes groups matplotlib writes into an SVG (one per panel or colour bar) and of its legends."""
    ids = [g.get("id", "") for g in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}g")]
    return [i for i in ids if re.fullmatch(r"axes_\d+", i)], [i for i in ids if re.fullmatch(r"legend_\d+", i)]


def legend_labels(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def check_png(path, width, height):
    image = matplotlib.image.imread(str(path))
    assert image.shape[:2] == (height, width)
    colours = np.unique(image.reshape(-1, image.shape[2]), axis=0)
    assert len(colours) > 10, "the picture is (nearly) blank"


def test_convergence(integrated, tmp_path):
    info = integrated.uns["harmony"]
    figure = pl.convergence(integrated, save=tmp_path / "convergence.svg")
    assert len(figure.axes) == 2
    axes, legends = svg_panels(tmp_path / "convergence.svg")
    assert len(axes) == 2 and len(legends) == 1
    assert legend_labels(figure.axes[1]) == [f"iteration {i + 1}" for i in range(info["iterations"])]
    # The left panel holds the objective per iteration, the right one every clustering round.
    assert np.array_equal(figure.axes[0].lines[0].get_ydata(), info["objective"])
    drawn = np.concatenate([line.get_ydata() for line in figure.axes[1].lines])
    assert np.array_equal(drawn, info["objective_kmeans"][1:])
    figure.savefig(tmp_path / "convergence.png")
    check_png(tmp_path / "convergence.png", round(2 * pl.PANEL[0] * pl.DPI), round(pl.PANEL[1] * pl.DPI))
    # run_harmony's result draws the same picture.
    result = hs.run_harmony(integrated.obsm["X_pca"], integrated.obs, "dataset", random_state=0)
    again = pl.convergence(result)
    assert np.array_equal(again.axes[0].lines[0].get_ydata(), info["objective"])
    with pytest.raises(hs.HarmonyError, match="no fit to plot"):
        pl.convergence(cell_lines())


def test_embedding_before_and_after(integrated, tmp_path):
    figure = pl.embedding(integrated, ["X_pca", "X_pca_harmony"], ["dataset", "cell_type"],
                          save=tmp_path / "embedding.png", maxiter=150)
    assert len(figure.axes) == 4
    check_png(tmp_path / "embedding.png", round(2 * pl.PANEL[0] * pl.DPI), round(2 * pl.PANEL[1] * pl.DPI))
    for row in range(2):
        assert legend_labels(figure.axes[2 * row]) == ["half", "jurkat", "t293"]
        assert legend_labels(figure.axes[2 * row + 1]) == ["jurkat", "t293"]
    # The layouts were computed with tl.umap and kept for the next picture.
    assert integrated.obsm["X_umap_pca"].shape == (integrated.n_obs, 2)
    assert np.array_equal(integrated.obsm["X_umap_pca_harmony"],
                          hs._core.umap_layout(integrated.obsm["X_pca_harmony"], maxiter=150))
    figure = pl.embedding(integrated, "X_pca_harmony", "dataset", save=tmp_path / "after.svg")
    axes, legends = svg_panels(tmp_path / "after.svg")
    assert len(axes) == 1 and len(legends) == 1
    # A numeric column gets a colour bar (a second axes) instead of a legend.
    integrated.obs["depth"] = np.linspace(0, 1, integrated.n_obs)
    figure = pl.embedding(integrated, "X_pca_harmony", "depth")
    assert len(figure.axes) == 2 and figure.axes[0].get_legend() is None


def test_lisi_distribution(integrated, tmp_path):
    figure = pl.lisi(integrated, ["dataset", "cell_type"], save=tmp_path / "lisi.svg")
    axes, legends = svg_panels(tmp_path / "lisi.svg")
    assert len(axes) == 2 and len(legends) == 2
    for ax in figure.axes:
        assert legend_labels(ax) == ["X_pca", "X_pca_harmony"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["half", "jurkat", "t293"]
    figure.savefig(tmp_path / "lisi.png")
    check_png(tmp_path / "lisi.png", round(2 * pl.PANEL[0] * pl.DPI), round(pl.PANEL[1] * pl.DPI))
    # What the picture shows: the mixed dataset ("half") mixes with the pure ones after integration.
    before = hs._core.lisi_scores(integrated.obsm["X_pca"], [("dataset", integrated.obs["dataset"])])[0]
    after = hs._core.lisi_scores(integrated.obsm["X_pca_harmony"], [("dataset", integrated.obs["dataset"])])[0]
    assert np.median(after) > np.median(before) + 0.2


def test_mapping(tmp_path):
    adata = cell_lines()
    is_query = (adata.obs["dataset"] == "half").to_numpy()
    reference, query = adata[~is_query].copy(), adata[is_query].copy()
    model = hs.tl.build_reference(reference, "dataset", "X_pca", label_key="cell_type", progress=False)
    hs.tl.map_query(query, model, "dataset", basis="X_pca")
    figure = pl.mapping(reference, query, "cell_type", save=tmp_path / "mapping.svg", maxiter=150)
    axes, legends = svg_panels(tmp_path / "mapping.svg")
    assert len(axes) == 2 and len(legends) == 2
    assert legend_labels(figure.axes[0]) == ["jurkat", "t293"]
    assert legend_labels(figure.axes[1]) == ["jurkat", "t293"]
    layout = reference.obsm["X_umap_pca_harmony"]
    # The query's cells are drawn where placing them on the reference's view puts them; the query keeps no
    # positions (the reference has no stored layout, so nothing would say where an X_umap came from).
    placed = hs._core.place_on_layout(reference.obsm["X_pca_harmony"], layout, query.obsm["X_pca_harmony"])
    drawn = figure.axes[1].collections[1].get_offsets()
    assert np.array_equal(np.unique(np.asarray(drawn), axis=0), np.unique(placed, axis=0))
    assert "X_umap" not in query.obsm
    # Query cells land beside reference cells of the type they were given (the mixture holds both types).
    nearest = np.argmin(((placed[:, None, :] - layout[None, :, :]) ** 2).sum(-1), axis=1)
    agree = np.mean(reference.obs["cell_type"].to_numpy()[nearest] == query.obs["cell_type"].to_numpy())
    assert agree >= 0.95
    figure.savefig(tmp_path / "mapping.png")
    check_png(tmp_path / "mapping.png", round(2 * pl.PANEL[0] * pl.DPI), round(pl.PANEL[1] * pl.DPI))
