import COpenBLAS
import Dispatch

// Exact k nearest neighbours by Euclidean distance, brute force in blocks:
//   |x_i - x_j|^2 = |x_i|^2 + |x_j|^2 - 2 x_i . x_j,
// with the dot products of a block of queries against a chunk of points from one DGEMM. Each query keeps a
// bounded max-heap of its best candidates, ordered by (distance, index) so ties go to the lower index.
// The heap is filled with k + 1 candidates including the cell itself; the cell is then dropped. The kept
// neighbours' distances are recomputed directly as sqrt(sum (x_i - x_j)^2), which avoids the cancellation of
// the expanded form, and sorted. Queries of a block are split into fixed tasks; results do not depend on the
// number of threads.

/// The k nearest other cells of every cell, with their Euclidean distances, nearest first.
public struct NearestNeighbors: Sendable {
    /// Neighbours per cell.
    public let k: Int
    /// N x k neighbour indices, row-major.
    public let indices: [Int32]
    /// N x k Euclidean distances, row-major, ascending in each row.
    public let distances: [Double]

    private static let queryBlock = 256
    private static let pointChunk = 4096

    /// Finds the `k` nearest other cells of each row of `points` (requires `k < points.rows`).
    /// - Parameter threads: worker threads for the selection (0: all cores); the result does not depend on it.
    public static func exact(_ points: Matrix<Double>, k: Int, threads: Int = 0) -> NearestNeighbors {
        let n = points.rows, d = points.cols
        precondition(k >= 1 && k < n, "need 1 <= k < number of cells")
        let keep = k + 1
        var norms = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for j in 0..<d { s += points.values[i * d + j] * points.values[i * d + j] }
            norms[i] = s
        }
        var heapDist = [Double](repeating: .infinity, count: n * keep)
        var heapIndex = [Int32](repeating: -1, count: n * keep)
        var heapSize = [Int](repeating: 0, count: n)
        var dots = [Double](repeating: 0, count: queryBlock * pointChunk)
        let taskCount = threads == 1 ? 1 : 8
        points.values.withUnsafeBufferPointer { x in
            heapDist.withUnsafeMutableBufferPointer { hd in
                heapIndex.withUnsafeMutableBufferPointer { hi in
                    heapSize.withUnsafeMutableBufferPointer { hs in
                        dots.withUnsafeMutableBufferPointer { g in
                            for q0 in stride(from: 0, to: n, by: queryBlock) {
                                let qn = min(queryBlock, n - q0)
                                for p0 in stride(from: 0, to: n, by: pointChunk) {
                                    let pn = min(pointChunk, n - p0)
                                    // g (qn x pn) = X[q0..] * X[p0..]^T
                                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(qn), Int32(pn), Int32(d),
                                                1, x.baseAddress! + q0 * d, Int32(d), x.baseAddress! + p0 * d, Int32(d),
                                                0, g.baseAddress!, Int32(pn))
                                    DispatchQueue.concurrentPerform(iterations: taskCount) { task in
                                        let first = task * qn / taskCount, last = (task + 1) * qn / taskCount
                                        for qi in first..<last {
                                            let q = q0 + qi
                                            let base = q * keep
                                            for pj in 0..<pn {
                                                let dist = norms[q] + norms[p0 + pj] - 2 * g[qi * pn + pj]
                                                if hs[q] == keep && dist >= hd[base] { continue }
                                                push(dist, Int32(p0 + pj), heapDist: hd.baseAddress! + base,
                                                     heapIndex: hi.baseAddress! + base, size: &hs[q], capacity: keep)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Double](repeating: 0, count: n * k)
        for q in 0..<n {
            // Drop the cell itself; if more than k cells coincide with it and it fell out, drop the farthest.
            let candidates = heapIndex[(q * keep)..<((q + 1) * keep)].filter { $0 != Int32(q) }
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

    /// Inserts (dist, index) into a max-heap keyed by (distance, index) of at most `capacity` entries,
    /// replacing the root when full (the caller has checked the candidate beats it).
    @inline(__always)
    private static func push(_ dist: Double, _ index: Int32, heapDist: UnsafeMutablePointer<Double>,
                             heapIndex: UnsafeMutablePointer<Int32>, size: inout Int, capacity: Int) {
        @inline(__always) func greater(_ a: Int, _ b: Int) -> Bool {
            heapDist[a] > heapDist[b] || (heapDist[a] == heapDist[b] && heapIndex[a] > heapIndex[b])
        }
        if size < capacity {
            var i = size
            heapDist[i] = dist; heapIndex[i] = index
            size += 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard greater(i, parent) else { break }
                heapDist.swapAt(i, parent); heapIndex.swapAt(i, parent)
                i = parent
            }
            return
        }
        heapDist[0] = dist; heapIndex[0] = index
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var largest = i
            if l < capacity && greater(l, largest) { largest = l }
            if r < capacity && greater(r, largest) { largest = r }
            if largest == i { break }
            heapDist.swapAt(i, largest); heapIndex.swapAt(i, largest)
            i = largest
        }
    }
}

private extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ a: Int, _ b: Int) {
        let t = self[a]; self[a] = self[b]; self[b] = t
    }
}
