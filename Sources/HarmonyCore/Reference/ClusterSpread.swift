// Where each reference cluster sits and how it spreads in the UNCORRECTED reference embedding (Symphony's
// per-cell mapping metric, see `MappingDistance`). For cluster k with weights w_i = R_ik / N_k (sum 1):
//   mu_k    = sum_i w_i x_i
//   Sigma_k = sum_i w_i (x_i - mu_k)(x_i - mu_k)^T / (1 - sum_i w_i^2)      (R's cov.wt, unbiased)
// Accumulated in Double (sums over up to millions of cells) in two passes: the centres first, then the
// covariances of the centred cells, so a cluster far from the origin loses no digits to cancellation.

/// Per reference cluster, the R-weighted centre and covariance of the reference cells' uncorrected embedding.
public struct ClusterSpread: Sendable, Equatable {
    /// mu_k, K x d.
    public let centres: Matrix<Double>
    /// Sigma_k for k = 0..<K, each d x d row-major, concatenated (K * d * d values); symmetric.
    public let covariances: [Double]

    /// Number of clusters K.
    public var clusterCount: Int { centres.rows }
    /// Embedding dimension d.
    public var dimension: Int { centres.cols }

    /// A spread from its parts, checking shapes, finiteness, symmetry and non-negative variances.
    public init(centres: Matrix<Double>, covariances: [Double]) throws {
        let k = centres.rows, d = centres.cols
        func bad(_ m: String) -> HarmonyError { .invalidInput("cluster spread: \(m)") }
        guard k >= 1, d >= 1, covariances.count == k * d * d else {
            throw bad("\(covariances.count) covariance values for \(k) clusters of dimension \(d)")
        }
        guard centres.values.allSatisfy({ $0.isFinite }), covariances.allSatisfy({ $0.isFinite }) else {
            throw bad("centres and covariances must be finite")
        }
        for c in 0..<k {
            let base = c * d * d
            for a in 0..<d {
                guard covariances[base + a * d + a] >= 0 else { throw bad("cluster \(c) has a negative variance") }
                for b in 0..<a where covariances[base + a * d + b] != covariances[base + b * d + a] {
                    throw bad("the covariance of cluster \(c) is not symmetric")
                }
            }
        }
        self.centres = centres
        self.covariances = covariances
    }

    /// Sigma_k as a d x d matrix.
    public func covariance(_ k: Int) -> Matrix<Double> {
        let d = dimension
        return Matrix(rows: d, cols: d, values: Array(covariances[(k * d * d)..<((k + 1) * d * d)]))
    }

    /// Cells per block when centring and accumulating one cluster's covariance.
    static let block = 1024

    /// The spread of `embedding` (N x d, uncorrected) under the soft assignments `assignments` (N x K).
    /// A cluster without mass gets a zero centre and covariance; one whose weight sits on a single cell
    /// (1 - sum w^2 = 0, where cov.wt divides by zero) gets a zero covariance. Clusters run in parallel, each
    /// in a fixed cell order, so the result does not depend on the thread count.
    static func compute(embedding x: Matrix<Float>, assignments r: Matrix<Float>, threads: Int = 0,
                        policy: ThreadPolicy = .sharedPool) throws -> ClusterSpread {
        let n = x.rows, d = x.cols, k = r.cols
        let (mass, sums) = ReferenceModel.clusterStatistics(assignments: r, corrected: x)
        var centres = Matrix<Double>(rows: k, cols: d)
        for c in 0..<k where mass[c] > 0 {
            for j in 0..<d { centres.values[c * d + j] = sums.values[c * d + j] / mass[c] }
        }
        var covariances = [Double](repeating: 0, count: k * d * d)
        covariances.withUnsafeMutableBufferPointer { cb in
            // Tasks write disjoint clusters.
            TaskRunner(requested: threads, policy: policy).run(k) { c in
                guard mass[c] > 0 else { return }
                let out = cb.baseAddress! + c * d * d
                // a = rows sqrt(R_ic) (x_i - mu_c) of a block; out += a^T a (upper triangle, mirrored below).
                var a = [Double](repeating: 0, count: block * d)
                var squares = 0.0
                for start in stride(from: 0, to: n, by: block) {
                    let m = min(block, n - start)
                    for row in 0..<m {
                        let i = start + row
                        let w = Double(r.values[i * k + c])
                        squares += w * w
                        let s = w.squareRoot()
                        for j in 0..<d { a[row * d + j] = s * (Double(x.values[i * d + j]) - centres.values[c * d + j]) }
                    }
                    BLAS.dsyrkUpperTransposed(n: d, k: m, a: a, lda: d, beta: 1, c: out, ldc: d)
                }
                // sum w^2 with w = R / N_c; cov.wt's denominator 1 - sum w^2, times N_c for the unnormalised sum.
                let denominator = mass[c] * (1 - squares / (mass[c] * mass[c]))
                let scale = denominator > 0 ? 1 / denominator : 0
                // Scale, and copy the upper triangle onto the lower one (exact symmetry).
                for p in 0..<d {
                    for q in p..<d {
                        let v = out[p * d + q] * scale
                        out[p * d + q] = v
                        out[q * d + p] = v
                    }
                }
            }
        }
        return try ClusterSpread(centres: centres, covariances: covariances)
    }
}
