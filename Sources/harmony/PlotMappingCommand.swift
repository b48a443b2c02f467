import ArgumentParser
import HarmonyCore
import HarmonyPlot

/// `harmony plot mapping`: mapped query cells placed on the reference's 2-D view.
struct PlotMappingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Plot query cells placed on the reference's 2-D view.",
        discussion: """
            The reference's corrected embedding (`harmony fit --out`) gets a UMAP layout (or --reference-layout); \
            a model built with `harmony reference --layout` (--model) brings both, and its layout's settings. \
            Each mapped query cell (`harmony map --out`, in the same space) is placed on it without moving the \
            reference: it starts at the membership-weighted mean of the layout positions of its --neighbors \
            nearest reference cells, then a few optimisation epochs with the reference fixed settle it (as \
            umap-learn's transform). The left panel shows the reference coloured by --color-by; the right one \
            the reference in grey under the query cells, coloured by --query-color-by (a column of \
            --query-meta, e.g. the `label` of `harmony map --predictions`), or in one colour.

            Examples:
              harmony plot mapping --reference corrected.tsv.gz --reference-meta meta.tsv.gz --color-by cell_type \\
                --query mapped.tsv.gz --query-meta predictions.tsv --query-color-by label --out mapping.png
              harmony plot mapping --model ref.hmod --reference-meta meta.tsv.gz --color-by cell_type \\
                --query mapped.tsv.gz --out mapping.png
              harmony plot mapping --reference corrected.tsv.gz --reference-layout ref_umap.tsv \\
                --reference-meta meta.tsv.gz --color-by cell_type --query mapped.tsv.gz --out mapping.svg \\
                --placed-out query_umap.tsv
            """)

    @Option(help: ArgumentHelp("The reference's corrected embedding (`harmony fit --out`); or give --model.", valueName: "file"))
    var reference: String?

    @Option(help: ArgumentHelp("A reference model that keeps its layout (`harmony reference --layout`): its cells' corrected embedding and 2-D layout are used instead of --reference and a new UMAP.", valueName: "model.hmod"))
    var model: String?

    @Option(name: .customLong("reference-meta"), help: ArgumentHelp("The reference cells' metadata (first column: cell id).", valueName: "file"))
    var referenceMeta: String

    @Option(name: .customLong("color-by"), help: ArgumentHelp("Reference metadata column to colour the reference by, e.g. cell_type.", valueName: "column"))
    var colorBy: String

    @Option(name: .customLong("reference-layout"), help: ArgumentHelp("A 2-D layout of the reference to use instead of computing UMAP (cell_id and two coordinates).", valueName: "file"))
    var referenceLayout: String?

    @Option(help: ArgumentHelp("The mapped query embedding (`harmony map --out`).", valueName: "file"))
    var query: String

    @Option(name: .customLong("query-meta"), help: ArgumentHelp("Query metadata or predictions table holding --query-color-by.", valueName: "file"))
    var queryMeta: String?

    @Option(name: .customLong("query-color-by"), help: ArgumentHelp("Column of --query-meta to colour the query cells by, e.g. label.", valueName: "column"))
    var queryColorBy: String?

    @Option(name: .customLong("placed-out"), help: ArgumentHelp("Also write the query cells' 2-D positions (cell_id, UMAP1, UMAP2).", valueName: "file"))
    var placedOut: String?

    @Option(help: ArgumentHelp("The picture to write: .png, .svg or .pdf.", valueName: "file"))
    var out: String

    @OptionGroup
    var umap: UMAPOptions

    func validate() throws {
        guard (reference == nil) != (model == nil) else { throw ValidationError("give either --reference or --model.") }
        if model != nil, referenceLayout != nil {
            throw ValidationError("--model brings its own layout; --reference-layout goes with --reference.")
        }
        guard (queryMeta == nil) == (queryColorBy == nil) else {
            throw ValidationError("--query-meta and --query-color-by go together.")
        }
        try PlotCommand.checkOutput(out)
        if let placedOut { try OutputPath.check(placedOut, option: "--placed-out") }
    }

    func run() throws {
        let (refEmbedding, covariate, storedLayout) = try readReference()
        let queryEmbedding = try CommandFailure.readingInput { try Embedding.read(query) }
        guard queryEmbedding.values.cols == refEmbedding.values.cols else {
            throw CommandFailure(message: "\(query): \(queryEmbedding.values.cols) dimensions, but the reference \(refEmbedding.path) has \(refEmbedding.values.cols)",
                                 status: CommandFailure.usageStatus)
        }
        var queryLevels = ["query"], queryCodes = [Int32](repeating: 0, count: queryEmbedding.cellCount)
        if let queryMeta, let queryColorBy {
            let covariate = try CommandFailure.readingInput {
                try CellMetadata.read(queryMeta).covariates([queryColorBy], for: queryEmbedding)[0]
            }
            (queryLevels, queryCodes) = (covariate.levels, covariate.codes)
        }
        let layout = try storedLayout?.positions ?? PlotCommand.layout(of: refEmbedding, from: referenceLayout, umap: umap)
        // A stored layout is placed on with its own settings, a computed or given one with the UMAP options.
        var settings = storedLayout?.parameters ?? umap.parameters
        settings.threads = umap.threads
        let placed = try CommandFailure.readingInput {
            try LayoutPlacement.place(queryEmbedding.floatValues, on: layout, of: refEmbedding.floatValues, parameters: settings)
        }
        let (rx, ry) = PlotCommand.coordinates(layout), (qx, qy) = PlotCommand.coordinates(placed)
        let panels: [Panel] = [
            .categoricalScatter(title: "reference: \(colorBy)", x: rx, y: ry, levels: covariate.levels,
                                codes: covariate.codes, seed: umap.seed),
            .categoricalScatter(title: "query" + (queryColorBy.map { ": \($0)" } ?? ""), x: qx, y: qy,
                                levels: queryLevels, codes: queryCodes, background: (rx, ry), seed: umap.seed),
        ]
        var group = AtomicFileGroup()
        try CommandFailure.writingOutput {
            let figure = Figure(title: "Query on the reference's 2-D view", panels: panels)
            group.add(try figure.encoded(as: try ImageFormat(path: out)), to: out)
            if let placedOut {
                try MatrixWriter.add(placed, ids: queryEmbedding.ids, columnNames: ["UMAP1", "UMAP2"], to: placedOut, in: &group)
            }
            try group.commit()
        }
    }

    /// The reference embedding, the --color-by covariate of its cells and, with --model, the stored layout.
    private func readReference() throws -> (Embedding, Covariate, ReferenceLayout?) {
        try CommandFailure.readingInput {
            guard let model else {
                let ref = try FitInput.load(embedding: reference ?? "", metadata: referenceMeta, columns: [colorBy],
                                            requireTwoLevels: false)
                return (ref.embedding, ref.covariates[0], nil)
            }
            let stored = try ModelFile.read(model)
            guard let layout = stored.layout, let cells = stored.cells else {
                throw HarmonyError.invalidInput("\(model) keeps no 2-D layout; build it with `harmony reference --layout`, or give --reference")
            }
            let embedding = Embedding(path: model, ids: cells.ids,
                                      columnNames: (0..<cells.corrected.cols).map { "PC\($0 + 1)" },
                                      values: cells.corrected.converted(to: Double.self))
            let covariate = try CellMetadata.read(referenceMeta).covariates([colorBy], for: embedding)[0]
            return (embedding, covariate, layout)
        }
    }
}
