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

    /// Adds a MAP request's cells to the batch state and encodes the reply.
    static func map(_ values: [Float], count: Int, batch: String, requestID: UInt32, state: QueryState?,
                    builtFor version: UInt64, history: [QueryBatch.Chunk], historyCells: Int,
                    model: ServedModel) -> Outcome {
        var current: QueryState?
        do {
            var working = try currentState(state, builtFor: version, model: model, batch: batch,
                                           history: history, historyCells: historyCells)
            let d = model.model.dimension
            let mapped = try working.add(cells: Matrix(rows: count, cols: d, values: values), batch: batch)
            current = working
            let labels = try model.predictLabels(mapped)
            let reply = MapReply(modelVersion: model.version, cellCount: count, dimensions: d,
                                 corrected: mapped.corrected.values,
                                 topCluster: mapped.topCluster.map { UInt32(bitPattern: $0) },
                                 topProbability: mapped.topProbability, predictedLabel: labels.codes,
                                 labelConfidence: labels.confidence)
            return Outcome(state: current, frame: reply.encodedFrame(requestID: requestID))
        } catch {
            return Outcome(state: current, frame: failure(error, requestID: requestID))
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
