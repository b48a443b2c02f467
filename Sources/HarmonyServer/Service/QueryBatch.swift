// The cells of one query batch and its streaming state.
//
// Thread contract: owned by the loop thread. Operations on a batch (MAP, MAP_TRANSIENT, EXPORT) run one at a time
// in arrival order through `enqueue`; an operation that goes to the pool takes the state with it (`state` is nil
// meanwhile) and gives it back in its completion, after which the next queued operation runs. So the state is
// never touched by two threads, and it always holds exactly the first `statedCells` accepted cells.
//
// Cells are accepted (`accept`) only once their log record is durable, in log order, which is also the order in
// which their MAP operations run; an accepted cell's operation may still be queued, so `cellCount` can run ahead of
// `statedCells`.
//
// Exactly once: a cell sent with an id is (batch, id); `accept` keeps only the cells whose id the batch does not
// hold yet. The id index costs one dictionary entry per id (the id string is shared with the chunk that stores it).
import HarmonyCore

/// Accepted cells of one batch, and the QueryState built from them.
final class QueryBatch {
    /// One logged MAP request's worth of accepted (new) cells.
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

    /// Which rows of a request were new, and where the others were accepted before.
    struct Acceptance {
        /// Rows of the request accepted now (in request order).
        var newRows: [Int]
        /// Rows whose id the batch already held, with the position (arrival index in the batch) of that cell.
        var duplicates: [(row: Int, position: Int)]
    }

    /// The batch label.
    let name: String
    /// Accepted cells, in arrival order.
    private(set) var chunks: [Chunk] = []
    // Position of the first cell of each chunk.
    private var chunkStarts: [Int] = []
    /// Accepted cells in total.
    private(set) var cellCount = 0
    /// UTF-8 bytes of the ids of all accepted cells (generated ids counted at their longest), for EXPORT sizes.
    private(set) var idBytes = 0
    // Position of every cell accepted with an id.
    private var positions: [String: Int32] = [:]
    /// The streaming state, valid for model version `stateVersion`; nil while a pool job holds it.
    var state: QueryState?
    /// The model version `state` was built for (0: never built).
    var stateVersion: UInt64 = 0
    /// How many of the accepted cells (a prefix, in arrival order) are in `state`.
    var statedCells = 0
    /// True while a FORGET of this batch waits for its log record.
    var forgetting = false
    private var busy = false
    private var waiting: [(_ done: @escaping () -> Void) -> Void] = []

    /// An empty batch.
    init(name: String) { self.name = name }

    /// Whether every id of `ids` names a cell this batch has accepted.
    func holdsAll(_ ids: [String]) -> Bool { ids.allSatisfy { positions[$0] != nil } }

    /// The acceptance of a request whose ids this batch holds already (`holdsAll`): every row a duplicate.
    func lookup(_ ids: [String]) -> Acceptance {
        Acceptance(newRows: [], duplicates: ids.enumerated().map { ($0.offset, Int(positions[$0.element] ?? 0)) })
    }

    /// Whether an operation runs or waits on this batch.
    var hasOperations: Bool { busy }

    /// Accepts the cells of a durable MAP record whose ids are new (all of them without ids); a repeated id
    /// within the request counts as a duplicate of its first row.
    @discardableResult
    func accept(sequence: UInt64, count: Int, dims: Int, values: [Float], ids: [String]?) -> Acceptance {
        guard let ids else {
            append(Chunk(sequence: sequence, count: count, values: values, ids: nil))
            return Acceptance(newRows: Array(0..<count), duplicates: [])
        }
        var acceptance = Acceptance(newRows: [], duplicates: [])
        for (row, id) in ids.enumerated() {
            if let position = positions[id] {
                acceptance.duplicates.append((row, Int(position)))
            } else {
                positions[id] = Int32(cellCount + acceptance.newRows.count)
                acceptance.newRows.append(row)
            }
        }
        let fresh = acceptance.newRows
        if fresh.count == count {
            append(Chunk(sequence: sequence, count: count, values: values, ids: ids))
        } else if !fresh.isEmpty {
            var kept: [Float] = []
            kept.reserveCapacity(fresh.count * dims)
            for row in fresh { kept.append(contentsOf: values[(row * dims)..<((row + 1) * dims)]) }
            append(Chunk(sequence: sequence, count: fresh.count, values: kept, ids: fresh.map { ids[$0] }))
        }
        return acceptance
    }

    private func append(_ chunk: Chunk) {
        chunkStarts.append(cellCount)
        chunks.append(chunk)
        cellCount += chunk.count
        idBytes += chunk.ids?.reduce(0) { $0 + $1.utf8.count } ?? chunk.count * (name.utf8.count + 21)
    }

    /// The stored values of the cells at `positions` (arrival indices), row-major.
    func values(at positions: [Int], dims: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(positions.count * dims)
        for position in positions {
            // The last chunk starting at or before `position` holds it.
            var low = 0, high = chunkStarts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if chunkStarts[middle] <= position { low = middle } else { high = middle - 1 }
            }
            let row = position - chunkStarts[low]
            out.append(contentsOf: chunks[low].values[(row * dims)..<((row + 1) * dims)])
        }
        return out
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

    /// Accepted cells logged after `sequence` (not folded into a model of that sequence).
    func cells(after sequence: UInt64) -> Int {
        chunks.reduce(0) { $0 + ($1.sequence > sequence ? $1.count : 0) }
    }
}
