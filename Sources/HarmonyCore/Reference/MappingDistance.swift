// Symphony's per-cell mapping metric: for a query cell with UNCORRECTED embedding z_i and soft assignments R_i.,
//   mapping_distance_i = sum_k R_ik * sqrt((z_i - mu_k)^T Sigma_k^-1 (z_i - mu_k))
// with the reference clusters' centres and covariances (`ClusterSpread`). Higher means less like the reference.
//
// Each Sigma_k is factored once per model, Sigma_k = L_k L_k^T (Cholesky, Double), so the Mahalanobis distance
// is |L_k^-1 (z - mu_k)|. With row vectors, y = z W_k - mu_k W_k where W_k = L_k^-T (upper triangular): the
// W_k of all clusters side by side form one d x (K d) matrix, and a block of cells gets every cluster's
// whitened coordinates from one DGEMM. Double throughout: a tight cluster far from the origin makes mu_k W_k
// large next to the differences that matter.
//
// A covariance that is not numerically positive definite (a pivot <= 1e-12 times its largest variance, e.g. a
// cluster of identical cells or fewer cells than dimensions) gets a ridge: Sigma_k + rho I with
// rho = 1e-9 times the mean variance over all clusters, multiplied by 10 until the factorization succeeds.

/// Per-cell mapping distances against a reference's cluster spread; built once per model, then read-only.
public struct MappingDistance: Sendable {
    /// Number of clusters K.
    public let clusterCount: Int
    /// Embedding dimension d.
    public let dimension: Int
    // W = [W_0 ... W_{K-1}], d x (K d) row-major, W_k = L_k^-T.
    let whitening: [Double]
    // mu_k W_k for every k, K d values.
    let whitenedCentres: [Double]
    /// Per cluster, the ridge added to its covariance before factoring (0 for most).
    public let ridges: [Double]

    /// Cells per DGEMM block (the block's K d whitened coordinates stay a few MB).
    static let block = 128

    /// Factors the covariances of `spread`.
    public init(spread: ClusterSpread) {
        let k = spread.clusterCount, d = spread.dimension
        clusterCount = k
        dimension = d
        var totalVariance = 0.0
        for c in 0..<k { for a in 0..<d { totalVariance += spread.covariances[c * d * d + a * d + a] } }
        let meanVariance = totalVariance / Double(k * d)
        let ridgeBase = 1e-9 * (meanVariance > 0 && meanVariance.isFinite ? meanVariance : 1)
        var w = [Double](repeating: 0, count: d * k * d)
        var centres = [Double](repeating: 0, count: k * d)
        var ridges = [Double](repeating: 0, count: k)
        for c in 0..<k {
            let sigma = Array(spread.covariances[(c * d * d)..<((c + 1) * d * d)])
            var ridge = 0.0
            var factor = Self.cholesky(sigma, d: d, ridge: 0)
            while factor == nil {
                ridge = ridge == 0 ? ridgeBase : ridge * 10
                factor = Self.cholesky(sigma, d: d, ridge: ridge)
            }
            ridges[c] = ridge
            let inverse = Self.lowerInverse(factor!, d: d)
            // W_k[a][b] = (L^-1)^T[a][b] = L^-1[b][a], placed at columns c*d ..< (c+1)*d of W.
            for a in 0..<d {
                for b in 0..<d { w[a * (k * d) + c * d + b] = inverse[b * d + a] }
            }
            for b in 0..<d {
                var s = 0.0
                for a in 0..<d { s += spread.centres.values[c * d + a] * inverse[b * d + a] }
                centres[c * d + b] = s
            }
        }
        whitening = w
        whitenedCentres = centres
        self.ridges = ridges
    }

    /// mapping_distance of each cell: `cells` n x d (uncorrected), `assignments` R, n x K.
    public func distances(cells: Matrix<Float>, assignments r: Matrix<Float>) -> [Double] {
        precondition(cells.cols == dimension && r.cols == clusterCount && r.rows == cells.rows,
                     "cells \(cells.rows) x \(cells.cols) and R \(r.rows) x \(r.cols) do not fit K \(clusterCount), d \(dimension)")
        let n = cells.rows, d = dimension, k = clusterCount, kd = k * d
        var out = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: Self.block * d)
        var y = [Double](repeating: 0, count: Self.block * kd)
        for start in stride(from: 0, to: n, by: Self.block) {
            let m = min(Self.block, n - start)
            for e in 0..<(m * d) { z[e] = Double(cells.values[start * d + e]) }
            BLAS.dgemm(m: m, n: kd, k: d, a: z, lda: d, b: whitening, ldb: kd, beta: 0, c: &y, ldc: kd)
            for row in 0..<m {
                let i = start + row
                var total = 0.0
                for c in 0..<k {
                    var ss = 0.0
                    let base = row * kd + c * d
                    for b in 0..<d {
                        let v = y[base + b] - whitenedCentres[c * d + b]
                        ss += v * v
                    }
                    total += Double(r.values[i * k + c]) * ss.squareRoot()
                }
                out[i] = total
            }
        }
        return out
    }

    /// L with L L^T = sigma + ridge I (d x d row-major, lower), or nil if a pivot is not clearly positive.
    static func cholesky(_ sigma: [Double], d: Int, ridge: Double) -> [Double]? {
        var largest = 0.0
        for a in 0..<d { largest = max(largest, sigma[a * d + a] + ridge) }
        guard largest > 0 else { return nil }
        var l = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            var pivot = sigma[j * d + j] + ridge
            for p in 0..<j { pivot -= l[j * d + p] * l[j * d + p] }
            guard pivot > 1e-12 * largest, pivot.isFinite else { return nil }
            let diagonal = pivot.squareRoot()
            l[j * d + j] = diagonal
            for i in (j + 1)..<d {
                var s = sigma[i * d + j]
                for p in 0..<j { s -= l[i * d + p] * l[j * d + p] }
                l[i * d + j] = s / diagonal
            }
        }
        return l
    }

    /// L^-1 of a lower-triangular L (d x d row-major) by forward substitution, column by column.
    static func lowerInverse(_ l: [Double], d: Int) -> [Double] {
        var inv = [Double](repeating: 0, count: d * d)
        for col in 0..<d {
            for i in col..<d {
                var s = i == col ? 1.0 : 0.0
                for p in col..<i { s -= l[i * d + p] * inv[p * d + col] }
                inv[i * d + col] = s / l[i * d + i]
            }
        }
        return inv
    }
}
