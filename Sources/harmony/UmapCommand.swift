import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// `harmony umap`: a 2-D UMAP layout of an embedding, written as a table.
struct UmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "umap",
        abstract: "Compute a 2-D UMAP layout of an embedding.",
        discussion: """
            Builds the exact k-nearest-neighbour graph of the cells, turns it into UMAP's fuzzy graph (each \
            cell's distances scaled so its memberships sum to log2(k), then the fuzzy union of both \
            directions), starts from the first two principal components and optimises the layout by \
            stochastic gradient descent with negative sampling (in parallel over fixed groups of cells that \
            read each other's positions as of the start of each epoch, so the same seed gives the same bits on \
            any number of threads). Writes cell_id, UMAP1, UMAP2 in the format of the --out extension; `harmony plot` takes the \
            file with --layout.

            Examples:
              harmony umap corrected.tsv.gz --out umap.tsv
              harmony umap pcs.npy --out umap.tsv.gz --neighbors 30 --min-dist 0.3 --seed 7
            """)

    @Argument(help: ArgumentHelp("The embedding, cells x dimensions (.tsv/.csv/.txt[.gz] or .npy).", valueName: "embedding"))
    var embedding: String

    @Option(help: ArgumentHelp("Where to write the layout (cell_id, UMAP1, UMAP2); the extension picks the format.", valueName: "file"))
    var out: String

    @OptionGroup
    var umap: UMAPOptions

    @Flag(help: "Print no timing line on stderr.")
    var quiet = false

    func validate() throws {
        try OutputPath.check(out, option: "--out")
    }

    func run() throws {
        let clock = Stopwatch()
        let input = try CommandFailure.readingInput { try Embedding.read(embedding) }
        let layout = try CommandFailure.readingInput { try UMAP.layout(input.values, parameters: umap.parameters) }
        try CommandFailure.writingOutput {
            try MatrixWriter.write(layout, ids: input.ids, columnNames: ["UMAP1", "UMAP2"], to: out)
        }
        if !quiet {
            StandardError.write("harmony umap: \(input.cellCount) cells laid out in \(FitCommand.seconds(clock.elapsed))\n")
        }
    }
}
