// The k-means partition behind `NearestNeighborIndex`: Lloyd rounds on a sample (the lists only need to be
// compact, not optimal), nearest-centroid assignment by SGEMM blocks (argmin_l |c_l|^2 - 2 p.c_l), and means.

/// Partitioning of points into inverted lists for the nearest-neighbour index.
enum KMeansLists {
    /// Lloyd rounds run on the sample.
    static let rounds = 6
    /// Sample points per list.
    static let samplePerList = 40
    /// Rows per SGEMM block in `nearest`.
    static let block = 2048

    /// `lists` centroids (lists x d, row-major) from a sample of the points; deterministic for a seed.
    static func centroids(_ points: Matrix<Float>, lists: Int, seed: UInt64, runner: TaskRunner) -> [Float] {
        let n = points.rows, d = points.cols
        var rng = SeededGenerator(seed: seed)
        var pick = Array(0..<n)
        let m = min(n, lists * samplePerList)
        for i in 0..<m {
            let j = i + rng.below(n - i)
            pick.swapAt(i, j)
        }
        let sampleRows = Array(pick[0..<m]).sorted()
        var sample = [Float](repeating: 0, count: m * d)
        for (r, i) in sampleRows.enumerated() {
            for j in 0..<d { sample[r * d + j] = points.values[i * d + j] }
        }
        var centers = [Float](repeating: 0, count: lists * d)
        // Start from `lists` distinct sample points spread over the (sorted) sample.
        for l in 0..<lists {
            let r = l * m / lists
            for j in 0..<d { centers[l * d + j] = sample[r * d + j] }
        }
        for _ in 0..<rounds {
            let assignment = nearest(sample, n: m, d: d, centroids: centers, k: lists, runner: runner)
            var sums = [Double](repeating: 0, count: lists * d)
            var counts = [Int](repeating: 0, count: lists)
            for r in 0..<m {
                let l = Int(assignment[r])
                counts[l] += 1
                for j in 0..<d { sums[l * d + j] += Double(sample[r * d + j]) }
            }
            for l in 0..<lists where counts[l] > 0 {
                for j in 0..<d { centers[l * d + j] = Float(sums[l * d + j] / Double(counts[l])) }
            }
        }
        return centers
    }

    /// The nearest centroid of each of the n points (n x d values); first on ties. Blocks run in parallel and
    /// write disjoint slots, so the answer does not depend on the thread count.
    static func nearest(_ values: [Float], n: Int, d: Int, centroids: [Float], k: Int, runner: TaskRunner) -> [Int32] {
        var out = [Int32](repeating: 0, count: n)
        var cnorm = [Float](repeating: 0, count: k)
        for l in 0..<k { for j in 0..<d { cnorm[l] += centroids[l * d + j] * centroids[l * d + j] } }
        out.withUnsafeMutableBufferPointer { ob in
            runner.runRanges(n, perTask: block) { _, start, end in
                let m = end - start
                var dots = [Float](repeating: 0, count: m * k)
                values.withUnsafeBufferPointer { vb in
                    BLAS.sgemm(transB: true, m: m, n: k, k: d, alpha: 1,
                               a: vb.baseAddress! + start * d, lda: d, b: centroids, ldb: d, beta: 0, c: &dots, ldc: k)
                }
                for r in 0..<m {
                    var best = 0
                    var value = Float.infinity
                    for l in 0..<k {
                        let s = cnorm[l] - 2 * dots[r * k + l]
                        if s < value { value = s; best = l }
                    }
                    ob[start + r] = Int32(best)
                }
            }
        }
        return out
    }

    /// The mean of each list's members (`order[start[l] ..< start[l + 1]]`); an empty list keeps `previous`.
    static func means(_ values: [Float], d: Int, order: [Int32], start: [Int], previous: [Float]) -> [Float] {
        var out = previous
        for l in 0..<(start.count - 1) where start[l + 1] > start[l] {
            var sums = [Double](repeating: 0, count: d)
            for slot in start[l]..<start[l + 1] {
                let i = Int(order[slot])
                for j in 0..<d { sums[j] += Double(values[i * d + j]) }
            }
            let c = Double(start[l + 1] - start[l])
            for j in 0..<d { out[l * d + j] = Float(sums[j] / c) }
        }
        return out
    }
}
