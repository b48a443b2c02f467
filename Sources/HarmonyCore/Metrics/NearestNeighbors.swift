import COpenBLAS

// Exact k nearest neighbours by Euclidean distance, brute force in blocks:
//   |x_i - x_j|^2 = |x_i|^2 + |x_j|^2 - 2 x_i . x_j,
// with the dot products of a block of queries against a chunk of points from one DGEMM. Each query keeps a
// bounded max-heap of its best candidates, ordered by (distance, index) so ties go to the lower index.
// The heap is filled with k + 1 candidates including the cell itself; the cell is then dropped. The kept
// neighbours' distances are recomputed directly as sqrt(sum (x_i - x_j)^2), which avoids the cancellation of
// the expanded form, and sorted. Each block of queries is one task (its own DGEMMs, OpenBLAS held at one
// thread meanwhile) that scans the points in the same order whatever the thread count, so results do not
// depend on it.

/// The k nearest other cells of every cell, with their Euclidean distances, nearest first.
public struct NearestNeighbors: Sendable {
    /// Neighbours per cell.
    public let k: Int
    /// N x k neighbour indices, row-major.
    public let indices: [Int32]
    /// N x k Euclidean distances, row-major, ascending in each row.
    public let distances: [Double]

    private static let queryBlock = 128
    private static let pointChunk = 512

    /// Finds the `k` nearest other cells of each row of `points` (requires `k < points.rows`).
    /// - Parameter threads: worker threads for the selection (0: all cores); the result does not depend on it.
    public static func exact(_ points: Matrix<Double>, k: Int, threads: Int = 0) -> NearestNeighbors {
        let n = points.rows, d = points.cols
        precondition(k >= 1 && k < n, "need 1 <= k < number of cells")
        let keep = k + 1
        // Heaps hold the ranking key |x_p|^2 - 2 x_q . x_p (the squared distance minus |x_q|^2): same order.
        let heapKey = UnsafeMutablePointer<Double>.allocate(capacity: n * keep)
        let heapIndex = UnsafeMutablePointer<Int32>.allocate(capacity: n * keep)
        let norms = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { heapKey.deallocate(); heapIndex.deallocate(); norms.deallocate() }
        // Every task runs its own single-threaded DGEMMs; OpenBLAS's own threads would only contend with them.
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        let blocks = (n + queryBlock - 1) / queryBlock
        points.values.withUnsafeBufferPointer { xb in
            let x = xb.baseAddress!
            for i in 0..<n {
                var s = 0.0
                for j in 0..<d { s += x[i * d + j] * x[i * d + j] }
                norms[i] = s
            }
            let searchBlock = { (block: Int) in
                let q0 = block * queryBlock, qn = min(queryBlock, n - q0)
                let dots = UnsafeMutablePointer<Double>.allocate(capacity: queryBlock * pointChunk)
                defer { dots.deallocate() }
                var sizes = [Int](repeating: 0, count: qn)
                for p0 in stride(from: 0, to: n, by: pointChunk) {
                    let pn = min(pointChunk, n - p0)
                    // dots (qn x pn) = X[q0 ..< q0 + qn] * X[p0 ..< p0 + pn]^T
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(qn), Int32(pn), Int32(d),
                                1, x + q0 * d, Int32(d), x + p0 * d, Int32(d), 0, dots, Int32(pn))
                    let pointNorms = norms + p0
                    for qi in 0..<qn {
                        let keys = heapKey + (q0 + qi) * keep, indices = heapIndex + (q0 + qi) * keep
                        let row = dots + qi * pn
                        var size = sizes[qi]
                        defer { sizes[qi] = size }
                        var threshold = size == keep ? keys[0] : Double.infinity
                        // Most points lose to the heap's root: test 16 at a time with a branch-free minimum
                        // (vectorised) and look at single points only where one may win.
                        var start = 0
                        while start < pn {
                            let end = min(start + 16, pn)
                            var lowest = Double.infinity
                            for pj in start..<end {
                                let key = pointNorms[pj] - 2 * row[pj]
                                lowest = key < lowest ? key : lowest
                            }
                            if lowest < threshold {
                                for pj in start..<end {
                                    let key = pointNorms[pj] - 2 * row[pj]
                                    if key >= threshold { continue }
                                    push(key, Int32(p0 + pj), heapKey: keys, heapIndex: indices, size: &size,
                                         capacity: keep)
                                    if size == keep { threshold = keys[0] }
                                }
                            }
                            start = end
                        }
                    }
                }
            }
            TaskRunner(requested: threads).run(blocks, searchBlock)
        }
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Double](repeating: 0, count: n * k)
        for q in 0..<n {
            // Drop the cell itself; if more than k cells coincide with it and it fell out, drop the farthest.
            let candidates = UnsafeBufferPointer(start: heapIndex + q * keep, count: keep).filter { $0 != Int32(q) }
            var exact = candidates.map { j -> (Double, Int32) in
                var s = 0.0
                for c in 0..<d {
                    let t = points.values[q * d + c] - points.values[Int(j) * d + c]
                    s += t * t
                }
                return (s.squareRoot(), j)
            }
            exact.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for (r, e) in exact.prefix(k).enumerated() {
                distances[q * k + r] = e.0
                indices[q * k + r] = e.1
            }
        }
        return NearestNeighbors(k: k, indices: indices, distances: distances)
    }

    /// Inserts (key, index) into a max-heap ordered by (key, index) of at most `capacity` entries,
    /// replacing the root when full (the caller has checked the candidate beats it).
    @inline(__always)
    private static func push(_ key: Double, _ index: Int32, heapKey: UnsafeMutablePointer<Double>,
                             heapIndex: UnsafeMutablePointer<Int32>, size: inout Int, capacity: Int) {
        @inline(__always) func greater(_ a: Int, _ b: Int) -> Bool {
            heapKey[a] > heapKey[b] || (heapKey[a] == heapKey[b] && heapIndex[a] > heapIndex[b])
        }
        if size < capacity {
            var i = size
            heapKey[i] = key; heapIndex[i] = index
            size += 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard greater(i, parent) else { break }
                heapKey.swapAt(i, parent); heapIndex.swapAt(i, parent)
                i = parent
            }
            return
        }
        heapKey[0] = key; heapIndex[0] = index
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var largest = i
            if l < capacity && greater(l, largest) { largest = l }
            if r < capacity && greater(r, largest) { largest = r }
            if largest == i { break }
            heapKey.swapAt(i, largest); heapIndex.swapAt(i, largest)
            i = largest
        }
    }
}

private extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ a: Int, _ b: Int) {
        let t = self[a]; self[a] = self[b]; self[b] = t
    }
}
