/// A batch label and the number of query cells of that batch the server holds (STATS, `u16 n | name | u64`).
public struct BatchCount: Equatable, Sendable {
    /// The batch label.
    public var batch: String
    /// Cells of this batch mapped so far.
    public var cells: UInt64

    /// A count for one batch.
    public init(batch: String, cells: UInt64) {
        self.batch = batch
        self.cells = cells
    }
}
