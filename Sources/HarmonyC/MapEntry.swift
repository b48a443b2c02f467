import CHarmony
import HarmonyCore

// harmony_map_params_default and harmony_map: Symphony-style mapping of query cells onto a model, the same
// computation as `harmony map` (harmony.h).

/// Fills `params` with `harmony map`'s defaults.
@_cdecl("harmony_map_params_default")
public func harmonyMapParamsDefault(_ params: UnsafeMutablePointer<harmony_map_params>?) {
    guard let params else { return }
    var c = harmony_map_params()
    c.query_lambda = QueryMappingOptions.defaultLambda
    c.sigma = 0
    c.joint = 0
    c.k = 5
    c.cluster_labels = 0
    c.threads = 0
    params.pointee = c
}

/// Maps query cells; see harmony.h.
@_cdecl("harmony_map")
public func harmonyMap(_ handle: OpaquePointer?, _ query: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                       _ batch: UnsafePointer<harmony_covariate>?, _ params: UnsafePointer<harmony_map_params>?,
                       _ outputs: UnsafeMutablePointer<harmony_map_outputs>?,
                       _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        let model = try ModelHandle.model(handle)
        let cells = try CInput.matrix(query, dtype: dtype, rows: n, cols: d, what: "query")
        try MapCall.run(model: model, cells: cells, batch: batch, params: params, outputs: outputs)
    }
}

/// Maps query expression: projected on the model's gene space (ExpressionQuery), then mapped; see harmony.h.
@_cdecl("harmony_map_expression")
public func harmonyMapExpression(_ handle: OpaquePointer?, _ expression: UnsafePointer<harmony_expression>?,
                                 _ cellIds: UnsafePointer<UnsafePointer<CChar>?>?, _ minimumOverlap: Double,
                                 _ batch: UnsafePointer<harmony_covariate>?, _ params: UnsafePointer<harmony_map_params>?,
                                 _ projection: UnsafeMutablePointer<Float>?,
                                 _ outputs: UnsafeMutablePointer<harmony_map_outputs>?,
                                 _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        let model = try ModelHandle.model(handle)
        guard let expression else { throw HarmonyError.invalidInput("harmony_map_expression needs the expression") }
        let n = Int(max(0, expression.pointee.cells))
        let ids = cellIds == nil ? (0..<n).map(String.init) : try CInput.strings(cellIds, count: n, what: "cell id")
        let source = try CSRExpression(expression.pointee, cellIDs: ids)
        let query = try ExpressionQuery(model: model, source: source, minimumOverlap: minimumOverlap)
        try MapCall.run(model: model, cells: query.projection, batch: batch, params: params, outputs: outputs)
        if let projection {
            query.projection.values.withUnsafeBufferPointer { projection.update(from: $0.baseAddress!, count: $0.count) }
        }
    }
}

/// The mapping both entry points share, over query cells in the reference's PC space.
enum MapCall {
    /// Maps `cells` and writes the outputs; nothing is written unless the whole mapping succeeds.
    static func run(model: ReferenceModel, cells: Matrix<Float>, batch: UnsafePointer<harmony_covariate>?,
                    params: UnsafePointer<harmony_map_params>?,
                    outputs: UnsafeMutablePointer<harmony_map_outputs>?) throws {
        guard let batch, let params, let outputs, let corrected = outputs.pointee.corrected else {
            throw HarmonyError.invalidInput("mapping needs a batch variable, parameters and an output buffer for the corrected embedding")
        }
        let p = params.pointee, out = outputs.pointee
        guard cells.cols == model.dimension else {
            throw HarmonyError.invalidInput("the query has \(cells.cols) dimensions; the reference has \(model.dimension)")
        }
        guard cells.rows >= 1 else { throw HarmonyError.invalidInput("the query has no cells") }
        if let bad = cells.values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.invalidInput("the query has a non-finite value (NaN or infinity) at cell \(bad / cells.cols + 1), dimension \(bad % cells.cols + 1)")
        }
        guard p.k >= 1 else { throw HarmonyError.invalidParameter("k must be at least 1 (got \(p.k))") }
        guard p.sigma == 0 || (p.sigma > 0 && p.sigma.isFinite) else {
            throw HarmonyError.invalidParameter("sigma must be positive (or 0 for the model's)")
        }
        let covariate = try CInput.covariate(batch.pointee, cells: cells.rows, index: 0)
        let batches = covariate.codes.map { covariate.levels[Int($0)] }

        let wantsLabels = out.label_codes != nil || out.label_confidence != nil
        var transfer: LabelTransfer? = nil
        if wantsLabels {
            guard let t = LabelTransfer(model: model, k: Int(p.k), forceClusters: p.cluster_labels != 0) else {
                throw HarmonyError.invalidInput("the reference has no labels (build it with labels to transfer them)")
            }
            transfer = t
        }
        // A model without cluster spreads (format 1) makes QueryMapper throw, naming the cause.
        let options = QueryMappingOptions(sigma: p.sigma == 0 ? nil : [p.sigma], lambda: p.query_lambda,
                                          includeAssignments: transfer?.method == .clusters,
                                          includeMappingDistance: out.mapping_distance != nil)
        let threads = Int(max(0, p.threads))
        let mapped = p.joint != 0
            ? try QueryState.mapJointly(model: model, cells: cells, batches: batches, batchKey: covariate.name,
                                        options: options, threads: threads)
            : try QueryState.mapEachBatch(model: model, cells: cells, batches: batches, batchKey: covariate.name,
                                          options: options, threads: threads)
        let labels = try transfer.map { try $0.predict(corrected: mapped.corrected, assignments: mapped.assignments) }

        mapped.corrected.values.withUnsafeBufferPointer { corrected.update(from: $0.baseAddress!, count: $0.count) }
        out.top_cluster?.update(from: mapped.topCluster, count: mapped.topCluster.count)
        out.top_probability?.update(from: mapped.topProbability, count: mapped.topProbability.count)
        if let distances = mapped.mappingDistance { out.mapping_distance?.update(from: distances, count: distances.count) }
        if let labels {
            out.label_codes?.update(from: labels.codes, count: labels.codes.count)
            out.label_confidence?.update(from: labels.confidence, count: labels.confidence.count)
        }
    }
}
