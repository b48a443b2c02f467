// Which query batches keep their streaming state in memory. A state holds per-cluster statistics and terms
// (about 100 KB at K = 100, d = 30), far more than the cells of a small batch, so only the most recently used
// batches keep one; any other batch's state is rebuilt from its accepted cells by its next operation (the
// rebuild path every operation already has for a new model version). This bounds the per-batch overhead for
// many small batches, at the price of a replay when an evicted batch is used again.
// Thread contract: loop thread only.

/// A least-recently-used set of batches whose state is kept.
struct BatchStateCache {
    /// Batches whose state is kept at most.
    let capacity: Int
    private var tick: UInt64 = 0
    private var entries: [ObjectIdentifier: (batch: QueryBatch, lastUse: UInt64)] = [:]

    /// A cache keeping at most `capacity` states.
    init(capacity: Int) { self.capacity = capacity }

    /// Batches whose state is kept now.
    var count: Int { entries.count }

    /// Records that `batch` was just used and kept its state; drops the least recently used state beyond
    /// the capacity.
    mutating func used(_ batch: QueryBatch) {
        tick += 1
        entries[ObjectIdentifier(batch)] = (batch, tick)
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            oldest.value.batch.state = nil
            oldest.value.batch.stateVersion = 0
            entries[oldest.key] = nil
        }
    }

    /// Forgets `batch` (dropped by FORGET).
    mutating func remove(_ batch: QueryBatch) { entries[ObjectIdentifier(batch)] = nil }
}
