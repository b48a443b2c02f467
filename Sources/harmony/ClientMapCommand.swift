import ArgumentParser
import HarmonyClient
import HarmonyCore

/// `harmony client map`: streams a query embedding to the daemon in chunks and writes the corrected cells.
///
/// By default the output holds the FINAL corrections: after every chunk has been mapped, each batch is exported,
/// so the file equals what offline `harmony map` gives. With `--stream`, each chunk's immediate answer is printed
/// to standard output as it arrives (and `--out`, if given, receives those immediate corrections).
struct ClientMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Map a query embedding through a running harmonyd, in chunks.")

    @OptionGroup var connection: ClientConnectionOptions

    @Argument(help: "Query embedding (.tsv, .csv, .txt, optionally .gz, or .npy): cells x dimensions with cell ids.")
    var query: String

    @Option(name: .long, help: "Metadata table whose first column is the cell id.")
    var meta: String

    @Option(name: .long, help: "Metadata column holding each query cell's batch.")
    var batchKey: String

    @Option(name: .long, help: "Output file for the corrected embedding (required unless --stream).")
    var out: String?

    @Option(name: .long,
            help: "Output table of per-cell predictions (label, confidence, cluster, cluster_prob) as harmony map has.")
    var predictions: String?

    @Option(name: .long, help: "Cells per MAP request (capped by the daemon's max cells per MAP).")
    var chunkSize: Int = 1000

    @Option(name: .long, help: "MAP requests kept in flight at once (pipelining).")
    var window: Int = 4

    @Flag(name: .long, help: "Print each chunk's immediate corrections to standard output as replies arrive.")
    var stream = false

    func validate() throws {
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1.") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1.") }
        guard stream || out != nil else {
            throw ValidationError("--out is required unless --stream is given.")
        }
    }

    func run() throws {
        try ClientConnectionOptions.run {
            let embedding = try Embedding.read(query)
            let metadata = try CellMetadata.read(meta)
            let batches = try metadata.labels(column: batchKey, rows: try metadata.rows(for: embedding))
            let client = try connection.connect()
            let info = try client.info()
            guard embedding.values.cols == info.dimensions else {
                throw ClientError.invalidArgument("\(query) has \(embedding.values.cols) dimensions, but the "
                                                  + "daemon's model has d = \(info.dimensions)")
            }
            let session = ClientMapSession(embedding: embedding, batches: batches,
                                           chunkSize: min(chunkSize, max(1, info.maxCellsPerMap)))
            let printer = stream ? ClientStreamPrinter(columnNames: embedding.columnNames) : nil
            try session.mapAll(client: client, window: window) { chunk, reply in
                printer?.print(ids: chunk.ids, reply: reply)
            }
            let corrected = stream ? session.immediate : try session.exportFinal(client: client)
            if let out {
                try MatrixWriter.write(corrected, ids: embedding.ids, columnNames: embedding.columnNames, to: out)
            }
            if let predictions {
                try session.writePredictions(to: predictions, labels: info.labels)
            }
            ClientConnectionOptions.report("harmony client: mapped \(embedding.cellCount) cells in "
                                           + "\(session.chunks.count) request(s) of at most \(session.chunkSize) cells")
        }
    }
}
