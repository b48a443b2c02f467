import COpenBLAS

// Thin wrappers over OpenBLAS for the row-major products of the fit.
//
// Determinism contract: OpenBLAS is switched to one thread the first time a wrapper (or prepareLAPACK) runs. All parallelism is
// ours (fixed tasks, see TaskRunner), so a product over a given task never depends on how many threads run.

/// Row-major single- and double-precision GEMM over raw buffers.
enum BLAS {
    /// Sets OpenBLAS to single-threaded mode once per process.
    private static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Switches OpenBLAS to one thread (once per process) before a direct LAPACK call: LAPACK's blocked routines
    /// run their products through OpenBLAS, and their rounding depends on its thread count.
    static func prepareLAPACK() {
        _ = singleThreaded
    }

    /// C (m x n) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) is k x n.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
    @inline(__always)
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The double-precision counterpart of `sgemm`.
    @inline(__always)
    static func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
                      a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int, beta: Double = 0,
                      c: UnsafeMutablePointer<Double>, ldc: Int) {
        _ = singleThreaded
        guard m > 0, n > 0 else { return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y (n) = A^T x + beta * y for a row-major A (k x n, row stride `lda`) and x (k): one row's worth of a
    /// `dgemm`, without the packing of A that GEMM pays on every call (which dominates when m is 1).
    @inline(__always)
    static func dgemvTransposed(k: Int, n: Int, a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
                                beta: Double = 0, y: UnsafeMutablePointer<Double>) {
        _ = singleThreaded
        guard n > 0 else { return }
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// The single-precision counterpart of `dsyrkUpperTransposed`.
    @inline(__always)
    static func ssyrkUpperTransposed(n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        guard n > 0 else { return }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }

    /// The upper triangle of C (n x n) = alpha * A^T A + beta * C, row-major, with A k x n (row stride `lda`);
    /// the strictly lower triangle of C is left untouched. Half the work of the same product by `dgemm`.
    @inline(__always)
    static func dsyrkUpperTransposed(n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
                                     beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int) {
        _ = singleThreaded
        guard n > 0 else { return }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }
}
