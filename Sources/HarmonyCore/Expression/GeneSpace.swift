// What a reference keeps of gene space (Symphony's "vargenes" and loadings): the variable genes, their mean and
// SD over the reference cells after normalization, and the PCA loadings. A query's expression is normalized the
// same way, scaled gene by gene with the reference's statistics (clipped), and projected on the loadings, which
// puts it in the reference's PC space (uncorrected), ready for mapping.

/// How raw values become the values that gene statistics and loadings refer to.
public enum ExpressionNormalization: Sendable, Equatable {
    /// Counts: each cell scaled to `targetSum` total counts (over all of its genes), then ln(1 + x).
    case logCounts(targetSum: Double)
    /// Values already log-normalized; used as they are.
    case asGiven
}

/// The gene-space part of a reference: genes, per-gene statistics, loadings and normalization.
public struct GeneSpace: Sendable, Equatable {
    /// The reference's variable genes, in loading-row order.
    public let genes: [Gene]
    /// Per-gene mean of the normalized values over the reference cells (G).
    public let means: [Double]
    /// Per-gene standard deviation (denominator N - 1) over the reference cells (G); positive.
    public let standardDeviations: [Double]
    /// Loadings U, G x d (column j = principal axis j).
    public let loadings: Matrix<Double>
    /// How query values are normalized before scaling.
    public let normalization: ExpressionNormalization
    /// Scaled values are clipped to [-clip, clip] (10, as scanpy's `scale(max_value=10)` and Symphony).
    public let clip: Double
    /// Subtracted from every projection (d values): the mean over the reference cells of their scaled values
    /// times the loadings, when the PCA centred the scaled matrix again (as scanpy's `pca` does; clipping moves
    /// column means off zero); all zeros for Symphony's convention of projecting without re-centring.
    public let projectionOffset: [Double]
    // What every projection reads, derived once from the fields above (GeneSpace+Projection.swift).
    let tables: ProjectionTables

    /// A gene space from its parts, checking shapes and values.
    public init(genes: [Gene], means: [Double], standardDeviations: [Double], loadings: Matrix<Double>,
                normalization: ExpressionNormalization, clip: Double = 10,
                projectionOffset: [Double]? = nil) throws {
        func bad(_ m: String) -> HarmonyError { .invalidInput("gene space: \(m)") }
        let g = genes.count
        guard g >= 1 else { throw bad("it needs at least one gene") }
        guard means.count == g, standardDeviations.count == g, loadings.rows == g, loadings.cols >= 1 else {
            throw bad("\(g) genes, \(means.count) means, \(standardDeviations.count) SDs and \(loadings.rows) "
                      + "loading rows do not agree")
        }
        guard means.allSatisfy({ $0.isFinite }), standardDeviations.allSatisfy({ $0.isFinite && $0 > 0 }),
              loadings.values.allSatisfy({ $0.isFinite }) else {
            throw bad("means and loadings must be finite and SDs positive")
        }
        guard clip > 0, clip.isFinite else { throw bad("the clip value must be positive") }
        let offset = projectionOffset ?? [Double](repeating: 0, count: loadings.cols)
        guard offset.count == loadings.cols, offset.allSatisfy({ $0.isFinite }) else {
            throw bad("the projection offset must hold \(loadings.cols) finite values")
        }
        if case .logCounts(let t) = normalization, !(t > 0 && t.isFinite) {
            throw bad("the target sum must be positive")
        }
        self.genes = genes
        self.means = means
        self.standardDeviations = standardDeviations
        self.loadings = loadings
        self.normalization = normalization
        self.clip = clip
        self.projectionOffset = offset
        tables = ProjectionTables(means: means, standardDeviations: standardDeviations, loadings: loadings, clip: clip,
                                  offset: offset)
    }

    /// Number of genes G.
    public var geneCount: Int { genes.count }
    /// Number of principal components d.
    public var dimension: Int { loadings.cols }
}
