/// Which generation of the Harmony algorithm to run (Protocols/algorithm.md §2.7).
public enum HarmonyPreset: String, Sendable, CaseIterable {
    /// R harmony 2.x / harmonypy 2.1 semantics and defaults (the default).
    case harmony2
    /// R harmony 1.x semantics and defaults: centroids move every round, fixed lambda 1, 20 rounds.
    case harmony1
}

/// The ridge penalty on the batch coefficients of each cluster's regression. The intercept is never penalised.
public enum RidgePenalty: Sendable, Equatable {
    /// lambda_kb = alpha * E_kb, recomputed at each correction (Harmony2 default, alpha = 0.2).
    case dynamic(alpha: Double)
    /// A fixed lambda per covariate (one value applies to every covariate).
    case fixed([Double])
}

/// Every parameter of a Harmony fit. Defaults are Harmony2's (`HarmonyParameters()`); use
/// `HarmonyParameters(preset: .harmony1)` for the Harmony 1.x defaults. Checked by `validate(covariateCount:cellCount:)`.
public struct HarmonyParameters: Sendable, Equatable {
    /// Algorithm generation.
    public var preset: HarmonyPreset
    /// Diversity weight, one per covariate (a single value applies to every covariate). 0 turns diversity off.
    public var theta: [Double]
    /// Soft k-means width: one value, or one per cluster.
    public var sigma: [Double]
    /// Ridge penalty on batch terms.
    public var lambda: RidgePenalty
    /// Number of clusters K; nil means min(round(N / 30), 100), at least 1.
    public var nClusters: Int?
    /// Theta discount for small levels: theta_b * (1 - exp(-(N_b / (K tau))^2)); 0 turns it off.
    public var tau: Double
    /// Fraction of cells updated per block in a clustering round (forced to 0.2 when N < 40).
    public var blockSize: Double
    /// Maximum Harmony iterations (clustering + correction).
    public var maxIterations: Int
    /// Maximum clustering rounds per iteration.
    public var maxClusterRounds: Int
    /// Inner (clustering) convergence tolerance over a window of 3 rounds.
    public var epsilonCluster: Double
    /// Outer convergence tolerance on the relative objective decrease.
    public var epsilonHarmony: Double
    /// Stop when the objective decreases by less than `epsilonHarmony` (relative); false runs `maxIterations`.
    public var earlyStop: Bool
    /// Harmony2: level b takes part in cluster k's regression only if O_kb / N_b > cutoff.
    public var batchPropCutoff: Double
    /// Seed of the single random stream (k-means start and block permutations).
    public var seed: UInt64
    /// Worker threads; 0 means every available core. Results do not depend on it.
    public var threads: Int
    /// Where the workers come from (the fit and the model built from it). Results do not depend on it.
    public var threadPolicy: ThreadPolicy

    /// The defaults of a preset.
    public init(preset: HarmonyPreset = .harmony2) {
        self.preset = preset
        self.theta = [2]
        self.sigma = [0.1]
        self.nClusters = nil
        self.tau = 0
        self.blockSize = 0.05
        self.maxIterations = 10
        self.seed = 0
        self.threads = 0
        self.threadPolicy = .sharedPool
        self.earlyStop = true
        switch preset {
        case .harmony2:
            lambda = .dynamic(alpha: 0.2)
            maxClusterRounds = 4
            epsilonCluster = 1e-3
            epsilonHarmony = 1e-2
            batchPropCutoff = 1e-5
        case .harmony1:
            lambda = .fixed([1])
            maxClusterRounds = 20
            epsilonCluster = 1e-3
            epsilonHarmony = 1e-2
            batchPropCutoff = 0
        }
    }
}
