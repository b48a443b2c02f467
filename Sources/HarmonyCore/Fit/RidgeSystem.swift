// One cluster's ridge regression (Protocols/algorithm.md §2.5 step 3), in double precision.
//
// Unknowns: row 0 = intercept beta_0, rows 1...m = the kept levels (each row a d-vector). Normal equations
//   A[0,0] = n_0, A[0,j] = A[j,0] = n_j, A[j,j] = n_j + lambda_j,
//   A[j,j'] = m_jj' (cells having both levels; levels of different covariates) or 0 (same covariate),
//   G[0] = s_0, G[j] = s_j.
// One covariate: the arrowhead closed form
//   u = n_0 - sum_j n_j^2 / D_j   (D_j = n_j + lambda_j), computed as (n_0 - sum n_j) + sum n_j lambda_j / D_j,
//   beta_0 = (s_0 - sum_j (n_j / D_j) s_j) / u,   beta_j = (s_j - n_j beta_0) / D_j.
// Several covariates: eliminate the diagonal block of the covariate with the most kept levels (Schur
// complement S = A_PP - Q diag(1/D) Q^T over the intercept and the other covariates' levels), factor S by
// Cholesky, back-substitute. Cost (1 + m - m_max)^3 instead of (1 + m)^3; no dense inverse.

/// The normal equations of one cluster's ridge regression and their solution.
struct RidgeSystem {
    /// Embedding dimensions d.
    let dims: Int
    /// Intercept weight n_0 (sum of R_ik over the cells in the regression).
    var interceptCount: Double
    /// Intercept right-hand side s_0 (d values).
    var interceptSum: [Double]
    /// Covariate of each unknown level (m values).
    var covariate: [Int]
    /// Weight n_j of each unknown level.
    var counts: [Double]
    /// Ridge penalty lambda_j of each unknown level.
    var penalties: [Double]
    /// Right-hand sides s_j, m x d row-major.
    var sums: [Double]
    /// Cross weights m_jj' (m x m row-major); only entries of levels of different covariates are read.
    var cross: [Double]

    /// Number of level unknowns m.
    var levelCount: Int { counts.count }

    /// The dense (1 + m) x (1 + m) matrix A (for checks and tests).
    func denseMatrix() -> [Double] {
        let m = levelCount, size = m + 1
        var a = [Double](repeating: 0, count: size * size)
        a[0] = interceptCount
        for j in 0..<m {
            a[j + 1] = counts[j]
            a[(j + 1) * size] = counts[j]
            a[(j + 1) * size + j + 1] = counts[j] + penalties[j]
            for l in 0..<m where covariate[l] != covariate[j] {
                a[(j + 1) * size + l + 1] = cross[j * m + l]
            }
        }
        return a
    }

    /// Solves A beta = G; returns beta as (1 + m) x d row-major (row 0 = intercept).
    /// Throws `HarmonyError.numerical` when the system is singular (e.g. a zero ridge penalty).
    func solve() throws -> [Double] {
        let m = levelCount
        var covariateSizes: [Int: Int] = [:]
        for c in covariate { covariateSizes[c, default: 0] += 1 }
        if covariateSizes.count <= 1 { return try solveArrowhead() }
        // Eliminate the covariate with the most unknowns (ties: lowest covariate index).
        let eliminated = covariateSizes.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }!.key
        let kept = (0..<m).filter { covariate[$0] != eliminated }
        let dropped = (0..<m).filter { covariate[$0] == eliminated }
        return try solveSchur(dense: kept, diagonal: dropped)
    }

    private func singular() -> HarmonyError {
        .numerical("ridge correction: a cluster's regression system is singular (the ridge penalty is zero or too small for the batch counts); use a positive lambda or alpha")
    }

    /// The arrowhead closed form (all unknown levels belong to one covariate).
    private func solveArrowhead() throws -> [Double] {
        let m = levelCount, d = dims
        var beta = [Double](repeating: 0, count: (m + 1) * d)
        var levelTotal = 0.0
        var schur = 0.0
        for j in 0..<m {
            let dj = counts[j] + penalties[j]
            guard dj > 0 else { throw singular() }
            levelTotal += counts[j]
            schur += counts[j] * penalties[j] / dj
        }
        let u = (interceptCount - levelTotal) + schur
        guard u.isFinite, u > 1e-12 * max(interceptCount, 1e-300) else { throw singular() }
        for t in 0..<d { beta[t] = interceptSum[t] }
        for j in 0..<m {
            let w = counts[j] / (counts[j] + penalties[j])
            for t in 0..<d { beta[t] -= w * sums[j * d + t] }
        }
        for t in 0..<d { beta[t] /= u }
        for j in 0..<m {
            let dj = counts[j] + penalties[j]
            for t in 0..<d { beta[(j + 1) * d + t] = (sums[j * d + t] - counts[j] * beta[t]) / dj }
        }
        return beta
    }

    /// Schur elimination of the diagonal block `diagonal`; `dense` are the other level unknowns.
    private func solveSchur(dense: [Int], diagonal: [Int]) throws -> [Double] {
        let m = levelCount, d = dims
        let p = dense.count + 1
        // Dense part A_PP and its right-hand side, P = [intercept] + dense levels.
        var s = [Double](repeating: 0, count: p * p)
        var rhs = [Double](repeating: 0, count: p * d)
        s[0] = interceptCount
        for t in 0..<d { rhs[t] = interceptSum[t] }
        for (a, j) in dense.enumerated() {
            s[a + 1] = counts[j]
            s[(a + 1) * p] = counts[j]
            for (b, l) in dense.enumerated() {
                if a == b {
                    s[(a + 1) * p + b + 1] = counts[j] + penalties[j]
                } else if covariate[l] != covariate[j] {
                    s[(a + 1) * p + b + 1] = cross[j * m + l]
                }
            }
            for t in 0..<d { rhs[(a + 1) * d + t] = sums[j * d + t] }
        }
        // Q column for eliminated level e: Q[0] = n_e, Q[a + 1] = m_{dense[a], e}.
        var q = [Double](repeating: 0, count: p)
        for e in diagonal {
            let de = counts[e] + penalties[e]
            guard de > 0 else { throw singular() }
            q[0] = counts[e]
            for (a, j) in dense.enumerated() { q[a + 1] = cross[j * m + e] }
            for a in 0..<p where q[a] != 0 {
                let qa = q[a] / de
                for b in 0..<p { s[a * p + b] -= qa * q[b] }
                for t in 0..<d { rhs[a * d + t] -= qa * sums[e * d + t] }
            }
        }
        // Cholesky S = L L^T in place (lower triangle), pivots checked against the largest diagonal.
        var maxDiagonal = 0.0
        for a in 0..<p { maxDiagonal = max(maxDiagonal, s[a * p + a]) }
        for a in 0..<p {
            var pivot = s[a * p + a]
            for c in 0..<a { pivot -= s[a * p + c] * s[a * p + c] }
            guard pivot.isFinite, pivot > 1e-10 * maxDiagonal else { throw singular() }
            let l = pivot.squareRoot()
            s[a * p + a] = l
            for b in (a + 1)..<p {
                var v = s[b * p + a]
                for c in 0..<a { v -= s[b * p + c] * s[a * p + c] }
                s[b * p + a] = v / l
            }
        }
        // Forward then backward substitution for every column of rhs.
        for a in 0..<p {
            for c in 0..<a {
                let f = s[a * p + c]
                for t in 0..<d { rhs[a * d + t] -= f * rhs[c * d + t] }
            }
            for t in 0..<d { rhs[a * d + t] /= s[a * p + a] }
        }
        for a in stride(from: p - 1, through: 0, by: -1) {
            for c in (a + 1)..<p {
                let f = s[c * p + a]
                for t in 0..<d { rhs[a * d + t] -= f * rhs[c * d + t] }
            }
            for t in 0..<d { rhs[a * d + t] /= s[a * p + a] }
        }
        // Assemble beta: dense unknowns from the solve, eliminated ones by back-substitution
        // beta_e = (s_e - n_e beta_0 - sum_a m_{a,e} beta_a) / D_e.
        var beta = [Double](repeating: 0, count: (m + 1) * d)
        for t in 0..<d { beta[t] = rhs[t] }
        for (a, j) in dense.enumerated() {
            for t in 0..<d { beta[(j + 1) * d + t] = rhs[(a + 1) * d + t] }
        }
        for e in diagonal {
            let de = counts[e] + penalties[e]
            for t in 0..<d {
                var v = sums[e * d + t] - counts[e] * rhs[t]
                for (a, j) in dense.enumerated() { v -= cross[j * m + e] * rhs[(a + 1) * d + t] }
                beta[(e + 1) * d + t] = v / de
            }
        }
        return beta
    }
}
