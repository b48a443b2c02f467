import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// `harmony map`: maps query cells onto a reference model (Symphony-style) and optionally transfers labels.
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Map query cells onto a Harmony reference model.",
        discussion: """
            QUERY is either expression or an embedding. Expression (an AnnData .h5ad's X or --layer NAME, a \
            10x Cell Ranger directory or .h5, or MatrixMarket) needs a reference built from expression by \
            `harmony reference`: the query's genes are matched to the reference genes (by id, then by \
            symbol), counts are normalized as the reference's were (per-cell totals over all of the \
            query's genes), scaled with the reference's gene means and SDs and projected on its loadings; \
            reference genes the query lacks stand at the reference mean. The overlap is reported on stderr; \
            a query measuring fewer than --min-gene-overlap of the reference genes is refused (another \
            species, or symbols against Ensembl ids). Counts must be non-negative integers, every cell must \
            have counts and no reference gene may appear twice. An embedding is cells x dimensions in the \
            reference's PC space, in the formats `harmony fit` reads, or an .h5ad with --basis naming the \
            obsm array that holds it; it works with either kind of reference. A reference built from an \
            embedding (`harmony fit --reference-out`) holds no genes and cannot map expression. For an .h5ad \
            query the obs columns are the metadata unless --meta is given. A query of one sample needs no \
            metadata: --batch NAME puts every cell in batch NAME.

            Each cell is soft-assigned to the \
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

            An .h5ad --out holds obs (the query's metadata columns, then label, confidence, cluster, \
            cluster_prob and mapping_distance, renamed predicted_NAME where obs already has NAME; labels \
            and clusters as categoricals), obsm["X_pca_harmony"] (mapped), obsm["X_pca_reference"] (the \
            uncorrected coordinates in the reference's PC space) and uns["harmony"] (provenance: command, \
            reference, options, gene overlap). --projection-out writes the uncorrected projection of an \
            expression query as a table.

            Examples:
              harmony map q.tsv.gz --reference ref.hmod --meta m.tsv \\
                --batch-key donor --out z.tsv.gz
              harmony map q.npy --reference ref.hmod --meta m.csv \\
                --batch-key sample --out z.npy --predictions pred.tsv
              harmony map q.tsv --reference ref.hmod --meta m.tsv \\
                --batch-key donor --out z.tsv --predictions pred.tsv \\
                --min-confidence 0.6 --max-mapping-distance 8
              harmony map query.h5ad --reference ref.hmod \\
                --batch-key sample_id --out mapped.h5ad
              harmony map query.h5ad --layer counts --reference ref.hmod \\
                --batch-key sample_id --out mapped.h5ad \\
                --projection-out uncorrected.tsv --min-gene-overlap 0.8
              harmony map filtered_feature_bc_matrix/ --reference ref.hmod \\
                --meta m.tsv --batch-key sample --out z.tsv \\
                --predictions pred.tsv
              harmony map query.h5ad --basis X_pca --reference ref.hmod \\
                --batch-key sample --out mapped.h5ad
              harmony map sample7/outs/filtered_feature_bc_matrix.h5 \\
                --reference ref.hmod --batch sample7 --out z.tsv
            """)

    @Argument(help: ArgumentHelp("The query: expression (.h5ad, 10x directory or .h5, .mtx[.gz]) or an embedding (.tsv/.csv/.txt[.gz], .npy, or .h5ad with --basis).",
                                 valueName: "query"))
    var query: String

    @Option(help: ArgumentHelp("The reference model file (from `harmony reference`, or `harmony fit --reference-out` for embedding queries).",
                               valueName: "model.hmod"))
    var reference: String

    @OptionGroup var batchOptions: QueryBatchOptions

    @Option(help: ArgumentHelp("For an .h5ad query holding an embedding: the obsm array in the reference's PC space, e.g. X_pca.",
                               valueName: "name"))
    var basis: String?

    @Option(help: ArgumentHelp("For an .h5ad expression query: the layer to read instead of X (\"raw\" for raw.X).",
                               valueName: "name"))
    var layer: String?

    @Option(name: .customLong("min-gene-overlap"),
            help: ArgumentHelp("Refuse an expression query that measures less than this fraction of the reference genes, in [0, 1].",
                               valueName: "F"))
    var minGeneOverlap: Double = ExpressionQuery.defaultMinimumOverlap

    @Option(name: .customLong("projection-out"),
            help: ArgumentHelp("Also write an expression query's uncorrected projection on the reference PCs (.tsv/.csv/.txt[.gz] or .npy).",
                               valueName: "file"))
    var projectionOut: String?

    @Option(help: ArgumentHelp("Where to write the mapped (corrected) query embedding; the extension picks the format (.tsv, .csv, .txt, each optionally .gz, .npy, or .h5ad with obs, obsm and uns).",
                               valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Also write predicted labels and clusters (.tsv/.csv/.txt[.gz]).", valueName: "file"))
    var predictions: String?

    @Option(name: .customLong("layout-out"), help: ArgumentHelp(
        "Also write the mapped cells' positions on the reference's 2-D layout (cell_id, UMAP1, UMAP2): each is placed by its nearest reference cells without moving the reference. Needs a model built with `harmony reference --layout`.",
        valueName: "file"))
    var layoutOut: String?

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
            help: ArgumentHelp("Label a cell Unknown when its confidence (kNN vote share, or cluster-based probability) is below C, in [0, 1] (default 0: always the top label). Needs --predictions or an .h5ad --out.",
                               valueName: "C"))
    var minConfidence: Double = 0

    @Option(name: .customLong("max-mapping-distance"),
            help: ArgumentHelp("Add a column mapping_flag to the predictions (--predictions, .h5ad --out): 1 for cells whose mapping_distance exceeds X, else 0.",
                               valueName: "X"))
    var maxMappingDistance: Double?

    @Flag(help: "Do not print progress on stderr.")
    var quiet = false

    func validate() throws {
        try OutputPath.check(out, option: "--out", allowH5AD: true)
        if let predictions { try OutputPath.check(predictions, option: "--predictions") }
        if let projectionOut { try OutputPath.check(projectionOut, option: "--projection-out") }
        if let layoutOut { try OutputPath.check(layoutOut, option: "--layout-out") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1.") }
        guard queryLambda >= 0, queryLambda.isFinite else { throw ValidationError("--query-lambda must be a number >= 0.") }
        if let sigma, !(sigma > 0 && sigma.isFinite) { throw ValidationError("--sigma must be a positive number.") }
        guard minGeneOverlap >= 0, minGeneOverlap <= 1 else { throw ValidationError("--min-gene-overlap must lie in [0, 1].") }
        guard minConfidence >= 0, minConfidence <= 1 else { throw ValidationError("--min-confidence must lie in [0, 1].") }
        if minConfidence > 0, !writesPredictions { throw ValidationError("--min-confidence needs --predictions or an .h5ad --out.") }
        if let maxMappingDistance {
            guard maxMappingDistance >= 0, maxMappingDistance.isFinite else {
                throw ValidationError("--max-mapping-distance must be a number >= 0.")
            }
            guard writesPredictions else { throw ValidationError("--max-mapping-distance needs --predictions or an .h5ad --out.") }
        }
    }

    /// Predictions go to --predictions and into the obs of an .h5ad --out.
    private var writesPredictions: Bool { predictions != nil || OutputPath.isH5AD(out) }

    func run() throws {
        let clock = Stopwatch()
        let (input, batches, model) = try CommandFailure.readingInput { () throws -> (MapQuery, [String], ReferenceModel) in
            let model = try ModelFile.read(reference)
            let input = try MapQuery.read(query, model: model, referencePath: reference, batches: batchOptions,
                                          basis: basis, layer: layer, minimumOverlap: minGeneOverlap, progress: progress)
            if projectionOut != nil, input.expression == nil {
                throw HarmonyError.invalidParameter("--projection-out applies to expression queries; \(query) is already an embedding")
            }
            let batches = try batchOptions.batches(count: input.embedding.cellCount, metadata: input.metadata) {
                try $0.rows(for: input.embedding)
            }
            return (input, batches, model)
        }
        let embedding = input.embedding
        guard embedding.values.cols == model.dimension else {
            throw CommandFailure(message: "\(query) has \(embedding.values.cols) dimensions; "
                                     + "the reference \(reference) has \(model.dimension)",
                                 status: CommandFailure.usageStatus)
        }
        // Labels whenever the model holds them and predictions are written; --predictions demands them.
        let transfer = writesPredictions ? LabelTransfer(model: model, k: k, forceClusters: clusterLabels) : nil
        if predictions != nil, transfer == nil {
            throw CommandFailure(message: "--predictions: the reference \(reference) has no labels "
                                     + "(build it with --labels COLUMN)",
                                 status: CommandFailure.usageStatus)
        }
        if maxMappingDistance != nil, model.clusterSpread == nil {
            throw CommandFailure(message: "--max-mapping-distance: the reference \(reference) holds no cluster spreads "
                                     + "(a format-1 model); rebuild it to get mapping distances",
                                 status: CommandFailure.usageStatus)
        }
        if layoutOut != nil, model.layout == nil {
            throw CommandFailure(message: "\(reference) keeps no 2-D layout for --layout-out; build it with `harmony reference --layout`",
                                 status: CommandFailure.usageStatus)
        }
        progress("read \(embedding.cellCount) query cells and a reference of \(model.cellCount) cells, "
                 + "K \(model.clusterCount), in \(FitCommand.seconds(clock.elapsed))")
        let uncorrected = embedding.floatValues
        let options = QueryMappingOptions(sigma: sigma.map { [$0] }, lambda: queryLambda,
                                          includeAssignments: transfer?.method == .clusters,
                                          includeMappingDistance: writesPredictions && model.clusterSpread != nil)
        let mapClock = Stopwatch()
        let covariate = batchOptions.covariate(of: model)
        let mapped = joint
            ? try QueryState.mapJointly(model: model, cells: uncorrected, batches: batches,
                                        batchKey: covariate, options: options)
            : try QueryState.mapEachBatch(model: model, cells: uncorrected, batches: batches,
                                          batchKey: covariate, options: options)
        let labels = try transfer.map { try $0.predict(corrected: mapped.corrected, assignments: mapped.assignments) }
        progress("mapped in \(FitCommand.seconds(mapClock.elapsed))" + (transfer.map { ", labels by \($0.method.rawValue)" } ?? ""))
        let columns = predictionColumns(mapped, labels: labels)
        let placed = try layoutOut.map { _ in try CommandFailure.readingInput { try model.placeOnLayout(mapped.corrected) } }
        try CommandFailure.writingOutput {
            var group = AtomicFileGroup()
            if OutputPath.isH5AD(out) {
                let output = try h5adOutput(input, uncorrected: uncorrected, corrected: mapped.corrected,
                                            predictions: columns, model: model)
                group.add(try AnnDataWriter.bytes(output, path: out), to: out)
            } else {
                try MatrixWriter.add(mapped.corrected, ids: embedding.ids, columnNames: embedding.columnNames, to: out, in: &group)
            }
            if let projectionOut {
                try MatrixWriter.add(uncorrected, ids: embedding.ids, columnNames: embedding.columnNames, to: projectionOut, in: &group)
            }
            if let layoutOut, let placed {
                try MatrixWriter.add(placed, ids: embedding.ids, columnNames: ["UMAP1", "UMAP2"], to: layoutOut, in: &group)
            }
            if let predictions {
                try LabelTable(ids: embedding.ids, columns: columns.map { ($0.name, Self.text($0.column)) })
                    .add(to: predictions, in: &group)
            }
            try group.commit()
        }
        progress("wrote " + ([out] + [projectionOut, layoutOut, predictions].compactMap { $0 }).joined(separator: ", "))
    }

    /// The prediction columns: label and confidence (when labels are transferred), cluster, cluster_prob,
    /// mapping_distance (when the model has cluster spreads) and mapping_flag (with --max-mapping-distance).
    private func predictionColumns(_ mapped: MappedCells, labels: LabelPredictions?) -> [(name: String, column: AnnDataOutputColumn)] {
        guard writesPredictions else { return [] }
        var columns: [(name: String, column: AnnDataOutputColumn)] = []
        if let labels {
            let threshold = Float(minConfidence)
            columns.append(("label", .categorical((0..<labels.confidence.count).map {
                labels.confidence[$0] < threshold ? Self.unknownLabel : labels.label($0)
            })))
            columns.append(("confidence", .floats(labels.confidence)))
        }
        columns.append(("cluster", .categorical(mapped.topCluster.map { $0.description })))
        columns.append(("cluster_prob", .floats(mapped.topProbability)))
        if let distances = mapped.mappingDistance {
            columns.append(("mapping_distance", .doubles(distances)))
            if let limit = maxMappingDistance {
                columns.append(("mapping_flag", .integers(distances.map { $0 > limit ? 1 : 0 })))
            }
        }
        return columns
    }

    /// A prediction column as the text of a --predictions table.
    private static func text(_ column: AnnDataOutputColumn) -> [String] {
        switch column {
        case .strings(let v), .categorical(let v): return v
        case .floats(let v): return v.map { $0.description }
        case .doubles(let v): return v.map { $0.description }
        case .integers(let v): return v.map { $0.description }
        }
    }

    /// The .h5ad output: obs = the query's metadata columns (numbers as float64 when every value is a number,
    /// else categorical) then the predictions, obsm["X_pca_harmony"] and ["X_pca_reference"], uns["harmony"].
    private func h5adOutput(_ input: MapQuery, uncorrected: Matrix<Float>, corrected: Matrix<Float>,
                            predictions: [(name: String, column: AnnDataOutputColumn)],
                            model: ReferenceModel) throws -> AnnDataOutput {
        var columns = try input.metadata?.annDataColumns(for: input.embedding) ?? []
        if let batch = batchOptions.batch, !columns.contains(where: { $0.name == "batch" }) {
            columns.append(("batch", .categorical([String](repeating: batch, count: input.embedding.cellCount))))
        }
        let taken = Set(columns.map(\.name))
        for (name, column) in predictions { columns.append((taken.contains(name) ? "predicted_\(name)" : name, column)) }
        var uns: [(name: String, value: AnnDataScalar)] = [
            ("tool", .string("harmony map (Harmony for Swift)")),
            ("command", .string(CommandLine.arguments.joined(separator: " "))),
            ("input", .string(query)), ("basis", .string(basis ?? "")), ("layer", .string(layer ?? "")),
            ("reference", .string(reference)), ("model_version", .integer(Int64(model.modelVersion))),
            ("batch_key", .string(batchOptions.batchKey ?? "")), ("batch", .string(batchOptions.batch ?? "")),
            ("query_lambda", .number(queryLambda)),
            ("joint", .string(joint ? "true" : "false")),
        ]
        if let match = input.expression?.match {
            uns += [("reference_genes", .integer(Int64(match.referenceGeneCount))),
                    ("genes_matched_by_id", .integer(Int64(match.matchedById))),
                    ("genes_matched_by_name", .integer(Int64(match.matchedByName))),
                    ("min_gene_overlap", .number(minGeneOverlap))]
        }
        return AnnDataOutput(obsNames: input.embedding.ids, obsColumns: columns,
                             obsm: [("X_pca_harmony", corrected), ("X_pca_reference", uncorrected)], uns: uns)
    }

    /// The label of a cell whose confidence is below --min-confidence.
    static let unknownLabel = "Unknown"

    private func progress(_ line: String) {
        if !quiet { StandardError.write("harmony map: \(line)\n") }
    }
}
