// A dense row-major matrix. Element (i, j) lives at `values[i * cols + j]`.
//
// Embeddings are cells x dimensions (one cell per row). Storage is Float for the large N-sized arrays
// (embeddings, soft assignments) and Double for small accumulators; see README "Precision".

/// A dense, row-major, contiguous matrix of floating-point numbers.
public struct Matrix<Element: BinaryFloatingPoint & Sendable>: Sendable, Equatable {
    /// Number of rows (cells, for an embedding).
    public let rows: Int
    /// Number of columns (dimensions, for an embedding).
    public let cols: Int
    /// The entries, row after row; `values.count == rows * cols`.
    public var values: [Element]

    /// A matrix with every entry set to `value`.
    public init(rows: Int, cols: Int, repeating value: Element = 0) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape")
        self.rows = rows
        self.cols = cols
        self.values = [Element](repeating: value, count: rows * cols)
    }

    /// A matrix over existing row-major values.
    public init(rows: Int, cols: Int, values: [Element]) {
        precondition(values.count == rows * cols, "matrix has \(values.count) values, expected \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// The entry at row `i`, column `j`.
    @inlinable
    public subscript(i: Int, j: Int) -> Element {
        get { values[i * cols + j] }
        set { values[i * cols + j] = newValue }
    }

    /// A copy of row `i`.
    public func row(_ i: Int) -> [Element] {
        Array(values[(i * cols)..<((i + 1) * cols)])
    }

    /// The matrix converted element by element to another floating-point type.
    public func converted<T: BinaryFloatingPoint & Sendable>(to type: T.Type = T.self) -> Matrix<T> {
        Matrix<T>(rows: rows, cols: cols, values: values.map { T($0) })
    }

    /// The rows at `indices`, in that order.
    // Inlinable so that callers in other modules get a copy specialised to their element and sequence types; the
    // unspecialised generic loop costs more than the mapping of the rows it copies.
    @inlinable
    public func selectingRows<S: Sequence>(_ indices: S) -> Matrix<Element> where S.Element == Int {
        var out: [Element] = []
        out.reserveCapacity(indices.underestimatedCount * cols)
        var n = 0
        for i in indices {
            out.append(contentsOf: values[(i * cols)..<((i + 1) * cols)])
            n += 1
        }
        return Matrix(rows: n, cols: cols, values: out)
    }

    /// The consecutive rows in `range`: one contiguous copy.
    @inlinable
    public func selectingRows(_ range: Range<Int>) -> Matrix<Element> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) out of 0..<\(rows)")
        return Matrix(rows: range.count, cols: cols, values: Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }
}
