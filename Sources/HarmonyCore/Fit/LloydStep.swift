#if canImport(Glibc)
import Glibc
#endif

// One Lloyd iteration of the k-means start (KMeansStart, step 3) as a single pass over the cells.
//
// Per fixed task of `TaskRunner.cellsPerTask` cells: sub-blocks of `rowsPerBlock` cells get their scores
// |mu_k|^2 - 2 z . mu_k from one sgemm into a buffer that stays in L1/L2, each cell's nearest mean is the
// smallest score (ties to the lowest k), and its row is added in Double to the task's sums of that cluster.
// Task sums are added in task order, so the means do not depend on the thread count.
// Distributed (CellShard): a rank runs its own tasks and adds their sums in task order; the ranks' sums are then
// added in rank order.

/// Assignment and mean update of one Lloyd iteration, with its buffers kept between iterations.
struct LloydStep {
    /// Cells per sgemm sub-block: 256 x K scores (100 KB at K = 100) stay in cache for the argmin.
    static let rowsPerBlock = 256

    let cells: Int
    let dims: Int
    let clusters: Int
    /// The cells this process assigns.
    let shard: CellShard
    /// Nearest mean of every cell of the shard (of the last run).
    private(set) var assignment: [Int32]
    /// Per task: K x d Double sums, then K counts.
    private var partialSums: [Double]
    private var partialCounts: [Int]

    init(cells: Int, dims: Int, clusters: Int, shard: CellShard? = nil) {
        self.cells = cells
        self.dims = dims
        self.clusters = clusters
        self.shard = shard ?? .whole(cells)
        let tasks = TaskRunner.taskCount(self.shard.count)
        assignment = [Int32](repeating: 0, count: self.shard.count)
        partialSums = [Double](repeating: 0, count: tasks * clusters * dims)
        partialCounts = [Int](repeating: 0, count: tasks * clusters)
    }

    /// Assigns every cell of `zcos` to its nearest mean of `means` (K x d) and returns the means of the new
    /// clusters. An empty cluster takes the last cell (highest index) of the highest-numbered cluster with at
    /// least 2 cells. `zcos` is addressed by global cell index (only the shard's rows are read).
    mutating func run(zcos: UnsafePointer<Float>, means: [Float], runner: TaskRunner) throws -> [Float] {
        let d = dims, kc = clusters, first = shard.first
        var norms = [Float](repeating: 0, count: kc)
        for k in 0..<kc { for j in 0..<d { norms[k] += means[k * d + j] * means[k * d + j] } }
        means.withUnsafeBufferPointer { mBuf in
          norms.withUnsafeBufferPointer { normBuf in
            assignment.withUnsafeMutableBufferPointer { outBuf in
              partialSums.withUnsafeMutableBufferPointer { sumBuf in
                partialCounts.withUnsafeMutableBufferPointer { countBuf in
                    // `out` by global cell index, like `zcos`.
                    let m = mBuf.baseAddress!, norm = normBuf.baseAddress!, out = outBuf.baseAddress! - first
                    let sumsAll = sumBuf.baseAddress!, countsAll = countBuf.baseAddress!
                    runner.runRanges(shard.count) { t, localStart, localEnd in
                        let start = first + localStart, end = first + localEnd
                        let sums = sumsAll + t * kc * d, counts = countsAll + t * kc
                        sums.update(repeating: 0, count: kc * d)
                        counts.update(repeating: 0, count: kc)
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: LloydStep.rowsPerBlock * kc)
                        defer { scores.deallocate() }
                        var block = start
                        while block < end {
                            let len = min(LloydStep.rowsPerBlock, end - block)
                            BLAS.sgemm(transB: true, m: len, n: kc, k: d, a: zcos + block * d, lda: d, b: m, ldb: d,
                                       c: scores, ldc: kc)
                            for row in 0..<len {
                                let best = LloydStep.nearest(scores + row * kc, norms: norm, clusters: kc)
                                let i = block + row
                                out[i] = Int32(best)
                                counts[best] += 1
                                LloydStep.add(zcos + i * d, to: sums + best * d, count: d)
                            }
                            block += len
                        }
                    }
                }
              }
            }
          }
        }
        return try clusterMeans(zcos: zcos)
    }

    /// argmin_k norms_k - 2 dots_k over one row of dots (ties to the lowest k); the row is overwritten with
    /// the scores.
    @inline(__always)
    static func nearest(_ line: UnsafeMutablePointer<Float>, norms norm: UnsafePointer<Float>,
                                clusters kc: Int) -> Int {
        var best8 = SIMD8<Float>(repeating: .infinity)
        var k = 0
        while k + 8 <= kc {
            let v = UnsafeRawPointer(norm + k).loadUnaligned(as: SIMD8<Float>.self)
                - 2 * UnsafeRawPointer(line + k).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(line + k).storeBytes(of: v, as: SIMD8<Float>.self)
            best8.replace(with: v, where: v .< best8)
            k += 8
        }
        var best = best8.min()
        while k < kc {
            line[k] = norm[k] - 2 * line[k]
            best = Swift.min(best, line[k])
            k += 1
        }
        // The lowest index holding the minimum: first 8-lane group with a match, then its first lane.
        let target = SIMD8<Float>(repeating: best)
        k = 0
        while k + 8 <= kc {
            let hit = UnsafeRawPointer(line + k).loadUnaligned(as: SIMD8<Float>.self) .== target
            if any(hit) {
                for lane in 0..<8 where hit[lane] { return k + lane }
            }
            k += 8
        }
        while line[k] != best { k += 1 }
        return k
    }

    /// sums[j] += Double(row[j]) for j < count, four at a time (the same additions as a scalar loop).
    @inline(__always)
    private static func add(_ row: UnsafePointer<Float>, to sums: UnsafeMutablePointer<Double>, count d: Int) {
        var j = 0
        while j + 4 <= d {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD4<Float>.self)
            let target = UnsafeMutableRawPointer(sums + j)
            let sum = target.loadUnaligned(as: SIMD4<Double>.self)
                + SIMD4<Double>(Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]))
            target.storeBytes(of: sum, as: SIMD4<Double>.self)
            j += 4
        }
        while j < d {
            sums[j] += Double(row[j])
            j += 1
        }
    }

    /// The means from the task sums (added in task order), after moving cells into empty clusters.
    private mutating func clusterMeans(zcos: UnsafePointer<Float>) throws -> [Float] {
        let d = dims, kc = clusters, tasks = TaskRunner.taskCount(shard.count)
        var counts = [Int](repeating: 0, count: kc)
        var sums = [Double](repeating: 0, count: kc * d)
        for t in 0..<tasks {
            for k in 0..<kc { counts[k] += partialCounts[t * kc + k] }
            for x in 0..<(kc * d) { sums[x] += partialSums[t * kc * d + x] }
        }
        if shard.isDistributed {
            // Counts are exact in Double (far below 2^53).
            var all = sums + counts.map { Double($0) }
            shard.sum(&all)
            sums = Array(all[0..<(kc * d)])
            counts = all[(kc * d)...].map { Int($0) }
        }
        for e in 0..<kc where counts[e] == 0 {
            guard let donor = (0..<kc).reversed().first(where: { counts[$0] >= 2 }) else {
                throw HarmonyError.numerical("k-means start: a cluster is empty and no cluster has two cells to give; use fewer clusters")
            }
            // The donor's last cell over all ranks: the highest rank's last one.
            let localLast = (0..<shard.count).reversed().first(where: { Int(assignment[$0]) == donor })
            let lasts = shard.gather([Double(localLast.map { shard.first + $0 } ?? -1)])
            guard let cell = lasts.map({ Int($0) }).filter({ $0 >= 0 }).max() else {
                throw HarmonyError.numerical("k-means start: a cluster is empty and no cluster has two cells to give; use fewer clusters")
            }
            if shard.range.contains(cell) { assignment[cell - shard.first] = Int32(e) }
            counts[donor] -= 1
            counts[e] = 1
            for (j, x) in shard.shareRows([cell], dims: d, row: { zcos + $0 * d }).enumerated() {
                let value = Double(x)
                sums[donor * d + j] -= value
                sums[e * d + j] = value
            }
        }
        var means = [Float](repeating: 0, count: kc * d)
        for k in 0..<kc { for j in 0..<d { means[k * d + j] = Float(sums[k * d + j] / Double(counts[k])) } }
        return means
    }
}
