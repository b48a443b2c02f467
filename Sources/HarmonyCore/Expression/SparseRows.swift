// Expression matrices are cells x genes and sparse (a 10x library has 5-15% non-zeros), so they travel in
// compressed sparse row blocks: one block is a contiguous range of cells, never the whole matrix at atlas size.

/// A block of cells in compressed sparse row (CSR) form over a fixed gene list.
///
/// Row `i`'s entries are `columns[rowStarts[i]..<rowStarts[i+1]]` (gene indices, strictly increasing) and the
/// matching `values`. Values are `Float`: counts up to 2^24 are exact, and log-normalized values need no more.
public struct SparseRows: Sendable, Equatable {
    /// Number of cells in the block.
    public var rowCount: Int { rowStarts.count - 1 }
    /// Number of genes (columns).
    public let columnCount: Int
    /// rowCount + 1 offsets into `columns` and `values`; `rowStarts[0] == 0`.
    public var rowStarts: [Int]
    /// Gene index of each stored entry.
    public var columns: [Int32]
    /// Value of each stored entry.
    public var values: [Float]

    /// A block from its arrays, checking shapes, index ranges and strictly increasing columns per row.
    public init(columnCount: Int, rowStarts: [Int], columns: [Int32], values: [Float]) throws {
        guard columnCount >= 0, let first = rowStarts.first, first == 0, rowStarts.last == columns.count,
              columns.count == values.count else {
            throw HarmonyError.invalidInput("sparse rows: offsets, indices and values do not agree")
        }
        for i in 0..<(rowStarts.count - 1) {
            let lo = rowStarts[i], hi = rowStarts[i + 1]
            guard lo <= hi else { throw HarmonyError.invalidInput("sparse rows: row \(i) has decreasing offsets") }
            var previous: Int32 = -1
            for e in lo..<hi {
                let c = columns[e]
                guard c > previous, Int(c) < columnCount else {
                    throw HarmonyError.invalidInput(
                        "sparse rows: row \(i) has gene index \(c) out of order or out of range 0..<\(columnCount)")
                }
                previous = c
            }
        }
        self.columnCount = columnCount
        self.rowStarts = rowStarts
        self.columns = columns
        self.values = values
    }

    /// A block whose arrays the caller guarantees to be valid (readers that have already checked them).
    public init(unchecked columnCount: Int, rowStarts: [Int], columns: [Int32], values: [Float]) {
        self.columnCount = columnCount
        self.rowStarts = rowStarts
        self.columns = columns
        self.values = values
    }

    /// An empty block of `columnCount` genes.
    public init(columnCount: Int) {
        self.init(unchecked: columnCount, rowStarts: [0], columns: [], values: [])
    }
}
