/// Wall-clock seconds spent in each phase of a fit.
public struct PhaseTimings: Sendable, Equatable {
    /// Normalisation, k-means start and initial assignment.
    public var initialization: Double = 0
    /// The k-means start alone (part of `initialization`; 0 with given initial centroids).
    public var kmeansStart: Double = 0
    /// All clustering steps (cold starts and blockwise rounds).
    public var clustering: Double = 0
    /// All ridge corrections.
    public var correction: Double = 0
    /// The whole fit.
    public var total: Double = 0

    public init() {}
}

/// What a progress callback receives after each Harmony iteration.
public struct FitProgress: Sendable {
    /// 1-based iteration just finished.
    public var iteration: Int
    /// Objective after this iteration's clustering.
    public var objective: Double
    /// Clustering rounds run in this iteration.
    public var clusterRounds: Int
    /// Seconds since the fit started.
    public var elapsed: Double

    /// A progress report (for callers that relay or replay progress, e.g. over the daemon protocol).
    public init(iteration: Int, objective: Double, clusterRounds: Int, elapsed: Double) {
        self.iteration = iteration
        self.objective = objective
        self.clusterRounds = clusterRounds
        self.elapsed = elapsed
    }
}

/// The parameters as the fit resolved them against the data.
public struct ResolvedParameters: Sendable, Equatable {
    /// Number of clusters K.
    public var nClusters: Int
    /// Sigma per cluster (K values).
    public var sigma: [Double]
    /// Theta per level (all covariates' levels concatenated), after the tau discount.
    public var thetaPerLevel: [Double]
    /// Block size actually used.
    public var blockSize: Double
}

/// The outcome of a Harmony fit. All matrices are row-major; cells are rows.
public struct HarmonyFitResult: Sendable {
    /// The corrected embedding (N x d) in the units of the input.
    public var corrected: Matrix<Float>
    /// Soft cluster assignments R (N x K) after the last clustering step; rows sum to 1.
    public var assignments: Matrix<Float>
    /// Centroids Y (K x d), unit rows, after the last correction.
    public var centroids: Matrix<Float>
    /// Per global level (all covariates' levels concatenated in order), the K x d batch terms of the last
    /// correction: row k is beta_kb, zero where level b did not take part in cluster k.
    public var levelTerms: [Matrix<Double>]
    /// Objective after initialisation, then after each iteration's clustering.
    public var objective: [Double]
    /// Objective after every clustering round.
    public var objectiveKMeans: [Double]
    /// Clustering rounds run in each iteration.
    public var clusterRounds: [Int]
    /// Harmony iterations run.
    public var iterations: Int
    /// Whether the outer convergence criterion was met (always false with early stop off).
    public var converged: Bool
    /// Parameters resolved against the data.
    public var resolved: ResolvedParameters
    /// Time per phase.
    public var timings: PhaseTimings
}
