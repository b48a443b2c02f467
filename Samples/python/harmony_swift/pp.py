"""Preprocessing in scanpy's conventions: `harmony_swift.pp.harmony_integrate`."""

from __future__ import annotations

from typing import Sequence, Union

from . import __version__, _anndata, _core


def harmony_integrate(adata, key: Union[str, Sequence[str]], basis: str = "X_pca",
                      adjusted_basis: str = "X_pca_harmony", *, theta=None, lamb=None, sigma=0.1, nclust=None,
                      tau=0, block_size=0.05, max_iter_harmony=10, max_iter_kmeans=4, epsilon_cluster=1e-3,
                      epsilon_harmony=1e-2, alpha=0.2, batch_prop_cutoff=1e-5, random_state=0, ncores=0,
                      progress=True, copy: bool = False):
    """Integrates `adata.obsm[basis]` over the batch column(s) `key` with Harmony (harmonypy's parameters).

    Writes the corrected embedding (cells x dimensions, float32) to `adata.obsm[adjusted_basis]` and the
    fit's provenance (parameters, objective per iteration, convergence) to `adata.uns["harmony"]`. The same
    data, parameters and `random_state` give the same numbers as `harmony fit --seed`. `key` may be a list
    of obs columns (several batch variables, corrected together). `progress` shows a tqdm bar (or, if a
    callable, receives (iteration, objective)). Returns the AnnData when `copy`, else None.
    """
    adata = adata.copy() if copy else adata
    columns = _anndata.keys(key)
    ids = list(map(str, adata.obs_names))
    covariates = [(c, *_core.factorize(_anndata.obs_column(adata, c), c, ids)) for c in columns]
    result = _core.fit(_anndata.basis(adata, basis), covariates, theta=theta, lamb=lamb, sigma=sigma,
                       nclust=nclust, tau=tau, block_size=block_size, max_iter_harmony=max_iter_harmony,
                       max_iter_kmeans=max_iter_kmeans, epsilon_cluster=epsilon_cluster,
                       epsilon_harmony=epsilon_harmony, alpha=alpha, batch_prop_cutoff=batch_prop_cutoff,
                       random_state=random_state, ncores=ncores, progress=progress)
    adata.obsm[adjusted_basis] = result.Z_corr
    adata.uns["harmony"] = _anndata.plain({
        "method": "harmony_integrate", "package": f"harmony-swift {__version__}", "key": columns,
        "basis": basis, "adjusted_basis": adjusted_basis, "params": result.parameters,
        "objective": result.objective_harmony, "objective_kmeans": result.objective_kmeans,
        "cluster_rounds": result.cluster_rounds, "iterations": result.iterations, "converged": result.converged,
        "fit_seconds": result.fit_seconds})
    return adata if copy else None
