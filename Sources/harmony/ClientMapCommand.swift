import ArgumentParser
import HarmonyClient
import HarmonyCore
import HarmonyProtocol

/// `harmony client map`: streams a query embedding, or expression when the daemon's reference has genes, to the
/// daemon in chunks and writes the corrected cells.
///
/// By default the output holds the FINAL corrections: after every chunk has been mapped, each batch of an
/// embedding is exported, and the cells of an expression query are sent a second time (a resend, which adds
/// nothing: the daemon answers with final corrections, labels and distances), so the files equal what offline
/// `harmony map` gives. With `--stream`, each chunk's immediate answer is printed
/// to standard output as it arrives (and `--out`, if given, receives those immediate corrections). With
/// `--transient` the daemon answers without remembering or logging the cells, and the outputs hold those answers.
struct ClientMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Map a query (an embedding, or expression) through a running harmonyd, in chunks.",
        discussion: """
            Cells are sent with their ids, and the daemon keeps each (batch, id) once: running the same map \
            again (after a failure, say) adds nothing and answers with the current corrections.

              harmony client map q.tsv --meta meta.tsv --batch-key sample --out mapped.tsv --socket h.sock
              harmony client map q.tsv --meta meta.tsv --batch-key sample --transient --out peek.tsv --socket h.sock
              harmony client map q.h5ad --batch-key sample --out mapped.tsv --predictions pred.tsv --socket h.sock
              harmony client map filtered_feature_bc_matrix/ --meta meta.tsv --batch-key sample --out mapped.tsv \
                --socket h.sock
              harmony client map sample7/outs/filtered_feature_bc_matrix.h5 --batch sample7 --out mapped.tsv \
                --socket h.sock

            Expression (an .h5ad's X or --layer, a 10x directory or .h5, a MatrixMarket file) needs a daemon \
            whose reference was built from expression (`harmony reference`): its genes are matched to the \
            query's by id, then by name, exactly as offline `harmony map` does, and the overlap is reported; \
            below --min-gene-overlap the command stops. Only the reference genes travel, with each cell's total \
            over all of its genes, so the daemon normalizes as offline; reference genes the query lacks stand at \
            the reference mean. The input is read in blocks, never whole. Final results (the default) come from \
            sending the cells twice: the second time is a resend that adds nothing. --predictions then has a \
            mapping_distance column when the reference keeps cluster spreads (higher = less like the reference).

            --transient asks for the answers only: the daemon maps the cells with its current model and each \
            batch's statistics so far, and neither remembers nor logs them (no disk write, nothing to forget).
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Argument(help: "Query: an embedding (.tsv, .csv, .txt, optionally .gz, or .npy: cells x dimensions with cell ids), or expression (.h5ad, 10x directory or .h5, .mtx).")
    var query: String

    @OptionGroup var batchOptions: QueryBatchOptions

    @Option(name: .long, help: "The .h5ad layer holding the query's counts (default: X).")
    var layer: String?

    @Option(name: .long, help: "Smallest fraction of the reference's genes an expression query must measure, in [0, 1].")
    var minGeneOverlap: Double = ExpressionQuery.defaultMinimumOverlap

    @Option(name: .long, help: "Output file for the corrected embedding (required unless --stream).")
    var out: String?

    @Option(name: .long,
            help: "Output table of per-cell predictions (label, confidence, cluster, cluster_prob, mapping_distance) as harmony map has.")
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
        guard minGeneOverlap >= 0, minGeneOverlap <= 1 else {
            throw ValidationError("--min-gene-overlap must be within 0...1.")
        }
        guard stream || out != nil || (transient && predictions != nil) else {
            throw ValidationError("--out is required unless --stream is given.")
        }
    }

    func run() throws {
        if MapQuery.isExpression(query, basis: nil) { return try runExpression() }
        try ClientConnectionOptions.run {
            let (embedding, batches) = try ClientConnectionOptions.readingInput {
                guard layer == nil else { throw HarmonyError.invalidParameter("--layer applies to expression queries") }
                let metadata = try batchOptions.metadata(of: query)
                let embedding = try Embedding.read(query)
                return (embedding, try batchOptions.batches(count: embedding.cellCount, metadata: metadata) {
                    try $0.rows(for: embedding)
                })
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
            let corrected = stream || transient ? session.results.corrected : try session.exportFinal(client: client)
            // All outputs or none.
            var outputs = AtomicFileGroup()
            if let out {
                try MatrixWriter.add(corrected, ids: embedding.ids, columnNames: embedding.columnNames, to: out,
                                     in: &outputs)
            }
            if let predictions {
                outputs.add(try session.results.predictionTable(for: predictions, labels: info.labels), to: predictions)
            }
            try outputs.commit()
            ClientConnectionOptions.report("harmony client: mapped \(embedding.cellCount) cells in "
                                           + "\(session.chunks.count) request(s) of at most \(session.chunkSize) cells")
        }
    }

    /// Expression: matched, chunked and streamed as MAP_EXPRESSION; a second pass (a resend) gives the final answers.
    private func runExpression() throws {
        try ClientConnectionOptions.run {
            let (source, metadata) = try ClientConnectionOptions.readingInput { () -> (any ExpressionSource, CellMetadata?) in
                if OutputPath.isH5AD(query) {
                    let adata = try AnnData.open(query)
                    return (try adata.expression(layer: layer), try batchOptions.metadata(of: query, obs: adata.obsMetadata))
                }
                let metadata = try batchOptions.metadata(of: query)
                return (try ExpressionFiles.open(query, layer: layer), metadata)
            }
            let batches = try ClientConnectionOptions.readingInput {
                try batchOptions.batches(count: source.cellCount, metadata: metadata) { metadata in
                    try source.cellIDs.map { id in
                        guard let row = metadata.rowOfId[id] else {
                            throw HarmonyError.invalidInput("cell '\(id)' of \(source.origin) is not in the metadata "
                                                            + metadata.table.path)
                        }
                        return row
                    }
                }
            }
            let client = try connection.connect()
            let info = try client.info()
            guard let space = info.geneSpace else {
                throw ClientError.invalidArgument(
                    "\(query) holds expression, but the daemon's reference has no genes (it was built from an embedding"
                    + (client.version < 3 ? ", or the daemon speaks protocol version \(client.version) < 3" : "")
                    + "): give the query's PCs in the reference's space, or serve a reference built with "
                    + "`harmony reference`")
            }
            let referenceGenes = space.genes.map { Gene(id: $0.id, name: $0.name) }
            let match = try ClientConnectionOptions.readingInput {
                try GeneMatch(reference: referenceGenes, query: source.genes, source: source.origin)
            }
            guard match.overlap >= minGeneOverlap else {
                throw ClientError.invalidArgument(ExpressionQuery.overlapProblem(
                    match, referenceGenes: referenceGenes, source: source, minimumOverlap: minGeneOverlap))
            }
            ClientConnectionOptions.report("harmony client: gene overlap: "
                                           + ExpressionQuery.overlapSummary(match, queryGeneCount: source.geneCount))
            let kind: ExpressionValueKind
            if case .logCounts = space.normalization { kind = .counts } else { kind = .logNormalized }
            let session = ClientExpressionSession(source: source, batches: batches, match: match, kind: kind,
                                                  chunkSize: min(chunkSize, max(1, info.maxCellsPerMap)),
                                                  dimensions: info.dimensions)
            let columnNames = (1...info.dimensions).map { "PC\($0)" }
            let printer = stream ? ClientStreamPrinter(columnNames: columnNames) : nil
            try ClientConnectionOptions.readingInput {
                try session.pass(client: client, window: window, transient: transient) { ids, reply in
                    printer?.print(ids: ids, reply: reply)
                }
                if !(stream || transient) {
                    try session.pass(client: client, window: window, transient: false) { _, _ in }
                }
            }
            var outputs = AtomicFileGroup()
            if let out {
                try MatrixWriter.add(session.results.corrected, ids: source.cellIDs, columnNames: columnNames, to: out,
                                     in: &outputs)
            }
            if let predictions {
                outputs.add(try session.results.predictionTable(for: predictions, labels: info.labels), to: predictions)
            }
            try outputs.commit()
            ClientConnectionOptions.report("harmony client: mapped \(source.cellCount) cells in "
                                           + "\(session.requestCount) request(s) of at most \(session.chunkSize) cells")
        }
    }
}
