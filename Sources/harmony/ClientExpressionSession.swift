import HarmonyClient
import HarmonyCore
import HarmonyProtocol

// `harmony client map` of expression (.h5ad X or a layer, 10x directory or .h5, MatrixMarket). The input is read
// in blocks of cells, never whole. Each block goes through the offline path's own code: `GeneMatch` (genes by id,
// then by name) re-indexes the cells over the daemon's reference genes and gives each cell's total over ALL of its
// genes, checking every value (counts: non-negative integers; no empty cell). The block's cells are grouped by
// batch and cut into MAP_EXPRESSION requests of at most `chunkSize` cells, with the reference genes the query
// lacks marked absent (they stand at the reference mean, as offline). The daemon projects them with the
// reference's gene space, so the three paths (offline, this client, the Python client) compute the same numbers.

/// One pass of an expression query through the daemon.
final class ClientExpressionSession {
    /// The query.
    let source: any ExpressionSource
    /// Each cell's batch, input order.
    let batches: [String]
    /// The query's genes matched to the daemon's.
    let match: GeneMatch
    /// Whether the values are counts (the reference normalizes counts) or normalized values.
    let kind: ExpressionValueKind
    /// Largest number of cells per request.
    let chunkSize: Int
    /// The replies' answers, input order.
    private(set) var results: ClientMapResults
    /// Requests sent by the last pass.
    private(set) var requestCount = 0

    /// A session for `source` with one batch per cell; `dimensions` is the daemon's d.
    init(source: any ExpressionSource, batches: [String], match: GeneMatch, kind: ExpressionValueKind,
         chunkSize: Int, dimensions: Int) {
        precondition(batches.count == source.cellCount && chunkSize >= 1, "expression session inputs disagree")
        self.source = source
        self.batches = batches
        self.match = match
        self.kind = kind
        self.chunkSize = chunkSize
        results = ClientMapResults(ids: source.cellIDs, dimensions: dimensions)
    }

    /// Sends every cell once (up to `window` requests in flight) and records the replies; `onChunk` gets the ids
    /// and reply of each request. Sending the same cells again is a resend: the daemon adds nothing and answers
    /// with their current (final) corrections, labels and distances.
    func pass(client: HarmonyClient, window: Int, transient: Bool,
              onChunk: ([String], MapReply) -> Void) throws {
        let ids = source.cellIDs
        let n = source.cellCount
        // Whole requests per block, so the window can stay full.
        let blockCells = max(ExpressionQuery.defaultBlockCells, chunkSize * window)
        var queue: [(request: ExpressionMapRequest, rows: [Int])] = []
        var rowsOfRequest: [[Int]] = []
        var start = 0
        requestCount = 0
        try client.mapExpressionMany(window: window, transient: transient, next: {
            while queue.isEmpty && start < n {
                let end = min(n, start + blockCells)
                queue = try requests(block: try source.rows(start..<end), firstCell: start, ids: ids)
                start = end
            }
            guard !queue.isEmpty else { return nil }
            let next = queue.removeFirst()
            rowsOfRequest.append(next.rows)
            return next.request
        }, onReply: { index, reply in
            try results.record(reply, rows: rowsOfRequest[index])
            onChunk(rowsOfRequest[index].map { ids[$0] }, reply)
        })
        requestCount = rowsOfRequest.count
    }

    // The requests of one block of input cells (over the query's genes), batch by batch in order of appearance.
    private func requests(block: SparseRows, firstCell: Int, ids: [String])
        throws -> [(request: ExpressionMapRequest, rows: [Int])] {
        let (rows, totals) = try match.referenceRows(block, counts: kind == .counts, firstCell: firstCell,
                                                     cellIDs: ids, source: source.origin)
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for i in 0..<rows.rowCount {
            let batch = batches[firstCell + i]
            if members[batch] == nil { order.append(batch) }
            members[batch, default: []].append(i)
        }
        var out: [(request: ExpressionMapRequest, rows: [Int])] = []
        for batch in order {
            let local = members[batch]!
            for lo in stride(from: 0, to: local.count, by: chunkSize) {
                let part = local[lo..<min(lo + chunkSize, local.count)]
                var starts: [UInt32] = [0]
                var columns: [UInt32] = []
                var values: [Float] = []
                for i in part {
                    for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] {
                        columns.append(UInt32(rows.columns[e]))
                        values.append(rows.values[e])
                    }
                    starts.append(UInt32(columns.count))
                }
                let request = ExpressionMapRequest(
                    batch: batch, geneCount: match.referenceGeneCount, valueKind: kind, present: match.present,
                    totals: part.map { totals[$0] }, rowStarts: starts, columns: columns, values: values,
                    cellIDs: part.map { ids[firstCell + $0] })
                out.append((request, part.map { firstCell + $0 }))
            }
        }
        return out
    }
}
