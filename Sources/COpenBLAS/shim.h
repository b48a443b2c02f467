// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). The include path comes from pkg-config.
#include <cblas.h>

// LAPACK routines that libopenblas exports (Fortran calling convention: every argument by pointer). Declared here
// rather than through lapacke.h, which Debian ships in a separate package. No routine below takes a character
// argument, so the hidden string-length arguments of the Fortran ABI do not arise.

/// LQ factorisation of the m x n column-major matrix a (m <= n): a = L Q.
void dgelqf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
             int *info);
/// Forms the first m rows of Q (k reflectors) from dgelqf's output, in place.
void dorglq_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau, double *work,
             const int *lwork, int *info);

/// Hints that the cache line holding p will be read soon (prefetch into all cache levels); no effect on results.
/// Used by the clustering rounds, which read rows scattered over a large array.
static inline void harmony_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
