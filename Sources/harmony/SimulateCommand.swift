import ArgumentParser
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// `harmony simulate`: writes a seeded synthetic data set (embedding + metadata) with batch effects.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic embedding with cell types and batch effects.",
        discussion: """
            Cell types are Gaussian clusters of unequal sizes and spreads; each batch shifts its cells by a \
            global offset plus a type-specific part, and batches differ in composition. The same options \
            give the same files. Writes DIR/pcs.tsv.gz (or DIR/pcs.npy with DIR/pcs.ids.txt) and \
            DIR/meta.tsv.gz with the columns cell_id, batch and cell_type.

            Example:
              harmony simulate --cells 3000 --dims 20 --batches 3 --types 5 --seed 1 --out-dir data
              harmony fit data/pcs.tsv.gz --meta data/meta.tsv.gz --vars batch --out corrected.tsv.gz
            """)

    @Option(help: ArgumentHelp("Number of cells.", valueName: "N"))
    var cells: Int

    @Option(help: ArgumentHelp("Embedding dimensions (like the number of PCs).", valueName: "D"))
    var dims: Int

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

    @Option(help: ArgumentHelp("Embedding file format: tsv (pcs.tsv.gz) or npy (pcs.npy + pcs.ids.txt).",
                               valueName: "tsv|npy"))
    var format: String = "tsv"

    func validate() throws {
        guard cells >= 1, dims >= 1, batches >= 1, types >= 1 else {
            throw ValidationError("--cells, --dims, --batches and --types must be at least 1.")
        }
        guard format == "tsv" || format == "npy" else { throw ValidationError("--format must be tsv or npy.") }
        guard batchEffect >= 0, batchEffect.isFinite else { throw ValidationError("--batch-effect must be a number >= 0.") }
    }

    func run() throws {
        var spec = SimulationSpec(cells: cells, dims: dims, batches: batches, types: types, seed: seed)
        spec.batchEffect = batchEffect
        let data = Simulator.generate(spec)
        try Self.write(data, to: outDir, npy: format == "npy")
        fputs("harmony simulate: wrote \(cells) cells x \(dims) dimensions to \(outDir)\n", stderr)
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
