/// The shape of a simulated data set (see `Simulator.generate`).
public struct SimulationSpec: Sendable, Equatable {
    /// Number of cells N.
    public var cells: Int
    /// Embedding dimensions d.
    public var dims: Int
    /// Number of batches (levels of the `batch` covariate).
    public var batches: Int
    /// Number of cell types (Gaussian clusters).
    public var types: Int
    /// Seed of the random stream; the same spec gives the same data.
    public var seed: UInt64

    /// A spec; every count must be at least 1.
    public init(cells: Int, dims: Int, batches: Int, types: Int, seed: UInt64) {
        precondition(cells >= 1 && dims >= 1 && batches >= 1 && types >= 1, "simulation sizes must be at least 1")
        self.cells = cells
        self.dims = dims
        self.batches = batches
        self.types = types
        self.seed = seed
    }
}

/// A simulated embedding with its batch and cell-type labels, one entry per cell.
public struct SimulatedData: Sendable {
    /// Cell ids `cell000001`, `cell000002`, ... (zero-padded to at least six digits).
    public var ids: [String]
    /// The embedding, cells x dims.
    public var embedding: Matrix<Float>
    /// Batch label per cell (`batch01`, ...).
    public var batch: [String]
    /// Cell-type label per cell (`type01`, ...).
    public var cellType: [String]
}
