import COpenBLAS

// Seeded randomized truncated SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1) of an operator A
// (N x G) known only through the products A M and A^T Y, with subspace (power) iterations run to convergence:
//   Omega: G x l standard normals (SeededGenerator), l = d + oversampling;  Q = orth(A Omega);
//   repeat: Z = A^T Q (G x l) = B^T with B = Q^T A; the eigen-decomposition Z^T Z = W diag(S^2) W^T (l x l,
//     cyclic Jacobi) gives B's right singular vectors V = Z W / S and values S (Rayleigh-Ritz; forming Z^T Z
//     squares B's condition number, harmless for the leading d vectors that are kept); stop when each of the
//     first d columns of V moved by less than 1e-6 (1 - |<v_new, v_old>|) since the previous iteration, or after
//     `maxIterations`;
//     else Q = orth(A V) (orthonormalising between the products keeps the small directions from being lost).
// Single-cell spectra have small gaps past the first few PCs (e.g. singular values 70.3, 68.5, 68.2 on a
// 832-cell data set), where a fixed small number of iterations leaves PC 9-10 visibly rotated; the
// convergence test costs an l x l eigen-decomposition per iteration.
// Orthonormalisation is LAPACK's LQ factorisation (dgelqf + dorglq) of the row-major n x l buffer, which is the
// column-major l x n matrix whose rows we want orthonormal. Double precision throughout: the products are sparse
// loops where Double costs little more than Float, and the small SVD needs it.

/// A linear operator for the SVD: A is rows x columns.
protocol SVDOperator {
    var rowCount: Int { get }
    var columnCount: Int { get }
    /// A M, M columns x l row-major, result rows x l row-major.
    func times(_ m: [Double], cols l: Int) -> [Double]
    /// A^T Y, Y rows x l row-major, result columns x l row-major.
    func transposedTimes(_ y: [Double], cols l: Int) -> [Double]
}

extension ScaledExpression: SVDOperator {}

enum TruncatedSVD {
    /// The first `rank` right singular vectors (columns x rank, row-major, unit columns in decreasing singular
    /// value order) and singular values of `a`.
    static func randomized(_ a: some SVDOperator, rank: Int, oversampling: Int, maxIterations: Int,
                           seed: UInt64) throws -> (vectors: [Double], values: [Double], iterations: Int) {
        let n = a.rowCount, g = a.columnCount
        let l = min(rank + oversampling, n, g)
        guard rank >= 1, rank <= l else {
            throw HarmonyError.invalidInput("cannot compute \(rank) components from \(n) cells and \(g) genes")
        }
        var rng = SeededGenerator(seed: seed)
        var omega = [Double](repeating: 0, count: g * l)
        for k in 0..<omega.count { omega[k] = rng.normal() }
        var q = try orthonormalizeColumns(a.times(omega, cols: l), rows: n, cols: l)
        var previous: [Double] = []
        var iteration = 0
        while true {
            iteration += 1
            let (v, s) = ritzVectors(a.transposedTimes(q, cols: l), rows: g, cols: l)
            if iteration >= maxIterations || (!previous.isEmpty && settled(v, previous, rows: g, cols: l, rank: rank)) {
                var vectors = [Double](repeating: 0, count: g * rank)
                for i in 0..<g { for j in 0..<rank { vectors[i * rank + j] = v[i * l + j] } }
                return (vectors, Array(s.prefix(rank)), iteration)
            }
            previous = v
            q = try orthonormalizeColumns(a.times(v, cols: l), rows: n, cols: l)
        }
    }

    /// Whether each of the first `rank` columns of `v` is within 1e-6 of the same column of `old` (up to sign).
    static func settled(_ v: [Double], _ old: [Double], rows: Int, cols: Int, rank: Int) -> Bool {
        for j in 0..<rank {
            var dot = 0.0
            for i in 0..<rows { dot += v[i * cols + j] * old[i * cols + j] }
            if 1 - abs(dot) >= 1e-6 { return false }
        }
        return true
    }

    /// Orthonormal columns spanning those of the row-major rows x cols matrix `m` (rows >= cols).
    static func orthonormalizeColumns(_ m: [Double], rows: Int, cols: Int) throws -> [Double] {
        BLAS.prepareLAPACK()   // else the first PCA of a process rounds differently from later ones
        var a = m
        var mm = Int32(cols), nn = Int32(rows), kk = Int32(cols), lda = Int32(cols), info: Int32 = 0
        var tau = [Double](repeating: 0, count: cols)
        var query = 0.0, lwork: Int32 = -1
        dgelqf_(&mm, &nn, &a, &lda, &tau, &query, &lwork, &info)
        var work = [Double](repeating: 0, count: max(1, Int(query)))
        lwork = Int32(work.count)
        dgelqf_(&mm, &nn, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw HarmonyError.numerical("PCA: LQ factorisation failed (info \(info))") }
        lwork = -1
        dorglq_(&mm, &nn, &kk, &a, &lda, &tau, &query, &lwork, &info)
        if Int(query) > work.count { work = [Double](repeating: 0, count: Int(query)) }
        lwork = Int32(work.count)
        dorglq_(&mm, &nn, &kk, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw HarmonyError.numerical("PCA: forming the orthonormal basis failed (info \(info))") }
        return a
    }

    /// Left singular vectors (rows x cols, row-major, unit columns; a zero singular value gives a zero column) and
    /// singular values, in decreasing order, of the row-major rows x cols matrix `z`, from the eigen-decomposition
    /// of its Gram matrix.
    static func ritzVectors(_ z: [Double], rows: Int, cols: Int) -> ([Double], [Double]) {
        var gram = [Double](repeating: 0, count: cols * cols)
        z.withUnsafeBufferPointer { zb in
            BLAS.dgemm(transA: true, m: cols, n: cols, k: rows, a: zb.baseAddress!, lda: cols, b: zb.baseAddress!,
                       ldb: cols, c: &gram, ldc: cols)
        }
        let (values, w) = SymmetricEigen.decompose(gram, size: cols)
        let s = values.map { $0.squareRoot() }
        var v = [Double](repeating: 0, count: rows * cols)
        z.withUnsafeBufferPointer { zb in
            BLAS.dgemm(m: rows, n: cols, k: cols, a: zb.baseAddress!, lda: cols, b: w, ldb: cols, c: &v, ldc: cols)
        }
        let scale = s.map { $0 > 1e-12 * (s.first ?? 0) && $0 > 0 ? 1 / $0 : 0 }
        for i in 0..<rows { for j in 0..<cols { v[i * cols + j] *= scale[j] } }
        return (v, s)
    }
}
