/// The validated inputs of a fit: an embedding and its batch covariates, joined by cell id.
public struct FitInput: Sendable {
    /// Fewest cells a Harmony fit accepts (as R harmony).
    public static let minimumCells = 6

    /// The embedding as read.
    public let embedding: Embedding
    /// The metadata table as read.
    public let metadata: CellMetadata
    /// One covariate per requested column, aligned with the embedding's cells.
    public let covariates: [Covariate]

    /// Reads and checks an embedding and its metadata: at least `minimumCells` cells, every cell present in
    /// the metadata, every requested column known and non-empty, and (when `requireTwoLevels`) at least two
    /// levels per covariate. Errors name the file, line and column.
    ///
    /// An `.h5ad` embedding path takes the embedding from `obsm[basis]` and, without a `metadata` table, the
    /// metadata from its obs; other embedding files need `metadata` and take no `basis`.
    ///
    /// With `values` false (one process of a distributed fit, which reads its own rows), an `.npy` or `.h5ad`
    /// embedding's values are not read: `embedding` then has the N cells' ids and no columns. Text embeddings
    /// cannot be read in part and are read whole.
    public static func load(embedding embeddingPath: String, metadata metadataPath: String?, columns: [String],
                            requireTwoLevels: Bool = true, basis: String? = nil, values: Bool = true) throws -> FitInput {
        guard !columns.isEmpty else {
            throw HarmonyError.invalidParameter("no metadata column was given (for example --vars batch)")
        }
        var seen = Set<String>()
        for name in columns where !seen.insert(name).inserted {
            throw HarmonyError.invalidParameter("the metadata column '\(name)' is listed twice")
        }
        let embedding: Embedding
        let metadata: CellMetadata
        if embeddingPath.lowercased().hasSuffix(".h5ad") {
            guard let basis, !basis.isEmpty else {
                throw HarmonyError.invalidParameter(
                    "\(embeddingPath): an .h5ad input needs --basis, the obsm array to read (for example --basis X_pca)")
            }
            let adata = try AnnData.open(embeddingPath)
            embedding = values ? try adata.obsmEmbedding(basis) : try adata.obsmCells(basis).cells
            metadata = try metadataPath.map { try CellMetadata.read($0) } ?? adata.obsMetadata()
        } else {
            if basis != nil {
                throw HarmonyError.invalidParameter("--basis applies to .h5ad inputs only; \(embeddingPath) is not one")
            }
            guard let metadataPath else {
                throw HarmonyError.invalidParameter("\(embeddingPath): --meta is needed (a table of the cells' metadata)")
            }
            embedding = values || (try? MatrixFileFormat(path: embeddingPath)) != .npy
                ? try Embedding.read(embeddingPath) : try NumpyFile.readCells(embeddingPath)
            metadata = try CellMetadata.read(metadataPath)
        }
        guard embedding.cellCount >= minimumCells else {
            throw HarmonyError.invalidInput(
                "\(embeddingPath): \(embedding.cellCount) cell(s); at least \(minimumCells) are needed")
        }
        let covariates = try metadata.covariates(columns, for: embedding)
        if requireTwoLevels {
            for covariate in covariates where covariate.levels.count < 2 {
                let c = (metadata.table.columnIndex(named: covariate.name) ?? 0) + 2
                throw HarmonyError.invalidInput(
                    "\(metadata.table.path), column \(c) (\(covariate.name)): every cell has the value '\(covariate.levels.first ?? "")'; a batch variable needs at least two levels")
            }
        }
        return FitInput(embedding: embedding, metadata: metadata, covariates: covariates)
    }
}
