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
