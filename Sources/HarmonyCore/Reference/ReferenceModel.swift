// A frozen Harmony reference for Symphony-style query mapping (Protocols/algorithm.md §5.1-§5.3).
//
// Mapping needs only the small per-cluster part: centroids Y, sigma, N_k = sum_i R_ik and
// C_k = sum_i R_ik z_i^corr of the corrected reference, and the reference's own batch terms. The optional
// `cells` part (corrected and original embeddings, covariate codes, ids) serves kNN label transfer and refits;
// a compact model leaves it out.

/// An immutable Harmony reference: everything query mapping and label transfer read.
///
/// Centroids: mapping uses Symphony's Y_k = C_k / |C_k| (the R-weighted mean direction of the *corrected*
/// reference cells), not the fit's internal centroids (normalised ridge intercepts); the two agree closely,
/// and this choice reproduces Symphony's `mapQuery` and the fixtures exactly.
public struct ReferenceModel: Sendable, Equatable {
    /// The newest model file format version this library reads and writes. A model without a layout is written
    /// as format 2 (`formatVersion`), which readers of format 2 still read.
    public static let currentFormatVersion: UInt32 = 3

    /// Model version: 1 for a fresh build; the daemon increments it at each refit.
    public var modelVersion: UInt64
    /// Fit parameters (sigma per cluster is what mapping uses).
    public let parameters: ReferenceParameters
    /// Y: K x d unit rows, Y_k = C_k / |C_k|.
    public let centroids: Matrix<Float>
    /// N_k = sum_i R_ik over reference cells (K).
    public let clusterMass: [Double]
    /// C_k = sum_i R_ik z_i^corr over reference cells (K x d).
    public let clusterSums: Matrix<Double>
    /// Per global level (covariates' levels concatenated), the K x d batch terms beta_kb of the fit.
    public let levelTerms: [Matrix<Double>]
    /// The reference's covariates.
    public let covariates: [ReferenceCovariate]
    /// Label statistics, if the reference was built with labels.
    public let labels: ReferenceLabels?
    /// Reference cells, unless the model is compact.
    public let cells: ReferenceCells?
    /// The gene space (genes, statistics, loadings) of a reference built from expression; nil for a reference
    /// built from an embedding, which maps embeddings only.
    public let geneSpace: GeneSpace?
    /// Per cluster, the centre and covariance of the reference cells' uncorrected embedding (the per-cell
    /// mapping distance); nil in models written before format 2.
    public let clusterSpread: ClusterSpread?
    /// The 2-D layout of the reference cells (format 3), for placing mapped cells on the reference's view; nil
    /// unless the model was built with one.
    public let layout: ReferenceLayout?

    /// The format version this model is written in: 3 with a layout, else 2.
    public var formatVersion: UInt32 { layout == nil ? 2 : 3 }

    /// Number of clusters K.
    public var clusterCount: Int { centroids.rows }
    /// Embedding dimension d.
    public var dimension: Int { centroids.cols }
    /// Whether the model leaves out the reference cells.
    public var isCompact: Bool { cells == nil }
    /// Total number of levels over all covariates.
    public var levelCount: Int { covariates.reduce(0) { $0 + $1.levels.count } }
    /// Number of reference cells (sum of N_k when the model is compact).
    public var cellCount: Int { cells?.ids.count ?? Int(clusterMass.reduce(0, +).rounded()) }

    /// A model from its parts, checking every shape. Centroids are derived from `clusterSums`.
    public init(modelVersion: UInt64 = 1, parameters: ReferenceParameters, clusterMass: [Double],
                clusterSums: Matrix<Double>, levelTerms: [Matrix<Double>], covariates: [ReferenceCovariate],
                labels: ReferenceLabels?, cells: ReferenceCells?, geneSpace: GeneSpace? = nil,
                clusterSpread: ClusterSpread? = nil, layout: ReferenceLayout? = nil) throws {
        let k = clusterSums.rows, d = clusterSums.cols
        func bad(_ m: String) -> HarmonyError { .invalidInput("reference model: \(m)") }
        guard k >= 1, d >= 1 else { throw bad("it needs at least one cluster and one dimension") }
        guard clusterMass.count == k else { throw bad("\(clusterMass.count) cluster masses for \(k) clusters") }
        guard parameters.sigma.count == k else { throw bad("\(parameters.sigma.count) sigma values for \(k) clusters") }
        guard parameters.sigma.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw bad("sigma must be positive") }
        guard clusterMass.allSatisfy({ $0 >= 0 && $0.isFinite }), clusterSums.values.allSatisfy({ $0.isFinite }) else {
            throw bad("cluster statistics must be finite, with non-negative masses")
        }
        let levels = covariates.reduce(0) { $0 + $1.levels.count }
        guard levelTerms.count == levels else { throw bad("\(levelTerms.count) level terms for \(levels) levels") }
        guard levelTerms.allSatisfy({ $0.rows == k && $0.cols == d }) else { throw bad("level terms must be K x d") }
        guard levelTerms.allSatisfy({ $0.values.allSatisfy { $0.isFinite } }) else { throw bad("level terms must be finite") }
        if let labels {
            guard labels.clusterFrequencies.rows == k, labels.clusterFrequencies.cols == labels.values.count else {
                throw bad("label frequencies must be K x (number of labels)")
            }
            guard labels.clusterFrequencies.values.allSatisfy({ $0 >= 0 && $0 <= 1 + 1e-9 }) else {
                throw bad("label frequencies must lie in [0, 1]")
            }
        }
        if let cells {
            let n = cells.ids.count
            guard cells.original.rows == n, cells.corrected.rows == n, cells.original.cols == d,
                  cells.corrected.cols == d else { throw bad("reference cell embeddings must be \(n) x \(d)") }
            guard cells.original.values.allSatisfy({ $0.isFinite }), cells.corrected.values.allSatisfy({ $0.isFinite }) else {
                throw bad("reference cell embeddings must be finite")
            }
            guard cells.covariateCodes.count == covariates.count else { throw bad("one code list per covariate expected") }
            for (c, codes) in cells.covariateCodes.enumerated() {
                let nl = Int32(covariates[c].levels.count)
                guard codes.count == n, codes.allSatisfy({ $0 >= 0 && $0 < nl }) else {
                    throw bad("covariate codes of \(covariates[c].name) do not fit \(n) cells and \(nl) levels")
                }
            }
            let nl = Int32(labels?.values.count ?? 0)
            guard cells.labelCodes.isEmpty ? labels == nil : cells.labelCodes.count == n,
                  cells.labelCodes.allSatisfy({ $0 >= 0 && $0 < nl }) else { throw bad("label codes do not fit the cells") }
        }
        if let geneSpace, geneSpace.dimension != d {
            throw bad("the gene space has \(geneSpace.dimension) loading columns for \(d) dimensions")
        }
        if let clusterSpread, clusterSpread.clusterCount != k || clusterSpread.dimension != d {
            throw bad("the cluster spread is \(clusterSpread.clusterCount) x \(clusterSpread.dimension), expected \(k) x \(d)")
        }
        if let layout {
            guard let cells else { throw bad("a layout needs the reference cells (a compact model keeps none)") }
            guard layout.positions.rows == cells.ids.count else {
                throw bad("the layout has \(layout.positions.rows) positions for \(cells.ids.count) cells")
            }
        }
        self.modelVersion = modelVersion
        self.parameters = parameters
        self.clusterMass = clusterMass
        self.clusterSums = clusterSums
        self.centroids = ReferenceModel.normalizedRows(clusterSums)
        self.levelTerms = levelTerms
        self.covariates = covariates
        self.labels = labels
        self.cells = cells
        self.geneSpace = geneSpace
        self.clusterSpread = clusterSpread
        self.layout = layout
    }

    /// The global level index of `label` in covariate `name`, or nil if the reference does not know it.
    public func globalLevel(covariate name: String, label: String) -> Int? {
        var offset = 0
        for cov in covariates {
            if cov.name == name { return cov.levels.firstIndex(of: label).map { offset + $0 } }
            offset += cov.levels.count
        }
        return nil
    }

    // Y_k = C_k / |C_k| (norm in Double); a zero row stays zero (a cluster no cell visits).
    static func normalizedRows(_ m: Matrix<Double>) -> Matrix<Float> {
        var out = Matrix<Float>(rows: m.rows, cols: m.cols)
        for k in 0..<m.rows {
            var ss = 0.0
            for j in 0..<m.cols { ss += m[k, j] * m[k, j] }
            let inv = ss > 0 ? 1 / ss.squareRoot() : 0
            for j in 0..<m.cols { out[k, j] = Float(m[k, j] * inv) }
        }
        return out
    }
}
