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
    /// Scale of the batch shifts (1: a global offset with SD 1.5 per dimension plus a type-specific part with
    /// SD 0.5; 0: no batch effect).
    public var batchEffect: Double = 1

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
