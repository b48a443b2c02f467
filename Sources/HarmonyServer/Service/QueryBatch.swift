// The cells of one query batch and its streaming state.
//
// Thread contract: owned by the loop thread. Operations on a batch (MAP, EXPORT) run one at a time in
// arrival order through `enqueue`; an operation that goes to the pool takes the state with it (`state` is nil
// meanwhile) and gives it back in its completion, after which the next queued operation runs. So the state is
// never touched by two threads, and it always holds exactly the first `statedCells` accepted cells.
import HarmonyCore

/// Accepted cells of one batch, and the QueryState built from them.
final class QueryBatch {
    /// One MAP request's worth of accepted cells.
    struct Chunk {
        /// The write-ahead-log sequence of the request.
        var sequence: UInt64
        /// Number of cells.
        var count: Int
        /// count x d values, row-major.
        var values: [Float]
        /// Cell ids given by the client, or nil.
        var ids: [String]?
    }

    /// The batch label.
    let name: String
    /// Accepted cells, in arrival order.
    private(set) var chunks: [Chunk] = []
    /// Accepted cells in total.
    private(set) var cellCount = 0
    /// UTF-8 bytes of the ids of all accepted cells (generated ids counted at their longest), for EXPORT sizes.
    private(set) var idBytes = 0
    /// The streaming state, valid for model version `stateVersion`; nil while a pool job holds it.
    var state: QueryState?
    /// The model version `state` was built for (0: never built).
    var stateVersion: UInt64 = 0
    /// How many of the accepted cells (a prefix, in arrival order) are in `state`.
    var statedCells = 0
    private var busy = false
    private var waiting: [(_ done: @escaping () -> Void) -> Void] = []

    /// An empty batch.
    init(name: String) { self.name = name }

    /// Records accepted cells (in arrival order; the state catches up when their operation runs).
    func accept(_ chunk: Chunk) {
        chunks.append(chunk)
        cellCount += chunk.count
        idBytes += chunk.ids?.reduce(0) { $0 + $1.utf8.count } ?? chunk.count * (name.utf8.count + 21)
    }

    /// Runs `operation` once every earlier operation of this batch has called its `done`.
    func enqueue(_ operation: @escaping (_ done: @escaping () -> Void) -> Void) {
        if busy {
            waiting.append(operation)
        } else {
            busy = true
            operation { [self] in next() }
        }
    }

    private func next() {
        if waiting.isEmpty {
            busy = false
        } else {
            let operation = waiting.removeFirst()
            operation { [self] in next() }
        }
    }

    /// Row-major values and ids (a generated `<batch>#<index>` for cells sent without one) of the first
    /// `cells` cells of `chunks`.
    static func concatenate(_ chunks: [Chunk], cells: Int, dims: Int, batch: String) -> (values: [Float], ids: [String]) {
        var values: [Float] = []
        values.reserveCapacity(cells * dims)
        var ids: [String] = []
        ids.reserveCapacity(cells)
        for chunk in chunks where ids.count < cells {
            let take = min(chunk.count, cells - ids.count)
            values.append(contentsOf: chunk.values[0..<(take * dims)])
            if let chunkIDs = chunk.ids {
                ids.append(contentsOf: chunkIDs[0..<take])
            } else {
                let start = ids.count
                ids.append(contentsOf: (start..<(start + take)).map { "\(batch)#\($0)" })
            }
        }
        return (values, ids)
    }

    /// The chunks whose sequence lies in `range` (cells to fold into a refit).
    func chunks(in range: ClosedRange<UInt64>) -> [Chunk] {
        chunks.filter { range.contains($0.sequence) }
    }
}
