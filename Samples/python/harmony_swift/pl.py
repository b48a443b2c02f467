"""Pictures in scanpy's conventions (matplotlib): convergence, 2-D views before and after integration, LISI
distributions and query cells placed on a reference's view. The pictures of `harmony plot`, for notebooks.

Each function returns the matplotlib `Figure` (a notebook shows it) and writes it to `save` (the extension picks
the format: .png, .svg, .pdf) when given. Figures are built with matplotlib's object interface on the Agg canvas:
nothing touches pyplot's global state or needs a display. Needs matplotlib (`pip install harmony-swift[plot]`).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import _anndata, _core, tl
from ._core import HarmonyResult
from ._native import HarmonyError

# Size of one panel in inches and the resolution of raster output.
PANEL = (4.6, 4.0)
DPI = 100
# The reference cells under mapped query cells.
BACKGROUND = "#d3d3d3"


def _figure(rows: int, cols: int, title: Optional[str]):
    """A Figure with a rows x cols grid of axes on an Agg canvas (no pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("harmony_swift.pl needs matplotlib: pip install 'harmony-swift[plot]'") from error
    figure = Figure(figsize=(PANEL[0] * cols, PANEL[1] * rows), dpi=DPI, constrained_layout=True)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False)
    if title:
        figure.suptitle(title)
    return figure, axes


def _finish(figure, save):
    if save is not None:
        figure.savefig(save, dpi=DPI)
    return figure


def _palette(count: int):
    """`count` distinct colours: matplotlib's tab10 / tab20 (scanpy's defaults), then a sampled hue wheel."""
    from matplotlib import colormaps
    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [colormaps["tab20"](i) for i in range(count)]
    return [colormaps["hsv"](i / count) for i in range(count)]


# ----------------------------------------------------------------------------------------------------------
# Convergence


def convergence(fit: Union[HarmonyResult, object], *, save: Optional[str] = None, title: str = "Harmony convergence"):
    """The objective of a fit per iteration (left; iteration 0 is the start) and per clustering round (right, the
    rounds of each iteration in their own colour, one legend entry per iteration).

    `fit` is what `run_harmony` returns, or an AnnData after `pp.harmony_integrate` / `tl.build_reference` (read
    from `uns["harmony"]`)."""
    if isinstance(fit, HarmonyResult):
        objective, kmeans, rounds = fit.objective_harmony, fit.objective_kmeans, fit.cluster_rounds
    else:
        record = getattr(fit, "uns", {}).get("harmony")
        if not record or "objective_kmeans" not in record:
            raise HarmonyError("no fit to plot: pass run_harmony's result, or an AnnData after pp.harmony_integrate or "
                               "tl.build_reference (uns['harmony'] with the objective per round)", 2)
        objective, kmeans, rounds = record["objective"], record["objective_kmeans"], record["cluster_rounds"]
    objective, kmeans = np.asarray(objective, dtype=float), np.asarray(kmeans, dtype=float)
    rounds = np.asarray(rounds, dtype=np.int64)
    figure, axes = _figure(1, 2, title)
    left, right = axes[0]
    left.plot(np.arange(len(objective)), objective, marker="o", color=_palette(1)[0])
    left.set(title="Objective per iteration", xlabel="iteration (0 = start)", ylabel="objective")
    # kmeans[0] is the objective after initialisation; kmeans[j] for j >= 1 follows clustering round j.
    colors = _palette(max(1, len(rounds)))
    first = 1
    for iteration, count in enumerate(rounds):
        end = min(first + int(count), len(kmeans))
        if first >= end:
            break
        right.plot(np.arange(first, end), kmeans[first:end], marker="o", markersize=3, color=colors[iteration],
                   label=f"iteration {iteration + 1}")
        first = end
    right.set(title="Objective per clustering round", xlabel="clustering round", ylabel="objective")
    from matplotlib.ticker import MaxNLocator
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(rounds):
        right.legend(fontsize="small")
    return _finish(figure, save)


# ----------------------------------------------------------------------------------------------------------
# 2-D views


def _layout_key(basis: str) -> str:
    return "X_umap_" + (basis[2:] if basis.startswith("X_") else basis)


def layout(adata, basis: str, **umap_params) -> np.ndarray:
    """The 2-D view of `adata.obsm[basis]`: the basis itself when it has two columns; `obsm["X_umap"]` when
    `tl.umap` computed it from this basis (per `uns["umap"]`); `obsm["X_umap_<basis>"]` when present (this
    function stores what it computes there, e.g. `X_umap_pca_harmony`); else a new `tl.umap` layout."""
    values = _anndata.basis(adata, basis)
    if values.ndim == 2 and values.shape[1] == 2:
        return values
    params = adata.uns.get("umap", {}).get("params", {}) if hasattr(adata.uns, "get") else {}
    if "X_umap" in adata.obsm and params.get("use_rep") == basis:
        return np.asarray(adata.obsm["X_umap"])
    key = _layout_key(basis)
    if key not in adata.obsm:
        adata.obsm[key] = _core.umap_layout(values, **umap_params)
    return np.asarray(adata.obsm[key])


def _scatter(ax, xy, values, name: str, *, size: float, order: np.ndarray, background=None):
    """Cells coloured by `values` (categorical: one colour and legend entry per level; numeric: a colour map
    and colour bar), drawn in a seeded random order so that no group hides under another."""
    import pandas as pd
    if background is not None:
        ax.scatter(background[:, 0], background[:, 1], s=size, c=BACKGROUND, linewidths=0, rasterized=True)
    series = pd.Series(values)
    xy = xy[order]
    if series.dtype.kind in "fiu" and not isinstance(series.dtype, pd.CategoricalDtype):
        points = ax.scatter(xy[:, 0], xy[:, 1], s=size, c=series.to_numpy()[order], cmap="viridis", linewidths=0,
                            rasterized=True)
        ax.figure.colorbar(points, ax=ax, label=name)
        return
    categorical = series.astype("category")
    levels = list(categorical.cat.categories)
    codes = categorical.cat.codes.to_numpy()[order]
    palette = np.asarray(_palette(len(levels)))
    shown = codes >= 0
    ax.scatter(xy[shown, 0], xy[shown, 1], s=size, c=palette[codes[shown]], linewidths=0, rasterized=True)
    # Legend handles of their own: one per level, whatever the draw order.
    for level, color in zip(levels, palette):
        ax.scatter([], [], s=30, color=color, label=str(level))
    ax.legend(title=name, fontsize="small", markerscale=1, frameon=False, loc="best")


def _point_size(cells: int) -> float:
    # scanpy's default: 120,000 / cells, kept between 0.5 and 20 points^2.
    return float(min(20.0, max(0.5, 120000.0 / max(cells, 1))))


def _style(ax, title: str):
    ax.set_title(title)
    ax.set_xlabel("UMAP1")
    ax.set_ylabel("UMAP2")
    ax.set_xticks([])
    ax.set_yticks([])


def embedding(adata, basis: Union[str, Sequence[str]] = ("X_pca", "X_pca_harmony"),
              color: Union[str, Sequence[str]] = ("batch", "cell_type"), *, save: Optional[str] = None,
              size: Optional[float] = None, random_state: int = 0, title: Optional[str] = "Before and after integration",
              **umap_params):
    """One row of panels per basis (e.g. before and after integration) and one column per obs column in
    `color`. Each basis is shown on its 2-D view (see `layout`: computed with `tl.umap` when absent, with
    `umap_params` such as n_neighbors, min_dist; `random_state` seeds it and the drawing order).
    Categorical columns get a legend with one entry per value, numeric ones a colour bar."""
    bases = [basis] if isinstance(basis, str) else list(basis)
    colors = [color] if isinstance(color, str) else list(color)
    for c in colors:
        _anndata.obs_column(adata, c)
    figure, axes = _figure(len(bases), len(colors), title)
    order = np.random.default_rng(random_state).permutation(adata.n_obs)
    size = _point_size(adata.n_obs) if size is None else size
    for row, b in enumerate(bases):
        xy = layout(adata, b, random_state=random_state, **umap_params)
        for col, c in enumerate(colors):
            ax = axes[row][col]
            _scatter(ax, xy, adata.obs[c].to_numpy(), c, size=size, order=order)
            _style(ax, f"{b}: {c}")
    return _finish(figure, save)


# ----------------------------------------------------------------------------------------------------------
# LISI


def lisi(adata, key: Union[str, Sequence[str]], basis: Union[str, Sequence[str]] = ("X_pca", "X_pca_harmony"), *,
         groupby: Optional[str] = None, perplexity: float = 30.0, ncores: int = 0, save: Optional[str] = None,
         title: Optional[str] = "LISI per batch"):
    """The distribution of per-cell LISI scores, as `harmony plot lisi` draws it: one panel per obs column in
    `key` (the labels scored, e.g. the batch for iLISI and the cell type for cLISI); along the x axis one group
    per value of `groupby` (default: the first key), and in each group one violin per basis (its scores over
    the cells of that group; a bar from the first to the third quartile and a tick at the median), coloured by
    basis with one legend entry per basis. The scores are computed here (`tl.lisi`'s numbers)."""
    keys = _anndata.keys(key)
    bases = [basis] if isinstance(basis, str) else list(basis)
    groupby = groupby or keys[0]
    groups = _anndata.obs_column(adata, groupby).astype("category")
    levels = list(groups.cat.categories)
    codes = groups.cat.codes.to_numpy()
    label_sets = [(k, _anndata.obs_column(adata, k)) for k in keys]
    scores = {b: _core.lisi_scores(_anndata.basis(adata, b), label_sets, perplexity=perplexity, ncores=ncores)
              for b in bases}
    figure, axes = _figure(1, len(keys), title)
    palette = _palette(len(bases))
    width = 0.8 / len(bases)
    for col, k in enumerate(keys):
        ax = axes[0][col]
        for j, b in enumerate(bases):
            data = [scores[b][col][codes == g] for g in range(len(levels))]
            positions = np.arange(len(levels)) + (j - (len(bases) - 1) / 2) * width
            kept = [i for i, d in enumerate(data) if len(d) > 1]
            parts = ax.violinplot([data[i] for i in kept], positions=positions[kept], widths=width * 0.9,
                                  showextrema=False)
            for body in parts["bodies"]:
                body.set_facecolor(palette[j])
                body.set_edgecolor(palette[j])
                body.set_alpha(0.6)
            for i in range(len(levels)):
                if len(data[i]) == 0:
                    continue
                q1, median, q3 = np.percentile(data[i], [25, 50, 75])
                ax.vlines(positions[i], q1, q3, color="black", linewidth=2)
                ax.hlines(median, positions[i] - width / 4, positions[i] + width / 4, color="white", linewidth=1.5)
            ax.scatter([], [], marker="s", s=40, color=palette[j], label=b)
        ax.set_xticks(np.arange(len(levels)))
        ax.set_xticklabels([str(v) for v in levels], rotation=30 if len(levels) > 4 else 0)
        ax.set(title=f"LISI of {k}", xlabel=groupby, ylabel=f"LISI ({k})")
        ax.legend(fontsize="small", framealpha=0.9)
    return _finish(figure, save)


# ----------------------------------------------------------------------------------------------------------
# Mapping


def mapping(reference_adata, query_adata, color: Optional[str] = None, query_color: Optional[str] = "harmony_label",
            *, basis: str = "X_pca_harmony", save: Optional[str] = None, size: Optional[float] = None,
            random_state: int = 0, title: Optional[str] = "Query on the reference's 2-D view", **umap_params):
    """Mapped query cells on the reference's 2-D view, as `harmony plot mapping` draws them: the reference
    coloured by `color` (left; default: the label column the reference was built with, else none), and the
    reference in grey under the query cells coloured by `query_color` (right; default `harmony_label` from
    `tl.map_query`, or one colour when the query has no such column).

    The reference's view is `layout(reference_adata, basis)` (computed with `tl.umap` when absent; with a
    reference built with `layout=True` it is the stored layout). The query's positions are those `tl.map_query`
    wrote to `obsm["X_umap"]` when it placed the cells on a reference's stored layout; otherwise each query cell
    is placed here on the reference's view from its nearest reference cells in `basis`, without moving the
    reference, and nothing is written to the query (its own `X_umap`, e.g. from `sc.tl.umap`, stays as it is)."""
    ref_xy = layout(reference_adata, basis, random_state=random_state, **umap_params)
    if (query_adata.uns.get("harmony", {}) or {}).get("placed_on_layout") and "X_umap" in query_adata.obsm:
        query_xy = np.asarray(query_adata.obsm["X_umap"])
    else:
        neighbours = {k: v for k, v in umap_params.items() if k in ("n_neighbors", "min_dist", "spread", "alpha",
                                                                     "gamma", "negative_sample_rate", "ncores")}
        query_xy = _core.place_on_layout(_anndata.basis(reference_adata, basis), ref_xy,
                                         _anndata.basis(query_adata, basis), random_state=random_state, **neighbours)
    if color is None:
        color = (reference_adata.uns.get("harmony", {}) or {}).get("label_key")
    if query_color is not None and query_color not in query_adata.obs.columns:
        query_color = None
    figure, axes = _figure(1, 2, title)
    left, right = axes[0]
    ref_size = _point_size(reference_adata.n_obs) if size is None else size
    query_size = _point_size(query_adata.n_obs) if size is None else size
    rng = np.random.default_rng(random_state)
    ref_order = rng.permutation(reference_adata.n_obs)
    if color is not None:
        _scatter(left, ref_xy, _anndata.obs_column(reference_adata, color).to_numpy(), color, size=ref_size,
                 order=ref_order)
    else:
        left.scatter(ref_xy[:, 0], ref_xy[:, 1], s=ref_size, c=BACKGROUND, linewidths=0, rasterized=True)
    _style(left, "reference" + (f": {color}" if color else ""))
    query_values = query_adata.obs[query_color].to_numpy() if query_color else np.full(query_adata.n_obs, "query")
    _scatter(right, query_xy, query_values, query_color or "query", size=query_size,
             order=rng.permutation(query_adata.n_obs), background=ref_xy)
    _style(right, "query" + (f": {query_color}" if query_color else ""))
    return _finish(figure, save)
