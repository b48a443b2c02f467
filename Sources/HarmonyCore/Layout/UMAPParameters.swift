/// The settings of a UMAP layout (the names and defaults of umap-learn where they exist).
public struct UMAPParameters: Sendable, Equatable {
    /// Neighbours per cell in the kNN graph (umap-learn's `n_neighbors`, which counts the cell itself; here the
    /// cell is not counted).
    public var neighbors: Int = 15
    /// Smallest distance between points in the layout's attraction curve.
    public var minDist: Double = 0.1
    /// Scale of the attraction curve beyond `minDist`.
    public var spread: Double = 1.0
    /// Optimisation epochs; nil chooses 500 up to 10,000 cells and 200 above (umap-learn's rule).
    public var epochs: Int? = nil
    /// Initial SGD step, decayed linearly to 0 over the epochs.
    public var learningRate: Double = 1.0
    /// Negative samples per positive sample.
    public var negativeSampleRate: Int = 5
    /// Weight of the repulsive term (umap-learn's `repulsion_strength`, gamma).
    public var repulsion: Double = 1.0
    /// Seed of the initial jitter and the negative sampling.
    public var seed: UInt64 = 0
    /// Threads for the kNN search and the optimisation (0: all cores); the layout does not depend on it.
    public var threads: Int = 0

    /// Default settings.
    public init() {}

    /// The epochs used for `cells` cells.
    public func resolvedEpochs(cells: Int) -> Int {
        epochs ?? (cells <= 10_000 ? 500 : 200)
    }

    /// Throws `invalidParameter` for an out-of-range setting or too few cells for `neighbors`.
    public func validate(cells: Int) throws {
        guard neighbors >= 2 else {
            throw HarmonyError.invalidParameter("the UMAP neighbours must be at least 2 (got \(neighbors))")
        }
        guard cells > neighbors else {
            throw HarmonyError.invalidInput("a UMAP layout with \(neighbors) neighbours needs more than \(neighbors) cells (got \(cells))")
        }
        guard minDist >= 0, minDist.isFinite, spread > 0, spread.isFinite, minDist < 3 * spread else {
            throw HarmonyError.invalidParameter("the UMAP min-dist must be >= 0 and below 3 x spread, and spread positive (got min-dist \(minDist), spread \(spread))")
        }
        if let epochs, epochs < 1 {
            throw HarmonyError.invalidParameter("the UMAP epochs must be at least 1 (got \(epochs))")
        }
        guard learningRate > 0, learningRate.isFinite, repulsion >= 0, repulsion.isFinite, negativeSampleRate >= 0 else {
            throw HarmonyError.invalidParameter("the UMAP learning rate must be positive, the repulsion and negative sample rate non-negative")
        }
    }
}
