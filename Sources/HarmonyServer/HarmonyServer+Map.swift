// MAP, MAP_TRANSIENT and FORGET: the requests that change or read a batch's cells. Loop thread only.
//
// MAP, step by step:
//   1. Checks (dimension, cell count, batch not being forgotten). Nothing has changed yet.
//   2. Log: the request becomes a WAL record, unless every cell has an id the batch already holds durably (a
//      resend: nothing new to log). The record's sequence is taken here, in read order.
//   3. Durable: the WAL calls back in record order. Only now are the cells applied (`BatchTable.apply`): the new
//      ones join the batch, where STATS, EXPORT and refits see them; ids already held are not added again. A
//      failed write applies nothing.
//   4. Map: the operation queued on the batch in step 2 waits for step 3, then maps the new cells onto the
//      batch's streaming state (their immediate correction) and corrects the already-held ones with the state
//      after that; inline for small requests, on the pool for large ones.
//   5. Reply, and `done()` lets the batch's next operation run. Every path ends in exactly one reply and one
//      `done()`.
import HarmonyCore
import HarmonyProtocol

/// A log record's outcome, awaited by the batch operation of its request.
final class DurableOutcome {
    private var result: Result<QueryBatch.Acceptance, Error>?
    private var waiter: ((Result<QueryBatch.Acceptance, Error>) -> Void)?

    /// Records the outcome and wakes the waiter, if any.
    func resolve(_ outcome: Result<QueryBatch.Acceptance, Error>) {
        result = outcome
        if let waiter {
            self.waiter = nil
            waiter(outcome)
        }
    }

    /// Runs `body` with the outcome, now or once it is known.
    func whenResolved(_ body: @escaping (Result<QueryBatch.Acceptance, Error>) -> Void) {
        if let result { body(result) } else { waiter = body }
    }
}

extension HarmonyServer {
    // Step 1 for MAP and MAP_TRANSIENT: nil when the request may go on, else the reply has been sent.
    private func refuseCells(_ request: MapRequest, _ reply: PendingReply) -> Bool {
        let d = models.current.model.dimension
        if request.dimensions != d {
            fail(reply, .badDimension, "the cells have \(request.dimensions) dimensions; the model has \(d)")
            return true
        }
        if request.cellCount > configuration.maxCellsPerMap {
            fail(reply, .tooManyCells, "\(request.cellCount) cells in one MAP; the limit is "
                 + "\(configuration.maxCellsPerMap)")
            return true
        }
        if table.batches[request.batch]?.forgetting == true {
            fail(reply, .busy, "batch \"\(request.batch)\" is being forgotten; retry once the FORGET is answered")
            return true
        }
        return false
    }

    // The caps on what the server holds (MAP only: a transient MAP holds nothing).
    private func refuseGrowth(_ request: MapRequest, _ reply: PendingReply) -> Bool {
        if table.batches[request.batch] == nil && table.batches.count >= configuration.maxBatches {
            fail(reply, .busy, "harmonyd holds \(table.batches.count) query batches, its limit (--max-batches); "
                 + "FORGET one or raise the limit")
            return true
        }
        if Int(table.cellsHeld) + request.cellCount > configuration.maxCellsHeld {
            fail(reply, .busy, "harmonyd holds \(table.cellsHeld) query cells; \(request.cellCount) more would pass "
                 + "its limit of \(configuration.maxCellsHeld) (--max-cells); FORGET a batch or raise the limit")
            return true
        }
        return false
    }

    // MARK: - MAP

    /// MAP, and a MAP_EXPRESSION once projected (`type` .mapExpression: the same, but for the reply's type).
    func map(_ request: MapRequest, _ reply: PendingReply, type: MessageType = .map) {
        if refuseCells(request, reply) || refuseGrowth(request, reply) { return }
        let batch = table.batch(named: request.batch)
        let outcome = DurableOutcome()
        if let ids = request.cellIDs, batch.holdsAll(ids) {
            // Step 2, a resend: every id is held durably already, so there is nothing to log or add.
            outcome.resolve(.success(batch.lookup(ids)))
        } else {
            let record = WALRecord(sequence: nextSequence, batch: request.batch, ids: request.cellIDs ?? [],
                                   count: request.cellCount, dims: request.dimensions, cells: request.values)
            nextSequence += 1
            wal.append(record) { [self] error in
                if let error {
                    log.event("wal-error", "\(error)", level: .error)
                    return outcome.resolve(.failure(error))
                }
                // Step 3.
                let acceptance = table.apply(record, foldedSequence: models.current.foldedSequence)
                outcome.resolve(.success(acceptance ?? QueryBatch.Acceptance(newRows: [], duplicates: [])))
                scheduleRefitIfDue()
            }
        }
        batch.enqueue { [self] done in
            outcome.whenResolved { [self] result in
                switch result {
                case .failure(let error):
                    fail(reply, .internal, "the cells could not be made durable, so none of them was kept: \(error)")
                    done()
                case .success(let acceptance):
                    let duplicates = acceptance.duplicates
                    let input = BatchMapping.MapInput(
                        values: request.values, count: request.cellCount, newRows: acceptance.newRows,
                        duplicateRows: duplicates.map(\.row),
                        duplicateValues: batch.values(at: duplicates.map(\.position), dims: request.dimensions),
                        request: type, version: reply.version)
                    mapOnState(input, of: batch, reply, done: done)
                }
            }
        }
    }

    // Step 4 (and MAP_TRANSIENT's mapping on an existing batch): takes the batch's state, maps, hands it back.
    private func mapOnState(_ input: BatchMapping.MapInput, of batch: QueryBatch, _ reply: PendingReply,
                            done: @escaping () -> Void) {
        let model = models.current
        let state = batch.state, version = batch.stateVersion, prior = batch.statedCells
        let rebuild = state == nil || version != model.version
        let history = rebuild ? batch.chunks : []
        batch.state = nil
        let work = { BatchMapping.map(input, batch: batch.name, requestID: reply.requestID, state: state,
                                      builtFor: version, history: history, historyCells: prior, model: model) }
        let publish = { [self] (outcome: BatchMapping.Outcome) in
            batch.state = outcome.state
            batch.stateVersion = outcome.state == nil ? 0 : model.version
            keepState(of: batch)
            // A failed job leaves no state; the next operation rebuilds it from all processed cells.
            if !input.transient { batch.statedCells = prior + input.newRows.count }
            send(reply, outcome.frame)
            done()
        }
        if input.count + (rebuild ? prior : 0) <= configuration.inlineCellLimit {
            publish(work())
        } else {
            loop.submit(work, completion: publish)
        }
    }

    /// Marks a batch's state, just handed back by an operation, as recently used (a forgotten batch's is dropped).
    func keepState(of batch: QueryBatch) {
        guard batch.state != nil else { return }
        if table.batches[batch.name] === batch {
            stateCache.used(batch)
        } else {
            batch.state = nil
        }
    }

    // MARK: - MAP_TRANSIENT

    /// Maps cells as the batch's next MAP would be mapped, from the current model and the batch's statistics,
    /// and forgets them: nothing is logged or kept.
    func mapTransient(_ request: MapRequest, _ reply: PendingReply, type: MessageType = .mapTransient) {
        if refuseCells(request, reply) { return }
        let input = BatchMapping.MapInput(values: request.values, count: request.cellCount,
                                          newRows: Array(0..<request.cellCount), duplicateRows: [], duplicateValues: [],
                                          request: type, version: reply.version)
        if let batch = table.batches[request.batch] {
            // In the batch's queue, so that it sees every MAP read before it.
            batch.enqueue { [self] done in mapOnState(input, of: batch, reply, done: done) }
            return
        }
        // An unknown batch stays unknown: a fresh state, not registered.
        let model = models.current
        let work = { BatchMapping.map(input, batch: request.batch, requestID: reply.requestID, state: nil,
                                      builtFor: 0, history: [], historyCells: 0, model: model) }
        if input.count <= configuration.inlineCellLimit {
            send(reply, work().frame)
        } else {
            loop.submit(work, completion: { [self] outcome in send(reply, outcome.frame) })
        }
    }

    // MARK: - FORGET

    /// Drops every cell of a batch once a FORGET record is durable. Cells a refit already folded into the
    /// served model stay in that model's reference.
    func forget(_ request: ForgetRequest, _ reply: PendingReply) {
        guard let batch = table.batches[request.batch], batch.cellCount > 0 || batch.hasOperations else {
            return fail(reply, .unknownBatch, "no cells of batch \"\(request.batch)\" have been mapped")
        }
        guard !batch.forgetting else {
            return fail(reply, .busy, "batch \"\(request.batch)\" is already being forgotten")
        }
        guard !refits.running else {
            return fail(reply, .refitInProgress, "a refit is folding the current cells in; FORGET after it ends")
        }
        batch.forgetting = true
        let record = WALRecord.forget(sequence: nextSequence, batch: request.batch)
        nextSequence += 1
        wal.append(record) { [self] error in
            batch.forgetting = false
            if let error {
                log.event("wal-error", "\(error)", level: .error)
                return fail(reply, .internal, "the FORGET could not be made durable; the batch is unchanged: \(error)")
            }
            // Every MAP of the batch read before the FORGET was logged before it, so it is counted here.
            let cells = batch.cellCount
            table.apply(record, foldedSequence: models.current.foldedSequence)
            stateCache.remove(batch)
            log.event("forget", "batch=\"\(request.batch)\" cells=\(cells)")
            send(reply, ForgetReply(cellsForgotten: UInt64(cells)).encodedFrame(requestID: reply.requestID))
        }
    }
}
