// The query batches and the counts STATS and refits need, changed only by durable log records: the same
// `apply` replays the log at start-up and accepts each record once its group commit is on disk, so a restart
// rebuilds exactly the state the server acknowledged (including which cell ids a batch holds).
// Thread contract: loop thread only (and start-up).

/// Query batches by label, with their cell counts.
struct BatchTable {
    /// Batches by label. A batch may hold no cells yet (its first MAP is still being logged).
    private(set) var batches: [String: QueryBatch] = [:]
    /// Distinct cells held (accepted and not forgotten), including those recovered from the log.
    private(set) var cellsHeld: UInt64 = 0
    /// Cells held that no model has folded in yet.
    private(set) var cellsPendingRefit = 0
    /// The sequence of the last durable record (0: none).
    private(set) var lastSequence: UInt64 = 0

    /// The batch called `name`, created empty when absent.
    mutating func batch(named name: String) -> QueryBatch {
        if let batch = batches[name] { return batch }
        let batch = QueryBatch(name: name)
        batches[name] = batch
        return batch
    }

    /// The batches holding at least one cell, sorted by label.
    var nonEmpty: [QueryBatch] {
        batches.values.filter { $0.cellCount > 0 }.sorted { $0.name < $1.name }
    }

    /// Applies a durable record: a MAP's new cells join their batch (the acceptance says which rows were new),
    /// a FORGET drops its batch. `foldedSequence` is the last record the served model has folded in.
    @discardableResult
    mutating func apply(_ record: WALRecord, foldedSequence: UInt64) -> QueryBatch.Acceptance? {
        lastSequence = max(lastSequence, record.sequence)
        if record.isForget {
            if let batch = batches[record.batch] {
                cellsHeld -= UInt64(batch.cellCount)
                cellsPendingRefit -= batch.cells(after: foldedSequence)
                batches[record.batch] = nil
            }
            return nil
        }
        let acceptance = batch(named: record.batch).accept(sequence: record.sequence, count: record.count,
                                                           dims: record.dims, values: record.cells,
                                                           ids: record.ids.isEmpty ? nil : record.ids)
        cellsHeld += UInt64(acceptance.newRows.count)
        if record.sequence > foldedSequence { cellsPendingRefit += acceptance.newRows.count }
        return acceptance
    }

    /// After the log's replay: every recovered cell counts as processed, so the first operation on a batch
    /// rebuilds its state from all of them (no MAP operation is left to add them).
    func recoveredAll() {
        for batch in batches.values { batch.statedCells = batch.cellCount }
    }

    /// Records that a refit folded `cells` pending cells into the served model.
    mutating func folded(_ cells: Int) { cellsPendingRefit -= cells }
}
