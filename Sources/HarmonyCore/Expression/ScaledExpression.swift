// The scaled reference matrix X~ (cells x selected genes), never dense:
//   x~_ig = clip((v_ig - mean_g) / sd_g, -clip, clip), and a zero entry scales to c_g = clip(-mean_g / sd_g),
// so every row is c + delta_i with delta_i sparse (non-zero only where the cell has a stored value). With the
// column means mu of X~ (re-centring, as scanpy's PCA does), the centred matrix A = X~ - 1 mu^T is
//   A = 1 e^T + Delta,  e = c - mu,
// and the two products the SVD needs cost one pass over the stored entries each:
//   A M   = 1 (e^T M) + Delta M        (cells x l)
//   A^T Y = e (1^T Y) + Delta^T Y      (genes x l)
// Delta is Float (it is held for the whole build: ~8 bytes per stored entry with its column index); products
// accumulate in Double.

/// The sparse part of the scaled, centred reference matrix and its dense rank-one part.
struct ScaledExpression: Sendable {
    /// Cells N.
    let rowCount: Int
    /// Selected genes G.
    let columnCount: Int
    /// CSR offsets (N + 1), gene indices and delta values of the stored entries.
    let rowStarts: [Int]
    let columns: [Int32]
    let deltas: [Float]
    /// e = c - mu (G).
    let offsets: [Double]
    /// mu, the column means of X~ (G).
    let columnMeans: [Double]
    let runner: TaskRunner

    /// Turns a CSR of normalized values into deltas, given the gene statistics.
    init(rowStarts: [Int], columns: [Int32], values: consuming [Float], columnCount: Int, means: [Double],
         standardDeviations: [Double], clip: Double, runner: TaskRunner) {
        let n = rowStarts.count - 1
        var zero = [Double](repeating: 0, count: columnCount)
        for g in 0..<columnCount { zero[g] = min(clip, max(-clip, -means[g] / standardDeviations[g])) }
        var deltaSums = [Double](repeating: 0, count: columnCount)
        for e in 0..<values.count {
            let g = Int(columns[e])
            let z = min(clip, max(-clip, (Double(values[e]) - means[g]) / standardDeviations[g]))
            let delta = Float(z - zero[g])
            values[e] = delta
            deltaSums[g] += Double(delta)
        }
        var mu = [Double](repeating: 0, count: columnCount), e = mu
        for g in 0..<columnCount {
            mu[g] = zero[g] + deltaSums[g] / Double(n)
            e[g] = zero[g] - mu[g]
        }
        self.rowCount = n
        self.columnCount = columnCount
        self.rowStarts = rowStarts
        self.columns = columns
        self.deltas = values
        self.offsets = e
        self.columnMeans = mu
        self.runner = runner
    }

    /// A M for M (G x l, row-major): N x l, row-major.
    func times(_ m: [Double], cols l: Int) -> [Double] {
        var base = [Double](repeating: 0, count: l)
        for g in 0..<columnCount { for j in 0..<l { base[j] += offsets[g] * m[g * l + j] } }
        var out = [Double](repeating: 0, count: rowCount * l)
        out.withUnsafeMutableBufferPointer { ob in
            let op = ob.baseAddress!
            runner.runRanges(rowCount) { _, start, end in
                m.withUnsafeBufferPointer { mb in
                    for i in start..<end {
                        let row = op + i * l
                        for j in 0..<l { row[j] = base[j] }
                        for e in rowStarts[i]..<rowStarts[i + 1] {
                            let d = Double(deltas[e])
                            let src = mb.baseAddress! + Int(columns[e]) * l
                            for j in 0..<l { row[j] += d * src[j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// A^T Y for Y (N x l, row-major): G x l, row-major. Each task sums its cells into its own G x l slot; the
    /// slots are added in task order, so the result does not depend on the thread count.
    func transposedTimes(_ y: [Double], cols l: Int) -> [Double] {
        let tasks = min(32, max(1, TaskRunner.taskCount(rowCount)))
        let perTask = (rowCount + tasks - 1) / tasks
        var partial = [Double](repeating: 0, count: tasks * (columnCount * l + l))
        let slot = columnCount * l + l   // G x l products, then the l column sums of Y
        partial.withUnsafeMutableBufferPointer { pb in
            let p = pb.baseAddress!
            runner.run(tasks) { task in
                let acc = p + task * slot
                let colSums = acc + columnCount * l
                let start = task * perTask, end = min(rowCount, start + perTask)
                guard start < end else { return }
                y.withUnsafeBufferPointer { yb in
                    for i in start..<end {
                        let yr = yb.baseAddress! + i * l
                        for j in 0..<l { colSums[j] += yr[j] }
                        for e in rowStarts[i]..<rowStarts[i + 1] {
                            let d = Double(deltas[e])
                            let dst = acc + Int(columns[e]) * l
                            for j in 0..<l { dst[j] += d * yr[j] }
                        }
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: columnCount * l)
        var ones = [Double](repeating: 0, count: l)
        for task in 0..<tasks {
            let base = task * slot
            for k in 0..<(columnCount * l) { out[k] += partial[base + k] }
            for j in 0..<l { ones[j] += partial[base + columnCount * l + j] }
        }
        for g in 0..<columnCount { for j in 0..<l { out[g * l + j] += offsets[g] * ones[j] } }
        return out
    }
}
