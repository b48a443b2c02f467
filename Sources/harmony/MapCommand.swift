import ArgumentParser
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// `harmony map`: maps query cells onto a reference model (Symphony-style) and optionally transfers labels.
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Map query cells onto a Harmony reference model.",
        discussion: """
            QUERY is cells x dimensions in the reference's embedding space (e.g. PCs projected with the \
            reference loadings), in the formats `harmony fit` reads. Each cell is soft-assigned to the \
            reference clusters; cells whose --batch-key value is a level of the reference covariate of that \
            name are corrected with the reference's own batch terms, every other batch is estimated from its \
            own cells together with the reference statistics, exactly as harmonyd does for a streamed batch, \
            so `harmony client map` against a daemon serving the same model writes the same numbers. \
            --joint instead estimates all new batches together with one shared intercept; with \
            --joint --query-lambda 1 --sigma 0.1 the result is Symphony's mapQuery.

            --predictions writes a table with cell_id, label, confidence, cluster and cluster_prob: labels by \
            a k-nearest-neighbour vote among the reference cells (a full model) or from per-cluster label \
            frequencies (a compact model, or --cluster-labels).

            Examples:
              harmony map q.tsv.gz --reference ref.hmod --meta m.tsv \\
                --batch-key donor --out z.tsv.gz
              harmony map q.npy --reference ref.hmod --meta m.csv \\
                --batch-key sample --out z.npy --predictions pred.tsv
            """)

    @Argument(help: ArgumentHelp("The query embedding (.tsv/.csv/.txt[.gz] or .npy).", valueName: "query"))
    var query: String

    @Option(help: ArgumentHelp("The reference model file (from `harmony fit --reference-out`).", valueName: "model.hmod"))
    var reference: String

    @Option(help: ArgumentHelp("Query cell metadata (first column: cell id), holding the --batch-key column.",
                               valueName: "file"))
    var meta: String

    @Option(name: .customLong("batch-key"), help: ArgumentHelp("Metadata column with each query cell's batch.",
                                                                valueName: "column"))
    var batchKey: String

    @Option(help: ArgumentHelp("Where to write the mapped (corrected) query embedding; the extension picks the format.",
                               valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Also write predicted labels and clusters (.tsv/.csv/.txt[.gz]).", valueName: "file"))
    var predictions: String?

    @Option(name: .customLong("query-lambda"),
            help: ArgumentHelp("Ridge penalty on new query batches' terms, a pseudo-count of cells: a cluster's offset is shrunk by n / (n + L) while it has n cells' worth of mass (the default, 1, is Symphony's and harmonyd's; 10-50 damps the first answers of a stream but under-corrects small batches).",
                               valueName: "L"))
    var queryLambda: Double = QueryMappingOptions.defaultLambda

    @Flag(help: "Estimate all new batches together with one shared intercept (Symphony's mapQuery) instead of each batch on its own.")
    var joint = false

    @Option(help: ArgumentHelp("Soft-assignment width for all clusters (default: the model's sigma per cluster).",
                               valueName: "S"))
    var sigma: Double?

    @Option(help: ArgumentHelp("Neighbours per kNN label vote.", valueName: "k"))
    var k: Int = 5

    @Flag(name: .customLong("cluster-labels"), help: "Predict labels from per-cluster label frequencies even with a full model.")
    var clusterLabels = false

    @Flag(help: "Do not print progress on stderr.")
    var quiet = false

    func validate() throws {
        try OutputPath.check(out, option: "--out")
        if let predictions { try OutputPath.check(predictions, option: "--predictions") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1.") }
        guard queryLambda >= 0, queryLambda.isFinite else { throw ValidationError("--query-lambda must be a number >= 0.") }
        if let sigma, !(sigma > 0 && sigma.isFinite) { throw ValidationError("--sigma must be a positive number.") }
    }

    func run() throws {
        let clock = Stopwatch()
        let (embedding, batches, model) = try CommandFailure.readingInput { () throws -> (Embedding, [String], ReferenceModel) in
            let embedding = try Embedding.read(query)
            let metadata = try CellMetadata.read(meta)
            let batches = try metadata.labels(column: batchKey, rows: try metadata.rows(for: embedding))
            return (embedding, batches, try ModelFile.read(reference))
        }
        guard embedding.values.cols == model.dimension else {
            throw CommandFailure(message: "\(query) has \(embedding.values.cols) dimensions; "
                                     + "the reference \(reference) has \(model.dimension)",
                                 status: CommandFailure.usageStatus)
        }
        var transfer: LabelTransfer? = nil
        if predictions != nil {
            guard let t = LabelTransfer(model: model, k: k, forceClusters: clusterLabels) else {
                throw CommandFailure(message: "--predictions: the reference \(reference) has no labels "
                                         + "(build it with `harmony fit --labels COLUMN`)",
                                     status: CommandFailure.usageStatus)
            }
            transfer = t
        }
        progress("read \(embedding.cellCount) query cells and a reference of \(model.cellCount) cells, "
                 + "K \(model.clusterCount), in \(FitCommand.seconds(clock.elapsed))")
        let options = QueryMappingOptions(sigma: sigma.map { [$0] }, lambda: queryLambda,
                                          includeAssignments: transfer?.method == .clusters)
        let mapClock = Stopwatch()
        let mapped = joint
            ? try QueryState.mapJointly(model: model, cells: embedding.floatValues, batches: batches,
                                        batchKey: batchKey, options: options)
            : try QueryState.mapEachBatch(model: model, cells: embedding.floatValues, batches: batches,
                                          batchKey: batchKey, options: options)
        let labels = try transfer.map { try $0.predict(corrected: mapped.corrected, assignments: mapped.assignments) }
        progress("mapped in \(FitCommand.seconds(mapClock.elapsed))" + (transfer.map { ", labels by \($0.method.rawValue)" } ?? ""))
        try CommandFailure.writingOutput {
            var group = AtomicFileGroup()
            try MatrixWriter.add(mapped.corrected, ids: embedding.ids, columnNames: embedding.columnNames, to: out, in: &group)
            if let predictions {
                var columns: [(name: String, values: [String])] = []
                if let labels {
                    columns.append(("label", (0..<embedding.cellCount).map { labels.label($0) }))
                    columns.append(("confidence", labels.confidence.map { $0.description }))
                }
                columns.append(("cluster", mapped.topCluster.map { $0.description }))
                columns.append(("cluster_prob", mapped.topProbability.map { $0.description }))
                try LabelTable(ids: embedding.ids, columns: columns).add(to: predictions, in: &group)
            }
            try group.commit()
        }
        progress("wrote \(out)" + (predictions.map { " and \($0)" } ?? ""))
    }

    private func progress(_ line: String) {
        if !quiet { fputs("harmony map: \(line)\n", stderr) }
    }
}
