import ArgumentParser
import Foundation
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// `harmony fit`: reads an embedding and its metadata, runs Harmony, writes the corrected embedding.
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Integrate an embedding over one or more batch variables.",
        discussion: """
            EMBEDDING is cells x dimensions with a header row and the cell id in the first column \
            (.tsv, .csv or .txt, optionally .gz), or a 2-D float32/float64 .npy file whose cell ids are in \
            a sidecar NAME.ids.txt (one per line; without it the ids are the row numbers 0, 1, ...). \
            META is a table whose first column is the cell id; cells are matched by id. The corrected \
            embedding is written in the format of the --out extension, with the cell ids. Nothing is \
            written unless the whole run succeeds.

            Examples:
              harmony fit pcs.tsv.gz --meta meta.tsv.gz --vars batch --out corrected.tsv.gz
              harmony fit pcs.npy --meta meta.csv --vars donor,chemistry --theta 2,1 --out corrected.npy
              harmony fit pcs.tsv --meta meta.tsv --vars batch --preset harmony1 --report report.json --out z.tsv
              harmony fit ref.tsv.gz --meta meta.tsv.gz --vars donor --out ref_corrected.tsv.gz \\
                --reference-out ref.hmod --labels cell_type
            """)

    @OptionGroup
    var files: InputOptions

    @Option(help: ArgumentHelp("Where to write the corrected embedding; the extension picks the format (.tsv, .csv, .txt, each optionally .gz, or .npy).",
                               valueName: "file"))
    var out: String

    @OptionGroup(title: "Algorithm")
    var algorithm: AlgorithmOptions

    @Option(help: ArgumentHelp("Also write a JSON report: iterations, convergence, objective per iteration, timings per phase, parameters.",
                               valueName: "file"))
    var report: String?

    @Flag(help: "Do not print progress (one line per iteration) on stderr.")
    var quiet = false

    @OptionGroup(title: "Reference model (for 'harmony map' and harmonyd)")
    var reference: ReferenceOptions

    func validate() throws {
        try OutputPath.check(out, option: "--out")
        if let report { try OutputPath.check(report, option: "--report", formatByExtension: false) }
        if let path = reference.referenceOut { try OutputPath.check(path, option: "--reference-out", formatByExtension: false) }
    }

    func run() throws {
        let readClock = Stopwatch()
        let (input, labels) = try CommandFailure.readingInput { () -> (FitInput, [String]?) in
            let input = try FitInput.load(embedding: files.embedding, metadata: files.meta, columns: files.vars.names)
            let labels = try reference.labels.map {
                try input.metadata.labels(column: $0, rows: try input.metadata.rows(for: input.embedding))
            }
            return (input, labels)
        }
        let readSeconds = readClock.elapsed
        let parameters = try algorithm.parameters(covariateCount: input.covariates.count)
        let n = input.embedding.cellCount, d = input.embedding.values.cols
        progress("read \(n) cells x \(d) dimensions, \(input.covariates.map { "\($0.name): \($0.levels.count) levels" }.joined(separator: ", ")) in \(Self.seconds(readSeconds))")

        let fitClock = Stopwatch()
        let result = try Harmony.fit(input.embedding.floatValues, covariates: input.covariates, parameters: parameters) {
            p in
            progress("iteration \(p.iteration): objective \(String(format: "%.6g", p.objective)), \(p.clusterRounds) clustering rounds, \(Self.seconds(p.elapsed))")
        }
        let fitSeconds = fitClock.elapsed
        progress(result.converged
            ? "converged after \(result.iterations) iterations in \(Self.seconds(fitSeconds))"
            : "stopped after \(result.iterations) iterations (not converged) in \(Self.seconds(fitSeconds))")

        // Float arithmetic overflows on inputs of huge magnitude (squared norms beyond 3.4e38); such a fit has no
        // meaningful result, and nothing is written.
        guard result.corrected.values.allSatisfy({ $0.isFinite }) else {
            let largest = input.embedding.floatValues.values.reduce(Float(0)) { max($0, abs($1)) }
            throw CommandFailure(message: "\(files.embedding): the fit produced non-finite values; the embedding's "
                                 + "largest magnitude (\(largest)) overflows float32 arithmetic, rescale it",
                                 status: CommandFailure.usageStatus)
        }
        let writeClock = Stopwatch()
        var outputs = AtomicFileGroup()
        if let path = reference.referenceOut {
            var labelColumn: (name: String, values: [String])? = nil
            if let name = reference.labels, let labels { labelColumn = (name, labels) }
            let model = try ReferenceModel.build(
                fit: result, embedding: input.embedding.floatValues, covariates: input.covariates, parameters: parameters,
                cellIds: input.embedding.ids, labels: labelColumn, compact: reference.compact)
            outputs.add(ModelFile.encode(model), to: path)
        }
        try CommandFailure.writingOutput {
            try MatrixWriter.add(result.corrected, ids: input.embedding.ids, columnNames: input.embedding.columnNames,
                                 to: out, in: &outputs)
            // The report is committed with the outputs (all or nothing); its write time is the encoding's.
            if let report {
                let doc = FitReport(result: result, parameters: parameters, embeddingPath: files.embedding,
                                    metadataPath: files.meta, outputPath: out, covariates: input.covariates, cells: n,
                                    dims: d, readSeconds: readSeconds, fitSeconds: fitSeconds,
                                    writeSeconds: writeClock.elapsed)
                outputs.add(try FitReport.encode(doc.object), to: report)
            }
            try outputs.commit()
        }
        let writeSeconds = writeClock.elapsed
        progress("wrote \(([out] + (reference.referenceOut.map { [$0] } ?? [])).joined(separator: " and ")) in \(Self.seconds(writeSeconds))")
    }

    private func progress(_ line: String) {
        if !quiet { fputs("harmony fit: \(line)\n", stderr) }
    }

    /// Seconds with millisecond resolution, e.g. "0.412 s".
    static func seconds(_ s: Double) -> String {
        "\(Double(Int((s * 1000).rounded())) / 1000) s"
    }
}
