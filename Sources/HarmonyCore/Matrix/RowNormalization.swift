// Row-wise L2 normalisation (Protocols/algorithm.md §2.2): squared norms accumulated in double, zero rows stay zero.

/// Scales rows of a row-major Float matrix to unit length.
enum RowNormalization {
    /// Writes the rows of `source` (rows x cols) scaled to unit L2 norm into `target`; all-zero rows stay zero.
    static func normalize(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
                          rows: Int, cols: Int, runner: TaskRunner) {
        runner.runRanges(rows) { _, start, end in
            for i in start..<end {
                var sum = 0.0
                for j in 0..<cols {
                    let v = Double(source[i * cols + j])
                    sum += v * v
                }
                let scale: Float = sum > 0 ? Float(1 / sum.squareRoot()) : 0
                for j in 0..<cols { target[i * cols + j] = source[i * cols + j] * scale }
            }
        }
    }

    /// The row-normalised copy of `matrix`.
    static func normalized(_ matrix: Matrix<Float>, runner: TaskRunner) -> Matrix<Float> {
        var out = Matrix<Float>(rows: matrix.rows, cols: matrix.cols)
        matrix.values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                normalize(src.baseAddress!, into: dst.baseAddress!, rows: matrix.rows, cols: matrix.cols,
                          runner: runner)
            }
        }
        return out
    }
}
