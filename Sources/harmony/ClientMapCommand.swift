import ArgumentParser
import HarmonyClient
import HarmonyCore

/// `harmony client map`: streams a query embedding to the daemon in chunks and writes the corrected cells.
///
/// By default the output holds the FINAL corrections: after every chunk has been mapped, each batch is exported,
/// so the file equals what offline `harmony map` gives. With `--stream`, each chunk's immediate answer is printed
/// to standard output as it arrives (and `--out`, if given, receives those immediate corrections). With
/// `--transient` the daemon answers without remembering or logging the cells, and the outputs hold those answers.
struct ClientMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Map a query embedding through a running harmonyd, in chunks.",
        discussion: """
            Cells are sent with their ids, and the daemon keeps each (batch, id) once: running the same map \
            again (after a failure, say) adds nothing and answers with the current corrections.

              harmony client map q.tsv --meta meta.tsv --batch-key sample --out mapped.tsv --socket h.sock
              harmony client map q.tsv --meta meta.tsv --batch-key sample --transient --out peek.tsv --socket h.sock

            --transient asks for the answers only: the daemon maps the cells with its current model and each \
            batch's statistics so far, and neither remembers nor logs them (no disk write, nothing to forget).
            """)

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

    @Flag(name: .long, help: "Explore only: the daemon answers without remembering or logging the cells; the outputs hold its immediate answers.")
    var transient = false

    func validate() throws {
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1.") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1.") }
        guard stream || out != nil || (transient && predictions != nil) else {
            throw ValidationError("--out is required unless --stream is given.")
        }
    }

    func run() throws {
        try ClientConnectionOptions.run {
            let (embedding, batches) = try ClientConnectionOptions.readingInput {
                let embedding = try Embedding.read(query)
                let metadata = try CellMetadata.read(meta)
                return (embedding, try metadata.labels(column: batchKey, rows: try metadata.rows(for: embedding)))
            }
            let client = try connection.connect()
            let info = try client.info()
            guard embedding.values.cols == info.dimensions else {
                throw ClientError.invalidArgument("\(query) has \(embedding.values.cols) dimensions, but the "
                                                  + "daemon's model has d = \(info.dimensions)")
            }
            let session = ClientMapSession(embedding: embedding, batches: batches,
                                           chunkSize: min(chunkSize, max(1, info.maxCellsPerMap)))
            let printer = stream ? ClientStreamPrinter(columnNames: embedding.columnNames) : nil
            try session.mapAll(client: client, window: window, transient: transient) { chunk, reply in
                printer?.print(ids: chunk.ids, reply: reply)
            }
            let corrected = stream || transient ? session.immediate : try session.exportFinal(client: client)
            // All outputs or none.
            var outputs = AtomicFileGroup()
            if let out {
                try MatrixWriter.add(corrected, ids: embedding.ids, columnNames: embedding.columnNames, to: out,
                                     in: &outputs)
            }
            if let predictions {
                outputs.add(try session.predictionTable(for: predictions, labels: info.labels), to: predictions)
            }
            try outputs.commit()
            ClientConnectionOptions.report("harmony client: mapped \(embedding.cellCount) cells in "
                                           + "\(session.chunks.count) request(s) of at most \(session.chunkSize) cells")
        }
    }
}
