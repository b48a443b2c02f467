// MAP: cells of a query batch, made durable, added to the batch and mapped. Loop thread only.
//
// Step by step:
//   1. Checks (dimension, cell count, batch not being forgotten, the server's caps). Nothing has changed yet.
//   2. Log: the request becomes a WAL record, unless every cell has an id the batch already holds durably (a
//      resend: nothing new to log). The record's sequence is taken here, in read order.
//   3. Durable: the WAL calls back in record order. Only now are the cells applied (`BatchTable.apply`): the new
//      ones join the batch, where STATS, EXPORT and refits see them; ids already held are not added again. A
//      failed write applies nothing.
//   4. Map: the operation queued on the batch in step 2 waits for step 3, then borrows the batch's streaming state
//      (`StateLoan`), maps the new cells onto it (their immediate correction) and corrects the already-held ones
//      with the state after that; inline for small requests, on the pool for large ones.
//      A small request is mapped AHEAD, while its record is being synced, on the assumption that all its cells
//      are new: the state stays lent to the operation and the reply is held, so nothing is visible yet. Once
//      durable, the reply goes out if the assumption held; otherwise (a failed write, cells already held) the
//      state is restored as it was lent and step 4 runs as above. The sync and the mapping then overlap.
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

    /// Whether the outcome is known.
    var isResolved: Bool { result != nil }

    /// Runs `body` with the outcome, now or once it is known.
    func whenResolved(_ body: @escaping (Result<QueryBatch.Acceptance, Error>) -> Void) {
        if let result { body(result) } else { waiter = body }
    }
}

/// One MAP request (or a MAP_EXPRESSION once projected), from its checks to its reply.
struct MapOperation {
    let server: HarmonyServer
    let request: MapRequest
    let reply: PendingReply
    /// The reply's type: `.map`, or `.mapExpression` for projected expression.
    let type: MessageType

    /// Steps 1 and 2 now; the rest once the log and the batch's queue let it go on.
    func start() {
        if let (code, message) = Self.refusal(of: request, server: server) ?? growthRefusal() {
            return server.fail(reply, code, message)
        }
        let batch = server.table.batch(named: request.batch)
        let outcome = log(for: batch)
        batch.enqueue { done in
            let ahead = outcome.isResolved ? nil : mapAhead(on: batch)
            outcome.whenResolved { result in mapOnceDurable(result, batch: batch, ahead: ahead, done: done) }
        }
    }

    /// Step 1 for MAP and MAP_TRANSIENT: nil when the cells may be mapped, else the error to answer.
    static func refusal(of request: MapRequest, server: HarmonyServer) -> (ErrorCode, String)? {
        let d = server.models.current.model.dimension
        if request.dimensions != d {
            return (.badDimension, "the cells have \(request.dimensions) dimensions; the model has \(d)")
        }
        let limit = server.configuration.maxCellsPerMap
        if request.cellCount > limit {
            return (.tooManyCells, "\(request.cellCount) cells in one MAP; the limit is \(limit)")
        }
        if server.table.batches[request.batch]?.forgetting == true {
            return (.busy, "batch \"\(request.batch)\" is being forgotten; retry once the FORGET is answered")
        }
        return nil
    }

    // Step 1, the caps on what the server holds (MAP only: a transient MAP holds nothing).
    private func growthRefusal() -> (ErrorCode, String)? {
        let table = server.table, configuration = server.configuration
        if table.batches[request.batch] == nil && table.batches.count >= configuration.maxBatches {
            return (.busy, "harmonyd holds \(table.batches.count) query batches, its limit (--max-batches); "
                    + "FORGET one or raise the limit")
        }
        if Int(table.cellsHeld) + request.cellCount > configuration.maxCellsHeld {
            return (.busy, "harmonyd holds \(table.cellsHeld) query cells; \(request.cellCount) more would pass "
                    + "its limit of \(configuration.maxCellsHeld) (--max-cells); FORGET a batch or raise the limit")
        }
        return nil
    }

    // Steps 2 and 3: the record is appended (or, for a resend, the held cells looked up); the outcome resolves
    // once the record is durable and applied.
    private func log(for batch: QueryBatch) -> DurableOutcome {
        let outcome = DurableOutcome()
        if let ids = request.cellIDs, batch.holdsAll(ids) {
            // A resend: every id is held durably already, so there is nothing to log or add.
            outcome.resolve(.success(batch.lookup(ids)))
            return outcome
        }
        let server = server
        let record = WALRecord(sequence: server.nextSequence, batch: request.batch, ids: request.cellIDs ?? [],
                               count: request.cellCount, dims: request.dimensions, cells: request.values)
        server.nextSequence += 1
        server.wal.append(record) { error in
            if let error {
                server.log.event("wal-error", "\(error)", level: .error)
                return outcome.resolve(.failure(error))
            }
            let acceptance = server.table.apply(record, foldedSequence: server.models.current.foldedSequence)
            outcome.resolve(.success(acceptance ?? QueryBatch.Acceptance(newRows: [], duplicates: [])))
            server.scheduleRefitIfDue()
        }
        return outcome
    }

    /// A small request's mapping, done while its record was being made durable (step 4 ahead).
    private struct MappedAhead {
        /// The state lent to the operation, and what the mapping made of it.
        let loan: StateLoan
        let outcome: BatchMapping.Outcome
        /// The batch's cells processed into its state before this request.
        let prior: Int
    }

    // Step 4 ahead of step 3, for a request small enough to map inline (nil for a larger one), assuming every cell
    // is new; it runs at the head of the batch's queue, so no other operation can touch the state meanwhile.
    private func mapAhead(on batch: QueryBatch) -> MappedAhead? {
        let n = request.cellCount, model = server.models.current
        let rebuilds = batch.state == nil || batch.stateVersion != model.version
        guard n + (rebuilds ? batch.statedCells : 0) <= server.configuration.inlineCellLimit else { return nil }
        let input = BatchMapping.MapInput(values: request.values, count: n, newRows: Array(0..<n), duplicateRows: [],
                                          duplicateValues: [], request: type, version: reply.version)
        let loan = StateLoan(taking: batch, server: server)
        return MappedAhead(loan: loan, outcome: Self.job(input, loan: loan, reply: reply)(), prior: batch.statedCells)
    }

    // Step 4, in the batch's queue once the record's outcome is known: the reply mapped ahead if it still holds.
    private func mapOnceDurable(_ result: Result<QueryBatch.Acceptance, Error>, batch: QueryBatch, ahead: MappedAhead?,
                                done: @escaping () -> Void) {
        if let ahead {
            if case .success(let acceptance) = result, acceptance.duplicates.isEmpty,
               acceptance.newRows.count == request.cellCount {
                ahead.loan.giveBack(ahead.outcome.state, server: server)
                batch.statedCells = ahead.prior + request.cellCount
                server.send(reply, ahead.outcome.frame)
                return done()
            }
            ahead.loan.restore(server: server)
        }
        switch result {
        case .failure(let error):
            server.fail(reply, .internal, "the cells could not be made durable, so none of them was kept: \(error)")
            done()
        case .success(let acceptance):
            let duplicates = acceptance.duplicates
            let input = BatchMapping.MapInput(
                values: request.values, count: request.cellCount, newRows: acceptance.newRows,
                duplicateRows: duplicates.map(\.row),
                duplicateValues: batch.values(at: duplicates.map(\.position), dims: request.dimensions),
                request: type, version: reply.version)
            Self.map(input, on: batch, server: server, reply: reply, done: done)
        }
    }

    /// Steps 4 and 5 (and MAP_TRANSIENT's mapping on a known batch): borrows the batch's state, maps, gives it
    /// back, replies and lets the batch's next operation run.
    static func map(_ input: BatchMapping.MapInput, on batch: QueryBatch, server: HarmonyServer,
                    reply: PendingReply, done: @escaping () -> Void) {
        let loan = StateLoan(taking: batch, server: server)
        let prior = batch.statedCells
        let inline = input.count + (loan.rebuilds ? prior : 0) <= server.configuration.inlineCellLimit
        server.perform(job(input, loan: loan, reply: reply), inline: inline) { outcome in
            loan.giveBack(outcome.state, server: server)
            // A failed job leaves no state; the next operation rebuilds it from all processed cells.
            if !input.transient { batch.statedCells = prior + input.newRows.count }
            server.send(reply, outcome.frame)
            done()
        }
    }

    // The mapping of `input` against the lent state (rebuilt from the batch's processed cells when the loan
    // carries none for its model), as a job that only captures values.
    private static func job(_ input: BatchMapping.MapInput, loan: StateLoan,
                            reply: PendingReply) -> () -> BatchMapping.Outcome {
        let batch = loan.batch, prior = batch.statedCells
        let history = loan.rebuilds ? batch.chunks : []
        return { BatchMapping.map(input, batch: batch.name, requestID: reply.requestID, state: loan.state,
                                  builtFor: loan.builtFor, history: history, historyCells: prior, model: loan.model) }
    }
}
