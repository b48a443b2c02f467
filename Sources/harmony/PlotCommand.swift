import ArgumentParser
import HarmonyCore
import HarmonyPlot

/// `harmony plot`: pictures of a fit, its mixing and a mapping, drawn with cairo.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw pictures of a fit, a 2-D view, LISI scores or a mapping (PNG, SVG or PDF).",
        discussion: """
            Each subcommand writes one figure to --out in the format of its extension: .png (raster), .svg or \
            .pdf (vector). 2-D views use a UMAP layout computed on the fly (see `harmony umap`) unless a \
            layout file is given. The file is written only when the whole figure has been drawn.

            Examples:
              harmony plot convergence report.json --out convergence.png
              harmony plot embedding --before pcs.tsv.gz --after corrected.tsv.gz --meta meta.tsv.gz \\
                --color-by batch,cell_type --out umap.png
              harmony plot lisi before.tsv after.tsv --names before,after --meta meta.tsv.gz --by batch --out lisi.svg
              harmony plot mapping --reference corrected.tsv.gz --reference-meta meta.tsv.gz --color-by cell_type \\
                --query mapped.tsv.gz --query-meta predictions.tsv --query-color-by label --out mapping.pdf
            """,
        subcommands: [PlotConvergenceCommand.self, PlotEmbeddingCommand.self, PlotLisiCommand.self,
                      PlotMappingCommand.self])

    /// Checks that `path` names a picture format and an existing directory.
    static func checkOutput(_ path: String) throws {
        do {
            _ = try ImageFormat(path: path)
        } catch let e as HarmonyError {
            throw ValidationError("--out: \(e.description)")
        }
        try OutputPath.check(path, option: "--out", formatByExtension: false)
    }

    /// Writes `figure` to `path` (a failure is a runtime failure, exit 1).
    static func write(_ figure: Figure, to path: String) throws {
        try CommandFailure.writingOutput { try figure.write(to: path) }
    }

    /// The 2-D layout of `embedding`: read from `layoutPath` (cells matched by id) or computed by UMAP.
    static func layout(of embedding: Embedding, from layoutPath: String?, umap: UMAPOptions) throws -> Matrix<Float> {
        guard let layoutPath else {
            return try CommandFailure.readingInput { try UMAP.layout(embedding.values, parameters: umap.parameters) }
        }
        return try CommandFailure.readingInput {
            let table = try Embedding.read(layoutPath)
            guard table.values.cols == 2 else {
                throw HarmonyError.invalidInput("\(layoutPath): a layout has 2 coordinate columns, this file has \(table.values.cols)")
            }
            var rowOfId: [String: Int] = [:]
            for (row, id) in table.ids.enumerated() { rowOfId[id] = row }
            var values = [Float](repeating: 0, count: embedding.cellCount * 2)
            for (i, id) in embedding.ids.enumerated() {
                guard let row = rowOfId[id] else {
                    throw HarmonyError.invalidInput("\(layoutPath): cell '\(id)' of \(embedding.path) has no position in the layout")
                }
                values[2 * i] = Float(table.values[row, 0])
                values[2 * i + 1] = Float(table.values[row, 1])
            }
            return Matrix(rows: embedding.cellCount, cols: 2, values: values)
        }
    }

    /// The x and y columns of a cells x 2 layout.
    static func coordinates(_ layout: Matrix<Float>) -> (x: [Float], y: [Float]) {
        ((0..<layout.rows).map { layout[$0, 0] }, (0..<layout.rows).map { layout[$0, 1] })
    }
}
