import ArgumentParser
import Foundation
import HarmonyCore
import HarmonySystem
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
            META is a table whose first column is the cell id; cells are matched by id. An AnnData .h5ad \
            input gives the embedding from its obsm array named by --basis, and its obs columns as the \
            metadata unless --meta is given. The corrected embedding is written in the format of the --out \
            extension, with the cell ids; an .h5ad output holds obs (the metadata columns of the fitted \
            cells: numbers as float64, text as categoricals), obsm["X_pca_harmony"] (float32) and \
            uns["harmony"] (the command line, variables and parameters). Nothing is written unless the \
            whole run succeeds.

            Examples:
              harmony fit pcs.tsv.gz --meta meta.tsv.gz --vars batch --out corrected.tsv.gz
              harmony fit pcs.npy --meta meta.csv --vars donor,chemistry --theta 2,1 --out corrected.npy
              harmony fit pcs.tsv --meta meta.tsv --vars batch --preset harmony1 --report report.json --out z.tsv
              harmony fit data.h5ad --basis X_pca --vars batch --out integrated.h5ad
              harmony fit ref.tsv.gz --meta meta.tsv.gz --vars donor --out ref_corrected.tsv.gz \\
                --reference-out ref.hmod --labels cell_type
            """)

    @OptionGroup
    var files: InputOptions

    @Option(help: ArgumentHelp("Where to write the corrected embedding; the extension picks the format (.tsv, .csv, .txt, each optionally .gz, .npy, or .h5ad with obs and obsm[\"X_pca_harmony\"]).",
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
        try OutputPath.check(out, option: "--out", allowH5AD: true)
        if let report { try OutputPath.check(report, option: "--report", formatByExtension: false) }
        if let path = reference.referenceOut { try OutputPath.check(path, option: "--reference-out", formatByExtension: false) }
    }

    func run() throws {
        let readClock = Stopwatch()
        let (input, labels) = try CommandFailure.readingInput { () -> (FitInput, [String]?) in
            let input = try files.load()
            let labels = try reference.labels.map {
                try input.metadata.labels(column: $0, rows: try input.metadata.rows(for: input.embedding))
            }
            return (input, labels)
        }
        let readSeconds = readClock.elapsed
        AlgorithmOptions.warnAboutSingleCellLevels(input.covariates, command: "fit")
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
        try write(result, input: input, columnNames: input.embedding.columnNames, parameters: parameters,
                  labels: labels, readSeconds: readSeconds, fitSeconds: fitSeconds)
    }

    /// Writes the corrected embedding (`result.corrected`, every cell of `input`), the reference model and the
    /// report, all or nothing, and says so on stderr. The model needs `input`'s embedding values.
    func write(_ result: HarmonyFitResult, input: FitInput, columnNames: [String], parameters: HarmonyParameters,
               labels: [String]?, readSeconds: Double, fitSeconds: Double) throws {
        let n = input.embedding.cellCount, d = result.corrected.cols
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
            if OutputPath.isH5AD(out) {
                outputs.add(try AnnDataWriter.bytes(h5adOutput(input, result: result, parameters: parameters),
                                                    path: out), to: out)
            } else {
                try MatrixWriter.add(result.corrected, ids: input.embedding.ids, columnNames: columnNames,
                                     to: out, in: &outputs)
            }
            // The report is committed with the outputs (all or nothing); its write time is the encoding's.
            if let report {
                let doc = FitReport(result: result, parameters: parameters, embeddingPath: files.embedding,
                                    metadataPath: files.metadataSource, outputPath: out, covariates: input.covariates,
                                    cells: n, dims: d, readSeconds: readSeconds, fitSeconds: fitSeconds,
                                    writeSeconds: writeClock.elapsed)
                outputs.add(try FitReport.encode(doc.object), to: report)
            }
            try outputs.commit()
        }
        let writeSeconds = writeClock.elapsed
        progress("wrote \(([out] + (reference.referenceOut.map { [$0] } ?? [])).joined(separator: " and ")) in \(Self.seconds(writeSeconds))")
    }

    /// The .h5ad output: obs = every metadata column for the fitted cells (numbers as float64 when every value
    /// is a number, else categorical), obsm["X_pca_harmony"], and provenance in uns["harmony"].
    private func h5adOutput(_ input: FitInput, result: HarmonyFitResult, parameters: HarmonyParameters) throws -> AnnDataOutput {
        let columns = try input.metadata.annDataColumns(for: input.embedding)
        let parameterJSON = String(decoding: try FitReport.encode(FitReport.parameterObject(parameters, result: result)), as: UTF8.self)
        return AnnDataOutput(
            obsNames: input.embedding.ids, obsColumns: columns, obsm: [("X_pca_harmony", result.corrected)],
            uns: [("tool", .string("harmony fit (Harmony for Swift)")),
                  ("command", .string(CommandLine.arguments.joined(separator: " "))),
                  ("input", .string(files.embedding)), ("basis", .string(files.basis ?? "")),
                  ("vars", .string(files.vars.names.joined(separator: ","))),
                  ("parameters", .string(parameterJSON))])
    }

    func progress(_ line: String) {
        if !quiet { StandardError.write("harmony fit: \(line)\n") }
    }

    /// Seconds with millisecond resolution, e.g. "0.412 s".
    static func seconds(_ s: Double) -> String {
        "\(Double(Int((s * 1000).rounded())) / 1000) s"
    }
}
