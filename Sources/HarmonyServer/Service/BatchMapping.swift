// The mapping work of MAP and EXPORT requests, as pure functions of their inputs: they run inline on the loop
// for small requests and on a pool thread for large ones, and encode the reply frame there too.
import HarmonyCore
import HarmonyProtocol

/// Mapping of one batch's cells with its streaming state.
enum BatchMapping {
    /// The outcome of a job: the state to hand back to the batch, and the reply frame.
    struct Outcome {
        /// The batch's state afterwards (nil when the job failed before building one).
        var state: QueryState?
        /// The complete reply frame (a MAP/EXPORT reply or an ERROR).
        var frame: [UInt8]
    }

    /// `state` if it was built for `model`, otherwise a fresh state fed with the batch's earlier cells
    /// (`history`, in arrival order) so it reflects everything seen so far under the current model.
    static func currentState(_ state: QueryState?, builtFor version: UInt64, model: ServedModel, batch: String,
                             history: [QueryBatch.Chunk], historyCells: Int) throws -> QueryState {
        if let state, version == model.version { return state }
        var fresh = model.newState()
        var remaining = historyCells
        for chunk in history where remaining > 0 {
            let take = min(chunk.count, remaining)
            let d = model.model.dimension
            let values = take == chunk.count ? chunk.values : Array(chunk.values[0..<(take * d)])
            _ = try fresh.add(cells: Matrix(rows: take, cols: d, values: values), batch: batch)
            remaining -= take
        }
        return fresh
    }

    /// The cells of one MAP or MAP_TRANSIENT and what to do with each.
    struct MapInput {
        /// The request's cells, row-major (count x d).
        var values: [Float]
        /// Cells in the request.
        var count: Int
        /// Rows added to the batch state (in request order).
        var newRows: [Int]
        /// Rows whose cell the batch already holds: only corrected, with the stored values `duplicateValues`.
        var duplicateRows: [Int]
        /// Stored values of the duplicate rows, row-major.
        var duplicateValues: [Float]
        /// The request: MAP_TRANSIENT and MAP_EXPRESSION_TRANSIENT add the cells to a copy of the state, which is
        /// then dropped; the type also picks the reply's type.
        var request: MessageType
        /// The protocol version of the reply (mapping distances from version 3 on).
        var version: UInt8

        /// True for the transient requests.
        var transient: Bool { request == .mapTransient || request == .mapExpressionTransient }
    }

    /// Maps a request's cells with the batch state and encodes the reply: new cells are added to the state
    /// (their immediate correction), cells the batch already held are corrected with the state after that.
    static func map(_ input: MapInput, batch: String, requestID: UInt32, state: QueryState?, builtFor version: UInt64,
                    history: [QueryBatch.Chunk], historyCells: Int, model: ServedModel) -> Outcome {
        let d = model.model.dimension
        let n = input.count
        var reply = MapReply(modelVersion: model.version, cellCount: n, dimensions: d,
                             corrected: [Float](repeating: 0, count: n * d),
                             topCluster: [UInt32](repeating: 0, count: n), topProbability: [Float](repeating: 0, count: n),
                             predictedLabel: [Int32](repeating: -1, count: n),
                             labelConfidence: [Float](repeating: 0, count: n),
                             mappingDistance: input.version >= 3 ? [Float](repeating: MapReply.noMappingDistance,
                                                                           count: n) : nil)
        do {
            let before = try currentState(state, builtFor: version, model: model, batch: batch,
                                          history: history, historyCells: historyCells)
            var after = before
            if !input.newRows.isEmpty {
                let values = input.newRows.count == n ? input.values : gather(input.values, rows: input.newRows, dims: d)
                let cells = Matrix(rows: input.newRows.count, cols: d, values: values)
                let mapped = try after.add(cells: cells, batch: batch)
                try scatter(mapped, uncorrected: cells, into: &reply, rows: input.newRows, model: model)
            }
            if !input.duplicateRows.isEmpty {
                let count = input.duplicateRows.count
                let cells = Matrix(rows: count, cols: d, values: input.duplicateValues)
                let mapped = try after.correct(cells: cells, batches: [String](repeating: batch, count: count))
                try scatter(mapped, uncorrected: cells, into: &reply, rows: input.duplicateRows, model: model)
            }
            let frame: [UInt8]
            switch input.request {
            case .mapTransient: frame = TransientMapReply(reply).encodedFrame(requestID: requestID, version: input.version)
            case .mapExpression:
                frame = ExpressionMapReply(reply).encodedFrame(requestID: requestID, version: input.version)
            case .mapExpressionTransient:
                frame = TransientExpressionMapReply(reply).encodedFrame(requestID: requestID, version: input.version)
            default: frame = reply.encodedFrame(requestID: requestID, version: input.version)
            }
            return Outcome(state: input.transient ? before : after, frame: frame)
        } catch {
            // No state: the next operation rebuilds it from the accepted cells.
            return Outcome(state: nil, frame: failure(error, requestID: requestID))
        }
    }

    // The rows `rows` of a row-major matrix with `dims` columns.
    private static func gather(_ values: [Float], rows: [Int], dims: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(rows.count * dims)
        for row in rows { out.append(contentsOf: values[(row * dims)..<((row + 1) * dims)]) }
        return out
    }

    // Writes mapped cells (their labels, and in a version-3 reply their mapping distances, from the uncorrected
    // cells as offline `harmony map` computes them) to the reply rows `rows`.
    private static func scatter(_ mapped: MappedCells, uncorrected: Matrix<Float>, into reply: inout MapReply,
                                rows: [Int], model: ServedModel) throws {
        let d = reply.dimensions
        let labels = try model.predictLabels(mapped)
        if reply.mappingDistance != nil, let distance = model.distance, let r = mapped.assignments {
            let distances = distance.distances(cells: uncorrected, assignments: r)
            for (k, row) in rows.enumerated() { reply.mappingDistance![row] = Float(distances[k]) }
        }
        for (k, row) in rows.enumerated() {
            for j in 0..<d { reply.corrected[row * d + j] = mapped.corrected.values[k * d + j] }
            reply.topCluster[row] = UInt32(bitPattern: mapped.topCluster[k])
            reply.topProbability[row] = mapped.topProbability[k]
            reply.predictedLabel[row] = labels.codes[k]
            reply.labelConfidence[row] = labels.confidence[k]
        }
    }

    /// Re-corrects every accepted cell of a batch with its current state and encodes the EXPORT reply.
    static func export(batch: String, requestID: UInt32, state: QueryState?, builtFor version: UInt64,
                       history: [QueryBatch.Chunk], cells: Int, model: ServedModel) -> Outcome {
        var current: QueryState?
        do {
            let working = try currentState(state, builtFor: version, model: model, batch: batch,
                                           history: history, historyCells: cells)
            current = working
            let d = model.model.dimension
            let all = QueryBatch.concatenate(history, cells: cells, dims: d, batch: batch)
            let mapped = try working.correct(cells: Matrix(rows: cells, cols: d, values: all.values),
                                             batches: [String](repeating: batch, count: cells))
            let reply = ExportReply(modelVersion: model.version, cellCount: cells, dimensions: d,
                                    corrected: mapped.corrected.values, cellIDs: all.ids)
            return Outcome(state: current, frame: reply.encodedFrame(requestID: requestID))
        } catch {
            return Outcome(state: current, frame: failure(error, requestID: requestID))
        }
    }

    /// An ERROR frame for a mapping failure (input the model cannot take, or a bug).
    static func failure(_ error: Error, requestID: UInt32) -> [UInt8] {
        let code: ErrorCode
        switch error {
        case HarmonyError.invalidInput, HarmonyError.invalidParameter: code = .badDimension
        default: code = .internal
        }
        return ErrorReply(code: code, message: "mapping failed: \(error)").encodedFrame(requestID: requestID)
    }
}
