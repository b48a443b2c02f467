"""The numpy-level API: the Harmony fit, reference models and query mapping over the native library."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import FLOAT32, FLOAT64, HarmonyError

ProgressArg = Union[bool, Callable[[int, float], None], None]


# ----------------------------------------------------------------------------------------------------------
# Inputs


def factorize(values, name: str, ids: Optional[Sequence] = None) -> Tuple[List[str], np.ndarray]:
    """Levels (the distinct values as text, sorted like `harmony fit` sorts them) and int32 codes.

    A missing value (None, NaN, pandas NA, empty text) is an error naming the cell: Harmony has no level for
    "unknown", and turning it into one would silently treat unannotated cells as a batch of their own.
    """
    raw, distinct = _distinct(values)
    distinct = [str(v) for v in distinct]
    bad = raw < 0
    for code, text in enumerate(distinct):
        if text == "":
            bad |= raw == code
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"cell '{ids[i]}'" if ids is not None else f"row {i}"
        raise HarmonyError(f"batch variable '{name}' has a missing value at {where}; drop or label those "
                           "cells first", 2)
    # Python orders str by code point, which is the byte order of UTF-8 (how the command line sorts levels).
    # Distinct values with the same text (1 and "1") become one level, as they would in a text file.
    observed = np.bincount(raw, minlength=len(distinct)) > 0   # categories without cells are no levels
    levels = sorted({text for text, seen in zip(distinct, observed) if seen})
    position = {level: code for code, level in enumerate(levels)}
    renumber = np.array([position.get(text, -1) for text in distinct], dtype=np.int32)
    return levels, renumber[raw]


def _distinct(values):
    """(codes with -1 for a missing value, the distinct values) in one hashing pass: a pandas categorical's own
    codes, pandas.factorize when pandas is installed, else a dict."""
    if hasattr(values, "cat"):
        return values.cat.codes.to_numpy().astype(np.int64), list(values.cat.categories)
    array = values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else np.asarray(values, dtype=object)
    array = array.reshape(-1)
    try:
        import pandas as pd
    except ImportError:
        first = {}
        raw = np.fromiter((first.setdefault(v, len(first)) if _present(v) else -1 for v in array), dtype=np.int64,
                          count=len(array))
        return raw, list(first)
    raw, distinct = pd.factorize(array, use_na_sentinel=True)
    return raw.astype(np.int64), list(distinct)


def _present(value) -> bool:
    return not (value is None or (isinstance(value, float) and value != value) or _is_pandas_na(value))


def _is_pandas_na(value) -> bool:
    return type(value).__name__ in ("NAType", "NaTType")


def embedding_array(data, what: str = "embedding") -> Tuple[np.ndarray, int]:
    """A 2-D C-contiguous float32/float64 array (no copy when it already is one) and its dtype code."""
    array = np.asarray(data)
    if array.ndim != 2:
        raise HarmonyError(f"the {what} must be a 2-D array (cells x dimensions), got {array.ndim} dimensions", 2)
    if array.dtype == np.float64:
        return np.ascontiguousarray(array), FLOAT64
    return np.ascontiguousarray(array, dtype=np.float32), FLOAT32


def _covariate_structs(covariates: Sequence[Tuple[str, List[str], np.ndarray]]):
    """ctypes covariate structs plus the objects that must stay alive during the call."""
    keep = []
    structs = (_native.Covariate * len(covariates))()
    for s, (name, levels, codes) in zip(structs, covariates):
        codes = np.ascontiguousarray(codes, dtype=np.int32)
        names = _native.strings(levels)
        keep += [codes, names]
        s.name = name.encode("utf-8")
        s.codes = _native.pointer(codes, ctypes.c_int32)
        s.level_count = len(levels)
        s.levels = ctypes.cast(names, ctypes.POINTER(ctypes.c_char_p))
    return structs, keep


def _doubles(values) -> Tuple[Optional[ctypes.Array], int]:
    if values is None:
        return None, 0
    flat = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]
    return (ctypes.c_double * len(flat))(*flat), len(flat)


def _progress_callback(progress: ProgressArg, total: int):
    """(ctypes callback, finish function) for `progress`: True draws a tqdm bar when tqdm is installed."""
    if progress is None or progress is False:
        return _native.PROGRESS(), lambda: None
    if callable(progress):
        report = progress
        close = lambda: None  # noqa: E731
    else:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _native.PROGRESS(), lambda: None
        bar = tqdm(total=total, desc="harmony", unit="iter", leave=False)

        def report(iteration, objective):
            bar.set_postfix(objective=f"{objective:.6g}")
            bar.update(1)
        close = bar.close

    def relay(_context, iteration, objective):
        report(int(iteration), float(objective))
    return _native.PROGRESS(relay), close


# ----------------------------------------------------------------------------------------------------------
# The fit


@dataclass
class HarmonyResult:
    """What `run_harmony` returns. `Z_corr` is cells x dimensions (float32), like harmonypy 2.x's."""

    Z_corr: np.ndarray
    objective_harmony: np.ndarray
    iterations: int
    converged: bool
    K: int
    fit_seconds: float
    parameters: Dict[str, object] = field(default_factory=dict)
    reference: Optional["Reference"] = None
    # The objective after initialisation, then after every clustering round, and the rounds of each iteration.
    objective_kmeans: np.ndarray = field(default_factory=lambda: np.empty(0))
    cluster_rounds: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def fit(data, covariates: Sequence[Tuple[str, List[str], np.ndarray]], *, progress: ProgressArg = False,
        reference: Optional[dict] = None, **options) -> HarmonyResult:
    """The Harmony fit of `data` (cells x dimensions) over factorized covariates (name, levels, codes).

    `options` are `_fit_parameters`'. `reference`, when given, asks for a reference model: {"ids": [...],
    "labels": (name, levels, codes) or None, "compact": bool}.
    """
    array, dtype = embedding_array(data)
    n, d = array.shape

    def invoke(structs, params, callback, outputs):
        _native.call(_native.lib.harmony_fit, array.ctypes.data_as(ctypes.c_void_p), dtype, n, d, structs,
                     len(covariates), params, callback, None, outputs)
    return _run_fit(invoke, n, d, covariates, options, progress, reference)


def _fit_parameters(*, theta=None, lamb=None, sigma=0.1, nclust=None, tau=0, block_size=0.05, max_iter_harmony=10,
                    max_iter_kmeans=None, epsilon_cluster=None, epsilon_harmony=None, alpha=0.2,
                    batch_prop_cutoff=None, random_state=0, ncores=0, early_stop=True, preset="harmony2"):
    """(C parameters, objects they point into, the parameters as recorded in uns) for harmonypy's names.

    Parameters left at None take the preset's defaults (harmony2: 4 k-means rounds, epsilons 1e-3 / 1e-2,
    cutoff 1e-5)."""
    if preset not in ("harmony2", "harmony1"):
        raise HarmonyError(f"preset must be 'harmony2' or 'harmony1', got {preset!r}", 1)
    params = _native.FitParams()
    _native.lib.harmony_fit_params_default(ctypes.byref(params), 1 if preset == "harmony1" else 0)
    theta_array, params.theta_count = _doubles(theta)
    sigma_array, params.sigma_count = _doubles(sigma)
    lambda_array, lambda_count = _doubles(None if _is_dynamic(lamb) else lamb)
    keep = [theta_array, sigma_array, lambda_array]
    params.theta, params.sigma = theta_array, sigma_array
    if lambda_array is not None:
        params.lambda_dynamic, params.lambda_, params.lambda_count = 0, lambda_array, lambda_count
    elif preset == "harmony2" or lamb is not None:
        params.lambda_dynamic, params.alpha = 1, float(alpha)
    params.nclust = 0 if nclust is None else int(nclust)
    params.tau, params.block_size = float(tau), float(block_size)
    params.max_iter = int(max_iter_harmony)
    if max_iter_kmeans is not None:
        params.max_iter_cluster = int(max_iter_kmeans)
    if epsilon_cluster is not None:
        params.epsilon_cluster = float(epsilon_cluster)
    if epsilon_harmony is not None:
        params.epsilon_harmony = float(epsilon_harmony)
    if batch_prop_cutoff is not None:
        params.batch_prop_cutoff = float(batch_prop_cutoff)
    params.early_stop = 1 if early_stop else 0
    if int(random_state) < 0:
        raise HarmonyError(f"random_state must be >= 0, got {random_state}", 1)
    params.seed = int(random_state)
    params.threads = int(ncores or 0)
    used = {"theta": theta if theta is not None else 2.0, "lamb": "auto" if lambda_array is None else lamb,
            "alpha": alpha, "sigma": sigma, "tau": tau, "block_size": block_size,
            "max_iter_harmony": params.max_iter, "max_iter_kmeans": params.max_iter_cluster,
            "epsilon_cluster": params.epsilon_cluster, "epsilon_harmony": params.epsilon_harmony,
            "batch_prop_cutoff": params.batch_prop_cutoff, "random_state": int(random_state), "preset": preset,
            "early_stop": bool(early_stop)}
    return params, keep, used


def _run_fit(invoke, n: int, d: int, covariates, options: dict, progress: ProgressArg,
             reference: Optional[dict]) -> HarmonyResult:
    """Fills the parameters and outputs of a fit, calls `invoke(covariates, params, callback, outputs)` (the
    entry point with its own inputs) and collects the result."""
    params, keep, used = _fit_parameters(**options)
    structs, covariate_keep = _covariate_structs(covariates)
    corrected = np.empty((n, d), dtype=np.float32)
    objective = np.empty(max(1, params.max_iter + 1), dtype=np.float64)
    outputs = _native.FitOutputs()
    outputs.corrected = _native.pointer(corrected, ctypes.c_float)
    outputs.objective = _native.pointer(objective, ctypes.c_double)
    outputs.objective_capacity = len(objective)
    kmeans = np.empty(max(1, params.max_iter * params.max_iter_cluster + 1), dtype=np.float64)
    rounds = np.empty(max(1, params.max_iter), dtype=np.int64)
    outputs.objective_kmeans = _native.pointer(kmeans, ctypes.c_double)
    outputs.objective_kmeans_capacity = len(kmeans)
    outputs.cluster_rounds = _native.pointer(rounds, ctypes.c_int64)
    outputs.cluster_rounds_capacity = len(rounds)
    handle = ctypes.c_void_p()
    if reference is not None:
        outputs.model = ctypes.pointer(handle)
        ids = _native.strings(reference["ids"])
        keep.append(ids)
        outputs.cell_ids = ctypes.cast(ids, ctypes.POINTER(ctypes.c_char_p))
        if reference.get("labels") is not None:
            label_name, label_levels, label_codes = reference["labels"]
            label_codes = np.ascontiguousarray(label_codes, dtype=np.int32)
            values = _native.strings(label_levels)
            keep += [label_codes, values]
            outputs.label_name = label_name.encode("utf-8")
            outputs.label_codes = _native.pointer(label_codes, ctypes.c_int32)
            outputs.label_count = len(label_levels)
            outputs.label_values = ctypes.cast(values, ctypes.POINTER(ctypes.c_char_p))
        outputs.compact = 1 if reference.get("compact") else 0
    callback, close = _progress_callback(progress, params.max_iter)
    try:
        invoke(structs, ctypes.byref(params), callback, ctypes.byref(outputs))
    finally:
        close()
    used["nclust"] = int(outputs.clusters)
    return HarmonyResult(Z_corr=corrected, objective_harmony=objective[:outputs.objective_count].copy(),
                         iterations=int(outputs.iterations), converged=bool(outputs.converged),
                         K=int(outputs.clusters), fit_seconds=float(outputs.fit_seconds), parameters=used,
                         reference=Reference(handle.value) if handle.value else None,
                         objective_kmeans=kmeans[:outputs.objective_kmeans_count].copy(),
                         cluster_rounds=rounds[:outputs.cluster_rounds_count].copy())


def build_from_expression(matrix, genes: Tuple[Optional[Sequence[str]], Sequence[str]],
                          covariates: Sequence[Tuple[str, List[str], np.ndarray]], *, ids: Sequence[str],
                          labels=None, compact: bool = False, normalized: bool = False, target_sum: float = 1e4,
                          min_cells: int = 3, n_genes: int = 2000, gene_list: Optional[Sequence[str]] = None,
                          n_pcs: int = 20, progress: ProgressArg = False, **options) -> Tuple[HarmonyResult, np.ndarray]:
    """A gene-space reference from a cells x genes matrix (scipy sparse or dense; counts unless `normalized`):
    the recipe of `harmony reference` (see `tl.build_reference`). `genes` is (ids or None, names).
    Returns the fit result (with `.reference`) and the uncorrected reference PCs (float32)."""
    expression, keep = _expression_struct(matrix, genes)   # `keep` holds what it points into until we return
    n = expression.cells
    space = _native.GeneSpaceParams()
    _native.lib.harmony_gene_space_params_default(ctypes.byref(space))
    space.normalized = 1 if normalized else 0
    space.target_sum = float(target_sum)
    space.min_cells, space.variable_genes, space.components = int(min_cells), int(n_genes), int(n_pcs)
    listed = None
    if gene_list is not None:
        listed = _native.strings(gene_list)
        space.genes, space.gene_count = ctypes.cast(listed, ctypes.POINTER(ctypes.c_char_p)), len(gene_list)
    if int(n_pcs) < 1:
        raise HarmonyError(f"n_pcs must be at least 1, got {n_pcs}", 1)
    pcs = np.empty((n, int(n_pcs)), dtype=np.float32)

    def invoke(structs, params, callback, outputs):
        _native.call(_native.lib.harmony_reference_build, ctypes.byref(expression), structs, len(covariates),
                     ctypes.byref(space), params, callback, None, outputs, _native.pointer(pcs, ctypes.c_float))
    result = _run_fit(invoke, n, int(n_pcs), covariates, options, progress,
                      {"ids": ids, "labels": labels, "compact": compact})
    return result, pcs


def _expression_struct(matrix, genes):
    """(the C expression struct, the arrays and strings it points into, to keep alive during the call)."""
    (n, g), (indptr, indices, data, index_dtype, data_dtype) = _csr_arrays(matrix)
    gene_ids, gene_names = genes
    if len(gene_names) != g or (gene_ids is not None and len(gene_ids) != g):
        raise HarmonyError(f"the matrix has {g} genes but {len(gene_names)} gene names were given", 2)
    names = _native.strings(gene_names)
    id_strings = _native.strings(gene_ids) if gene_ids is not None else None
    expression = _native.Expression(
        cells=n, genes=g, indptr=indptr.ctypes.data_as(ctypes.c_void_p),
        indices=indices.ctypes.data_as(ctypes.c_void_p), index_dtype=index_dtype,
        data=data.ctypes.data_as(ctypes.c_void_p), data_dtype=data_dtype,
        gene_ids=None if id_strings is None else ctypes.cast(id_strings, ctypes.POINTER(ctypes.c_char_p)),
        gene_names=ctypes.cast(names, ctypes.POINTER(ctypes.c_char_p)))
    return expression, [indptr, indices, data, names, id_strings]


def _csr_arrays(matrix):
    """((cells, genes), (indptr, indices, data, index dtype code, data dtype code)) for the C interface.

    CSR with sorted, unique indices, int32/int64 indices and float32/float64 values is passed as it is (no
    copy); CSC, COO, dense arrays, unsorted or duplicate indices and other dtypes are converted once."""
    import scipy.sparse as sp
    if not sp.issparse(matrix):
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise HarmonyError(f"the expression matrix must be 2-D (cells x genes), got {dense.ndim} dimensions", 2)
        matrix = sp.csr_matrix(dense)
    elif matrix.format != "csr":
        matrix = matrix.tocsr()
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()   # sorts the indices too
    indptr, indices = matrix.indptr, matrix.indices
    if indptr.dtype != indices.dtype or indptr.dtype not in (np.int32, np.int64):
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    data = matrix.data
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float32)
    index_code = _native.INT32 if indptr.dtype == np.int32 else _native.INT64
    data_code = FLOAT32 if data.dtype == np.float32 else FLOAT64
    arrays = [np.ascontiguousarray(a) for a in (indptr, indices, data)]
    return matrix.shape, (*arrays, index_code, data_code)


def _is_dynamic(lamb) -> bool:
    # harmonypy: None or -1 estimates lambda from alpha in each cluster.
    return lamb is None or (np.ndim(lamb) == 0 and float(lamb) == -1)


def run_harmony(data_mat, meta_data, vars_use, theta=None, lamb=None, sigma=0.1, nclust=None, tau=0,
                block_size=0.05, max_iter_harmony=10, max_iter_kmeans=4, epsilon_cluster=1e-3,
                epsilon_harmony=1e-2, alpha=0.2, batch_prop_cutoff=1e-5, verbose=False, random_state=0,
                ncores=0, progress: ProgressArg = None) -> HarmonyResult:
    """harmonypy's `run_harmony` on the Swift library: same parameter names, defaults and meaning.

    `data_mat` is cells x PCs (PCs x cells is transposed when the cell count makes it unambiguous);
    `meta_data` anything with `meta_data[column]` (a pandas DataFrame, a dict of arrays); `vars_use` one
    column or a list. `theta` is one value, one per variable or one per level (levels sorted); `lamb` None
    (or -1) estimates the penalty as alpha x expected cells, else one fixed value or one per variable.
    Returns a `HarmonyResult` whose `Z_corr` is cells x PCs. `progress` (or `verbose`) shows a tqdm bar;
    a callable receives (iteration, objective).
    """
    columns = [vars_use] if isinstance(vars_use, str) else list(vars_use)
    first = np.asarray(meta_data[columns[0]], dtype=object)
    data = np.asarray(data_mat)
    if data.ndim == 2 and data.shape[0] != len(first) and data.shape[1] == len(first):
        data = data.T
    covariates = [(c, *factorize(meta_data[c], c)) for c in columns]
    return fit(data, covariates, theta=theta, lamb=lamb, sigma=sigma, nclust=nclust, tau=tau,
               block_size=block_size, max_iter_harmony=max_iter_harmony, max_iter_kmeans=max_iter_kmeans,
               epsilon_cluster=epsilon_cluster, epsilon_harmony=epsilon_harmony, alpha=alpha,
               batch_prop_cutoff=batch_prop_cutoff, random_state=random_state, ncores=ncores,
               progress=verbose if progress is None else progress)


# ----------------------------------------------------------------------------------------------------------
# 2-D layouts and LISI


def _umap_params(*, n_neighbors: int = 15, min_dist: float = 0.1, spread: float = 1.0, maxiter: Optional[int] = None,
                 alpha: float = 1.0, gamma: float = 1.0, negative_sample_rate: int = 5, random_state: int = 0,
                 ncores: int = 0) -> "_native.UmapParams":
    """The C UMAP settings for scanpy's `sc.tl.umap` names (`maxiter`: epochs, `alpha`: learning rate, `gamma`:
    repulsion); `n_neighbors` counts the neighbours of a cell without the cell itself."""
    if int(random_state) < 0:
        raise HarmonyError(f"random_state must be >= 0, got {random_state}", 1)
    if maxiter is not None and int(maxiter) < 1:
        raise HarmonyError(f"maxiter must be at least 1 (or None for the default), got {maxiter}", 1)
    params = _native.UmapParams()
    _native.lib.harmony_umap_params_default(ctypes.byref(params))
    params.neighbors, params.min_dist, params.spread = int(n_neighbors), float(min_dist), float(spread)
    params.epochs = 0 if maxiter is None else int(maxiter)
    params.learning_rate, params.repulsion = float(alpha), float(gamma)
    params.negative_sample_rate, params.seed, params.threads = int(negative_sample_rate), int(random_state), int(ncores or 0)
    return params


def umap_layout(data, **umap_params) -> np.ndarray:
    """The UMAP layout (cells x 2, float32) of `data` (cells x dimensions), the numbers `harmony umap` writes
    for the same values and settings (`_umap_params`' names)."""
    array, dtype = embedding_array(data)
    n, d = array.shape
    params = _umap_params(**umap_params)
    layout = np.empty((n, 2), dtype=np.float32)
    _native.call(_native.lib.harmony_umap, array.ctypes.data_as(ctypes.c_void_p), dtype, n, d, ctypes.byref(params),
                 _native.pointer(layout, ctypes.c_float))
    return layout


def place_on_layout(reference, layout, query, *, epochs: Optional[int] = None, **umap_params) -> np.ndarray:
    """Positions (query cells x 2, float32) of `query` cells placed on `layout`, the 2-D layout of the `reference`
    cells (same dimensions as the query), without moving it: each query cell starts at the membership-weighted
    mean of its `n_neighbors` nearest reference cells' positions, then `epochs` optimisation epochs (None: 100 up
    to 10,000 query cells, 30 above; 0: the weighted mean) settle it, as umap-learn's `transform`."""
    ref, ref_dtype = embedding_array(reference, "reference embedding")
    cells, cells_dtype = embedding_array(query, "query embedding")
    positions = np.ascontiguousarray(layout, dtype=np.float32)
    if positions.ndim != 2 or positions.shape != (ref.shape[0], 2):
        raise HarmonyError(f"the reference layout must be {ref.shape[0]} x 2 (one row per reference cell), got "
                           f"{' x '.join(map(str, positions.shape))}", 2)
    if cells.shape[1] != ref.shape[1]:
        raise HarmonyError(f"the query has {cells.shape[1]} dimensions; the reference embedding has {ref.shape[1]}", 2)
    params = _umap_params(**umap_params)
    placed = np.empty((cells.shape[0], 2), dtype=np.float32)
    _native.call(_native.lib.harmony_layout_place, ref.ctypes.data_as(ctypes.c_void_p), ref_dtype, ref.shape[0],
                 ref.shape[1], _native.pointer(positions, ctypes.c_float), cells.ctypes.data_as(ctypes.c_void_p),
                 cells_dtype, cells.shape[0], ctypes.byref(params), -1 if epochs is None else int(epochs),
                 _native.pointer(placed, ctypes.c_float))
    return placed


def lisi_scores(data, label_sets: Sequence[Tuple[str, Sequence]], *, perplexity: float = 30.0,
                ncores: int = 0) -> np.ndarray:
    """Per-cell LISI of `data` (cells x dimensions) for each (name, values per cell) label set: an array of label
    sets x cells (float64), the numbers `harmony lisi --per-cell` writes. A missing label is an error naming
    the cell, as for batches."""
    array, dtype = embedding_array(data)
    n, d = array.shape
    for name, values in label_sets:
        if len(values) != n:
            raise HarmonyError(f"label set '{name}' has {len(values)} values for {n} cells", 2)
    structs, keep = _covariate_structs([(name, *factorize(values, name)) for name, values in label_sets])
    scores = np.empty((len(label_sets), n), dtype=np.float64)
    _native.call(_native.lib.harmony_lisi, array.ctypes.data_as(ctypes.c_void_p), dtype, n, d, structs,
                 len(label_sets), float(perplexity), int(ncores or 0), _native.pointer(scores, ctypes.c_double))
    return scores


# ----------------------------------------------------------------------------------------------------------
# Reference models and mapping


@dataclass
class MappedQuery:
    """What `Reference.map` returns, rows in the order of the query."""

    corrected: np.ndarray
    top_cluster: np.ndarray
    top_probability: np.ndarray
    label: Optional[np.ndarray] = None       # label text per cell (object array), when the model has labels
    label_confidence: Optional[np.ndarray] = None
    label_method: Optional[str] = None
    mapping_distance: Optional[np.ndarray] = None   # float64, when the model holds cluster spreads
    projection: Optional[np.ndarray] = None   # the uncorrected projection of mapped expression (map_expression)


class Reference:
    """A Harmony reference model (`.hmod`, the files of `harmony fit --reference-out`), held by the library.

    Build one with `harmony_swift.tl.build_reference`, or `Reference.load(path)`; map query cells with
    `harmony_swift.tl.map_query` or `Reference.map`.
    """

    def __init__(self, handle: int, path: Optional[str] = None):
        self._handle = ctypes.c_void_p(handle)
        self.path = path
        info = _native.ModelInfo()
        _native.lib.harmony_model_info_get(self._handle, ctypes.byref(info))
        self.n_clusters, self.n_dims, self.n_cells = int(info.clusters), int(info.dimensions), int(info.cells)
        self.compact, self.has_genes = bool(info.compact), bool(info.has_genes)
        self.model_version = int(info.model_version)
        self.has_cluster_spread = bool(info.has_cluster_spread)
        self.has_layout = bool(info.has_layout)
        raw = _native.lib.harmony_model_describe(self._handle)
        try:
            import json
            self.description = json.loads(ctypes.string_at(raw).decode("utf-8"))
        finally:
            _native.lib.harmony_string_free(raw)
        self.n_genes = int(self.description["gene_count"])   # 0 for a model without a gene space

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Reference":
        """Reads a model file; HarmonyError names what is wrong with a bad one."""
        handle = ctypes.c_void_p()
        _native.call(_native.lib.harmony_model_load, os.fsencode(path), ctypes.byref(handle))
        return cls(handle.value, path=os.fspath(path))

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the model atomically (a temporary file renamed into place)."""
        _native.call(_native.lib.harmony_model_save, self._handle, os.fsencode(path))
        self.path = os.fspath(path)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            _native.lib.harmony_model_free(handle)
            self._handle = None

    @property
    def covariates(self) -> Dict[str, List[str]]:
        """The reference's batch variables and their levels."""
        return {c["name"]: c["levels"] for c in self.description["covariates"]}

    @property
    def label_name(self) -> Optional[str]:
        labels = self.description["labels"]
        return labels["name"] if labels else None

    @property
    def labels(self) -> List[str]:
        """The label values label transfer can predict (empty without labels)."""
        labels = self.description["labels"]
        return list(labels["values"]) if labels else []

    def __repr__(self) -> str:
        kind = "compact " if self.compact else ""
        labels = f", labels '{self.label_name}' ({len(self.labels)})" if self.label_name else ""
        return (f"<harmony_swift.Reference: {kind}{self.n_cells} cells, K={self.n_clusters}, d={self.n_dims}, "
                f"covariates {list(self.covariates)}{labels}>")

    @property
    def layout(self) -> Optional[np.ndarray]:
        """The reference cells' 2-D layout kept in the model (cells x 2, float32), or None."""
        if not self.has_layout:
            return None
        positions = np.empty((self.n_cells, 2), dtype=np.float32)
        _native.call(_native.lib.harmony_model_layout_positions, self._handle, _native.pointer(positions, ctypes.c_float))
        return positions

    @property
    def layout_params(self) -> Optional[Dict[str, object]]:
        """The UMAP settings of the kept layout (`tl.umap`'s names), or None."""
        return self.description.get("layout")

    def with_layout(self, **umap_params) -> "Reference":
        """A new model that also keeps the UMAP layout of its reference cells' corrected embedding (`tl.umap`'s
        settings: n_neighbors, min_dist, ..., random_state), so mapped cells can be placed on the reference's
        view (`place`, `tl.map_query`). Needs a full (not compact) model; saved as model format 3."""
        params = _umap_params(**umap_params)
        handle = ctypes.c_void_p()
        _native.call(_native.lib.harmony_model_add_layout, self._handle, ctypes.byref(params), ctypes.byref(handle))
        return Reference(handle.value)

    def place(self, mapped, *, ncores: int = 0) -> np.ndarray:
        """Positions (cells x 2, float32) of mapped query cells (their corrected embedding, `MappedQuery.corrected`)
        on the kept layout, with the layout's settings: the numbers of `harmony map --layout-out`."""
        array, dtype = embedding_array(mapped, "mapped query")
        placed = np.empty((array.shape[0], 2), dtype=np.float32)
        _native.call(_native.lib.harmony_model_place, self._handle, array.ctypes.data_as(ctypes.c_void_p), dtype,
                     array.shape[0], array.shape[1], int(ncores or 0), _native.pointer(placed, ctypes.c_float))
        return placed

    def map(self, query, batches, batch_key: str, *, query_lambda: float = 1.0, sigma: Optional[float] = None,
            joint: bool = False, k: int = 5, cluster_labels: bool = False, labels: bool = True,
            ncores: int = 0) -> MappedQuery:
        """Maps query cells (n x d in the reference's space) as `harmony map` does.

        `batches` is one batch value per cell; cells whose value is a level of the reference's covariate
        `batch_key` use the reference's terms, other batches are estimated from their own cells (all new
        batches together with one shared intercept when `joint`, Symphony's mapQuery). Labels are predicted
        by a kNN vote of `k` reference cells (full models) or per-cluster frequencies (compact models, or
        `cluster_labels`). With a model that holds cluster spreads, `mapping_distance` says how unlike the
        reference each cell is: the soft-assignment-weighted Mahalanobis distance of its uncorrected
        coordinates from the reference cells of its clusters (about sqrt(d) for a typical reference cell).
        """
        array, dtype = embedding_array(query, "query")
        n, d = array.shape

        def invoke(structs, params, outputs):
            _native.call(_native.lib.harmony_map, self._handle, array.ctypes.data_as(ctypes.c_void_p), dtype, n, d,
                         structs, params, outputs)
        return self._map(invoke, n, batches, batch_key, query_lambda=query_lambda, sigma=sigma, joint=joint, k=k,
                         cluster_labels=cluster_labels, labels=labels, ncores=ncores)

    def map_expression(self, matrix, genes, batches, batch_key: str, *, ids: Optional[Sequence[str]] = None,
                       min_overlap: float = 0.5, **options) -> MappedQuery:
        """Maps query expression (cells x genes, scipy sparse or dense; counts when the reference was built from
        counts) onto a reference built from expression, as `Reference.map` maps PCs (same `options`).

        `genes` is (ids or None, names). The query's genes are matched to the reference's by id, then by name;
        reference genes the query lacks stand at the reference's mean, and fewer than `min_overlap` of them
        present is an error. Each cell is normalized with its whole-library total, scaled with the reference's
        gene statistics and projected on its loadings; `MappedQuery.projection` holds that uncorrected
        projection (float32)."""
        expression, keep = _expression_struct(matrix, genes)   # `keep` holds what it points into until we return
        n = expression.cells
        cell_ids = _native.strings(ids) if ids is not None else None
        projection = np.empty((n, self.n_dims), dtype=np.float32)

        def invoke(structs, params, outputs):
            _native.call(_native.lib.harmony_map_expression, self._handle, ctypes.byref(expression),
                         None if cell_ids is None else ctypes.cast(cell_ids, ctypes.POINTER(ctypes.c_char_p)),
                         float(min_overlap), structs, params, _native.pointer(projection, ctypes.c_float), outputs)
        out = self._map(invoke, n, batches, batch_key, **options)
        out.projection = projection
        return out

    def _map(self, invoke, n: int, batches, batch_key: str, *, query_lambda: float = 1.0,
             sigma: Optional[float] = None, joint: bool = False, k: int = 5, cluster_labels: bool = False,
             labels: bool = True, ncores: int = 0) -> MappedQuery:
        """Fills the parameters and outputs of a mapping and calls `invoke(batch, params, outputs)`."""
        d = self.n_dims
        levels, codes = factorize(batches, batch_key)
        structs, keep = _covariate_structs([(batch_key, levels, codes)])
        params = _native.MapParams()
        _native.lib.harmony_map_params_default(ctypes.byref(params))
        params.query_lambda = float(query_lambda)
        params.sigma = 0.0 if sigma is None else float(sigma)
        params.joint, params.k, params.cluster_labels = int(bool(joint)), int(k), int(bool(cluster_labels))
        params.threads = int(ncores or 0)
        with_labels = labels and bool(self.labels)
        out = MappedQuery(corrected=np.empty((n, d), dtype=np.float32), top_cluster=np.empty(n, dtype=np.int32),
                          top_probability=np.empty(n, dtype=np.float32))
        codes_out = np.empty(n, dtype=np.int32) if with_labels else None
        confidence = np.empty(n, dtype=np.float32) if with_labels else None
        if self.has_cluster_spread:
            out.mapping_distance = np.empty(n, dtype=np.float64)
        outputs = _native.MapOutputs(
            corrected=_native.pointer(out.corrected, ctypes.c_float),
            top_cluster=_native.pointer(out.top_cluster, ctypes.c_int32),
            top_probability=_native.pointer(out.top_probability, ctypes.c_float),
            label_codes=_native.pointer(codes_out, ctypes.c_int32),
            label_confidence=_native.pointer(confidence, ctypes.c_float),
            mapping_distance=_native.pointer(out.mapping_distance, ctypes.c_double))
        invoke(structs, ctypes.byref(params), ctypes.byref(outputs))
        if with_labels:
            out.label = np.asarray(self.labels, dtype=object)[codes_out]
            out.label_confidence = confidence
            out.label_method = "cluster" if (self.compact or cluster_labels) else "knn"
        return out
