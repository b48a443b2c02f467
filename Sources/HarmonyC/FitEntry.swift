import CHarmony
import HarmonyCore

// harmony_fit_params_default and harmony_fit: the Harmony fit over caller buffers (harmony.h).

/// Fills `params` with the defaults of `preset` (0 harmony2, 1 harmony1), the same as `harmony fit`'s.
@_cdecl("harmony_fit_params_default")
public func harmonyFitParamsDefault(_ params: UnsafeMutablePointer<harmony_fit_params>?, _ preset: Int32) {
    guard let params else { return }
    let p = HarmonyParameters(preset: preset == 1 ? .harmony1 : .harmony2)
    var c = harmony_fit_params()
    c.preset = preset == 1 ? 1 : 0
    switch p.lambda {
    case .dynamic(let alpha):
        c.lambda_dynamic = 1
        c.alpha = alpha
    case .fixed:
        // The preset's fixed value (1) is applied when no `lambda` values are given.
        c.lambda_dynamic = 0
        c.alpha = 0.2
    }
    c.nclust = 0
    c.tau = p.tau
    c.block_size = p.blockSize
    c.max_iter = Int64(p.maxIterations)
    c.max_iter_cluster = Int64(p.maxClusterRounds)
    c.epsilon_cluster = p.epsilonCluster
    c.epsilon_harmony = p.epsilonHarmony
    c.early_stop = p.earlyStop ? 1 : 0
    c.batch_prop_cutoff = p.batchPropCutoff
    c.seed = p.seed
    c.threads = Int64(p.threads)
    params.pointee = c
}

/// Fits Harmony; see harmony.h for the buffers.
@_cdecl("harmony_fit")
public func harmonyFit(_ embedding: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                       _ covariates: UnsafePointer<harmony_covariate>?, _ covariateCount: Int64,
                       _ params: UnsafePointer<harmony_fit_params>?, _ progress: harmony_progress_fn?,
                       _ progressContext: UnsafeMutableRawPointer?,
                       _ outputs: UnsafeMutablePointer<harmony_fit_outputs>?,
                       _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let params, let outputs, outputs.pointee.corrected != nil else {
            throw HarmonyError.invalidInput("harmony_fit needs parameters and an output buffer for the corrected embedding")
        }
        let matrix = try CInput.matrix(embedding, dtype: dtype, rows: n, cols: d, what: "embedding")
        guard let covariates, covariateCount >= 1 else {
            throw HarmonyError.invalidInput("at least one covariate (batch variable) is required")
        }
        let covs = try (0..<Int(covariateCount)).map {
            try CInput.covariate(covariates[$0], cells: Int(n), index: $0)
        }
        let parameters = try FitParameters.harmony(params.pointee)
        let result = try Harmony.fit(matrix, covariates: covs, parameters: parameters) { p in
            progress?(progressContext, Int64(p.iteration), p.objective)
        }
        let out = outputs.pointee
        var model: ReferenceModel? = nil
        if out.model != nil {
            // Built before anything is written, so a failure leaves the outputs untouched.
            model = try ReferenceModel.build(
                fit: result, embedding: matrix, covariates: covs, parameters: parameters,
                cellIds: try cellIds(out, cells: Int(n)), labels: try labels(out, cells: Int(n)),
                compact: out.compact != 0)
        }
        FitOutput.write(result, model: model, to: outputs)
    }
}

/// Writing a fit's results into the caller's `harmony_fit_outputs`.
enum FitOutput {
    /// Copies the corrected embedding, the objective traces (per iteration, per clustering round) and the counts, and hands over a model handle.
    /// Call only once nothing can fail any more: the caller's buffers are written here and nowhere else.
    static func write(_ result: HarmonyFitResult, model: ReferenceModel?,
                      to outputs: UnsafeMutablePointer<harmony_fit_outputs>) {
        var out = outputs.pointee
        if let corrected = out.corrected {
            result.corrected.values.withUnsafeBufferPointer { corrected.update(from: $0.baseAddress!, count: $0.count) }
        }
        if let objective = out.objective {
            let count = min(result.objective.count, Int(max(0, out.objective_capacity)))
            for i in 0..<count { objective[i] = result.objective[i] }
            out.objective_count = Int64(count)
        }
        if let kmeans = out.objective_kmeans {
            let count = min(result.objectiveKMeans.count, Int(max(0, out.objective_kmeans_capacity)))
            for i in 0..<count { kmeans[i] = result.objectiveKMeans[i] }
            out.objective_kmeans_count = Int64(count)
        }
        if let rounds = out.cluster_rounds {
            let count = min(result.clusterRounds.count, Int(max(0, out.cluster_rounds_capacity)))
            for i in 0..<count { rounds[i] = Int64(result.clusterRounds[i]) }
            out.cluster_rounds_count = Int64(count)
        }
        out.iterations = Int64(result.iterations)
        out.converged = result.converged ? 1 : 0
        out.clusters = Int64(result.resolved.nClusters)
        out.fit_seconds = result.timings.total
        if let model, let handle = out.model { handle.pointee = ModelHandle.retain(model) }
        outputs.pointee = out
    }
}

/// The cell ids of a fit's outputs ("0", "1", ... when NULL); they must be unique.
func cellIds(_ out: harmony_fit_outputs, cells n: Int) throws -> [String] {
    guard out.cell_ids != nil else { return (0..<n).map(String.init) }
    let ids = try CInput.strings(out.cell_ids, count: n, what: "cell id")
    guard Set(ids).count == n else { throw HarmonyError.invalidInput("the cell ids are not unique") }
    return ids
}

/// The labels of a fit's outputs as (column name, value per cell), or nil without a label name.
func labels(_ out: harmony_fit_outputs, cells n: Int) throws -> (name: String, values: [String])? {
    guard let name = out.label_name else { return nil }
    let labelName = String(cString: name)
    let values = try CInput.strings(out.label_values, count: Int(max(0, out.label_count)), what: "label value")
    let codes = try CInput.codes(out.label_codes, cells: n, levelCount: values.count, what: "labels '\(labelName)'")
    return (labelName, codes.map { values[Int($0)] })
}

/// The C parameter struct as `HarmonyParameters`.
enum FitParameters {
    static func harmony(_ c: harmony_fit_params) throws -> HarmonyParameters {
        guard c.preset == 0 || c.preset == 1 else {
            throw HarmonyError.invalidParameter("preset must be 0 (harmony2) or 1 (harmony1), got \(c.preset)")
        }
        var p = HarmonyParameters(preset: c.preset == 1 ? .harmony1 : .harmony2)
        if let theta = CInput.doubles(c.theta, count: c.theta_count) { p.theta = theta }
        if let sigma = CInput.doubles(c.sigma, count: c.sigma_count) { p.sigma = sigma }
        if c.lambda_dynamic != 0 {
            p.lambda = .dynamic(alpha: c.alpha)
        } else if let lambda = CInput.doubles(c.lambda, count: c.lambda_count) {
            p.lambda = .fixed(lambda)
        } else if case .dynamic = p.lambda {
            throw HarmonyError.invalidParameter("a fixed lambda needs one value, or one per covariate")
        }
        guard c.nclust >= 0 else { throw HarmonyError.invalidParameter("nclust must be at least 1 (or 0 for automatic)") }
        p.nClusters = c.nclust == 0 ? nil : Int(c.nclust)
        p.tau = c.tau
        p.blockSize = c.block_size
        p.maxIterations = Int(c.max_iter)
        p.maxClusterRounds = Int(c.max_iter_cluster)
        p.epsilonCluster = c.epsilon_cluster
        p.epsilonHarmony = c.epsilon_harmony
        p.earlyStop = c.early_stop != 0
        p.batchPropCutoff = c.batch_prop_cutoff
        p.seed = c.seed
        p.threads = Int(c.threads)
        return p
    }
}
