#if canImport(Glibc)
import Glibc
#endif

// Checks of parameters and input, and their resolution against the data (Protocols/algorithm.md §2.1).

extension HarmonyParameters {
    /// Checks every parameter that does not depend on the data values; throws `HarmonyError.invalidParameter`
    /// with a sentence naming the parameter. `cellCount` is N, `covariateCount` is C.
    public func validate(covariateCount: Int, cellCount: Int) throws {
        func bad(_ message: String) -> HarmonyError { .invalidParameter(message) }
        guard covariateCount >= 1 else { throw bad("at least one covariate (batch variable) is required") }
        guard !theta.isEmpty, theta.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw bad("theta must be one or more finite values >= 0")
        }
        guard !sigma.isEmpty, sigma.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw bad("sigma must be one or more finite values > 0")
        }
        switch lambda {
        case .dynamic(let alpha):
            guard alpha.isFinite, alpha > 0 else { throw bad("the dynamic lambda factor alpha must be finite and > 0 (got \(alpha))") }
        case .fixed(let values):
            guard !values.isEmpty, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw bad("lambda must be finite and > 0 (a zero ridge penalty makes the regression singular)")
            }
            guard values.count == 1 || values.count == covariateCount else {
                throw bad("lambda has \(values.count) values; give one, or one per covariate (\(covariateCount))")
            }
        }
        if let k = nClusters {
            guard k >= 1 else { throw bad("the number of clusters must be at least 1 (got \(k))") }
            guard k <= cellCount else { throw bad("the number of clusters (\(k)) exceeds the number of cells (\(cellCount))") }
        }
        guard sigma.count == 1 || sigma.count == resolvedClusterCount(cellCount: cellCount) else {
            throw bad("sigma has \(sigma.count) values; give one, or one per cluster (\(resolvedClusterCount(cellCount: cellCount)))")
        }
        guard tau.isFinite, tau >= 0 else { throw bad("tau must be finite and >= 0 (got \(tau))") }
        guard blockSize.isFinite, blockSize > 0, blockSize <= 1 else {
            throw bad("block size must be in (0, 1] (got \(blockSize))")
        }
        guard maxIterations >= 0 else { throw bad("the maximum number of iterations must be >= 0 (got \(maxIterations))") }
        guard maxClusterRounds >= 1 else { throw bad("the maximum number of clustering rounds must be >= 1 (got \(maxClusterRounds))") }
        guard !epsilonCluster.isNaN, !epsilonHarmony.isNaN else { throw bad("the convergence tolerances must not be NaN") }
        guard batchPropCutoff.isFinite, batchPropCutoff >= 0, batchPropCutoff < 1 else {
            throw bad("batch_prop_cutoff must be in [0, 1) (got \(batchPropCutoff))")
        }
        guard threads >= 0 else { throw bad("threads must be >= 0 (0 = all cores; got \(threads))") }
    }

    /// K for N cells: the explicit value, else min(round-half-even(N / 30), 100), at least 1.
    public func resolvedClusterCount(cellCount: Int) -> Int {
        if let k = nClusters { return k }
        let automatic = (Double(cellCount) / 30).rounded(.toNearestOrEven)
        return max(1, min(Int(automatic), 100))
    }

    /// Block size used for N cells (0.2 below 40 cells, as in R harmony).
    public func resolvedBlockSize(cellCount: Int) -> Double {
        cellCount < 40 ? max(blockSize, 0.2) : blockSize
    }

    /// theta per global level (covariates' levels concatenated), with the tau discount
    /// theta_b (1 - exp(-(N_b / (K tau))^2)) when tau > 0.
    /// Throws when theta has neither 1, C nor B values.
    func thetaPerLevel(design: FitDesign, clusters: Int) throws -> [Double] {
        guard [1, design.covariateCount, design.levelCount].contains(theta.count) else {
            throw HarmonyError.invalidParameter("theta has \(theta.count) values; give one, one per covariate (\(design.covariateCount)) or one per level (\(design.levelCount))")
        }
        var out = [Double](repeating: 0, count: design.levelCount)
        for b in 0..<design.levelCount {
            let c = design.levelCovariate[b]
            var value: Double
            if theta.count == design.levelCount && theta.count != design.covariateCount {
                value = theta[b]
            } else {
                value = theta.count == 1 ? theta[0] : theta[c]
            }
            if tau > 0 {
                let x = Double(design.levelCounts[b]) / (Double(clusters) * tau)
                value *= 1 - exp(-(x * x))
            }
            out[b] = value
        }
        return out
    }
}
