"""Helpers shared by the AnnData functions: reading obs columns and obsm bases, writing obs columns that
`write_h5ad` accepts (categoricals and numbers, never None objects), and provenance in uns."""

from __future__ import annotations

from typing import List, Sequence, Union

import numpy as np

from ._native import HarmonyError


def keys(key: Union[str, Sequence[str]]) -> List[str]:
    keys = [key] if isinstance(key, str) else list(key)
    if not keys:
        raise HarmonyError("give at least one obs column as the batch key", 2)
    return keys


def obs_column(adata, key: str):
    if key not in adata.obs.columns:
        raise HarmonyError(f"adata.obs has no column '{key}' (columns: {', '.join(map(str, adata.obs.columns))})", 2)
    return adata.obs[key]


def basis(adata, name: str) -> np.ndarray:
    if name not in adata.obsm:
        raise HarmonyError(f"adata.obsm has no '{name}' (run sc.pp.pca first, or pass basis=...)", 2)
    return np.asarray(adata.obsm[name])


def expression(adata, layer=None):
    """adata.X, or adata.layers[layer]: the cells x genes matrix as stored (sparse stays sparse)."""
    if layer is None:
        if adata.X is None:
            raise HarmonyError("adata.X is empty: pass layer=... (or basis=... to build from an embedding)", 2)
        return adata.X
    if layer not in adata.layers:
        raise HarmonyError(f"adata.layers has no '{layer}' (layers: {', '.join(map(str, adata.layers))})", 2)
    return adata.layers[layer]


def categorical(values, categories: Sequence[str]):
    """A pandas Categorical over `categories` (missing values stay missing, never None objects)."""
    import pandas as pd
    return pd.Categorical(values, categories=list(categories))


def plain(value):
    """`value` with numpy scalars turned into Python ones and None dropped from dicts (h5ad cannot store None)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return np.asarray(value) if value and all(isinstance(v, (int, float, np.number)) for v in value) \
            else [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
