"""ctypes bindings of libHarmonyC (the C interface declared in Sources/CHarmony/include/harmony.h).

The structures below mirror the header field by field; ABI_VERSION must equal the library's
harmony_abi_version(), which is checked when the library is loaded.
"""

from __future__ import annotations

import ctypes
import os

ABI_VERSION = 3
ERROR_BUFFER = 4096

FLOAT32, FLOAT64 = 0, 1
INT32, INT64 = 0, 1


class HarmonyError(ValueError):
    """A failure reported by the Harmony library; the message is the library's sentence.

    `status` is the library's code: 1 invalid parameter, 2 invalid input, 3 file format, 4 I/O, 5 numerical.
    """

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class Covariate(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("codes", ctypes.POINTER(ctypes.c_int32)),
                ("level_count", ctypes.c_int64), ("levels", ctypes.POINTER(ctypes.c_char_p))]


class FitParams(ctypes.Structure):
    _fields_ = [("preset", ctypes.c_int32),
                ("theta", ctypes.POINTER(ctypes.c_double)), ("theta_count", ctypes.c_int64),
                ("sigma", ctypes.POINTER(ctypes.c_double)), ("sigma_count", ctypes.c_int64),
                ("lambda_dynamic", ctypes.c_int32), ("alpha", ctypes.c_double),
                ("lambda_", ctypes.POINTER(ctypes.c_double)), ("lambda_count", ctypes.c_int64),
                ("nclust", ctypes.c_int64), ("tau", ctypes.c_double), ("block_size", ctypes.c_double),
                ("max_iter", ctypes.c_int64), ("max_iter_cluster", ctypes.c_int64),
                ("epsilon_cluster", ctypes.c_double), ("epsilon_harmony", ctypes.c_double),
                ("early_stop", ctypes.c_int32), ("batch_prop_cutoff", ctypes.c_double),
                ("seed", ctypes.c_uint64), ("threads", ctypes.c_int64)]


class FitOutputs(ctypes.Structure):
    _fields_ = [("corrected", ctypes.POINTER(ctypes.c_float)),
                ("objective", ctypes.POINTER(ctypes.c_double)), ("objective_capacity", ctypes.c_int64),
                ("objective_count", ctypes.c_int64), ("iterations", ctypes.c_int64),
                ("converged", ctypes.c_int32), ("clusters", ctypes.c_int64), ("fit_seconds", ctypes.c_double),
                ("model", ctypes.POINTER(ctypes.c_void_p)), ("cell_ids", ctypes.POINTER(ctypes.c_char_p)),
                ("label_name", ctypes.c_char_p), ("label_codes", ctypes.POINTER(ctypes.c_int32)),
                ("label_count", ctypes.c_int64), ("label_values", ctypes.POINTER(ctypes.c_char_p)),
                ("compact", ctypes.c_int32),
                ("objective_kmeans", ctypes.POINTER(ctypes.c_double)), ("objective_kmeans_capacity", ctypes.c_int64),
                ("objective_kmeans_count", ctypes.c_int64), ("cluster_rounds", ctypes.POINTER(ctypes.c_int64)),
                ("cluster_rounds_capacity", ctypes.c_int64), ("cluster_rounds_count", ctypes.c_int64)]


class Expression(ctypes.Structure):
    _fields_ = [("cells", ctypes.c_int64), ("genes", ctypes.c_int64), ("indptr", ctypes.c_void_p),
                ("indices", ctypes.c_void_p), ("index_dtype", ctypes.c_int32), ("data", ctypes.c_void_p),
                ("data_dtype", ctypes.c_int32), ("gene_ids", ctypes.POINTER(ctypes.c_char_p)),
                ("gene_names", ctypes.POINTER(ctypes.c_char_p))]


class GeneSpaceParams(ctypes.Structure):
    _fields_ = [("normalized", ctypes.c_int32), ("target_sum", ctypes.c_double), ("min_cells", ctypes.c_int64),
                ("variable_genes", ctypes.c_int64), ("genes", ctypes.POINTER(ctypes.c_char_p)),
                ("gene_count", ctypes.c_int64), ("components", ctypes.c_int64)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("clusters", ctypes.c_int64), ("dimensions", ctypes.c_int64), ("cells", ctypes.c_int64),
                ("covariates", ctypes.c_int64), ("label_count", ctypes.c_int64), ("compact", ctypes.c_int32),
                ("has_genes", ctypes.c_int32), ("model_version", ctypes.c_uint64),
                ("has_cluster_spread", ctypes.c_int32), ("has_layout", ctypes.c_int32)]


class MapParams(ctypes.Structure):
    _fields_ = [("query_lambda", ctypes.c_double), ("sigma", ctypes.c_double), ("joint", ctypes.c_int32),
                ("k", ctypes.c_int32), ("cluster_labels", ctypes.c_int32), ("threads", ctypes.c_int64)]


class MapOutputs(ctypes.Structure):
    _fields_ = [("corrected", ctypes.POINTER(ctypes.c_float)),
                ("top_cluster", ctypes.POINTER(ctypes.c_int32)), ("top_probability", ctypes.POINTER(ctypes.c_float)),
                ("label_codes", ctypes.POINTER(ctypes.c_int32)), ("label_confidence", ctypes.POINTER(ctypes.c_float)),
                ("mapping_distance", ctypes.POINTER(ctypes.c_double))]


class UmapParams(ctypes.Structure):
    _fields_ = [("neighbors", ctypes.c_int64), ("min_dist", ctypes.c_double), ("spread", ctypes.c_double),
                ("epochs", ctypes.c_int64), ("learning_rate", ctypes.c_double),
                ("negative_sample_rate", ctypes.c_int64), ("repulsion", ctypes.c_double), ("seed", ctypes.c_uint64),
                ("threads", ctypes.c_int64)]


PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_double)
_ERR = (ctypes.c_char_p, ctypes.c_size_t)


# The CPU features the tuned library needs (Package.swift's list for `-target-cpu haswell`).
TUNED_FLAGS = ("avx2", "fma", "bmi2", "f16c", "movbe")


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as fh:
            return set(next((line for line in fh if line.startswith("flags")), "").split())
    except OSError:
        return set()


def _library_path() -> str:
    """The library to load: HARMONY_C_LIBRARY if set (e.g. a debug build while developing the Swift side), else
    from harmony_swift/.libs the build tuned for AVX2/FMA CPUs when this CPU has them (4x faster: vector FMA
    instead of calls to fmaf), else the portable build."""
    if os.environ.get("HARMONY_C_LIBRARY"):
        return os.environ["HARMONY_C_LIBRARY"]
    libs = os.path.join(os.path.dirname(__file__), ".libs")
    tuned = os.path.join(libs, "libHarmonyC-avx2.so")
    if os.path.exists(tuned) and _cpu_flags().issuperset(TUNED_FLAGS):
        return tuned
    return os.path.join(libs, "libHarmonyC.so")


def _load() -> ctypes.CDLL:
    path = _library_path()
    if not os.path.exists(path):
        raise ImportError(f"harmony_swift: the native library {path} is missing; reinstall the package with "
                          "`pip install ./Samples/python` (which builds it with SwiftPM)")
    lib = ctypes.CDLL(path)
    lib.harmony_abi_version.restype = ctypes.c_int32
    if lib.harmony_abi_version() != ABI_VERSION:
        raise ImportError(f"harmony_swift: {path} has C interface version {lib.harmony_abi_version()}, this "
                          f"package expects {ABI_VERSION}; reinstall the package")
    signatures = {
        "harmony_fit_params_default": (None, [ctypes.POINTER(FitParams), ctypes.c_int32]),
        "harmony_fit": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                         ctypes.POINTER(Covariate), ctypes.c_int64, ctypes.POINTER(FitParams),
                                         PROGRESS, ctypes.c_void_p, ctypes.POINTER(FitOutputs), *_ERR]),
        "harmony_gene_space_params_default": (None, [ctypes.POINTER(GeneSpaceParams)]),
        "harmony_reference_build": (ctypes.c_int32, [ctypes.POINTER(Expression), ctypes.POINTER(Covariate),
                                                     ctypes.c_int64, ctypes.POINTER(GeneSpaceParams),
                                                     ctypes.POINTER(FitParams), PROGRESS, ctypes.c_void_p,
                                                     ctypes.POINTER(FitOutputs), ctypes.POINTER(ctypes.c_float),
                                                     *_ERR]),
        "harmony_map_expression": (ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(Expression),
                                                    ctypes.POINTER(ctypes.c_char_p), ctypes.c_double,
                                                    ctypes.POINTER(Covariate), ctypes.POINTER(MapParams),
                                                    ctypes.POINTER(ctypes.c_float), ctypes.POINTER(MapOutputs),
                                                    *_ERR]),
        "harmony_model_load": (ctypes.c_int32, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), *_ERR]),
        "harmony_model_save": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, *_ERR]),
        "harmony_model_free": (None, [ctypes.c_void_p]),
        "harmony_model_info_get": (None, [ctypes.c_void_p, ctypes.POINTER(ModelInfo)]),
        "harmony_model_describe": (ctypes.c_void_p, [ctypes.c_void_p]),
        "harmony_string_free": (None, [ctypes.c_void_p]),
        "harmony_map_params_default": (None, [ctypes.POINTER(MapParams)]),
        "harmony_map": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.POINTER(Covariate), ctypes.POINTER(MapParams),
                                         ctypes.POINTER(MapOutputs), *_ERR]),
        "harmony_umap_params_default": (None, [ctypes.POINTER(UmapParams)]),
        "harmony_umap": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                          ctypes.POINTER(UmapParams), ctypes.POINTER(ctypes.c_float), *_ERR]),
        "harmony_layout_place": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                                  ctypes.POINTER(ctypes.c_float), ctypes.c_void_p, ctypes.c_int32,
                                                  ctypes.c_int64, ctypes.POINTER(UmapParams), ctypes.c_int64,
                                                  ctypes.POINTER(ctypes.c_float), *_ERR]),
        "harmony_model_add_layout": (ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(UmapParams),
                                                      ctypes.POINTER(ctypes.c_void_p), *_ERR]),
        "harmony_model_layout_positions": (ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), *_ERR]),
        "harmony_model_place": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64,
                                                 ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(ctypes.c_float), *_ERR]),
        "harmony_lisi": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                          ctypes.POINTER(Covariate), ctypes.c_int64, ctypes.c_double, ctypes.c_int64,
                                          ctypes.POINTER(ctypes.c_double), *_ERR]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


lib = _load()


def call(function, *args) -> None:
    """Calls a status-returning entry point with a fresh error buffer; raises HarmonyError on failure."""
    err = ctypes.create_string_buffer(ERROR_BUFFER)
    status = function(*args, err, ERROR_BUFFER)
    if status != 0:
        raise HarmonyError(err.value.decode("utf-8", "replace"), status)


def pointer(array, ctype):
    """A ctypes pointer to a C-contiguous numpy array's data (None for None)."""
    if array is None:
        return None
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def strings(values):
    """A ctypes array of UTF-8 C strings (kept alive by the caller while the call runs)."""
    encoded = [str(v).encode("utf-8") for v in values]
    return (ctypes.c_char_p * max(1, len(encoded)))(*encoded)
