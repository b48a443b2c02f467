import Dispatch

// The Harmony fit (Protocols/algorithm.md §2): k-means start, initial assignment, then iterations of clustering rounds
// and ridge corrections until the objective stops decreasing.
//
// Precision: the N-sized arrays (Z, Zcos, Zcorr, R) are Float; O, E, the objective, the per-level
// and per-cluster sums of the correction and its solves are Double (see SoftClustering, RidgeCorrection).
// Determinism: one SeededGenerator stream from `seed` (k-means start, then one permutation per round); all
// parallel work is cut into fixed tasks reduced in task order, so results are bit-identical for a seed and
// do not depend on `threads`.
// Distributed (`shard`, the MPI fit): this process holds the embedding rows of its cells only; see CellShard.

/// Thrown by `Harmony.fit` when its `shouldStop` asked it to stop.
public struct FitCancelled: Error, CustomStringConvertible {
    /// Iterations completed before the fit stopped.
    public let iterations: Int
    /// A cancellation after `iterations` iterations (also thrown by callers that stop after the fit).
    public init(iterations: Int) { self.iterations = iterations }
    public var description: String { "the fit was cancelled after \(iterations) iterations" }
}

/// Entry point of the Harmony fit (Protocols/algorithm.md §2).
public enum Harmony {
    /// Fits Harmony to `embedding` (N x d, cells in rows) over one or more covariates.
    /// - Parameters:
    ///   - initialCentroids: K x d centroids to start from instead of the k-means start (warm start of a refit).
    ///   - progress: called after each iteration.
    ///   - shouldStop: asked before each iteration; when it returns true the fit throws `FitCancelled` (a daemon's
    ///     shutdown cancels its refit this way).
    ///   - shard: for a fit spread over processes, the cells this one holds: `embedding` is their rows, the
    ///     covariates cover all cells, and the result's corrected rows and assignments are this shard's.
    public static func fit(_ embedding: Matrix<Float>, covariates: [Covariate], parameters: HarmonyParameters,
                           initialCentroids: Matrix<Float>? = nil,
                           progress: ((FitProgress) -> Void)? = nil,
                           shouldStop: (@Sendable () -> Bool)? = nil,
                           shard: CellShard? = nil) throws -> HarmonyFitResult {
        let clock = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 }
        let shard = shard ?? .whole(embedding.rows)
        try validateInput(embedding, covariates: covariates, correcting: parameters.maxIterations > 0, shard: shard)
        var params = parameters
        if let start = initialCentroids, params.nClusters == nil { params.nClusters = start.rows }
        try params.validate(covariateCount: covariates.count, cellCount: shard.totalCells)
        let n = shard.totalCells, d = embedding.cols
        let kc = params.resolvedClusterCount(cellCount: n)
        let design = FitDesign(covariates: covariates, cells: n)
        let sigma = params.sigma.count == 1 ? [Double](repeating: params.sigma[0], count: kc) : params.sigma
        let theta = try params.thetaPerLevel(design: design, clusters: kc)
        let blockSize = params.resolvedBlockSize(cellCount: n)
        let harmony1 = params.preset == .harmony1
        let runner = TaskRunner(requested: params.threads, policy: params.threadPolicy)
        var timings = PhaseTimings()
        var rng = SeededGenerator(seed: params.seed)

        // MARK: - Initialisation
        let centroids: [Float]
        if let start = initialCentroids {
            guard start.rows == kc, start.cols == d else {
                throw HarmonyError.invalidParameter("initial centroids are \(start.rows) x \(start.cols); expected \(kc) x \(d)")
            }
            guard start.values.allSatisfy({ $0.isFinite }) else {
                throw HarmonyError.invalidParameter("initial centroids contain a non-finite value")
            }
            centroids = RowNormalization.normalized(start, runner: runner).values
        } else {
            let startClock = elapsed()
            defer { timings.kmeansStart = elapsed() - startClock }
            // The unit rows exist only for the k-means start (the clustering normalises rows per task).
            let zcos = RowNormalization.normalized(embedding, runner: runner)
            centroids = try zcos.values.withUnsafeBufferPointer { z in
                try KMeansStart.centroids(zcos: z.baseAddress!, cells: n, dims: d, clusters: kc, rng: &rng,
                                          runner: runner, shard: shard)
            }
        }
        let clustering = SoftClustering(embedding: embedding.values, centroids: centroids, dims: d, clusters: kc, design: design,
                                        sigma: sigma, theta: theta, harmony1: harmony1, blockSize: blockSize,
                                        rng: rng, runner: runner, shard: shard)
        // The initial rows are read only by Harmony1's first centroid update or returned when no iteration runs.
        let initialObjective = clustering.assignWithoutPenalty(storeRows: harmony1 || params.maxIterations == 0)
        var objective = [initialObjective]
        var objectiveKMeans = [initialObjective]
        var clusterRounds: [Int] = []
        // Per level a K x d array (all share one zero buffer until a correction replaces them).
        var levelTerms = [[Double]](repeating: [Double](repeating: 0, count: kc * d), count: design.levelCount)
        var converged = false
        timings.initialization = elapsed()

        let settings = CorrectionSettings(penalty: params.lambda, dropLevels: !harmony1,
                                          cutoff: params.batchPropCutoff, updateCentroids: !harmony1)
        var iteration = 0
        while iteration < params.maxIterations {
            if let shouldStop, shouldStop() { throw FitCancelled(iterations: iteration) }
            iteration += 1
            // The previous terms are replaced by this iteration's correction (K x levels x d doubles).
            levelTerms = []
            // MARK: - Clustering
            let clusterStart = elapsed()
            if iteration > 1 && !harmony1 {
                // Cold start: O and E from R = softmax(-D / sigma) for the new centroids; every row is
                // recomputed by the first round before it is read, so only the sums are kept, and the
                // exponentials for the rounds (SoftClustering).
                clustering.assignWithoutPenalty(storeRows: false)
            }
            var rounds = 0
            for t in 0..<params.maxClusterRounds {
                if harmony1 { clustering.moveCentroidsToAssignments() }
                // R rows are only read after the last round (correction, result) or, in Harmony1, by the
                // centroid update before each round. Inner convergence can end the step after round 5 on; such a
                // round writes its rows only once it is known to be the last.
                let lastAllowed = t == params.maxClusterRounds - 1
                objectiveKMeans.append(clustering.round(storeRows: harmony1 || lastAllowed))
                rounds += 1
                if t > 3 && innerConverged(objectiveKMeans, epsilon: params.epsilonCluster, signed: harmony1) {
                    if !harmony1 && !lastAllowed { clustering.storeLastRoundRows() }
                    break
                }
            }
            clusterRounds.append(rounds)
            objective.append(objectiveKMeans.last!)
            // Harmony2 rebuilds them in the next cold start; Harmony1 carries them into its next rounds.
            if !harmony1 { clustering.releaseRoundSums() }
            timings.clustering += elapsed() - clusterStart

            // MARK: - Correction
            let correctionStart = elapsed()
            let output = try embedding.values.withUnsafeBufferPointer { z in
                try clustering.assignments.withUnsafeBufferPointer { r in
                    // Written over the current embedding (a copy of the input at the first correction).
                    try clustering.embedding.withUnsafeMutableBufferPointer { out in
                        try RidgeCorrection.correct(z: z.baseAddress!, r: r.baseAddress!, corrected: out.baseAddress!,
                                                    dims: d, clusters: kc, centroids: clustering.centroids,
                                                    design: design,
                                                    settings: settings, runner: runner, shard: shard)
                    }
                }
            }
            clustering.centroids = output.centroids
            levelTerms = output.levelTerms
            timings.correction += elapsed() - correctionStart

            progress?(FitProgress(iteration: iteration, objective: objective.last!, clusterRounds: rounds,
                                  elapsed: elapsed()))
            if params.earlyStop && outerConverged(objective, epsilon: params.epsilonHarmony) {
                converged = true
                break
            }
        }
        timings.total = elapsed()

        let terms = levelTerms.map { Matrix<Double>(rows: kc, cols: d, values: $0) }
        levelTerms = []
        return HarmonyFitResult(
            corrected: Matrix(rows: shard.count, cols: d, values: clustering.embedding),
            assignments: Matrix(rows: shard.count, cols: kc, values: clustering.assignments),
            centroids: Matrix(rows: kc, cols: d, values: clustering.centroids),
            levelTerms: terms, objective: objective, objectiveKMeans: objectiveKMeans, clusterRounds: clusterRounds,
            iterations: iteration, converged: converged,
            resolved: ResolvedParameters(nClusters: kc, sigma: sigma, thetaPerLevel: theta, blockSize: blockSize),
            timings: timings)
    }

    /// Checks the embedding and covariates; throws `HarmonyError.invalidInput` naming the problem. Without
    /// correction (`correcting` false: no iteration, the soft clustering alone) a covariate may have a single level.
    /// With a `shard`, `embedding` holds its rows and the covariates cover all cells.
    static func validateInput(_ embedding: Matrix<Float>, covariates: [Covariate], correcting: Bool = true,
                              shard: CellShard? = nil) throws {
        let shard = shard ?? .whole(embedding.rows)
        let n = shard.totalCells
        guard n >= 6 else { throw HarmonyError.invalidInput("refusing to run with fewer than 6 cells (got \(n))") }
        guard embedding.cols >= 1 else { throw HarmonyError.invalidInput("the embedding has no dimensions") }
        guard embedding.rows == shard.count else {
            throw HarmonyError.invalidInput("the embedding has \(embedding.rows) rows but the shard holds \(shard.count) cells")
        }
        if let bad = embedding.values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.invalidInput("the embedding has a non-finite value (NaN or infinity) at cell \(shard.first + bad / embedding.cols + 1), dimension \(bad % embedding.cols + 1)")
        }
        guard !covariates.isEmpty else { throw HarmonyError.invalidInput("at least one covariate (batch variable) is required") }
        var names = Set<String>()
        for cov in covariates {
            guard names.insert(cov.name).inserted else {
                throw HarmonyError.invalidInput("covariate '\(cov.name)' is given twice")
            }
            guard cov.codes.count == n else {
                throw HarmonyError.invalidInput("covariate '\(cov.name)' has \(cov.codes.count) values but the embedding has \(n) cells")
            }
            let used = cov.levelCounts.filter { $0 > 0 }.count
            guard used >= 2 || !correcting else {
                throw HarmonyError.invalidInput("covariate '\(cov.name)' has a single level; it cannot be corrected for")
            }
        }
    }

    /// Inner convergence over a window of 3 rounds: |old - new| / |old| < epsilon (Harmony2) or the signed
    /// (old - new) / |old| < epsilon (Harmony1), where old / new sum the 3 values before / ending at the last.
    static func innerConverged(_ values: [Double], epsilon: Double, signed: Bool) -> Bool {
        let window = 3, count = values.count
        guard count >= window + 1 else { return false }
        var old = 0.0, new = 0.0
        for j in 0..<window {
            old += values[count - 2 - j]
            new += values[count - 1 - j]
        }
        let change = signed ? (old - new) / abs(old) : abs(old - new) / abs(old)
        return change < epsilon
    }

    /// harmonypy's outer rule: converged when 0 <= (previous - last) / |previous| < epsilon; non-finite values
    /// never converge; a previous value of 0 converges only if the last is 0 too.
    static func outerConverged(_ values: [Double], epsilon: Double) -> Bool {
        guard values.count >= 2 else { return false }
        let previous = values[values.count - 2], last = values[values.count - 1]
        guard previous.isFinite, last.isFinite else { return false }
        if previous == 0 { return last == 0 }
        let delta = (previous - last) / abs(previous)
        return delta >= 0 && delta < epsilon
    }
}
