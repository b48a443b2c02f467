import ArgumentParser
import HarmonyCore

/// `harmony lisi`: LISI of an embedding over metadata columns, as JSON on stdout.
struct LisiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lisi",
        abstract: "Score how well labels mix in an embedding (Local Inverse Simpson's Index).",
        discussion: """
            For each cell, LISI is the effective number of labels among its neighbours (the 3 x perplexity \
            nearest cells, weighted by a Gaussian-like kernel calibrated to the perplexity; the R lisi \
            package's definition). Over the batch column (iLISI) higher is better mixed, from 1 to the \
            number of batches; over the cell type column (cLISI) 1 means types stay apart. Prints JSON with \
            the median and mean per column on stdout.

            Examples:
              harmony lisi corrected.tsv.gz --meta meta.tsv.gz --vars batch,cell_type
              harmony lisi pcs.npy --meta meta.csv --vars donor --perplexity 15 --per-cell lisi.tsv
              harmony lisi data.h5ad --basis X_pca_harmony --vars batch,cell_type
            """)

    @OptionGroup
    var files: InputOptions

    @Option(help: ArgumentHelp("Effective number of neighbours; 3 x perplexity nearest cells are searched.",
                               valueName: "p"))
    var perplexity: Double = LISI.defaultPerplexity

    @Option(name: .customLong("per-cell"), help: ArgumentHelp(
        "Also write each cell's scores (columns lisi_<column>), in the format of the extension.", valueName: "file"))
    var perCell: String?

    @Option(help: ArgumentHelp("Worker threads; 0 uses every core. Results do not depend on it.", valueName: "n"))
    var threads: Int = 0

    func validate() throws {
        guard perplexity > 0 && perplexity.isFinite else { throw ValidationError("--perplexity must be positive.") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (every core) or positive.") }
        if let perCell { try OutputPath.check(perCell, option: "--per-cell") }
    }

    func run() throws {
        let clock = Stopwatch()
        let input = try CommandFailure.readingInput {
            try files.load(requireTwoLevels: false)
        }
        let scores = try CommandFailure.readingInput {
            try LISI.perCell(input.embedding.values, labelSets: input.covariates.map(\.codes), perplexity: perplexity,
                             threads: threads)
        }
        if let perCell {
            let n = input.embedding.cellCount
            var values = [Double](repeating: 0, count: n * scores.count)
            for (s, column) in scores.enumerated() {
                for i in 0..<n { values[i * scores.count + s] = column[i] }
            }
            try CommandFailure.writingOutput {
                try MatrixWriter.write(Matrix(rows: n, cols: scores.count, values: values), ids: input.embedding.ids,
                                       columnNames: files.vars.names.map { "lisi_\($0)" }, to: perCell)
            }
        }
        var median: [String: Double] = [:], mean: [String: Double] = [:]
        for (name, column) in zip(files.vars.names, scores) {
            median[name] = LISI.median(column)
            mean[name] = LISI.mean(column)
        }
        let object: [String: Any] = [
            "cells": input.embedding.cellCount, "perplexity": perplexity, "median": median, "mean": mean,
            "levels": Dictionary(uniqueKeysWithValues: input.covariates.map { ($0.name, $0.levels.count) }),
            "seconds": clock.elapsed,
        ]
        print(String(decoding: try FitReport.encode(object), as: UTF8.self), terminator: "")
    }
}
