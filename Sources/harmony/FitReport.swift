import Foundation
import HarmonyCore

/// The `--report` JSON of `harmony fit`: convergence, objective history, timings and the resolved parameters.
struct FitReport {
    /// The fit's outcome.
    let result: HarmonyFitResult
    /// The parameters the fit was called with.
    let parameters: HarmonyParameters
    /// The input and output files and the batch variables.
    let embeddingPath: String, metadataPath: String, outputPath: String
    /// Covariates used (names and levels).
    let covariates: [Covariate]
    /// Cells and dimensions.
    let cells: Int, dims: Int
    /// Seconds spent reading and checking the inputs, in the fit alone, and writing the outputs.
    let readSeconds: Double, fitSeconds: Double, writeSeconds: Double

    /// The report as a JSON object (keys sorted when encoded).
    var object: [String: Any] {
        [
            "iterations": result.iterations,
            "converged": result.converged,
            "objective": result.objective,
            "objective_kmeans": result.objectiveKMeans,
            "cluster_rounds": result.clusterRounds,
            "fit_seconds": fitSeconds,
            "read_seconds": readSeconds,
            "write_seconds": writeSeconds,
            "timings": [
                "initialization": result.timings.initialization,
                "kmeans_start": result.timings.kmeansStart,
                "clustering": result.timings.clustering,
                "correction": result.timings.correction,
                "total": result.timings.total,
            ],
            "K": result.resolved.nClusters,
            "N": cells,
            "d": dims,
            "input": ["embedding": embeddingPath, "meta": metadataPath],
            "output": outputPath,
            "vars": covariates.map { ["name": $0.name, "levels": $0.levels, "cells_per_level": $0.levelCounts] },
            "parameters": Self.parameterObject(parameters, result: result),
        ]
    }

    /// Every parameter as given, plus what the fit resolved against the data.
    static func parameterObject(_ parameters: HarmonyParameters, result: HarmonyFitResult) -> [String: Any] {
        var lambda: Any
        var alpha: Any = NSNull()
        switch parameters.lambda {
        case .dynamic(let a): lambda = "auto"; alpha = a
        case .fixed(let values): lambda = values
        }
        return [
            "preset": parameters.preset.rawValue,
            "theta": parameters.theta,
            "sigma": parameters.sigma,
            "lambda": lambda,
            "alpha": alpha,
            "nclust": parameters.nClusters.map { $0 as Any } ?? NSNull(),
            "tau": parameters.tau,
            "block_size": parameters.blockSize,
            "max_iter": parameters.maxIterations,
            "max_iter_cluster": parameters.maxClusterRounds,
            "epsilon_cluster": parameters.epsilonCluster,
            "epsilon_harmony": parameters.epsilonHarmony,
            "early_stop": parameters.earlyStop,
            "batch_prop_cutoff": parameters.batchPropCutoff,
            "seed": parameters.seed,
            "threads": parameters.threads,
            "resolved": [
                "K": result.resolved.nClusters,
                "sigma": result.resolved.sigma,
                "theta_per_level": result.resolved.thetaPerLevel,
                "block_size": result.resolved.blockSize,
            ],
        ]
    }

    /// Pretty-printed JSON bytes with sorted keys, ending in a newline.
    static func encode(_ object: [String: Any]) throws -> [UInt8] {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
