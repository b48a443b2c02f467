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
        let clock = FitClock()
        let shard = shard ?? .whole(embedding.rows)
        let setup = try FitSetup(embedding, covariates: covariates, parameters: parameters,
                                 initialCentroids: initialCentroids, shard: shard)
        var timings = PhaseTimings()
        var rng = SeededGenerator(seed: setup.params.seed)

        // MARK: - Initialisation
        let centroids = try startingCentroids(embedding, initialCentroids: initialCentroids, setup: setup,
                                              rng: &rng, timings: &timings, clock: clock)
        let clustering = SoftClustering(embedding: embedding.values, centroids: centroids, dims: setup.dims,
                                        clusters: setup.clusters, design: setup.design, sigma: setup.sigma,
                                        theta: setup.theta, harmony1: setup.harmony1, blockSize: setup.blockSize,
                                        rng: rng, runner: setup.runner, shard: shard)
        // The initial rows are read only by Harmony1's first centroid update or returned when no iteration runs.
        let initialObjective = clustering.assignWithoutPenalty(storeRows: setup.harmony1
                                                               || setup.params.maxIterations == 0)
        var trace = FitTrace(initialObjective: initialObjective, setup: setup)
        timings.initialization = clock.elapsed()

        var iteration = 0
        var converged = false
        while iteration < setup.params.maxIterations {
            if let shouldStop, shouldStop() { throw FitCancelled(iterations: iteration) }
            iteration += 1
            // The previous terms are replaced by this iteration's correction (K x levels x d doubles).
            trace.levelTerms = []
            // MARK: - Clustering
            let clusterStart = clock.elapsed()
            let rounds = clusteringStep(clustering, iteration: iteration, setup: setup, trace: &trace)
            timings.clustering += clock.elapsed() - clusterStart

            // MARK: - Correction
            let correctionStart = clock.elapsed()
            try correctionStep(embedding, clustering, setup: setup, trace: &trace)
            timings.correction += clock.elapsed() - correctionStart

            progress?(FitProgress(iteration: iteration, objective: trace.objective.last!, clusterRounds: rounds,
                                  elapsed: clock.elapsed()))
            if setup.params.earlyStop && outerConverged(trace.objective, epsilon: setup.params.epsilonHarmony) {
                converged = true
                break
            }
        }
        timings.total = clock.elapsed()
        return result(clustering, trace: &trace, setup: setup, iterations: iteration, converged: converged,
                      timings: timings)
    }

    /// Seconds since the fit started.
    struct FitClock {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    }

    /// The checked input and what the fit resolves from the parameters before it starts.
    struct FitSetup {
        let params: HarmonyParameters
        let shard: CellShard
        let dims: Int
        let clusters: Int
        let design: FitDesign
        let sigma: [Double]
        let theta: [Double]
        let blockSize: Double
        let harmony1: Bool
        let runner: TaskRunner
        let settings: CorrectionSettings

        /// Checks the input and the parameters (`initialCentroids` sets K when the parameters leave it open).
        init(_ embedding: Matrix<Float>, covariates: [Covariate], parameters: HarmonyParameters,
             initialCentroids: Matrix<Float>?, shard: CellShard) throws {
            try Harmony.validateInput(embedding, covariates: covariates, correcting: parameters.maxIterations > 0,
                                      shard: shard)
            var params = parameters
            if let start = initialCentroids, params.nClusters == nil { params.nClusters = start.rows }
            try params.validate(covariateCount: covariates.count, cellCount: shard.totalCells)
            let n = shard.totalCells
            let kc = params.resolvedClusterCount(cellCount: n)
            self.params = params
            self.shard = shard
            dims = embedding.cols
            clusters = kc
            design = FitDesign(covariates: covariates, cells: n)
            sigma = params.sigma.count == 1 ? [Double](repeating: params.sigma[0], count: kc) : params.sigma
            theta = try params.thetaPerLevel(design: design, clusters: kc)
            blockSize = params.resolvedBlockSize(cellCount: n)
            harmony1 = params.preset == .harmony1
            runner = TaskRunner(requested: params.threads, policy: params.threadPolicy)
            settings = CorrectionSettings(penalty: params.lambda, dropLevels: !harmony1,
                                          cutoff: params.batchPropCutoff, updateCentroids: !harmony1)
        }
    }

    /// What the iterations record: objectives, rounds per clustering step, and the last correction's terms.
    struct FitTrace {
        var objective: [Double]
        var objectiveKMeans: [Double]
        var clusterRounds: [Int] = []
        /// Per level a K x d array (all share one zero buffer until a correction replaces them).
        var levelTerms: [[Double]]

        init(initialObjective: Double, setup: FitSetup) {
            objective = [initialObjective]
            objectiveKMeans = [initialObjective]
            levelTerms = [[Double]](repeating: [Double](repeating: 0, count: setup.clusters * setup.dims),
                                    count: setup.design.levelCount)
        }
    }

    /// The unit-row centroids the fit starts from: `initialCentroids` normalised (a refit's warm start), or the
    /// k-means start (timed as `kmeansStart`).
    private static func startingCentroids(_ embedding: Matrix<Float>, initialCentroids: Matrix<Float>?,
                                          setup: FitSetup, rng: inout SeededGenerator, timings: inout PhaseTimings,
                                          clock: FitClock) throws -> [Float] {
        let d = setup.dims, kc = setup.clusters
        if let start = initialCentroids {
            guard start.rows == kc, start.cols == d else {
                throw HarmonyError.invalidParameter("initial centroids are \(start.rows) x \(start.cols); expected \(kc) x \(d)")
            }
            guard start.values.allSatisfy({ $0.isFinite }) else {
                throw HarmonyError.invalidParameter("initial centroids contain a non-finite value")
            }
            return RowNormalization.normalized(start, runner: setup.runner).values
        }
        let startClock = clock.elapsed()
        defer { timings.kmeansStart = clock.elapsed() - startClock }
        // The unit rows exist only for the k-means start (the clustering normalises rows per task).
        let zcos = RowNormalization.normalized(embedding, runner: setup.runner)
        return try zcos.values.withUnsafeBufferPointer { z in
            try KMeansStart.centroids(zcos: z.baseAddress!, cells: setup.shard.totalCells, dims: d, clusters: kc,
                                      rng: &rng, runner: setup.runner, shard: setup.shard)
        }
    }

    /// One clustering step of iteration `iteration` (1-based): up to `maxClusterRounds` rounds until the inner
    /// convergence rule holds; appends to the trace's objectives and returns the rounds run.
    private static func clusteringStep(_ clustering: SoftClustering, iteration: Int, setup: FitSetup,
                                       trace: inout FitTrace) -> Int {
        let params = setup.params, harmony1 = setup.harmony1
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
            trace.objectiveKMeans.append(clustering.round(storeRows: harmony1 || lastAllowed))
            rounds += 1
            if t > 3 && innerConverged(trace.objectiveKMeans, epsilon: params.epsilonCluster, signed: harmony1) {
                if !harmony1 && !lastAllowed { clustering.storeLastRoundRows() }
                break
            }
        }
        trace.clusterRounds.append(rounds)
        trace.objective.append(trace.objectiveKMeans.last!)
        // Harmony2 rebuilds them in the next cold start; Harmony1 carries them into its next rounds.
        if !harmony1 { clustering.releaseRoundSums() }
        return rounds
    }

    /// One ridge correction with R fixed: the clustering's embedding becomes Zcorr (written over the current
    /// embedding, a copy of the input at the first correction), its centroids and the trace's terms the new ones.
    private static func correctionStep(_ embedding: Matrix<Float>, _ clustering: SoftClustering, setup: FitSetup,
                                       trace: inout FitTrace) throws {
        let output = try embedding.values.withUnsafeBufferPointer { z in
            try clustering.assignments.withUnsafeBufferPointer { r in
                try clustering.embedding.withUnsafeMutableBufferPointer { out in
                    try RidgeCorrection.correct(z: z.baseAddress!, r: r.baseAddress!, corrected: out.baseAddress!,
                                                dims: setup.dims, clusters: setup.clusters,
                                                centroids: clustering.centroids, design: setup.design,
                                                settings: setup.settings, runner: setup.runner, shard: setup.shard)
                }
            }
        }
        clustering.centroids = output.centroids
        trace.levelTerms = output.levelTerms
    }

    /// The fit's result from the final state (the trace's terms are moved into it).
    private static func result(_ clustering: SoftClustering, trace: inout FitTrace, setup: FitSetup,
                               iterations: Int, converged: Bool, timings: PhaseTimings) -> HarmonyFitResult {
        let kc = setup.clusters, d = setup.dims
        let terms = trace.levelTerms.map { Matrix<Double>(rows: kc, cols: d, values: $0) }
        trace.levelTerms = []
        return HarmonyFitResult(
            corrected: Matrix(rows: setup.shard.count, cols: d, values: clustering.embedding),
            assignments: Matrix(rows: setup.shard.count, cols: kc, values: clustering.assignments),
            centroids: Matrix(rows: kc, cols: d, values: clustering.centroids),
            levelTerms: terms, objective: trace.objective, objectiveKMeans: trace.objectiveKMeans,
            clusterRounds: trace.clusterRounds, iterations: iterations, converged: converged,
            resolved: ResolvedParameters(nClusters: kc, sigma: setup.sigma, thetaPerLevel: setup.theta,
                                         blockSize: setup.blockSize),
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
