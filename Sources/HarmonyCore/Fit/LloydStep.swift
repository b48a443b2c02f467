#if canImport(Glibc)
import Glibc
#endif

// One Lloyd iteration of the k-means start (KMeansStart, step 3) as a single pass over the cells.
//
// Per fixed task of `TaskRunner.cellsPerTask` cells: NearestMeanKernel finds each cell's nearest mean (ties to
// the lowest k) without writing a score matrix, then each cell's row is added in Double to the task's sums of its
// cluster while the task's rows are still in cache.
// Task sums are added in task order, so the means do not depend on the thread count.
// Distributed (CellShard): a rank runs its own tasks and adds their sums in task order; the ranks' sums are then
// added in rank order.

/// Assignment and mean update of one Lloyd iteration, with its buffers kept between iterations.
struct LloydStep {
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
        let kernel = NearestMeanKernel(means: means, dims: d, clusters: kc)
        assignment.withUnsafeMutableBufferPointer { outBuf in
          partialSums.withUnsafeMutableBufferPointer { sumBuf in
            partialCounts.withUnsafeMutableBufferPointer { countBuf in
                // `out` by global cell index, like `zcos`.
                let out = outBuf.baseAddress! - first
                let sumsAll = sumBuf.baseAddress!, countsAll = countBuf.baseAddress!
                runner.runRanges(shard.count) { t, localStart, localEnd in
                    let start = first + localStart, end = first + localEnd
                    let sums = sumsAll + t * kc * d, counts = countsAll + t * kc
                    sums.update(repeating: 0, count: kc * d)
                    counts.update(repeating: 0, count: kc)
                    kernel.nearest(rows: zcos + start * d, count: end - start, into: out + start)
                    for i in start..<end {
                        let best = Int(out[i])
                        counts[best] += 1
                        FloatRows.add(zcos + i * d, to: sums + best * d, count: d)
                    }
                }
            }
          }
        }
        return try clusterMeans(zcos: zcos)
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
