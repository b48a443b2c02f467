import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// `harmony simulate`: writes a seeded synthetic data set (embedding or counts, plus metadata) with batch effects.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic embedding, or UMI counts, with cell types and batch effects.",
        discussion: """
            Cell types are Gaussian clusters of unequal sizes and spreads; each batch shifts its cells by a \
            global offset plus a type-specific part, and batches differ in composition. The same options \
            give the same files. Writes DIR/pcs.tsv.gz (or DIR/pcs.npy with DIR/pcs.ids.txt) and \
            DIR/meta.tsv.gz with the columns cell_id, batch and cell_type.

            --counts writes UMI counts instead, as a 10x Genomics directory (DIR/matrix.mtx.gz, \
            DIR/features.tsv.gz, DIR/barcodes.tsv.gz) next to DIR/meta.tsv.gz, or with --format h5ad as an \
            AnnData file DIR/counts.h5ad (obs columns batch and cell_type). Counts are negative binomial: \
            genes have log-normal base expression and their own dispersion, each cell type up-regulates its own \
            5% of marker genes, and each batch scales every gene a little, switches on 10 batch-specific genes, \
            and has its own library sizes and type composition. Cells are generated and written in blocks, so \
            any size fits in memory.

            Examples:
              harmony simulate --cells 3000 --dims 20 --batches 3 --types 5 --seed 1 --out-dir data
              harmony fit data/pcs.tsv.gz --meta data/meta.tsv.gz --vars batch --out corrected.tsv.gz
              harmony simulate --counts --cells 100000 --genes 20000 --batches 4 --types 10 --out-dir counts
              harmony reference counts --meta counts/meta.tsv.gz --vars batch --labels cell_type --out ref.hmod
              harmony simulate --counts --format h5ad --cells 20000 --genes 5000 --out-dir sim
              harmony reference sim/counts.h5ad --vars batch --labels cell_type --out ref.hmod
            """)

    @Option(help: ArgumentHelp("Number of cells.", valueName: "N"))
    var cells: Int

    @Option(help: ArgumentHelp("Embedding dimensions (like the number of PCs); not used with --counts.", valueName: "D"))
    var dims: Int?

    @Flag(help: "Write UMI counts (a 10x directory) instead of an embedding.")
    var counts = false

    @Option(help: ArgumentHelp("With --counts: number of genes (default 2000).", valueName: "G"))
    var genes: Int?

    @Option(help: ArgumentHelp("With --counts: mean UMIs per cell before each batch's library-size factor (default 5000).",
                               valueName: "U"))
    var umis: Double?

    @Option(help: ArgumentHelp("Number of batches (levels of the 'batch' column).", valueName: "B"))
    var batches: Int

    @Option(help: ArgumentHelp("Number of cell types (levels of the 'cell_type' column).", valueName: "T"))
    var types: Int

    @Option(help: ArgumentHelp("Random seed; the same seed gives the same data.", valueName: "S"))
    var seed: UInt64 = 0

    @Option(name: .customLong("batch-effect"),
            help: ArgumentHelp("Scale of the batch shifts (1: global offsets with SD 1.5 per dimension plus type-specific parts with SD 0.5; 0: none).",
                               valueName: "S"))
    var batchEffect: Double = 1

    @Option(name: .customLong("out-dir"), help: ArgumentHelp("Directory for the files (created if missing).",
                                                             valueName: "dir"))
    var outDir: String

    @Option(help: ArgumentHelp(
        "File format. Embedding: tsv (pcs.tsv.gz, the default) or npy (pcs.npy + pcs.ids.txt). Counts: 10x (a 10x "
            + "directory, the default) or h5ad (DIR/counts.h5ad, X a CSR matrix, obs with batch and cell_type).",
        valueName: "tsv|npy|10x|h5ad"))
    var format: String?

    func validate() throws {
        guard cells >= 1, dims.map({ $0 >= 1 }) ?? true, batches >= 1, types >= 1 else {
            throw ValidationError("--cells, --dims, --batches and --types must be at least 1.")
        }
        if counts {
            guard dims == nil else { throw ValidationError("--dims describes an embedding; --counts writes genes (--genes).") }
            if let genes, genes <= 10 * batches { throw ValidationError("--genes must exceed 10 per batch (\(10 * batches)).") }
            if let umis, !(umis > 0 && umis.isFinite) { throw ValidationError("--umis must be positive.") }
        } else {
            guard dims != nil else { throw ValidationError("give --dims for an embedding, or --counts for UMI counts.") }
            guard genes == nil, umis == nil else { throw ValidationError("--genes and --umis apply to --counts.") }
        }
        let formats = counts ? ["10x", "h5ad"] : ["tsv", "npy"]
        if let format, !formats.contains(format) {
            throw ValidationError("--format must be \(formats.joined(separator: " or ")) \(counts ? "with" : "without") --counts.")
        }
        guard batchEffect >= 0, batchEffect.isFinite else { throw ValidationError("--batch-effect must be a number >= 0.") }
    }

    func run() throws {
        if counts { return try runCounts() }
        var spec = SimulationSpec(cells: cells, dims: dims ?? 1, batches: batches, types: types, seed: seed)
        spec.batchEffect = batchEffect
        let data = Simulator.generate(spec)
        try Self.write(data, to: outDir, npy: format == "npy")
        StandardError.write("harmony simulate: wrote \(cells) cells x \(spec.dims) dimensions to \(outDir)\n")
    }

    /// Writes simulated counts as a 10x directory (or DIR/counts.h5ad) plus DIR/meta.tsv.gz.
    private func runCounts() throws {
        let clock = Stopwatch()
        let simulation = try CountSimulator(CountSimulationSpec(cells: cells, genes: genes ?? 2000, batches: batches,
                                                                types: types, seed: seed, meanUMIs: umis ?? 5000))
        try CommandFailure.writingOutput {
            let batch = simulation.batchCodes.map { simulation.batchNames[Int($0)] }
            let type = simulation.typeCodes.map { simulation.typeNames[Int($0)] }
            if format == "h5ad" {
                if mkdir(outDir, 0o755) != 0 && errno != EEXIST {
                    throw HarmonyError.io("\(outDir): cannot create the directory: \(String(cString: strerror(errno)))")
                }
                try AnnDataWriter.writeExpression(simulation, obsColumns: [("batch", .categorical(batch)),
                                                                           ("cell_type", .categorical(type))],
                                                  to: "\(outDir)/counts.h5ad")
            } else {
                try TenXDirectoryWriter.write(simulation, to: outDir)
            }
            var group = AtomicFileGroup()
            try LabelTable(ids: simulation.cellIDs, columns: [("batch", batch), ("cell_type", type)])
                .add(to: "\(outDir)/meta.tsv.gz", in: &group)
            try group.commit()
        }
        StandardError.write("harmony simulate: wrote \(cells) cells x \(simulation.geneCount) genes of counts to \(outDir) in \(FitCommand.seconds(clock.elapsed))\n")
    }

    /// Writes `data` as DIR/pcs.tsv.gz (or pcs.npy + pcs.ids.txt) and DIR/meta.tsv.gz, creating DIR.
    static func write(_ data: SimulatedData, to dir: String, npy: Bool) throws {
        try CommandFailure.writingOutput {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                throw HarmonyError.io("\(dir): cannot create the directory: \(String(cString: strerror(errno)))")
            }
            var group = AtomicFileGroup()
            try MatrixWriter.add(data.embedding, ids: data.ids,
                                 columnNames: (0..<data.embedding.cols).map { "PC\($0 + 1)" },
                                 to: "\(dir)/pcs.\(npy ? "npy" : "tsv.gz")", in: &group)
            try LabelTable(ids: data.ids, columns: [("batch", data.batch), ("cell_type", data.cellType)])
                .add(to: "\(dir)/meta.tsv.gz", in: &group)
            try group.commit()
        }
    }
}
