import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// The Harmony parameters as command-line options. Options not given keep the preset's defaults
/// (Protocols/algorithm.md §2.1 and §2.7); options given override them. harmonypy's names are accepted as
/// aliases (--lamb, --max-iter-harmony, --max-iter-kmeans, --random-state, --ncores); the README has the table.
struct AlgorithmOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Algorithm generation and its defaults: harmony2 (R harmony 2.x, harmonypy 2.1) or harmony1 (R harmony 1.x: centroids move every round, lambda 1, 20 rounds).",
        valueName: "preset"))
    var preset: String = HarmonyPreset.harmony2.rawValue

    @Option(help: ArgumentHelp(
        "Diversity penalty: how strongly clusters are pushed to mix batches (0 turns it off). One value, one per --vars column, or one per level (as harmonypy allows: the levels of each column in sorted order, column after column).",
        valueName: "theta[,..]"))
    var theta: NumberList?

    @Option(help: ArgumentHelp(
        "Soft k-means width: smaller values give harder cluster assignments. One value, or one per cluster.",
        valueName: "sigma[,..]"))
    var sigma: NumberList?

    @Option(name: [.customLong("lambda"), .customLong("lamb")], help: ArgumentHelp(
        "Ridge penalty on the batch terms: 'auto' (alpha x expected cells, the harmony2 default) or fixed values (one, or one per --vars column; harmony1 uses 1). Larger values correct less.",
        valueName: "auto|lambda[,..]"))
    var lambda: LambdaChoice?

    @Option(help: ArgumentHelp("With --lambda auto, the penalty is alpha x the cluster's expected cells per batch (default 0.2).",
                               valueName: "alpha"))
    var alpha: Double?

    @Option(help: ArgumentHelp("Number of clusters K (default min(round(N / 30), 100)).", valueName: "K"))
    var nclust: Int?

    @Option(help: ArgumentHelp(
        "Discount the diversity penalty of small batches: theta x (1 - exp(-(N_b / (K tau))^2)); 0 turns it off (default 0).",
        valueName: "tau"))
    var tau: Double?

    @Option(name: .customLong("block-size"), help: ArgumentHelp(
        "Fraction of cells whose assignments are updated together in a clustering round (default 0.05).",
        valueName: "fraction"))
    var blockSize: Double?

    @Option(name: [.customLong("max-iter"), .customLong("max-iter-harmony")], help: ArgumentHelp(
        "Most Harmony iterations (clustering + correction) to run (default 10).", valueName: "n"))
    var maxIter: Int?

    @Option(name: [.customLong("max-iter-cluster"), .customLong("max-iter-kmeans")], help: ArgumentHelp(
        "Most clustering rounds per iteration (harmony2: 4, harmony1: 20).", valueName: "n"))
    var maxIterCluster: Int?

    @Option(name: .customLong("epsilon-cluster"), help: ArgumentHelp(
        "Stop the clustering rounds when the objective improves by less than this fraction (default 1e-3).",
        valueName: "eps"))
    var epsilonCluster: Double?

    @Option(name: .customLong("epsilon-harmony"), help: ArgumentHelp(
        "Stop the iterations when the objective improves by less than this fraction (default 1e-2).",
        valueName: "eps"))
    var epsilonHarmony: Double?

    @Flag(name: .customLong("no-early-stop"), help: "Run all --max-iter iterations even once the objective has converged.")
    var noEarlyStop = false

    @Option(name: .customLong("batch-prop-cutoff"), help: ArgumentHelp(
        "harmony2: a batch takes part in a cluster's correction only if more than this fraction of its cells is in the cluster (default 1e-5).",
        valueName: "fraction"))
    var batchPropCutoff: Double?

    @Option(name: [.customLong("seed"), .customLong("random-state")], help: ArgumentHelp("Seed of the random start (k-means) and block order; the same seed gives the same result.",
                               valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: [.customLong("threads"), .customLong("ncores")], help: ArgumentHelp("Worker threads; 0 uses every core. Results do not depend on it.", valueName: "n"))
    var threads: Int = 0

    mutating func validate() throws {
        guard HarmonyPreset(rawValue: preset) != nil else {
            throw ValidationError("--preset must be harmony2 or harmony1 (got '\(preset)').")
        }
        if let theta, theta.values.contains(where: { $0 < 0 }) {
            throw ValidationError("--theta must not be negative.")
        }
        if let sigma, sigma.values.contains(where: { $0 <= 0 }) {
            throw ValidationError("--sigma must be positive.")
        }
        if case .fixed(let list)? = lambda, list.values.contains(where: { $0 <= 0 }) {
            throw ValidationError("--lambda must be 'auto' or positive numbers (a zero penalty makes the regression singular).")
        }
        if let alpha {
            guard alpha > 0 && alpha.isFinite else { throw ValidationError("--alpha must be positive.") }
            if case .fixed? = lambda { throw ValidationError("--alpha applies only with --lambda auto.") }
            if lambda == nil && preset == HarmonyPreset.harmony1.rawValue {
                throw ValidationError("--alpha applies only with --lambda auto (the harmony1 preset uses a fixed lambda).")
            }
        }
        if let nclust, nclust < 1 { throw ValidationError("--nclust must be at least 1.") }
        if let sigma, let nclust, sigma.values.count != 1 && sigma.values.count != nclust {
            throw ValidationError("--sigma takes one value or one per cluster (--nclust \(nclust)); got \(sigma.values.count).")
        }
        if let tau, !(tau >= 0 && tau.isFinite) { throw ValidationError("--tau must be 0 or positive.") }
        if let blockSize, !(blockSize > 0 && blockSize <= 1) {
            throw ValidationError("--block-size must be a fraction in (0, 1].")
        }
        if let maxIter, maxIter < 1 { throw ValidationError("--max-iter must be at least 1.") }
        if let maxIterCluster, maxIterCluster < 1 { throw ValidationError("--max-iter-cluster must be at least 1.") }
        if let epsilonCluster, !(epsilonCluster >= 0 && epsilonCluster.isFinite) {
            throw ValidationError("--epsilon-cluster must be 0 or positive.")
        }
        if let epsilonHarmony, !(epsilonHarmony >= 0 && epsilonHarmony.isFinite) {
            throw ValidationError("--epsilon-harmony must be 0 or positive.")
        }
        if let batchPropCutoff, !(batchPropCutoff >= 0 && batchPropCutoff < 1) {
            throw ValidationError("--batch-prop-cutoff must be a fraction in [0, 1).")
        }
        if threads < 0 { throw ValidationError("--threads must be 0 (every core) or positive.") }
    }

    /// The parameters: the preset's defaults with every given option applied. `covariateCount` checks that
    /// --lambda has one value or one per variable.
    func parameters(covariateCount: Int) throws -> HarmonyParameters {
        var p = HarmonyParameters(preset: HarmonyPreset(rawValue: preset) ?? .harmony2)
        // --theta may also hold one value per level, which only the data can check (HarmonyParameters does).
        if let theta { p.theta = theta.values }
        if let sigma { p.sigma = sigma.values }
        switch lambda {
        case .auto?: p.lambda = .dynamic(alpha: alpha ?? 0.2)
        case .fixed(let list)?:
            try checkPerVariable("--lambda", list.values.count, covariateCount)
            p.lambda = .fixed(list.values)
        case nil:
            if let alpha, case .dynamic = p.lambda { p.lambda = .dynamic(alpha: alpha) }
        }
        if let nclust { p.nClusters = nclust }
        if let tau { p.tau = tau }
        if let blockSize { p.blockSize = blockSize }
        if let maxIter { p.maxIterations = maxIter }
        if let maxIterCluster { p.maxClusterRounds = maxIterCluster }
        if let epsilonCluster { p.epsilonCluster = epsilonCluster }
        if let epsilonHarmony { p.epsilonHarmony = epsilonHarmony }
        if noEarlyStop { p.earlyStop = false }
        if let batchPropCutoff { p.batchPropCutoff = batchPropCutoff }
        p.seed = seed
        p.threads = threads
        return p
    }

    private func checkPerVariable(_ option: String, _ count: Int, _ variables: Int) throws {
        guard count == 1 || count == variables else {
            throw ValidationError("\(option) takes one value or one per --vars column (\(variables)); got \(count).")
        }
    }
}

extension AlgorithmOptions {
    /// Warns (on stderr, even with --quiet: it is about the data) about batch levels of a single cell. Such a level
    /// cannot be estimated apart from the cell itself: its correction moves the cell onto its cluster centre.
    static func warnAboutSingleCellLevels(_ covariates: [Covariate], command: String) {
        for covariate in covariates {
            let single = zip(covariate.levels, covariate.levelCounts).filter { $0.1 == 1 }.map(\.0)
            guard !single.isEmpty else { continue }
            let names = single.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (single.count > 5 ? ", ..." : "")
            StandardError.write("harmony \(command): warning: \(single.count) level(s) of '\(covariate.name)' hold a "
                                + "single cell (\(names)); a one-cell batch is corrected onto its cluster centres. Check "
                                + "for typos or missing values, or merge such cells into a larger batch.\n")
        }
    }
}
