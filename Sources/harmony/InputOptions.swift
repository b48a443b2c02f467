import ArgumentParser
import HarmonyCore

/// The inputs shared by `fit` and `lisi`: an embedding file (or an .h5ad and its obsm key), its metadata table
/// (optional for .h5ad, whose obs is the metadata) and the columns to use.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The embedding, cells x dimensions: .tsv/.csv/.txt (optionally .gz) with a header and cell ids in the first column, or .npy; or an AnnData .h5ad with --basis.",
        valueName: "embedding"))
    var embedding: String

    @Option(help: ArgumentHelp("Cell metadata table (first column: cell id) holding the --vars columns; cells are matched by id. Optional for an .h5ad input, whose obs columns are used when it is not given.",
                               valueName: "file"))
    var meta: String?

    @Option(help: ArgumentHelp("For an .h5ad input: the obsm array holding the embedding, e.g. X_pca.",
                               valueName: "name"))
    var basis: String?

    @Option(help: ArgumentHelp(
        "Metadata column(s), comma-separated: the batch variables to integrate over (fit) or the labels to score (lisi), e.g. batch or donor,chemistry.",
        valueName: "column[,..]"))
    var vars: ColumnList

    /// Reads the embedding and metadata and checks them (see `FitInput.load`).
    func load(requireTwoLevels: Bool = true) throws -> FitInput {
        try FitInput.load(embedding: embedding, metadata: meta, columns: vars.names, requireTwoLevels: requireTwoLevels,
                          basis: basis)
    }

    /// Where the metadata came from, for reports.
    var metadataSource: String { meta ?? "\(embedding) (obs)" }
}
