// Row-wise L2 normalisation (Protocols/algorithm.md §2.2): squared norms accumulated in double, zero rows stay zero.

/// Scales rows of a row-major Float matrix to unit length.
enum RowNormalization {
    /// Writes the rows of `source` (rows x cols) scaled to unit L2 norm into `target`; all-zero rows stay zero.
    static func normalize(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
                          rows: Int, cols: Int, runner: TaskRunner) {
        runner.runRanges(rows) { _, start, end in
            for i in start..<end { normalizeRow(source + i * cols, into: target + i * cols, cols: cols) }
        }
    }

    /// Writes one row of `cols` values scaled to unit L2 norm into `target` (an all-zero row stays zero).
    @inline(__always)
    static func normalizeRow(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, cols: Int) {
        var sum = 0.0
        for j in 0..<cols {
            let v = Double(source[j])
            sum += v * v
        }
        let scale: Float = sum > 0 ? Float(1 / sum.squareRoot()) : 0
        for j in 0..<cols { target[j] = source[j] * scale }
    }

    /// The row-normalised copy of `matrix`.
    static func normalized(_ matrix: Matrix<Float>, runner: TaskRunner) -> Matrix<Float> {
        // Written once, row by row, in huge-page memory (no zeroing pass first).
        let values: [Float] = HugePages.array(count: matrix.rows * matrix.cols) { dst in
            matrix.values.withUnsafeBufferPointer { src in
                guard let from = src.baseAddress, let to = dst.baseAddress else { return }
                normalize(from, into: to, rows: matrix.rows, cols: matrix.cols, runner: runner)
            }
        }
        return Matrix(rows: matrix.rows, cols: matrix.cols, values: values)
    }
}
