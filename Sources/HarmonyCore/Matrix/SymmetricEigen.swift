// Eigenpairs of a small dense symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan, section 8.5): sweeps
// of rotations that zero each off-diagonal entry in turn. Exact enough for sizes up to a few hundred and fully
// deterministic; Double throughout. Used by the truncated SVD (the Gram matrix of a thin basis) and by UMAP's start
// (the covariance of the input).

/// Eigen-decomposition of small symmetric matrices.
enum SymmetricEigen {
    /// Eigenvalues (decreasing, negative rounding clamped to 0) and eigenvectors (columns of a row-major n x n) of a
    /// symmetric n x n matrix by the cyclic Jacobi method, sweeping until the off-diagonal mass is below 1e-30 of
    /// the total (at most 100 sweeps).
    static func decompose(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix, v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        var total = 0.0
        for x in a { total += x * x }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for r in (p + 1)..<n { off += a[p * n + r] * a[p * n + r] } }
            if off <= 1e-30 * total { break }
            for p in 0..<n {
                for r in (p + 1)..<n where a[p * n + r] != 0 {
                    let theta = (a[r * n + r] - a[p * n + p]) / (2 * a[p * n + r])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), sn = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akr = a[k * n + r]
                        a[k * n + p] = c * akp - sn * akr
                        a[k * n + r] = sn * akp + c * akr
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], ark = a[r * n + k]
                        a[p * n + k] = c * apk - sn * ark
                        a[r * n + k] = sn * apk + c * ark
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkr = v[k * n + r]
                        v[k * n + p] = c * vkp - sn * vkr
                        v[k * n + r] = sn * vkp + c * vkr
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] || (a[$0 * n + $0] == a[$1 * n + $1] && $0 < $1) }
        var vectors = [Double](repeating: 0, count: n * n)
        for (k, j) in order.enumerated() { for i in 0..<n { vectors[i * n + k] = v[i * n + j] } }
        return (order.map { max(0, a[$0 * n + $0]) }, vectors)
    }

    /// The `count` eigenvectors of the largest eigenvalues of the `size` x `size` row-major symmetric `matrix`,
    /// each of unit length and signed so that its largest-magnitude component is positive.
    static func topVectors(_ matrix: [Double], size d: Int, count: Int) -> [[Double]] {
        let (_, v) = decompose(matrix, size: d)
        return (0..<min(count, d)).map { column in
            var vector = (0..<d).map { v[$0 * d + column] }
            let largest = vector.indices.max { abs(vector[$0]) < abs(vector[$1]) } ?? 0
            if vector[largest] < 0 { vector = vector.map { -$0 } }
            return vector
        }
    }
}
