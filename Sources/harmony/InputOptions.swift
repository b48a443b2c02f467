import ArgumentParser

/// The inputs shared by `fit` and `lisi`: an embedding file, its metadata table and the columns to use.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The embedding, cells x dimensions: .tsv/.csv/.txt (optionally .gz) with a header and cell ids in the first column, or .npy.",
        valueName: "embedding"))
    var embedding: String

    @Option(help: ArgumentHelp("Cell metadata table (first column: cell id) holding the --vars columns; cells are matched by id.",
                               valueName: "file"))
    var meta: String

    @Option(help: ArgumentHelp(
        "Metadata column(s), comma-separated: the batch variables to integrate over (fit) or the labels to score (lisi), e.g. batch or donor,chemistry.",
        valueName: "column[,..]"))
    var vars: ColumnList
}
