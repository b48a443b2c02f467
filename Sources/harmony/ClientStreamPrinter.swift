import HarmonyProtocol

/// Prints the immediate corrections of each chunk to standard output as tab-separated rows (`--stream`).
final class ClientStreamPrinter {
    private let columnNames: [String]
    private var printedHeader = false

    /// A printer for embeddings with these dimension names.
    init(columnNames: [String]) { self.columnNames = columnNames }

    /// Prints the header once, then one line per cell of the chunk: id, then its d corrected values.
    func print(ids: [String], reply: MapReply) {
        if !printedHeader {
            Swift.print((["cell_id"] + columnNames).joined(separator: "\t"))
            printedHeader = true
        }
        let d = reply.dimensions
        for (k, id) in ids.enumerated() {
            var line = id
            for j in 0..<d { line += "\t\(reply.corrected[k * d + j])" }
            Swift.print(line)
        }
    }
}
