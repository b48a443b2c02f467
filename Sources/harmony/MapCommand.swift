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

            --predictions writes a table with cell_id, label, confidence, cluster, cluster_prob and \
            mapping_distance. Labels come from a k-nearest-neighbour vote among the reference cells whenever \
            the model holds them (confidence = the winner's share of the k votes), else from per-cluster label \
            frequencies (a compact model, or --cluster-labels; confidence = the label's probability). With \
            --min-confidence C a cell whose confidence is below C is labelled Unknown.

            mapping_distance says how unlike the reference a cell is: the average, over the clusters it is \
            assigned to (weighted by its soft assignment), of the Mahalanobis distance of its UNCORRECTED \
            coordinates from the cluster's reference cells (their centre and covariance, kept in the model). \
            About sqrt(d) (4.5 at 20 dimensions) is typical of a reference cell; cells of a type the reference \
            lacks usually score higher. It cannot see a new type that sits among reference cells of another \
            type. --max-mapping-distance X adds a column mapping_flag: 1 for a cell farther than X (its \
            correction and label deserve caution), else 0. Models written before format 2 hold no cluster \
            spreads and give no mapping_distance column (rebuild the reference).

            Examples:
              harmony map q.tsv.gz --reference ref.hmod --meta m.tsv \\
                --batch-key donor --out z.tsv.gz
              harmony map q.npy --reference ref.hmod --meta m.csv \\
                --batch-key sample --out z.npy --predictions pred.tsv
              harmony map q.tsv --reference ref.hmod --meta m.tsv --batch-key donor \\
                --out z.tsv --predictions pred.tsv --min-confidence 0.6 --max-mapping-distance 8
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

    @Option(name: .customLong("min-confidence"),
            help: ArgumentHelp("Label a cell Unknown when its confidence (kNN vote share, or cluster-based probability) is below C, in [0, 1] (default 0: always the top label). Needs --predictions.",
                               valueName: "C"))
    var minConfidence: Double = 0

    @Option(name: .customLong("max-mapping-distance"),
            help: ArgumentHelp("Add a column mapping_flag to --predictions: 1 for cells whose mapping_distance exceeds X, else 0.",
                               valueName: "X"))
    var maxMappingDistance: Double?

    @Flag(help: "Do not print progress on stderr.")
    var quiet = false

    func validate() throws {
        try OutputPath.check(out, option: "--out")
        if let predictions { try OutputPath.check(predictions, option: "--predictions") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1.") }
        guard queryLambda >= 0, queryLambda.isFinite else { throw ValidationError("--query-lambda must be a number >= 0.") }
        if let sigma, !(sigma > 0 && sigma.isFinite) { throw ValidationError("--sigma must be a positive number.") }
        guard minConfidence >= 0, minConfidence <= 1 else { throw ValidationError("--min-confidence must lie in [0, 1].") }
        if minConfidence > 0, predictions == nil { throw ValidationError("--min-confidence needs --predictions.") }
        if let maxMappingDistance {
            guard maxMappingDistance >= 0, maxMappingDistance.isFinite else {
                throw ValidationError("--max-mapping-distance must be a number >= 0.")
            }
            guard predictions != nil else { throw ValidationError("--max-mapping-distance needs --predictions.") }
        }
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
        if maxMappingDistance != nil, model.clusterSpread == nil {
            throw CommandFailure(message: "--max-mapping-distance: the reference \(reference) holds no cluster spreads "
                                     + "(a format-1 model); rebuild it to get mapping distances",
                                 status: CommandFailure.usageStatus)
        }
        progress("read \(embedding.cellCount) query cells and a reference of \(model.cellCount) cells, "
                 + "K \(model.clusterCount), in \(FitCommand.seconds(clock.elapsed))")
        let options = QueryMappingOptions(sigma: sigma.map { [$0] }, lambda: queryLambda,
                                          includeAssignments: transfer?.method == .clusters,
                                          includeMappingDistance: predictions != nil && model.clusterSpread != nil)
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
                    let threshold = Float(minConfidence)
                    columns.append(("label", (0..<embedding.cellCount).map {
                        labels.confidence[$0] < threshold ? Self.unknownLabel : labels.label($0)
                    }))
                    columns.append(("confidence", labels.confidence.map { $0.description }))
                }
                columns.append(("cluster", mapped.topCluster.map { $0.description }))
                columns.append(("cluster_prob", mapped.topProbability.map { $0.description }))
                if let distances = mapped.mappingDistance {
                    columns.append(("mapping_distance", distances.map { $0.description }))
                    if let limit = maxMappingDistance {
                        columns.append(("mapping_flag", distances.map { $0 > limit ? "1" : "0" }))
                    }
                }
                try LabelTable(ids: embedding.ids, columns: columns).add(to: predictions, in: &group)
            }
            try group.commit()
        }
        progress("wrote \(out)" + (predictions.map { " and \($0)" } ?? ""))
    }

    /// The label of a cell whose confidence is below --min-confidence.
    static let unknownLabel = "Unknown"

    private func progress(_ line: String) {
        if !quiet { fputs("harmony map: \(line)\n", stderr) }
    }
}
