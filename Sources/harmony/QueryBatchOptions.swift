import ArgumentParser
import HarmonyCore

/// Where `harmony map` and `harmony client map` find each query cell's batch: a column of the cells' metadata
/// (`--batch-key`), or one name for every cell (`--batch`), so that a single sample, such as one Cell Ranger
/// output directory, maps without a metadata file.
struct QueryBatchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Query cell metadata (first column: cell id) holding the --batch-key column; an .h5ad query's obs is used when it is not given.",
                               valueName: "file"))
    var meta: String?

    @Option(name: .customLong("batch-key"), help: ArgumentHelp("Metadata column with each query cell's batch.",
                                                                valueName: "column"))
    var batchKey: String?

    @Option(help: ArgumentHelp("One batch name for every query cell, instead of --batch-key: a single sample (one 10x directory, say) then needs no metadata. A name that is a level of the reference's first covariate is corrected with that batch's reference terms, as harmonyd does.",
                               valueName: "name"))
    var batch: String?

    func validate() throws {
        switch (batchKey, batch) {
        case (nil, nil):
            throw ValidationError("give --batch-key COLUMN (each cell's batch from the metadata) or --batch NAME "
                                  + "(one batch for every cell).")
        case (.some, .some):
            throw ValidationError("give --batch-key or --batch, not both.")
        default:
            break
        }
        if batch?.isEmpty == true { throw ValidationError("--batch must not be empty.") }
    }

    /// The cells' metadata: --meta, else `obs` (an .h5ad's obs), else nil when --batch names every cell's batch.
    /// - Throws: when --batch-key needs metadata that `path` does not carry.
    func metadata(of path: String, obs: (() throws -> CellMetadata)? = nil) throws -> CellMetadata? {
        if let meta { return try CellMetadata.read(meta) }
        if let obs { return try obs() }
        guard batch != nil else {
            throw HarmonyError.invalidParameter("\(path) carries no cell metadata: give --meta with the --batch-key "
                                                + "column, or --batch NAME when every cell belongs to one batch")
        }
        return nil
    }

    /// Each of `count` cells' batch: --batch, or the --batch-key column of `metadata` at the cells' `rows` (only
    /// called then).
    func batches(count: Int, metadata: CellMetadata?, rows: (CellMetadata) throws -> [Int]) throws -> [String] {
        if let batch { return [String](repeating: batch, count: count) }
        guard let metadata, let batchKey else {
            throw HarmonyError.invalidParameter("give --batch-key with metadata (--meta), or --batch NAME")
        }
        return try metadata.labels(column: batchKey, rows: try rows(metadata))
    }

    /// The reference covariate whose levels a query batch name is looked up in: --batch-key, or with --batch the
    /// reference's first covariate (harmonyd's rule).
    func covariate(of model: ReferenceModel) -> String {
        batchKey ?? model.covariates.first?.name ?? "batch"
    }
}
