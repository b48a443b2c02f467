"""`harmony_swift.Client`: the harmonyd client (harmony_client.HarmonyClient) with an AnnData entry point
that checks the whole input before the first cell is sent."""

from __future__ import annotations

import numpy as np

from . import _anndata, harmony_client
from ._core import factorize
from ._native import HarmonyError

# The daemon's limits on text fields (Protocols/harmonyd-protocol.md): a batch label is at most 1024 bytes,
# a cell id a str16 (at most 65535 bytes).
MAX_BATCH_BYTES = 1024
MAX_ID_BYTES = 0xFFFF


class Client(harmony_client.HarmonyClient):
    """A connection to harmonyd: `Client.connect(path)`, then `hello`, `info`, `map`, `export`, ... and
    `map_anndata`. Server errors raise `harmony_client.ServerError`."""

    def map_anndata(self, adata, batch_key: str, obsm_key: str = "X_pca", chunk_size: int = 1000,
                    window: int = 4, final: bool = True):
        """Maps every cell of `adata` through the daemon, after checking all of it: a non-finite value, a
        missing or over-long batch, a duplicate or over-long cell id, or a dimension mismatch raises
        HarmonyError before anything is sent, so the daemon never stores part of a bad input.

        Writes `obsm[obsm_key + "_harmony"]` (final corrections from EXPORT when `final`) and, in `obs`,
        `harmony_cluster`, `harmony_cluster_probability` and, with a labelled model, `harmony_label`
        (categorical) and `harmony_label_confidence`. Returns `adata`.
        """
        info = self.info()
        self.validate_anndata(adata, batch_key, obsm_key, info.dimensions)
        harmony_client.map_anndata(self, adata, batch_key, obsm_key=obsm_key, chunk_size=chunk_size,
                                   window=window, final=final)
        labels = adata.obs["harmony_label"]
        if info.labels:
            adata.obs["harmony_label"] = _anndata.categorical(list(labels), info.labels)
        else:
            del adata.obs["harmony_label"]
            del adata.obs["harmony_label_confidence"]
        return adata

    @staticmethod
    def validate_anndata(adata, batch_key: str, obsm_key: str, dimensions: int) -> None:
        """Raises HarmonyError naming the first problem of the input of `map_anndata`."""
        cells = _anndata.basis(adata, obsm_key)
        ids = [str(i) for i in adata.obs_names]
        if cells.ndim != 2 or cells.shape[1] != dimensions:
            raise HarmonyError(f"obsm['{obsm_key}'] has shape {cells.shape}; the daemon's model has {dimensions} "
                               "dimensions", 2)
        finite = np.isfinite(cells).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise HarmonyError(f"obsm['{obsm_key}'] has a non-finite value (NaN or infinity) at cell '{ids[row]}' "
                               f"(row {row}); nothing was sent", 2)
        levels, _ = factorize(_anndata.obs_column(adata, batch_key), batch_key, ids)
        for level in levels:
            if len(level.encode("utf-8")) > MAX_BATCH_BYTES:
                raise HarmonyError(f"batch '{level[:40]}...' of '{batch_key}' is longer than {MAX_BATCH_BYTES} bytes, "
                                   "the daemon's limit; nothing was sent", 2)
        if len(set(ids)) != len(ids):
            raise HarmonyError("adata.obs_names are not unique (the daemon identifies cells by id); call "
                               "adata.obs_names_make_unique() first; nothing was sent", 2)
        for cell_id in ids:
            if len(cell_id.encode("utf-8")) > MAX_ID_BYTES:
                raise HarmonyError(f"cell id '{cell_id[:40]}...' is longer than {MAX_ID_BYTES} bytes; nothing was sent", 2)
