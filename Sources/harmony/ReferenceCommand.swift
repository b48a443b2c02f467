import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// `harmony reference`: builds a reference model from expression (genes, statistics, loadings, Harmony fit).
struct ReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Build a reference model from gene expression: variable genes, scaling, PCA and the Harmony fit.",
        discussion: """
            COUNTS is a cells x genes expression matrix: an AnnData .h5ad file (X, or --layer NAME), a 10x \
            Genomics directory (matrix.mtx[.gz] with features.tsv or genes.tsv and barcodes.tsv) or filtered \
            .h5, or a MatrixMarket .mtx[.gz]. Metadata come from --meta (a table whose first column is the cell \
            id) or, for an .h5ad file, from its obs columns.

            The build follows scanpy and Symphony:
              1. each cell scaled to --target-sum counts over all its genes, then ln(1 + x) (--normalized: the \
            values are log-normalized already and used as they are; raw counts must be non-negative integers);
              2. variable genes: scanpy's highly_variable_genes(flavor="seurat_v3", n_top_genes=--genes, \
            batch_key=<first --vars column>) on the raw values of the genes detected in at least --min-cells \
            cells, or exactly the genes listed in --genes-from;
              3. per-gene mean and standard deviation over the reference cells, values scaled and clipped to \
            [-10, 10] (a listed gene that never varies is dropped, with a message);
              4. a seeded randomized PCA of the scaled matrix, centred by its column means like scanpy's pca; each \
            component's largest loading is positive;
              5. the Harmony fit of the PCs over --vars with every `harmony fit` option. When every --vars \
            column has a single level there is nothing to integrate: the model holds the soft clustering of the \
            uncorrected PCs (as Symphony does without batch variables) and still maps queries.
            The model keeps the genes, statistics and loadings so that query expression can be projected into \
            the reference's PC space. Nothing is written unless the whole build succeeds.

            Examples:
              harmony reference counts.h5ad --vars sample --labels cell_type --out ref.hmod
              harmony reference filtered_feature_bc_matrix --meta meta.tsv.gz --vars donor \\
                --genes 3000 --pcs 30 --out ref.hmod --corrected-out ref_corrected.tsv.gz
              harmony reference logcounts.h5ad --normalized --genes-from genes.txt --vars batch --out ref.hmod
              harmony reference counts.h5ad --vars sample --labels cell_type --layout --out ref.hmod
            """)

    @Argument(help: ArgumentHelp("The expression matrix (.h5ad, 10x directory or .h5, or .mtx[.gz]).", valueName: "counts"))
    var counts: String

    @Option(help: ArgumentHelp("Metadata column(s), comma-separated: the batch variables; the first one also groups the variable-gene selection.",
                               valueName: "column[,..]"))
    var vars: ColumnList

    @Option(help: ArgumentHelp("Cell metadata table (first column: cell id); optional for .h5ad input, whose obs columns are used.",
                               valueName: "file"))
    var meta: String?

    @Option(help: ArgumentHelp("Metadata column of cell labels (e.g. cell_type) stored in the model for label transfer.",
                               valueName: "column"))
    var labels: String?

    @Option(help: ArgumentHelp("Where to write the reference model (.hmod).", valueName: "file"))
    var out: String

    @Option(name: .customLong("corrected-out"), help: ArgumentHelp(
        "Also write the corrected reference PCs (.tsv/.csv/.txt[.gz] or .npy).", valueName: "file"))
    var correctedOut: String?

    @Option(name: .customLong("pcs-out"), help: ArgumentHelp(
        "Also write the uncorrected reference PCs (.tsv/.csv/.txt[.gz] or .npy).", valueName: "file"))
    var pcsOut: String?

    @Option(name: .customLong("genes-out"), help: ArgumentHelp(
        "Also write the reference genes with their mean and SD (.tsv/.csv/.txt[.gz]; columns gene_id, gene, mean, sd).",
        valueName: "file"))
    var genesOut: String?

    @Option(help: ArgumentHelp("AnnData layer to read instead of X.", valueName: "name"))
    var layer: String?

    @Flag(help: "The values are log-normalized already: use them as they are (no library-size scaling, no log).")
    var normalized = false

    @Option(name: .customLong("target-sum"), help: ArgumentHelp(
        "Counts per cell after library-size scaling, before ln(1 + x) (default 10000).", valueName: "total"))
    var targetSum: Double = 10_000

    @Option(name: .customLong("min-cells"), help: ArgumentHelp(
        "Variable-gene candidates are detected in at least this many cells (default 3).", valueName: "n"))
    var minCells: Int = 3

    @Option(help: ArgumentHelp("Number of variable genes (default 2000).", valueName: "n"))
    var genes: Int?

    @Option(name: .customLong("genes-from"), help: ArgumentHelp(
        "Use exactly the genes in this file (one id or name per line) instead of selecting variable genes.",
        valueName: "file"))
    var genesFrom: String?

    @Option(help: ArgumentHelp("Number of principal components (default 20).", valueName: "d"))
    var pcs: Int = 20

    @Flag(help: "Leave the reference cells out of the model: a much smaller file, but no refits and only cluster-based label transfer.")
    var compact = false

    @Option(help: ArgumentHelp("Also write a JSON report of the Harmony fit (the same fields as `harmony fit --report`: objective per iteration and clustering round, timings, parameters); `harmony plot convergence` draws it.",
                               valueName: "file"))
    var report: String?

    @Flag(help: "Also keep the UMAP layout of the reference cells' corrected embedding in the model (not with --compact; model format 3), so `harmony map --layout-out` and `harmony plot mapping --model` place mapped cells on the reference's 2-D view. Seeded by --seed.")
    var layout = false

    @Option(name: .customLong("layout-neighbors"), help: ArgumentHelp("With --layout: UMAP neighbours per cell (the cell itself not counted).", valueName: "k"))
    var layoutNeighbors: Int = 15

    @Option(name: .customLong("layout-min-dist"), help: ArgumentHelp("With --layout: how tightly points may pack in the layout (umap-learn's min_dist).", valueName: "d"))
    var layoutMinDist: Double = 0.1

    @OptionGroup(title: "Algorithm")
    var algorithm: AlgorithmOptions

    @Flag(help: "Do not print progress on stderr.")
    var quiet = false

    func validate() throws {
        try OutputPath.check(out, option: "--out", formatByExtension: false)
        if let correctedOut { try OutputPath.check(correctedOut, option: "--corrected-out") }
        if let pcsOut { try OutputPath.check(pcsOut, option: "--pcs-out") }
        if let genesOut { try OutputPath.check(genesOut, option: "--genes-out") }
        if let report { try OutputPath.check(report, option: "--report", formatByExtension: false) }
        if layout && compact { throw ValidationError("--layout needs the reference cells, which --compact leaves out.") }
        guard layoutNeighbors >= 2 else { throw ValidationError("--layout-neighbors must be at least 2.") }
        guard layoutMinDist >= 0 && layoutMinDist < 3 else { throw ValidationError("--layout-min-dist must be in [0, 3).") }
        guard targetSum > 0, targetSum.isFinite else { throw ValidationError("--target-sum must be positive.") }
        guard minCells >= 0 else { throw ValidationError("--min-cells must be 0 or more.") }
        guard pcs >= 1 else { throw ValidationError("--pcs must be at least 1.") }
        if let genes, genes < 1 { throw ValidationError("--genes must be at least 1.") }
        if genes != nil && genesFrom != nil { throw ValidationError("give --genes or --genes-from, not both.") }
        if normalized && targetSum != 10_000 { throw ValidationError("--target-sum does not apply to --normalized values.") }
        if let labels, labels.isEmpty { throw ValidationError("--labels needs a metadata column name.") }
    }

    func run() throws {
        let clock = Stopwatch()
        var phaseStart = 0.0
        func phase(_ text: String) {
            let now = clock.elapsed
            progress("\(text) in \(FitCommand.seconds(now - phaseStart))")
            phaseStart = now
        }
        // Input: the matrix, its metadata, covariates and labels (all bad input: exit 2).
        let (source, covariates, labelValues, listed) = try CommandFailure.readingInput {
            () -> (any ExpressionSource, [Covariate], [String]?, [String]?) in
            let source = try ExpressionFiles.open(counts, layer: layer)
            let metadata = try meta.map { try CellMetadata.read($0) } ?? defaultMetadata()
            var rows = [Int](repeating: 0, count: source.cellCount)
            for (i, id) in source.cellIDs.enumerated() {
                guard let row = metadata.rowOfId[id] else {
                    throw HarmonyError.invalidInput("\(source.origin): cell '\(id)' is not in the metadata \(metadata.table.path)")
                }
                rows[i] = row
            }
            let covariates = try vars.names.map { Covariate(name: $0, labels: try metadata.labels(column: $0, rows: rows)) }
            let labelValues = try labels.map { try metadata.labels(column: $0, rows: rows) }
            let listed = try genesFrom.map(Self.geneList)
            return (source, covariates, labelValues, listed)
        }
        phase("read \(source.cellCount) cells x \(source.geneCount) genes from \(source.origin)")
        let readSeconds = clock.elapsed

        AlgorithmOptions.warnAboutSingleCellLevels(covariates, command: "reference")
        let parameters = try algorithm.parameters(covariateCount: covariates.count)
        let settings = GeneSpaceSettings(
            normalization: normalized ? .asGiven : .logCounts(targetSum: targetSum),
            selection: listed.map { .listed($0) } ?? .variable(count: genes ?? 2000),
            minCells: minCells, components: pcs, seed: algorithm.seed, threads: algorithm.threads)
        let reference = try CommandFailure.readingInput {
            try ExpressionReference.build(
                source: source, covariates: covariates, labels: labels.flatMap { name in labelValues.map { (name, $0) } },
                compact: compact, settings: settings, parameters: parameters,
                phase: { _, summary in phase(summary) },
                progress: { p in
                    progress("iteration \(p.iteration): objective \(String(format: "%.6g", p.objective)), \(p.clusterRounds) clustering rounds")
                })
        }
        let build = reference.build, fit = reference.fit
        var model = reference.model
        if layout {
            let layoutClock = Stopwatch()
            var umap = UMAPParameters()
            (umap.neighbors, umap.minDist, umap.seed, umap.threads) = (layoutNeighbors, layoutMinDist, algorithm.seed, algorithm.threads)
            model = try CommandFailure.readingInput { try model.addingLayout(parameters: umap) }
            progress("laid out the reference cells in \(FitCommand.seconds(layoutClock.elapsed))")
        }
        if !build.droppedGenes.isEmpty {
            let names = build.droppedGenes.prefix(10).map(\.name).joined(separator: ", ")
            StandardError.write("harmony reference: dropped \(build.droppedGenes.count) listed gene(s) that do not vary over the reference cells: \(names)\(build.droppedGenes.count > 10 ? ", ..." : "")\n")
        }
        if reference.singleLevel { progress("every batch variable has a single level: soft clustering only, no correction") }
        phase(reference.singleLevel ? "soft clustering" : (fit.converged ? "Harmony converged after \(fit.iterations) iterations"
                                                           : "Harmony stopped after \(fit.iterations) iterations (not converged)"))

        let columnNames = (0..<pcs).map { "PC\($0 + 1)" }
        try CommandFailure.writingOutput {
            var outputs = AtomicFileGroup()
            outputs.add(ModelFile.encode(model), to: out)
            if let correctedOut {
                try MatrixWriter.add(fit.corrected, ids: source.cellIDs, columnNames: columnNames, to: correctedOut, in: &outputs)
            }
            if let pcsOut {
                try MatrixWriter.add(build.pcs, ids: source.cellIDs, columnNames: columnNames, to: pcsOut, in: &outputs)
            }
            if let genesOut {
                let space = build.geneSpace
                try LabelTable(idHeader: "gene_id", ids: space.genes.map(\.id), columns: [
                    ("gene", space.genes.map(\.name)), ("mean", space.means.map { "\($0)" }),
                    ("sd", space.standardDeviations.map { "\($0)" }),
                ]).add(to: genesOut, in: &outputs)
            }
            if let report {
                let doc = FitReport(result: fit, parameters: reference.parameters, embeddingPath: counts,
                                    metadataPath: meta ?? counts, outputPath: out, covariates: covariates,
                                    cells: source.cellCount, dims: pcs, readSeconds: readSeconds,
                                    fitSeconds: fit.timings.total, writeSeconds: 0)
                outputs.add(try FitReport.encode(doc.object), to: report)
            }
            try outputs.commit()
        }
        phase("wrote \(([out] + [correctedOut, pcsOut, genesOut, report].compactMap { $0 }).joined(separator: ", "))")
    }

    /// Metadata when --meta is not given: the obs columns of an .h5ad input.
    private func defaultMetadata() throws -> CellMetadata {
        guard OutputPath.isH5AD(counts) else {
            throw HarmonyError.invalidParameter("\(counts) carries no cell metadata: give --meta with the --vars columns")
        }
        return try AnnData.open(counts).obsMetadata()
    }

    /// Gene ids or names, one per line (blank lines skipped).
    static func geneList(_ path: String) throws -> [String] {
        let text = String(decoding: try FileBytes.read(path), as: UTF8.self)
        let names = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw HarmonyError.invalidInput("\(path): the gene list is empty") }
        return names
    }

    private func progress(_ line: String) {
        if !quiet { StandardError.write("harmony reference: \(line)\n") }
    }
}
