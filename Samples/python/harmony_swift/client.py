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

    def map_anndata(self, adata, batch_key: str, obsm_key: str = None, layer: str = None, chunk_size: int = 1000,
                    window: int = 4, final: bool = True, transient: bool = False):
        """Maps every cell of `adata` through the daemon, after checking all of it: a non-finite value, a
        missing or over-long batch, a duplicate or over-long cell id, or a dimension mismatch raises
        HarmonyError before anything is sent, so the daemon never stores part of a bad input.

        What is sent: when the daemon's reference has genes (built from expression) and no `obsm_key` is given,
        the counts of `adata.X` (or `adata.layers[layer]`), see `map_expression_anndata`; otherwise the
        embedding `obsm[obsm_key]` (default "X_pca").

        Writes `obsm[obsm_key + "_harmony"]` (final corrections from EXPORT when `final`) and, in `obs`,
        `harmony_cluster`, `harmony_cluster_probability` and, with a labelled model, `harmony_label`
        (categorical) and `harmony_label_confidence`. Returns `adata`.
        """
        info = self.info()
        if obsm_key is None and (layer is not None or info.genes is not None):
            return self.map_expression_anndata(adata, batch_key, layer=layer, chunk_size=chunk_size, window=window,
                                               final=final, transient=transient, info=info)
        if layer is not None:
            raise HarmonyError("layer= maps expression; give it without obsm_key", 2)
        obsm_key = obsm_key or "X_pca"
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

    def map_expression_anndata(self, adata, batch_key: str, layer: str = None, chunk_size: int = 1000,
                               window: int = 4, final: bool = True, transient: bool = False,
                               min_gene_overlap: float = 0.5, info=None):
        """Maps the counts of `adata.X` (or `adata.layers[layer]`) through a daemon whose reference has genes
        (protocol version 3: call `hello()` first).

        The query's genes (names `var_names`, ids `var["gene_ids"]` when present; only "Gene Expression"
        features when var has `feature_types`) are matched to the daemon's by id, then by name, as `harmony map`
        does; below `min_gene_overlap` of the reference's genes nothing is sent. Only the reference genes are
        sent, with each cell's total over ALL of its genes, and the reference genes the query lacks marked
        absent (they stand at the reference mean). Bad input (non-integer or negative counts, an empty cell,
        duplicate genes or ids, an over-long batch) raises HarmonyError before anything is sent. With `final`
        (and not `transient`), every cell is sent a second time once all are in: a resend, which the daemon
        answers with the final corrections, labels and distances without adding anything.

        Writes `obsm["X_pca_harmony"]` and, in `obs`, `harmony_cluster`, `harmony_cluster_probability`,
        `mapping_distance` (when the reference keeps cluster spreads) and, with a labelled model,
        `harmony_label` (categorical) and `harmony_label_confidence`. Returns `adata`.
        """
        info = info or self.info()
        if info.genes is None:
            raise HarmonyError("the daemon's reference has no genes (it was built from an embedding, or the "
                               "connection speaks a protocol version below 3: call hello() first); map an "
                               "embedding with obsm_key=...", 2)
        names = [str(v) for v in adata.var_names]
        ids = list(map(str, adata.var["gene_ids"])) if "gene_ids" in adata.var.columns else list(names)
        ids = [i if i else n for i, n in zip(ids, names)]
        keep = np.ones(len(names), dtype=bool)
        if "feature_types" in adata.var.columns:
            keep = np.asarray([str(t) == "Gene Expression" for t in adata.var["feature_types"]])
        matrix = _anndata.expression(adata, layer)
        if not keep.all():
            matrix = matrix[:, np.flatnonzero(keep)]
            names = [n for n, k in zip(names, keep) if k]
            ids = [i for i, k in zip(ids, keep) if k]
        try:
            to_reference, present = harmony_client.match_genes(info.genes, ids, names)
        except ValueError as error:
            raise HarmonyError(f"adata: {error}; nothing was sent", 2) from None
        overlap = present.sum() / len(info.genes)
        if overlap < min_gene_overlap:
            raise HarmonyError(f"only {present.sum()} of the reference's {len(info.genes)} genes "
                               f"({100 * overlap:.1f}%) are among the query's {len(names)} genes, below the minimum "
                               f"overlap of {100 * min_gene_overlap:.1f}%; is the query another species, or are its "
                               "genes named another way (symbols vs Ensembl ids)? Nothing was sent", 2)
        counts = info.normalization == "counts"
        try:
            rows = harmony_client.reference_rows(matrix, to_reference, counts)
        except ValueError as error:
            raise HarmonyError(f"adata{'' if layer is None else f'.layers[{layer!r}]'}: {error}; nothing was sent",
                               2) from None
        cell_ids = [str(i) for i in adata.obs_names]
        self._validate_labels(adata, batch_key, cell_ids)
        batches = [str(b) for b in _anndata.obs_column(adata, batch_key)]
        kind = harmony_client.COUNTS if counts else harmony_client.LOG_NORMALIZED
        present_flags = present.astype(bool)
        answer = harmony_client.map_expression_rows(self, batches, cell_ids, rows, present_flags, kind,
                                                    chunk_size=chunk_size, window=window, transient=transient)
        if final and not transient:
            answer = harmony_client.map_expression_rows(self, batches, cell_ids, rows, present_flags, kind,
                                                        chunk_size=chunk_size, window=window)
        adata.obsm["X_pca_harmony"] = answer["corrected"]
        adata.obs["harmony_cluster"] = answer["cluster"]
        adata.obs["harmony_cluster_probability"] = answer["probability"]
        if info.has_mapping_distance:
            adata.obs["mapping_distance"] = answer["distance"]
        if info.labels:
            adata.obs["harmony_label"] = _anndata.categorical(
                [info.labels[i] if 0 <= i < len(info.labels) else None for i in answer["label"]], info.labels)
            adata.obs["harmony_label_confidence"] = answer["confidence"]
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
        Client._validate_labels(adata, batch_key, ids)

    @staticmethod
    def _validate_labels(adata, batch_key: str, ids) -> None:
        """Raises HarmonyError for a missing or over-long batch, or a duplicate or over-long cell id."""
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
