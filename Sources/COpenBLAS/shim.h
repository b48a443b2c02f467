// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). The include path comes from pkg-config.
#include <cblas.h>

// LAPACK routines that libopenblas exports (Fortran calling convention: every argument by pointer). Declared here
// rather than through lapacke.h, which Debian ships in a separate package. A routine with character arguments
// takes their lengths after the others, by value (gfortran's hidden arguments), and they are declared.

/// LQ factorisation of the m x n column-major matrix a (m <= n): a = L Q.
void dgelqf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
             int *info);
/// Forms the first m rows of Q (k reflectors) from dgelqf's output, in place.
void dorglq_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau, double *work,
             const int *lwork, int *info);

/// Selected eigenvalues (ascending) and eigenvectors of the symmetric n x n column-major matrix a (MRRR); `range`
/// 'I' selects the il-th to iu-th smallest. a is destroyed. The last three arguments are the lengths of the
/// character arguments jobz, range and uplo (1 each).
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info, size_t jobz_len, size_t range_len, size_t uplo_len);

/// Hints that the cache line holding p will be read soon (prefetch into all cache levels); no effect on results.
/// Used by the clustering rounds, which read rows scattered over a large array.
static inline void harmony_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
