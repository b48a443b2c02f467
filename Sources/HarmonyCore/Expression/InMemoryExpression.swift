/// An expression matrix held in memory as one CSR block (MatrixMarket files, AnnData CSC after transposition,
/// tests, small inputs).
public struct InMemoryExpression: ExpressionSource, Sendable {
    public let origin: String
    public let cellIDs: [String]
    public let genes: [Gene]
    /// All cells, one row each.
    public let matrix: SparseRows

    /// A source over `matrix`, whose rows are `cellIDs` and whose columns are `genes`.
    public init(origin: String = "in-memory matrix", cellIDs: [String], genes: [Gene], matrix: SparseRows) throws {
        guard matrix.rowCount == cellIDs.count, matrix.columnCount == genes.count else {
            throw HarmonyError.invalidInput(
                "\(origin): \(matrix.rowCount) x \(matrix.columnCount) values for \(cellIDs.count) cells and \(genes.count) genes")
        }
        self.origin = origin
        self.cellIDs = cellIDs
        self.genes = genes
        self.matrix = matrix
    }

    /// Reads only immutable arrays.
    public var readsConcurrently: Bool { true }

    /// The whole matrix, and `range` in it: no copy.
    public func withRows<T>(_ range: Range<Int>, _ body: (SparseRows, Range<Int>) throws -> T) throws -> T {
        try checkRowRange(range, cellCount: cellIDs.count, origin: origin)
        return try body(matrix, range)
    }

    public func rows(_ range: Range<Int>) throws -> SparseRows {
        try checkRowRange(range, cellCount: cellIDs.count, origin: origin)
        let lo = matrix.rowStarts[range.lowerBound], hi = matrix.rowStarts[range.upperBound]
        return SparseRows(unchecked: matrix.columnCount, rowStarts: matrix.rowStarts[range.lowerBound...range.upperBound].map { $0 - lo },
                          columns: Array(matrix.columns[lo..<hi]), values: Array(matrix.values[lo..<hi]))
    }
}
