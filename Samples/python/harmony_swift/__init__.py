"""Harmony for Swift in Python: Harmony integration, reference building and query mapping in process (a
native library called on numpy buffers), plus a client for the harmonyd daemon.

    import harmony_swift as hs
    hs.pp.harmony_integrate(adata, "batch")                  # obsm["X_pca_harmony"]
    ref = hs.tl.build_reference(adata, "batch", label_key="cell_type"); ref.save("ref.hmod")
    hs.tl.map_query(query, hs.Reference.load("ref.hmod"), "sample")
    result = hs.run_harmony(pcs, meta, "batch")              # harmonypy's function, result.Z_corr
    hs.tl.umap(adata); hs.tl.lisi(adata, ["batch"])          # obsm["X_umap"], obs["lisi_batch"]
    hs.pl.embedding(adata, color=["batch", "cell_type"], save="umap.png")   # matplotlib pictures
"""

__version__ = "0.1.0"

from ._native import HarmonyError  # noqa: E402
from ._core import HarmonyResult, MappedQuery, Reference, run_harmony  # noqa: E402
from . import pl, pp, tl  # noqa: E402
from .client import Client  # noqa: E402

__all__ = ["Client", "HarmonyError", "HarmonyResult", "MappedQuery", "Reference", "pl", "pp", "run_harmony", "tl",
           "__version__"]
