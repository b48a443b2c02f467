import ArgumentParser
import HarmonyCore
import HarmonyPlot

/// `harmony plot embedding`: 2-D views before and after integration, coloured by metadata columns.
struct PlotEmbeddingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding",
        abstract: "Plot 2-D views of an embedding before and after integration, coloured by batch and label.",
        discussion: """
            Draws one row of panels per embedding (--before, the uncorrected input of `harmony fit`, then \
            --after, its corrected output) and one column per --color-by column. Each embedding gets a UMAP \
            layout computed here (the UMAP options below), or the layout given with --before-layout / \
            --after-layout (a table of cell_id and two coordinates, as `harmony umap` writes). Cells are matched \
            to the metadata by id. Either embedding may be left out.

            Examples:
              harmony plot embedding --before pcs.tsv.gz --after corrected.tsv.gz --meta meta.tsv.gz \\
                --color-by batch,cell_type --out umap.png
              harmony umap corrected.tsv.gz --out after_umap.tsv
              harmony plot embedding --after corrected.tsv.gz --after-layout after_umap.tsv --meta meta.tsv.gz \\
                --color-by batch --out after.svg
            """)

    @Option(help: ArgumentHelp("The embedding before integration (.tsv/.csv/.txt[.gz] or .npy).", valueName: "file"))
    var before: String?

    @Option(help: ArgumentHelp("The embedding after integration (e.g. `harmony fit --out`).", valueName: "file"))
    var after: String?

    @Option(name: .customLong("before-layout"), help: ArgumentHelp("A 2-D layout of --before to draw instead of computing UMAP.", valueName: "file"))
    var beforeLayout: String?

    @Option(name: .customLong("after-layout"), help: ArgumentHelp("A 2-D layout of --after to draw instead of computing UMAP.", valueName: "file"))
    var afterLayout: String?

    @Option(help: ArgumentHelp("Cell metadata table (first column: cell id) holding the --color-by columns.", valueName: "file"))
    var meta: String

    @Option(name: .customLong("color-by"), help: ArgumentHelp("Metadata column(s) to colour by, comma-separated, e.g. batch,cell_type.", valueName: "column[,..]"))
    var colorBy: ColumnList

    @Option(help: ArgumentHelp("The picture to write: .png, .svg or .pdf.", valueName: "file"))
    var out: String

    @OptionGroup
    var umap: UMAPOptions

    func validate() throws {
        guard before != nil || after != nil else { throw ValidationError("give --before, --after or both.") }
        if beforeLayout != nil && before == nil { throw ValidationError("--before-layout needs --before.") }
        if afterLayout != nil && after == nil { throw ValidationError("--after-layout needs --after.") }
        try PlotCommand.checkOutput(out)
    }

    func run() throws {
        var panels: [Panel] = []
        for (name, path, layoutPath) in [("before", before, beforeLayout), ("after", after, afterLayout)] {
            guard let path else { continue }
            let input = try CommandFailure.readingInput {
                try FitInput.load(embedding: path, metadata: meta, columns: colorBy.names, requireTwoLevels: false)
            }
            let layout = try PlotCommand.layout(of: input.embedding, from: layoutPath, umap: umap)
            let (x, y) = PlotCommand.coordinates(layout)
            for covariate in input.covariates {
                panels.append(.categoricalScatter(title: "\(name): \(covariate.name)", x: x, y: y, levels: covariate.levels,
                                                  codes: covariate.codes, seed: umap.seed))
            }
        }
        let title = layoutTitle
        try PlotCommand.write(Figure(title: title, panels: panels, columns: colorBy.names.count), to: out)
    }

    private var layoutTitle: String {
        let computed = (before != nil && beforeLayout == nil) || (after != nil && afterLayout == nil)
        return computed ? "UMAP (k = \(umap.neighbors), min-dist \(umap.minDist), seed \(umap.seed))" : "2-D views"
    }
}
