import HarmonyClient
import HarmonyCore
import HarmonyProtocol

// The cells of a query file are grouped by batch (first-appearance order of batches, file order within a batch)
// and cut into chunks of at most `chunkSize` cells, one MAP request each. Per-cell results are scattered back to
// the file's row order, so outputs line up with the input whatever the batch layout.

/// One `harmony client map` run: the chunk plan, the immediate answers, and the final export.
final class ClientMapSession {
    /// One MAP request's worth of cells: all of one batch, in file order.
    struct Chunk {
        /// The batch of every cell in the chunk.
        let batch: String
        /// File rows of the cells.
        let rows: [Int]
        /// Their cell ids.
        let ids: [String]
    }

    /// The query cells, float32, in file order.
    let cells: Matrix<Float>
    /// Cell ids in file order.
    let ids: [String]
    /// Largest number of cells per request.
    let chunkSize: Int
    /// The requests to send, in order.
    let chunks: [Chunk]
    /// The MAP replies' answers, file order.
    private(set) var results: ClientMapResults

    /// Plans the chunks for `embedding`'s cells with their `batches` (one label per cell).
    init(embedding: Embedding, batches: [String], chunkSize: Int) {
        precondition(batches.count == embedding.cellCount && chunkSize >= 1, "map session inputs disagree")
        cells = embedding.floatValues
        ids = embedding.ids
        self.chunkSize = chunkSize
        var order: [String] = []
        var rowsOf: [String: [Int]] = [:]
        for (row, batch) in batches.enumerated() {
            if rowsOf[batch] == nil { order.append(batch) }
            rowsOf[batch, default: []].append(row)
        }
        var chunks: [Chunk] = []
        for batch in order {
            let rows = rowsOf[batch]!
            for start in stride(from: 0, to: rows.count, by: chunkSize) {
                let part = Array(rows[start..<min(start + chunkSize, rows.count)])
                chunks.append(Chunk(batch: batch, rows: part, ids: part.map { embedding.ids[$0] }))
            }
        }
        self.chunks = chunks
        results = ClientMapResults(ids: embedding.ids, dimensions: embedding.values.cols)
    }

    /// The batches in the order their cells were sent.
    var batchOrder: [String] {
        var seen = Set<String>()
        return chunks.map(\.batch).filter { seen.insert($0).inserted }
    }

    /// Sends every chunk (up to `window` in flight), records each reply and hands it to `onChunk`.
    func mapAll(client: HarmonyClient, window: Int, transient: Bool = false,
                onChunk: (Chunk, MapReply) -> Void) throws {
        let requests = try chunks.map { chunk in
            try HarmonyClient.mapRequest(batch: chunk.batch, ids: chunk.ids,
                                         values: cells.selectingRows(chunk.rows).values, dimensions: cells.cols)
        }
        try client.mapMany(requests, window: window, transient: transient) { index, reply in
            let chunk = chunks[index]
            try results.record(reply, rows: chunk.rows)
            onChunk(chunk, reply)
        }
    }

    /// The final corrections of every cell, from one EXPORT per batch, matched by cell id.
    func exportFinal(client: HarmonyClient) throws -> Matrix<Float> {
        var final = Matrix<Float>(rows: cells.rows, cols: cells.cols)
        let d = cells.cols
        for batch in batchOrder {
            let reply = try client.export(batch: batch)
            guard reply.dimensions == d else {
                throw ClientError.protocolViolation("EXPORT of '\(batch)' has d = \(reply.dimensions), expected \(d)")
            }
            // The daemon may hold more cells of this batch (earlier runs); a later copy of an id wins.
            var rowOfID: [String: Int] = [:]
            for (k, id) in reply.cellIDs.enumerated() { rowOfID[id] = k }
            let mine = chunks.filter { $0.batch == batch }
            let sent = mine.reduce(0) { $0 + $1.rows.count }
            if reply.cellCount > sent {
                ClientConnectionOptions.report("harmony client: note: the daemon holds \(reply.cellCount) cells of "
                                               + "batch '\(batch)', \(sent) of them sent by this run; "
                                               + "its corrections use them all")
            }
            for chunk in mine {
                for (row, id) in zip(chunk.rows, chunk.ids) {
                    guard let k = rowOfID[id] else {
                        throw ClientError.protocolViolation("EXPORT of '\(batch)' lacks cell '\(id)'")
                    }
                    for j in 0..<d { final.values[row * d + j] = reply.corrected[k * d + j] }
                }
            }
        }
        return final
    }

}

/// The per-cell answers of MAP replies, scattered to the input's row order, and the --predictions table built
/// from them.
struct ClientMapResults {
    /// Cell ids in input order.
    let ids: [String]
    /// Corrected coordinates from the replies, input order.
    private(set) var corrected: Matrix<Float>
    private var topCluster: [UInt32]
    private var topProbability: [Float]
    private var predictedLabel: [Int32]
    private var labelConfidence: [Float]
    // Nil until a reply carries distances (protocol version 3 and a model with cluster spreads).
    private var mappingDistance: [Float]?

    /// Empty answers for the cells `ids` of `dimensions` coordinates.
    init(ids: [String], dimensions: Int) {
        let n = ids.count
        self.ids = ids
        corrected = Matrix(rows: n, cols: dimensions)
        topCluster = [UInt32](repeating: 0, count: n)
        topProbability = [Float](repeating: 0, count: n)
        predictedLabel = [Int32](repeating: -1, count: n)
        labelConfidence = [Float](repeating: 0, count: n)
    }

    /// Records a reply to the cells at input rows `rows` (in request order).
    mutating func record(_ reply: MapReply, rows: [Int]) throws {
        let d = corrected.cols
        guard reply.cellCount == rows.count, reply.dimensions == d else {
            throw ClientError.protocolViolation("the daemon answered \(reply.cellCount) x \(reply.dimensions) "
                                                + "for a chunk of \(rows.count) x \(d)")
        }
        let distances = reply.mappingDistance.flatMap { $0.contains(MapReply.noMappingDistance) ? nil : $0 }
        if distances != nil && mappingDistance == nil { mappingDistance = [Float](repeating: 0, count: ids.count) }
        for (k, row) in rows.enumerated() {
            for j in 0..<d { corrected.values[row * d + j] = reply.corrected[k * d + j] }
            topCluster[row] = reply.topCluster[k]
            topProbability[row] = reply.topProbability[k]
            predictedLabel[row] = reply.predictedLabel[k]
            labelConfidence[row] = reply.labelConfidence[k]
            if let distances { mappingDistance?[row] = distances[k] }
        }
    }

    /// The per-cell predictions in the layout of `harmony map --predictions`, as the bytes of the file `path`:
    /// cell_id, label, confidence (both only when the reference has labels), cluster, cluster_prob, and
    /// mapping_distance when the daemon sent distances; gzip-compressed for `.gz`.
    func predictionTable(for path: String, labels: [String]) throws -> [UInt8] {
        let separator = DelimitedTable.separator(forPath: path) == UInt8(ascii: ",") ? "," : "\t"
        let withLabels = !labels.isEmpty
        var text = (["cell_id"] + (withLabels ? ["label", "confidence"] : []) + ["cluster", "cluster_prob"]
                    + (mappingDistance == nil ? [] : ["mapping_distance"]))
            .joined(separator: separator) + "\n"
        for row in 0..<ids.count {
            var fields = [ids[row]]
            if withLabels {
                let index = Int(predictedLabel[row])
                fields += [labels.indices.contains(index) ? labels[index] : "", "\(labelConfidence[row])"]
            }
            fields += ["\(topCluster[row])", "\(topProbability[row])"]
            if let mappingDistance { fields.append("\(mappingDistance[row])") }
            text += fields.joined(separator: separator) + "\n"
        }
        let bytes = Array(text.utf8)
        return path.lowercased().hasSuffix(".gz") ? try Gzip.compress(bytes) : bytes
    }
}
