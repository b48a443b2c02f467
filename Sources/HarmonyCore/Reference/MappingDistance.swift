// Symphony's per-cell mapping metric: for a query cell with UNCORRECTED embedding z_i and soft assignments R_i.,
//   mapping_distance_i = sum_k R_ik * sqrt((z_i - mu_k)^T Sigma_k^-1 (z_i - mu_k))
// with the reference clusters' centres and covariances (`ClusterSpread`). Higher means less like the reference.
//
// Each Sigma_k is factored once per model, Sigma_k = L_k L_k^T (Cholesky, Double), which gives the precision
// P_k = Sigma_k^-1 = L_k^-T L_k^-1. The squared Mahalanobis distance is then a quadratic polynomial in z:
//   (z - mu_k)^T P_k (z - mu_k) = sum_a P_aa z_a^2 + sum_{a<b} 2 P_ab z_a z_b - sum_a 2 (P_k mu_k)_a z_a + mu_k^T P_k mu_k.
// With a cell's monomials m(z) = (z_a z_b for a <= b, then z_a), d(d+1)/2 + d values, and per cluster the matching
// coefficients, the squared distances of a block of cells to all K clusters are ONE DGEMM (cells x monomials) x
// (monomials x K), then a constant, a square root and a weight per (cell, cluster): about (d^2/2 + 3d/2) K
// multiply-adds a cell, and no per-cluster loop over d.
// Coordinates are first shifted by the mean of the cluster centres (the same polynomial of shifted z and shifted
// centres), which keeps the terms that cancel small. Double throughout: the terms of a cell far from a tight
// cluster are large next to the distance they sum to. The absolute error of a squared distance is about 1e-16
// times (|z|^2 + |mu_k|^2) / (the cluster's smallest variance), so it stays far below the 1e-5 at which it is
// compared with a direct solve; a sum that rounds below zero (a cell at a centre) counts as 0.
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
    // The point subtracted from every coordinate (mean of the centres), d values.
    let origin: [Double]
    // Coefficients of the monomials, monomialCount x K row-major: rows (a, b) for a <= b in row order, then a.
    let coefficients: [Double]
    // mu_k^T P_k mu_k per cluster (shifted centres).
    let constants: [Double]
    /// Per cluster, the ridge added to its covariance before factoring (0 for most).
    public let ridges: [Double]

    /// d(d+1)/2 products z_a z_b (a <= b) and d coordinates.
    var monomialCount: Int { dimension * (dimension + 1) / 2 + dimension }

    /// Cells per DGEMM block (a block's monomials and distances stay a few hundred KB).
    static let block = 128
    /// Blocks of fewer cells (a daemon's single-cell request, a request's last cells) go row by row through DGEMV:
    /// DGEMM would pack all K x monomials coefficients (400 KB at d 30, K 100) for them on every call.
    static let smallBlock = 8

    /// Factors the covariances of `spread`.
    public init(spread: ClusterSpread) {
        let k = spread.clusterCount, d = spread.dimension
        clusterCount = k
        dimension = d
        var totalVariance = 0.0
        for c in 0..<k { for a in 0..<d { totalVariance += spread.covariances[c * d * d + a * d + a] } }
        let meanVariance = totalVariance / Double(k * d)
        let ridgeBase = 1e-9 * (meanVariance > 0 && meanVariance.isFinite ? meanVariance : 1)
        var origin = [Double](repeating: 0, count: d)
        for c in 0..<k { for a in 0..<d { origin[a] += spread.centres.values[c * d + a] } }
        for a in 0..<d { origin[a] /= Double(k) }
        let monomials = d * (d + 1) / 2 + d
        var coefficients = [Double](repeating: 0, count: monomials * k)
        var constants = [Double](repeating: 0, count: k)
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
            let precision = Self.precision(lowerInverse: Self.lowerInverse(factor!, d: d), d: d)
            let mu = (0..<d).map { spread.centres.values[c * d + $0] - origin[$0] }
            var row = 0
            for a in 0..<d {
                for b in a..<d {
                    coefficients[row * k + c] = a == b ? precision[a * d + a] : 2 * precision[a * d + b]
                    row += 1
                }
            }
            var quadratic = 0.0
            for a in 0..<d {
                var pmu = 0.0
                for b in 0..<d { pmu += precision[a * d + b] * mu[b] }
                coefficients[(row + a) * k + c] = -2 * pmu
                quadratic += mu[a] * pmu
            }
            constants[c] = quadratic
        }
        self.origin = origin
        self.coefficients = coefficients
        self.constants = constants
        self.ridges = ridges
    }

    /// mapping_distance of each cell: `cells` n x d (uncorrected), `assignments` R, n x K.
    public func distances(cells: Matrix<Float>, assignments r: Matrix<Float>) -> [Double] {
        precondition(cells.cols == dimension && r.cols == clusterCount && r.rows == cells.rows,
                     "cells \(cells.rows) x \(cells.cols) and R \(r.rows) x \(r.cols) do not fit K \(clusterCount), d \(dimension)")
        let n = cells.rows, d = dimension, k = clusterCount, width = monomialCount
        var out = [Double](repeating: 0, count: n)
        let rows = min(Self.block, n)
        var monomials = [Double](repeating: 0, count: rows * width)
        var squared = [Double](repeating: 0, count: rows * k)
        var z = [Double](repeating: 0, count: d)
        for start in stride(from: 0, to: n, by: Self.block) {
            let m = min(Self.block, n - start)
            for row in 0..<m {
                for a in 0..<d { z[a] = Double(cells.values[(start + row) * d + a]) - origin[a] }
                var e = row * width
                for a in 0..<d {
                    for b in a..<d { monomials[e] = z[a] * z[b]; e += 1 }
                }
                for a in 0..<d { monomials[e + a] = z[a] }
            }
            if m >= Self.smallBlock {
                BLAS.dgemm(m: m, n: k, k: width, a: monomials, lda: width, b: coefficients, ldb: k, beta: 0,
                           c: &squared, ldc: k)
            } else {
                monomials.withUnsafeBufferPointer { mb in
                    squared.withUnsafeMutableBufferPointer { sb in
                        for row in 0..<m {
                            BLAS.dgemvTransposed(k: width, n: k, a: coefficients, lda: k, x: mb.baseAddress! + row * width,
                                                 y: sb.baseAddress! + row * k)
                        }
                    }
                }
            }
            for row in 0..<m {
                let i = start + row
                var total = 0.0
                for c in 0..<k {
                    let s = max(0, squared[row * k + c] + constants[c])
                    total += Double(r.values[i * k + c]) * s.squareRoot()
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

    /// P = L^-T L^-1 (d x d row-major, symmetric) from L^-1 (lower).
    static func precision(lowerInverse inv: [Double], d: Int) -> [Double] {
        var p = [Double](repeating: 0, count: d * d)
        for a in 0..<d {
            for b in a..<d {
                // (L^-T L^-1)_ab = sum_c L^-1[c][a] L^-1[c][b], non-zero only for c >= max(a, b) = b.
                var s = 0.0
                for c in b..<d { s += inv[c * d + a] * inv[c * d + b] }
                p[a * d + b] = s
                p[b * d + a] = s
            }
        }
        return p
    }
}
