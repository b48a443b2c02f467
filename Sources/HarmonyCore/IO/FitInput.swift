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
    public static func load(embedding embeddingPath: String, metadata metadataPath: String, columns: [String],
                            requireTwoLevels: Bool = true) throws -> FitInput {
        guard !columns.isEmpty else {
            throw HarmonyError.invalidParameter("no metadata column was given (for example --vars batch)")
        }
        var seen = Set<String>()
        for name in columns where !seen.insert(name).inserted {
            throw HarmonyError.invalidParameter("the metadata column '\(name)' is listed twice")
        }
        let embedding = try Embedding.read(embeddingPath)
        guard embedding.cellCount >= minimumCells else {
            throw HarmonyError.invalidInput(
                "\(embeddingPath): \(embedding.cellCount) cell(s); at least \(minimumCells) are needed")
        }
        let metadata = try CellMetadata.read(metadataPath)
        let covariates = try metadata.covariates(columns, for: embedding)
        if requireTwoLevels {
            for covariate in covariates where covariate.levels.count < 2 {
                let c = (metadata.table.columnIndex(named: covariate.name) ?? 0) + 2
                throw HarmonyError.invalidInput(
                    "\(metadataPath), column \(c) (\(covariate.name)): every cell has the value '\(covariate.levels.first ?? "")'; a batch variable needs at least two levels")
            }
        }
        return FitInput(embedding: embedding, metadata: metadata, covariates: covariates)
    }
}
