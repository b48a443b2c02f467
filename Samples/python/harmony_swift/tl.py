"""Tools in symphonypy's and scanpy's conventions: building a reference and mapping query cells onto it, 2-D
layouts (UMAP) and LISI scores."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import __version__, _anndata, _core
from ._core import Reference


def build_reference(adata, key: Union[str, Sequence[str]], basis: Optional[str] = None,
                    adjusted_basis: str = "X_pca_harmony", *, label_key: Optional[str] = None,
                    compact: bool = False, layer: Optional[str] = None, normalized: bool = False,
                    target_sum: float = 1e4, min_cells: int = 3, n_genes: int = 2000,
                    genes: Optional[Sequence[str]] = None, n_pcs: int = 20, progress=True,
                    layout: bool = False, layout_params: Optional[dict] = None, **harmony_params) -> Reference:
    """Builds a reference model from `adata` and returns it; save it with `Reference.save("ref.hmod")`.

    Without `basis`, from expression, as `harmony reference` does on the same data: `adata.X` (or
    `adata.layers[layer]`; scipy sparse or dense, cells x genes) holds counts, each cell scaled to `target_sum`
    then ln(1 + x) (`normalized=True`: the values are log-normalized already and used as given); scanpy's
    seurat_v3 variable genes (`n_genes` of those detected in at least `min_cells` cells, over the batches of
    the first key), or exactly the ids or names in `genes`; genes scaled by their mean and SD and clipped at
    10; a seeded PCA of `n_pcs` components; then the Harmony fit of the PCs. The model keeps the genes,
    statistics and loadings, so `map_query` can map a query's counts. The uncorrected PCs go to
    `obsm["X_pca_reference"]`. Gene names are `adata.var_names`, ids `var["gene_ids"]` when present.

    With `basis` (e.g. "X_pca"), Harmony is fitted on `adata.obsm[basis]` instead and the model maps query
    cells given in the same PC space (`harmony fit --reference-out`).

    Either way the corrected reference goes to `adata.obsm[adjusted_basis]` and the provenance to
    `adata.uns["harmony"]`. `label_key` stores an obs column of labels for label transfer; `compact` leaves
    the reference cells out of the model (smaller; labels then come from per-cluster frequencies).
    `harmony_params` are `pp.harmony_integrate`'s (theta, lamb, sigma, nclust, ..., random_state (also the
    PCA's seed), ncores).

    `layout=True` also keeps the UMAP layout of the corrected reference in the model (`harmony reference
    --layout`; not with `compact`), written to `obsm["X_umap"]` (settings in `uns["umap"]`), so that
    `map_query` places query cells on it. `layout_params` are `umap`'s settings (random_state defaults to the
    fit's).
    """
    if layout and compact:
        raise _core.HarmonyError("layout=True needs the reference cells, which compact=True leaves out", 1)
    columns = _anndata.keys(key)
    ids = list(map(str, adata.obs_names))
    covariates = [(c, *_core.factorize(_anndata.obs_column(adata, c), c, ids)) for c in columns]
    labels = None
    if label_key is not None:
        labels = (label_key, *_core.factorize(_anndata.obs_column(adata, label_key), label_key, ids))
    reference = {"ids": ids, "labels": labels, "compact": compact}
    provenance = {"method": "build_reference", "package": f"harmony-swift {__version__}", "key": columns,
                  "adjusted_basis": adjusted_basis, "label_key": label_key, "compact": compact}
    if basis is not None:
        result = _core.fit(_anndata.basis(adata, basis), covariates, progress=progress, reference=reference,
                           **harmony_params)
        provenance["basis"] = basis
    else:
        gene_ids = list(map(str, adata.var["gene_ids"])) if "gene_ids" in adata.var.columns else None
        result, pcs = _core.build_from_expression(
            _anndata.expression(adata, layer), (gene_ids, list(map(str, adata.var_names))), covariates,
            ids=ids, labels=labels, compact=compact, normalized=normalized, target_sum=target_sum,
            min_cells=min_cells, n_genes=n_genes, gene_list=genes, n_pcs=n_pcs, progress=progress,
            **harmony_params)
        adata.obsm["X_pca_reference"] = pcs
        provenance.update({"layer": layer, "normalized": normalized,
                           "target_sum": None if normalized else target_sum, "min_cells": min_cells,
                           "n_genes": None if genes is not None else n_genes, "n_pcs": n_pcs,
                           "genes": result.reference.n_genes})
    adata.obsm[adjusted_basis] = result.Z_corr
    model = result.reference
    if layout:
        settings = {"random_state": harmony_params.get("random_state", 0), **(layout_params or {})}
        model = model.with_layout(ncores=harmony_params.get("ncores", 0), **settings)
        adata.obsm["X_umap"] = model.layout
        adata.uns["umap"] = _anndata.plain({"params": {"use_rep": adjusted_basis, **model.layout_params},
                                            "package": f"harmony-swift {__version__}"})
    adata.uns["harmony"] = _anndata.plain({
        **provenance, "params": result.parameters, "objective": result.objective_harmony,
        "objective_kmeans": result.objective_kmeans, "cluster_rounds": result.cluster_rounds,
        "iterations": result.iterations, "converged": result.converged, "fit_seconds": result.fit_seconds})
    return model


def map_query(adata_query, reference: Union[Reference, str], key: Optional[str] = None, basis: Optional[str] = None,
              adjusted_basis: str = "X_pca_harmony", *, batch: Optional[str] = None, layer: Optional[str] = None,
              min_overlap: float = 0.5,
              query_lambda: float = 1.0, sigma: Optional[float] = None, joint: bool = False, k: int = 5,
              cluster_labels: bool = False, ncores: int = 0, prefix: str = "harmony_") -> None:
    """Maps the query onto `reference` (a `Reference` or a `.hmod` path), as `harmony map` does.

    With a reference built from expression and no `basis`, the query is its expression, `adata_query.X` (or
    `layers[layer]`), counts when the reference was built from counts: its genes (`var_names`, ids from
    `var["gene_ids"]`) are matched to the reference's (by id, then name; missing reference genes stand at the
    reference mean; fewer than `min_overlap` of them present is an error), each cell is normalized, scaled and
    projected on the reference's loadings, written to `obsm["X_pca_reference"]`, and mapped. Otherwise
    `adata_query.obsm[basis]` (default "X_pca") holds the query in the reference's PC space.

    Writes `obsm[adjusted_basis]` (the mapped embedding), and in `obs`: `{prefix}cluster` (the most likely
    reference cluster, categorical), `{prefix}cluster_probability`, and with a labelled reference
    `{prefix}label` (categorical over the reference's labels) and `{prefix}label_confidence`, and with a model
    that holds cluster spreads `{prefix}mapping_distance` (see `Reference.map`); provenance goes
    to `uns["harmony"]`. With a reference that keeps its 2-D layout (`build_reference(..., layout=True)`), the
    query cells' positions on it go to `obsm["X_umap"]` (`harmony map --layout-out`).

    `key` is the obs column of query batches: values that are levels of the reference's covariate of that name
    use the reference's terms, other batches are estimated (see `Reference.map`). Without `key` every cell is in
    one batch, `batch` (default "query"), as symphonypy's `map_embedding` does without a key and `harmony map
    --batch` does: a name that is a level of the reference's first covariate takes that batch's terms.
    """
    if key is not None and batch is not None:
        raise _core.HarmonyError("give key (the obs column of query batches) or batch (one batch for every "
                                 "cell), not both", 2)
    if not isinstance(reference, Reference):
        reference = Reference.load(reference)
    ids = list(map(str, adata_query.obs_names))
    if key is None:
        batch = "query" if batch is None else str(batch)
        batches = [batch] * adata_query.n_obs
        lookup = next(iter(reference.covariates), "batch")
    else:
        batches = _anndata.obs_column(adata_query, key)
        lookup = key
    _core.factorize(batches, lookup, ids)  # names the first cell with a missing batch before any work
    options = dict(query_lambda=query_lambda, sigma=sigma, joint=joint, k=k, cluster_labels=cluster_labels,
                   ncores=ncores)
    if basis is None and reference.has_genes:
        gene_ids = list(map(str, adata_query.var["gene_ids"])) if "gene_ids" in adata_query.var.columns else None
        mapped = reference.map_expression(_anndata.expression(adata_query, layer),
                                          (gene_ids, list(map(str, adata_query.var_names))), batches, lookup, ids=ids,
                                          min_overlap=min_overlap, **options)
        adata_query.obsm["X_pca_reference"] = mapped.projection
        source = {"layer": layer, "min_overlap": min_overlap}
    else:
        basis = basis or "X_pca"
        mapped = reference.map(_anndata.basis(adata_query, basis), batches, lookup, **options)
        source = {"basis": basis}
    adata_query.obsm[adjusted_basis] = mapped.corrected
    if reference.has_layout:
        adata_query.obsm["X_umap"] = reference.place(mapped.corrected, ncores=ncores)
    adata_query.obs[prefix + "cluster"] = _anndata.categorical(mapped.top_cluster, range(reference.n_clusters))
    adata_query.obs[prefix + "cluster_probability"] = mapped.top_probability
    if mapped.mapping_distance is not None:
        adata_query.obs[prefix + "mapping_distance"] = mapped.mapping_distance
    if mapped.label is not None:
        adata_query.obs[prefix + "label"] = _anndata.categorical(mapped.label, reference.labels)
        adata_query.obs[prefix + "label_confidence"] = mapped.label_confidence
    adata_query.uns["harmony"] = _anndata.plain({
        "method": "map_query", "package": f"harmony-swift {__version__}", "key": key, "batch": batch, **source,
        "adjusted_basis": adjusted_basis,
        "reference": {"path": reference.path, "cells": reference.n_cells, "clusters": reference.n_clusters,
                      "dimensions": reference.n_dims, "model_version": reference.model_version,
                      "compact": reference.compact, "label_name": reference.label_name},
        "params": {"query_lambda": query_lambda, "sigma": sigma, "joint": joint, "k": k,
                   "cluster_labels": cluster_labels},
        "label_method": mapped.label_method, "placed_on_layout": reference.has_layout})


def umap(adata, use_rep: str = "X_pca_harmony", key_added: str = "X_umap", *, n_neighbors: int = 15,
         min_dist: float = 0.1, spread: float = 1.0, maxiter: Optional[int] = None, alpha: float = 1.0,
         gamma: float = 1.0, negative_sample_rate: int = 5, random_state: int = 0, ncores: int = 0,
         copy: bool = False):
    """A 2-D UMAP layout of `adata.obsm[use_rep]`, written to `adata.obsm[key_added]` (cells x 2, float32).

    The same numbers as `harmony umap` with the same settings: the exact kNN graph of `n_neighbors` neighbours
    per cell (the cell itself not counted, unlike scanpy's `sc.pp.neighbors`), UMAP's fuzzy graph, a start from
    the first two principal components and seeded stochastic gradient descent (`random_state`; the same seed
    gives the same bits). `min_dist`, `spread`, `maxiter` (epochs; None: 500 up to 10,000 cells, 200 above),
    `alpha` (learning rate), `gamma` (repulsion) and `negative_sample_rate` are `sc.tl.umap`'s. `ncores` runs
    the neighbour search (0: every core; the layout does not depend on it). The settings go to `uns["umap"]`.
    Returns the AnnData when `copy`, else None.
    """
    adata = adata.copy() if copy else adata
    settings = dict(n_neighbors=n_neighbors, min_dist=min_dist, spread=spread, maxiter=maxiter, alpha=alpha,
                    gamma=gamma, negative_sample_rate=negative_sample_rate, random_state=random_state)
    adata.obsm[key_added] = _core.umap_layout(_anndata.basis(adata, use_rep), ncores=ncores, **settings)
    adata.uns["umap"] = _anndata.plain({"params": {"use_rep": use_rep, **settings},
                                        "package": f"harmony-swift {__version__}"})
    return adata if copy else None


def lisi(adata, keys: Union[str, Sequence[str]], use_rep: str = "X_pca_harmony", *, perplexity: float = 30.0,
         key_added: str = "lisi_", ncores: int = 0) -> None:
    """Per-cell LISI (Local Inverse Simpson's Index) of `adata.obsm[use_rep]` over each obs column in `keys`,
    written to `obs[f"{key_added}{key}"]` (float64): the effective number of that column's values among each
    cell's 3 x `perplexity` nearest cells, weighted by a kernel calibrated to the perplexity (the R `lisi`
    package's definition; the numbers of `harmony lisi --per-cell`). Over the batch (iLISI) higher means better
    mixed, up to the number of batches; over the cell type (cLISI) 1 means the types stay apart.
    """
    columns = _anndata.keys(keys)
    label_sets = [(c, _anndata.obs_column(adata, c)) for c in columns]
    scores = _core.lisi_scores(_anndata.basis(adata, use_rep), label_sets, perplexity=perplexity, ncores=ncores)
    for column, values in zip(columns, scores):
        adata.obs[key_added + column] = values
