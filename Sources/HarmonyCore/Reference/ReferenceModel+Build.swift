// Building a reference from a Harmony fit (Protocols/algorithm.md §5.1):
//   N_k = sum_i R_ik, C_k = sum_i R_ik z_i^corr   (Double; DGEMM over blocks of cells converted to Double)
//   pi_kl = sum_{j: label_j = l} R_jk / N_k        (§4.3 cluster-based label statistics)
//   mu_k, Sigma_k of the ORIGINAL embedding under R  (`ClusterSpread`, the per-cell mapping distance)

extension ReferenceModel {
    /// Cells per block when accumulating R^T Z^corr in Double (bounds the Double scratch to a few MB).
    static let statisticsBlock = 4096

    /// Builds a reference model from a fit of `embedding` over `covariates`.
    /// - Parameters:
    ///   - fit: the fit result (corrected embedding, R, level terms, resolved sigma).
    ///   - embedding: the original N x d embedding the fit ran on (kept for refits unless compact).
    ///   - labels: a label column name and one label per cell, for label transfer; nil for none.
    ///   - compact: leave out the reference cells (no kNN, no refit; cluster-based labels only).
    ///   - geneSpace: the gene space the embedding came from (a reference built from expression), or nil.
    public static func build(fit: HarmonyFitResult, embedding: Matrix<Float>, covariates: [Covariate],
                             parameters: HarmonyParameters, cellIds: [String],
                             labels: (name: String, values: [String])?, compact: Bool,
                             geneSpace: GeneSpace? = nil) throws -> ReferenceModel {
        let n = embedding.rows, d = embedding.cols, k = fit.assignments.cols
        func bad(_ m: String) -> HarmonyError { .invalidInput("cannot build the reference: \(m)") }
        guard fit.corrected.rows == n, fit.corrected.cols == d else {
            throw bad("the corrected embedding is \(fit.corrected.rows) x \(fit.corrected.cols), expected \(n) x \(d)")
        }
        guard fit.assignments.rows == n, k >= 1 else { throw bad("the soft assignments have \(fit.assignments.rows) rows for \(n) cells") }
        guard cellIds.count == n else { throw bad("\(cellIds.count) cell ids for \(n) cells") }
        guard covariates.allSatisfy({ $0.codes.count == n }) else { throw bad("a covariate does not have one code per cell") }
        if let labels {
            guard labels.values.count == n else { throw bad("\(labels.values.count) labels for \(n) cells") }
            if let i = labels.values.firstIndex(where: { $0.isEmpty }) {
                throw bad("cell \(cellIds[i]) has an empty label in column \(labels.name)")
            }
        }
        let (mass, sums) = clusterStatistics(assignments: fit.assignments, corrected: fit.corrected)
        var labelInfo: ReferenceLabels? = nil
        var labelCodes: [Int32] = []
        if let labels {
            let cov = Covariate(name: labels.name, labels: labels.values)
            labelCodes = cov.codes
            labelInfo = ReferenceLabels(name: labels.name, values: cov.levels,
                                        clusterFrequencies: clusterFrequencies(assignments: fit.assignments,
                                                                               codes: cov.codes, labelCount: cov.levels.count,
                                                                               mass: mass))
        }
        let sigma = fit.resolved.sigma.count == k ? fit.resolved.sigma
            : [Double](repeating: parameters.sigma.first ?? 0.1, count: k)
        let params = ReferenceParameters(preset: parameters.preset, sigma: sigma, theta: parameters.theta,
                                         lambda: parameters.lambda)
        let cells = compact ? nil : ReferenceCells(ids: cellIds, original: embedding, corrected: fit.corrected,
                                                   covariateCodes: covariates.map(\.codes), labelCodes: labelCodes)
        return try ReferenceModel(parameters: params, clusterMass: mass, clusterSums: sums, levelTerms: fit.levelTerms,
                                  covariates: covariates.map { ReferenceCovariate(name: $0.name, levels: $0.levels) },
                                  labels: labelInfo, cells: cells, geneSpace: geneSpace,
                                  clusterSpread: try ClusterSpread.compute(embedding: embedding, assignments: fit.assignments,
                                                                           threads: parameters.threads,
                                                                           policy: parameters.threadPolicy))
    }

    /// N_k = column sums of R and C = R^T Z (K x d), accumulated in Double block by block.
    static func clusterStatistics(assignments r: Matrix<Float>, corrected z: Matrix<Float>) -> ([Double], Matrix<Double>) {
        let n = r.rows, k = r.cols, d = z.cols
        var mass = [Double](repeating: 0, count: k)
        var sums = Matrix<Double>(rows: k, cols: d)
        var rd = [Double](repeating: 0, count: statisticsBlock * k)
        var zd = [Double](repeating: 0, count: statisticsBlock * d)
        var start = 0
        while start < n {
            let m = min(statisticsBlock, n - start)
            for i in 0..<(m * k) { rd[i] = Double(r.values[start * k + i]) }
            for i in 0..<(m * d) { zd[i] = Double(z.values[start * d + i]) }
            for row in 0..<m { for c in 0..<k { mass[c] += rd[row * k + c] } }
            sums.values.withUnsafeMutableBufferPointer { sb in
                BLAS.dgemm(transA: true, m: k, n: d, k: m, alpha: 1,
                            a: rd, lda: k, b: zd, ldb: d, beta: 1, c: sb.baseAddress!, ldc: d)
            }
            start += m
        }
        return (mass, sums)
    }

    /// pi_kl = sum_{j: code_j = l} R_jk / N_k (K x L); a cluster without mass gets a zero row.
    static func clusterFrequencies(assignments r: Matrix<Float>, codes: [Int32], labelCount: Int,
                                   mass: [Double]) -> Matrix<Double> {
        let k = r.cols
        var pi = Matrix<Double>(rows: k, cols: labelCount)
        for (i, code) in codes.enumerated() {
            let l = Int(code)
            for c in 0..<k { pi.values[c * labelCount + l] += Double(r.values[i * k + c]) }
        }
        for c in 0..<k where mass[c] > 0 {
            for l in 0..<labelCount { pi.values[c * labelCount + l] /= mass[c] }
        }
        return pi
    }
}
