import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// What `harmony map` maps: the query's uncorrected coordinates in the reference's PC space with the cells'
/// metadata, and, for an expression query, how it was projected.
struct MapQuery {
    /// Cells x d in the reference's space (read as given, or projected from expression).
    let embedding: Embedding
    /// The cells' metadata (a --meta table or an .h5ad's obs; nil when --batch made it unnecessary).
    let metadata: CellMetadata?
    /// The projection of an expression query (nil for an embedding).
    let expression: ExpressionQuery?

    /// Whether `path` holds expression rather than an embedding: a directory (10x), a 10x `.h5`, MatrixMarket, or
    /// an `.h5ad` read without `basis`.
    static func isExpression(_ path: String, basis: String?) -> Bool {
        let lower = path.lowercased()
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return true }
        if lower.hasSuffix(".h5ad") { return basis == nil }
        return lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") || lower.hasSuffix(".mtx") || lower.hasSuffix(".mtx.gz")
    }

    /// Reads the query at `path` for `model` (read from `referencePath`).
    /// - Parameters:
    ///   - batches: --meta, --batch-key or --batch (the metadata is --meta, else an `.h5ad`'s obs, else none).
    ///   - basis: the obsm array of an `.h5ad` embedding query.
    ///   - layer: the `.h5ad` layer of an expression query (nil: X).
    ///   - minimumOverlap: the fraction of reference genes an expression query must measure.
    ///   - progress: receives the gene overlap line of an expression query.
    static func read(_ path: String, model: ReferenceModel, referencePath: String, batches: QueryBatchOptions,
                     basis: String?, layer: String?, minimumOverlap: Double,
                     progress: (String) -> Void) throws -> MapQuery {
        let h5ad = OutputPath.isH5AD(path)
        if basis != nil {
            guard h5ad else { throw HarmonyError.invalidParameter("--basis applies to .h5ad queries only; \(path) is not one") }
            guard layer == nil else {
                throw HarmonyError.invalidParameter("give --basis (an embedding in obsm) or --layer (expression), not both")
            }
        }
        guard isExpression(path, basis: basis) else {
            if layer != nil { throw HarmonyError.invalidParameter("--layer applies to expression queries; \(path) is an embedding") }
            if h5ad {
                let adata = try AnnData.open(path)
                return MapQuery(embedding: try adata.obsmEmbedding(basis ?? ""),
                                metadata: try batches.metadata(of: path, obs: adata.obsMetadata), expression: nil)
            }
            let metadata = try batches.metadata(of: path)
            return MapQuery(embedding: try Embedding.read(path), metadata: metadata, expression: nil)
        }
        guard model.geneSpace != nil else {
            throw HarmonyError.invalidParameter(
                "\(path) holds expression, but the reference \(referencePath) was built from an embedding: it has no "
                + "genes or loadings to project expression into its PC space. Give the query's PCs in the reference's "
                + "space" + (h5ad ? " (--basis NAME for an obsm array)" : "") + ", or build the reference from "
                + "expression with `harmony reference`")
        }
        let source: any ExpressionSource
        let metadata: CellMetadata?
        if h5ad {
            let adata = try AnnData.open(path)
            source = try adata.expression(layer: layer)
            metadata = try batches.metadata(of: path, obs: adata.obsMetadata)
        } else {
            metadata = try batches.metadata(of: path)
            source = try ExpressionFiles.open(path, layer: layer)
        }
        let query = try ExpressionQuery(model: model, source: source, minimumOverlap: minimumOverlap)
        progress("gene overlap: " + query.overlapSummary)
        let d = query.projection.cols
        let embedding = Embedding(path: source.origin, ids: query.cellIDs, columnNames: (1...d).map { "PC\($0)" },
                                  values: query.projection.converted(to: Double.self))
        return MapQuery(embedding: embedding, metadata: metadata, expression: query)
    }
}
