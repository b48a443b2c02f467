"""Tools in symphonypy's conventions: building a reference and mapping query cells onto it."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import __version__, _anndata, _core
from ._core import Reference


def build_reference(adata, key: Union[str, Sequence[str]], basis: str = "X_pca",
                    adjusted_basis: str = "X_pca_harmony", *, label_key: Optional[str] = None,
                    compact: bool = False, progress=True, **harmony_params) -> Reference:
    """Fits Harmony on `adata.obsm[basis]` over `key` and returns the reference model of that fit.

    The corrected reference goes to `adata.obsm[adjusted_basis]` and the provenance to `adata.uns["harmony"]`,
    as `pp.harmony_integrate` writes them. `label_key` stores an obs column of labels for label transfer;
    `compact` leaves the reference cells out of the model (smaller; labels then come from per-cluster
    frequencies). `harmony_params` are `pp.harmony_integrate`'s (theta, lamb, sigma, nclust, ...,
    random_state, ncores). Save the model with `Reference.save("ref.hmod")`.
    """
    columns = _anndata.keys(key)
    ids = list(map(str, adata.obs_names))
    covariates = [(c, *_core.factorize(_anndata.obs_column(adata, c), c, ids)) for c in columns]
    labels = None
    if label_key is not None:
        labels = (label_key, *_core.factorize(_anndata.obs_column(adata, label_key), label_key, ids))
    result = _core.fit(_anndata.basis(adata, basis), covariates, progress=progress,
                       reference={"ids": ids, "labels": labels, "compact": compact}, **harmony_params)
    adata.obsm[adjusted_basis] = result.Z_corr
    adata.uns["harmony"] = _anndata.plain({
        "method": "build_reference", "package": f"harmony-swift {__version__}", "key": columns,
        "basis": basis, "adjusted_basis": adjusted_basis, "label_key": label_key, "compact": compact,
        "params": result.parameters, "objective": result.objective_harmony, "iterations": result.iterations,
        "converged": result.converged, "fit_seconds": result.fit_seconds})
    return result.reference


def map_query(adata_query, reference: Union[Reference, str], key: str, basis: str = "X_pca",
              adjusted_basis: str = "X_pca_harmony", *, query_lambda: float = 1.0, sigma: Optional[float] = None,
              joint: bool = False, k: int = 5, cluster_labels: bool = False, ncores: int = 0,
              prefix: str = "harmony_") -> None:
    """Maps `adata_query.obsm[basis]` (in the reference's PC space) onto `reference` (a `Reference` or a
    `.hmod` path), as `harmony map` does.

    Writes `obsm[adjusted_basis]` (the mapped embedding), and in `obs`: `{prefix}cluster` (the most likely
    reference cluster, categorical), `{prefix}cluster_probability`, and with a labelled reference
    `{prefix}label` (categorical over the reference's labels) and `{prefix}label_confidence`, and with a model
    that holds cluster spreads `{prefix}mapping_distance` (see `Reference.map`); provenance goes
    to `uns["harmony"]`. `key` is the obs column of query batches: values that are levels of the reference's
    covariate of that name use the reference's terms, other batches are estimated (see `Reference.map`).
    """
    if not isinstance(reference, Reference):
        reference = Reference.load(reference)
    ids = list(map(str, adata_query.obs_names))
    batches = _anndata.obs_column(adata_query, key)
    _core.factorize(batches, key, ids)  # names the first cell with a missing batch before any work
    mapped = reference.map(_anndata.basis(adata_query, basis), batches, key, query_lambda=query_lambda,
                           sigma=sigma, joint=joint, k=k, cluster_labels=cluster_labels, ncores=ncores)
    adata_query.obsm[adjusted_basis] = mapped.corrected
    adata_query.obs[prefix + "cluster"] = _anndata.categorical(mapped.top_cluster, range(reference.n_clusters))
    adata_query.obs[prefix + "cluster_probability"] = mapped.top_probability
    if mapped.mapping_distance is not None:
        adata_query.obs[prefix + "mapping_distance"] = mapped.mapping_distance
    if mapped.label is not None:
        adata_query.obs[prefix + "label"] = _anndata.categorical(mapped.label, reference.labels)
        adata_query.obs[prefix + "label_confidence"] = mapped.label_confidence
    adata_query.uns["harmony"] = _anndata.plain({
        "method": "map_query", "package": f"harmony-swift {__version__}", "key": key, "basis": basis,
        "adjusted_basis": adjusted_basis,
        "reference": {"path": reference.path, "cells": reference.n_cells, "clusters": reference.n_clusters,
                      "dimensions": reference.n_dims, "model_version": reference.model_version,
                      "compact": reference.compact, "label_name": reference.label_name},
        "params": {"query_lambda": query_lambda, "sigma": sigma, "joint": joint, "k": k,
                   "cluster_labels": cluster_labels},
        "label_method": mapped.label_method})
