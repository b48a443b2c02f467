/*
 * harmony.h: the C interface of libHarmonyC (Harmony for Swift), used by the Python package
 * harmony_swift through ctypes. Every function that can fail returns a status (HARMONY_OK or an error code)
 * and, on failure, writes a one-sentence message into the caller's buffer `err` of `err_len` bytes (always
 * NUL-terminated, cut at a UTF-8 character boundary; may be NULL). On failure no output buffer is written.
 * Nothing is kept per thread or per process between calls, so calls may run concurrently; a model handle is
 * immutable and may be shared between threads.
 *
 * Arrays are row-major and C-contiguous; cells are rows. Inputs are read in place (never retained after the
 * call returns); outputs are written into buffers the caller allocated with the documented sizes.
 * The library changes no process-wide setting when it is loaded. (HarmonyCore runs OpenBLAS single-threaded,
 * switching it once on its first product; its own worker threads are the `threads` parameters.)
 */
#ifndef HARMONY_H
#define HARMONY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below or a signature changes; bindings check it before any other call. */
#define HARMONY_ABI_VERSION 3

enum harmony_status {
    HARMONY_OK = 0,
    HARMONY_INVALID_PARAMETER = 1, /* a parameter is out of range or does not fit the data */
    HARMONY_INVALID_INPUT = 2,     /* the data cannot be used (non-finite value, one level, ...) */
    HARMONY_FILE_FORMAT = 3,       /* a file could not be parsed */
    HARMONY_IO = 4,                /* a file could not be opened, written or renamed */
    HARMONY_NUMERICAL = 5,         /* a numerical invariant failed */
};

enum harmony_dtype { HARMONY_FLOAT32 = 0, HARMONY_FLOAT64 = 1 };
enum harmony_index_dtype { HARMONY_INT32 = 0, HARMONY_INT64 = 1 };

/* The ABI version the library was built with (HARMONY_ABI_VERSION). */
int32_t harmony_abi_version(void);

/* A batch variable: one code per cell in 0..<level_count, and the level names (for reference models). */
typedef struct {
    const char *name;
    const int32_t *codes;       /* n codes */
    int64_t level_count;
    const char *const *levels;  /* level_count names */
} harmony_covariate;

/* Every parameter of a fit. Fill with harmony_fit_params_default, then change what the caller sets. */
typedef struct {
    int32_t preset;               /* 0: harmony2 (R harmony 2.x, harmonypy 2.1), 1: harmony1 */
    const double *theta;          /* 1, one per covariate or one per level (all covariates' levels in order) */
    int64_t theta_count;
    const double *sigma;          /* 1 or one per cluster */
    int64_t sigma_count;
    int32_t lambda_dynamic;       /* 1: lambda = alpha * E (harmony2); 0: fixed `lambda` values */
    double alpha;
    const double *lambda;         /* fixed lambda: 1 or one per covariate */
    int64_t lambda_count;
    int64_t nclust;               /* 0: min(round(N / 30), 100) */
    double tau;
    double block_size;
    int64_t max_iter;
    int64_t max_iter_cluster;
    double epsilon_cluster;
    double epsilon_harmony;
    int32_t early_stop;
    double batch_prop_cutoff;
    uint64_t seed;
    int64_t threads;              /* 0: every core; results do not depend on it */
} harmony_fit_params;

/* Called after each iteration with the 1-based iteration and the objective after its clustering. */
typedef void (*harmony_progress_fn)(void *context, int64_t iteration, double objective);

/* Where a fit writes its results. `corrected` is required; the rest may be NULL / 0. */
typedef struct {
    float *corrected;             /* n x d */
    double *objective;            /* the objective after initialisation, then after each iteration */
    int64_t objective_capacity;   /* max_iter + 1 values always suffice */
    int64_t objective_count;      /* out: values written */
    int64_t iterations;           /* out */
    int32_t converged;            /* out */
    int64_t clusters;             /* out: K */
    double fit_seconds;           /* out */
    /* Reference model: when `model` is not NULL, *model receives a new handle (free it). */
    struct harmony_model **model;
    const char *const *cell_ids;  /* n ids, or NULL for "0", "1", ... */
    const char *label_name;       /* label column stored for label transfer, or NULL */
    const int32_t *label_codes;   /* n codes into label_values */
    int64_t label_count;
    const char *const *label_values;
    int32_t compact;              /* leave the reference cells out of the model */
    /* The objective per clustering round (may be NULL): after initialisation, then after every round. */
    double *objective_kmeans;
    int64_t objective_kmeans_capacity;  /* max_iter x max_iter_cluster + 1 values always suffice */
    int64_t objective_kmeans_count;     /* out: values written */
    int64_t *cluster_rounds;            /* the clustering rounds of each iteration (may be NULL) */
    int64_t cluster_rounds_capacity;    /* max_iter values always suffice */
    int64_t cluster_rounds_count;       /* out: values written (the iterations run) */
} harmony_fit_outputs;

void harmony_fit_params_default(harmony_fit_params *params, int32_t preset);

/* Fits Harmony to `embedding` (n x d, float32 or float64) over `covariate_count` covariates. */
int32_t harmony_fit(const void *embedding, int32_t dtype, int64_t n, int64_t d,
                    const harmony_covariate *covariates, int64_t covariate_count,
                    const harmony_fit_params *params, harmony_progress_fn progress, void *progress_context,
                    harmony_fit_outputs *outputs, char *err, size_t err_len);

/* ---- reference models (.hmod) ---- */
typedef struct harmony_model harmony_model;

typedef struct {
    int64_t clusters;             /* K */
    int64_t dimensions;           /* d */
    int64_t cells;                /* reference cells */
    int64_t covariates;
    int64_t label_count;          /* 0 without labels */
    int32_t compact;
    int32_t has_genes;            /* the model holds a gene space (genes, statistics, loadings) */
    uint64_t model_version;
    int32_t has_cluster_spread;   /* the model can compute mapping distances (model format 2) */
    int32_t has_layout;           /* the model keeps its cells' 2-D layout (model format 3) */
} harmony_model_info;

int32_t harmony_model_load(const char *path, harmony_model **model, char *err, size_t err_len);
int32_t harmony_model_save(const harmony_model *model, const char *path, char *err, size_t err_len);
void harmony_model_free(harmony_model *model);
void harmony_model_info_get(const harmony_model *model, harmony_model_info *info);
/* A JSON object: covariates (name, levels), labels (name, values), sigma, theta, preset, ...
   The string is allocated by the library: release it with harmony_string_free. */
char *harmony_model_describe(const harmony_model *model);
void harmony_string_free(char *string);

/* ---- references from expression ---- */

/* A cells x genes expression matrix in compressed sparse row form (scipy.sparse.csr_matrix), read in place:
   row i holds indices[indptr[i] ..< indptr[i + 1]] (genes, strictly increasing within a row) with the values
   data[...] at the same positions. indptr has cells + 1 entries starting at 0. */
typedef struct {
    int64_t cells;
    int64_t genes;
    const void *indptr;             /* cells + 1 offsets, index_dtype */
    const void *indices;            /* gene of each stored value, index_dtype */
    int32_t index_dtype;            /* HARMONY_INT32 or HARMONY_INT64 (both arrays) */
    const void *data;               /* stored values, data_dtype */
    int32_t data_dtype;             /* HARMONY_FLOAT32 or HARMONY_FLOAT64 (rounded to float32 as read) */
    const char *const *gene_ids;    /* genes stable ids (e.g. Ensembl), or NULL: the names serve as ids */
    const char *const *gene_names;  /* genes symbols */
} harmony_expression;

/* How the gene space (genes, statistics, loadings) is built; the same choices as `harmony reference`. */
typedef struct {
    int32_t normalized;             /* 1: the values are log-normalized already and used as given */
    double target_sum;              /* counts per cell before ln(1 + x) (default 1e4) */
    int64_t min_cells;              /* variable-gene candidates are detected in at least this many cells (3) */
    int64_t variable_genes;         /* number of seurat_v3 variable genes (2000) */
    const char *const *genes;       /* or exactly these genes (ids or names), gene_count of them; NULL: variable */
    int64_t gene_count;
    int64_t components;             /* principal components d (20) */
} harmony_gene_space_params;

void harmony_gene_space_params_default(harmony_gene_space_params *params);

/* Builds a reference from expression as `harmony reference` does: variable genes over the levels of the first
   covariate, scaling, a seeded PCA (params->seed, params->threads), then the Harmony fit of the PCs over every
   covariate. outputs->model is required, outputs->corrected receives the corrected PCs (cells x components),
   outputs->cell_ids names the cells; `pcs` (cells x components, may be NULL) receives the uncorrected PCs. */
int32_t harmony_reference_build(const harmony_expression *expression, const harmony_covariate *covariates,
                                int64_t covariate_count, const harmony_gene_space_params *space,
                                const harmony_fit_params *params, harmony_progress_fn progress,
                                void *progress_context, harmony_fit_outputs *outputs, float *pcs,
                                char *err, size_t err_len);

/* ---- mapping query cells ---- */
typedef struct {
    double query_lambda;          /* ridge pseudo-count of new batches (default 1) */
    double sigma;                 /* 0: the model's sigma per cluster */
    int32_t joint;                /* 1: all new batches share one intercept (Symphony's mapQuery) */
    int32_t k;                    /* neighbours per kNN label vote */
    int32_t cluster_labels;       /* 1: labels from per-cluster frequencies even with a full model */
    int64_t threads;
} harmony_map_params;

/* Where a mapping writes its results; `corrected` is required, every other pointer may be NULL.
   Labels need a model with labels. Fields may be added at the end in later ABI versions. */
typedef struct {
    float *corrected;             /* n x d */
    int32_t *top_cluster;         /* n */
    float *top_probability;       /* n */
    int32_t *label_codes;         /* n codes into the model's label values */
    float *label_confidence;      /* n */
    double *mapping_distance;     /* n; needs a model with cluster spreads (has_cluster_spread) */
} harmony_map_outputs;

void harmony_map_params_default(harmony_map_params *params);

/* Maps `query` (n x d in the reference's space) with one batch variable named `batch.name`: cells whose level
   is a reference level of that covariate use the reference's terms, other batches are estimated. */
int32_t harmony_map(const harmony_model *model, const void *query, int32_t dtype, int64_t n, int64_t d,
                    const harmony_covariate *batch, const harmony_map_params *params,
                    harmony_map_outputs *outputs, char *err, size_t err_len);

/* Maps query expression (counts, or log-normalized values for a model built from such) onto a model with genes:
   the query's genes are matched to the reference's (by id, then by name; reference genes the query lacks stand at
   the reference mean, and fewer than `minimum_overlap` (0..1, e.g. 0.5) of them present is an error), each cell
   is normalized with its whole-library total, scaled and projected on the loadings, then mapped as harmony_map
   maps. `cell_ids` (n, or NULL) name cells in messages; `projection` (n x d, may be NULL) receives the
   uncorrected projection. */
int32_t harmony_map_expression(const harmony_model *model, const harmony_expression *expression,
                               const char *const *cell_ids, double minimum_overlap, const harmony_covariate *batch,
                               const harmony_map_params *params, float *projection, harmony_map_outputs *outputs,
                               char *err, size_t err_len);

/* ---- 2-D layouts (UMAP) and LISI ---- */

/* The settings of a UMAP layout, `harmony umap`'s options. Fill with harmony_umap_params_default. */
typedef struct {
    int64_t neighbors;            /* kNN graph neighbours per cell, the cell itself not counted (15) */
    double min_dist;              /* how tightly points may pack (0.1) */
    double spread;                /* scale of the attraction curve beyond min_dist (1) */
    int64_t epochs;               /* 0: 500 up to 10,000 cells, 200 above */
    double learning_rate;         /* initial SGD step (1) */
    int64_t negative_sample_rate; /* negative samples per positive one (5) */
    double repulsion;             /* weight of the repulsive term (1, umap-learn's repulsion_strength) */
    uint64_t seed;                /* same seed and input, same layout bit for bit */
    int64_t threads;              /* neighbour search threads, 0: every core; the layout does not depend on it */
} harmony_umap_params;

void harmony_umap_params_default(harmony_umap_params *params);

/* The UMAP layout of `embedding` (n x d, float32 or float64; computed in float64, as `harmony umap` reads its
   files) into `layout` (n x 2 float32): the same numbers as `harmony umap` with the same settings. */
int32_t harmony_umap(const void *embedding, int32_t dtype, int64_t n, int64_t d, const harmony_umap_params *params,
                     float *layout, char *err, size_t err_len);

/* Places `query` cells (n x d) on `reference_layout` (reference_count x 2 float32), the layout of the reference
   cells `reference` (reference_count x d): each query cell's params->neighbors nearest reference cells give it
   UMAP memberships, it starts at their weighted mean position and `epochs` SGD epochs with the reference fixed
   settle it (-1: 100 up to 10,000 query cells, 30 above; 0: the weighted mean). Writes `placed` (n x 2 float32);
   the same numbers as `harmony plot mapping --placed-out`. Both embeddings are read in float32. */
int32_t harmony_layout_place(const void *reference, int32_t reference_dtype, int64_t reference_count, int64_t d,
                             const float *reference_layout, const void *query, int32_t query_dtype, int64_t n,
                             const harmony_umap_params *params, int64_t epochs, float *placed,
                             char *err, size_t err_len);

/* Per-cell LISI (Local Inverse Simpson's Index) of `embedding` (n x d, float32 or float64) for each of
   `label_set_count` label sets (covariate structs: codes per cell; names are not used), as `harmony lisi`:
   the effective number of labels among each cell's 3 x perplexity nearest cells. Writes `scores`
   (label_set_count x n float64, one label set after the other; -1 where every kernel weight underflowed). */
int32_t harmony_lisi(const void *embedding, int32_t dtype, int64_t n, int64_t d, const harmony_covariate *labels,
                     int64_t label_set_count, double perplexity, int64_t threads, double *scores,
                     char *err, size_t err_len);

/* ---- a model's 2-D layout (model format 3) ---- */

/* A new handle (*out, free it) for `model` with the UMAP layout of its reference cells' corrected embedding
   (as `harmony reference --layout`; the model must keep its cells, i.e. not be compact). */
int32_t harmony_model_add_layout(const harmony_model *model, const harmony_umap_params *params, harmony_model **out,
                                 char *err, size_t err_len);

/* Copies the model's layout (cells x 2 float32, the order of the model's cells) into `positions`. Its settings
   are in harmony_model_describe's "layout" object. */
int32_t harmony_model_layout_positions(const harmony_model *model, float *positions, char *err, size_t err_len);

/* Places mapped query cells (n x d: the corrected embedding of harmony_map) on the model's layout with the
   layout's settings, as `harmony map --layout-out`. Writes `placed` (n x 2 float32). */
int32_t harmony_model_place(const harmony_model *model, const void *mapped, int32_t dtype, int64_t n, int64_t d,
                            int64_t threads, float *placed, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
