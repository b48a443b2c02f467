import ArgumentParser
import HarmonyCore
import HarmonyPlot

/// `harmony plot lisi`: the distribution of per-cell LISI scores per batch.
struct PlotLisiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lisi",
        abstract: "Plot the distribution of per-cell LISI scores, per batch.",
        discussion: """
            SCORES are the per-cell tables of `harmony lisi --per-cell` (columns lisi_<column>), typically one \
            before and one after integration. Draws one panel per score column; along the x axis, one group per \
            level of the --by metadata column (e.g. the batch), and in each group one violin per SCORES file \
            (the density of the scores, a bar from the first to the third quartile and a tick at the median), \
            coloured by file. Cells are matched to the metadata by id.

            Examples:
              harmony lisi pcs.tsv.gz --meta meta.tsv.gz --vars batch,cell_type --per-cell before.tsv
              harmony lisi corrected.tsv.gz --meta meta.tsv.gz --vars batch,cell_type --per-cell after.tsv
              harmony plot lisi before.tsv after.tsv --names before,after --meta meta.tsv.gz --by batch --out lisi.png
            """)

    @Argument(help: ArgumentHelp("Per-cell LISI tables from `harmony lisi --per-cell`.", valueName: "scores"))
    var scores: [String]

    @Option(help: ArgumentHelp("A name per SCORES file for the legend, comma-separated (default: the file names).", valueName: "name[,..]"))
    var names: ColumnList?

    @Option(help: ArgumentHelp("Cell metadata table (first column: cell id) holding the --by column.", valueName: "file"))
    var meta: String

    @Option(help: ArgumentHelp("Metadata column whose levels group the cells along the x axis, e.g. batch.", valueName: "column"))
    var by: String

    @Option(help: ArgumentHelp("The picture to write: .png, .svg or .pdf.", valueName: "file"))
    var out: String

    func validate() throws {
        guard !scores.isEmpty else { throw ValidationError("give at least one SCORES file.") }
        if let names, names.names.count != scores.count {
            throw ValidationError("--names has \(names.names.count) name(s) for \(scores.count) SCORES file(s).")
        }
        try PlotCommand.checkOutput(out)
    }

    func run() throws {
        let labels = names?.names ?? scores.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
        var tables: [(Embedding, Covariate)] = []
        for path in scores {
            let input = try CommandFailure.readingInput {
                try FitInput.load(embedding: path, metadata: meta, columns: [by], requireTwoLevels: false)
            }
            tables.append((input.embedding, input.covariates[0]))
        }
        let columns = tables[0].0.columnNames
        let levels = Array(Set(tables.flatMap { $0.1.levels })).sorted()
        var panels: [Panel] = []
        for column in columns {
            var panel = Panel(title: column, yLabel: "LISI", xCategories: levels)
            let slot = 0.8 / Double(tables.count)
            for (f, (table, covariate)) in tables.enumerated() {
                guard let c = table.columnNames.firstIndex(of: column) else {
                    throw CommandFailure(message: "\(scores[f]): no column '\(column)' (the first SCORES file has \(columns.joined(separator: ", ")))",
                                         status: CommandFailure.usageStatus)
                }
                for (l, level) in levels.enumerated() {
                    guard let code = covariate.levels.firstIndex(of: level) else { continue }
                    let values = (0..<table.cellCount).filter { covariate.codes[$0] == Int32(code) }.map { table.values[$0, c] }
                    let position = Double(l) - 0.4 + slot * (Double(f) + 0.5)
                    panel.marks.append(.violin(position: position, values: values, color: .category(f), width: slot * 0.9))
                }
            }
            panel.legend = labels.enumerated().map { LegendEntry(label: $1, color: .category($0)) }
            panels.append(panel)
        }
        try PlotCommand.write(Figure(title: "LISI per \(by)", panels: panels), to: out)
    }
}
