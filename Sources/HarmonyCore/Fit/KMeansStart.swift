#if canImport(Glibc)
import Glibc
#endif

// The Harmony2 k-means start (Protocols/algorithm.md §2.2) on unit rows zcos.
//
// 1. K uniforms u_j give anchors s_j = floor(u_j (N - 1)).
// 2. For each j, every cell i gets delta_i = |2 (1 - zcos_i . zcos_{s_j})| + 1e-10 and a fresh uniform v_i
//    (24 bits; keys in Float with FastMath.log, which only has to rank them);
//    the seed point is argmin_i (-ln v_i) / delta_i over cells not already chosen (exponential race: a cell
//    far from the anchor is chosen with probability proportional to delta_i).
//    The dots for all anchors come from one sgemm per task; the uniforms of (task t, anchor j) come from their
//    own stream, so the choice does not depend on the thread count. A collision with an earlier pick (rare)
//    rescans that anchor with the same streams, excluding chosen cells.
// 3. 10 Lloyd iterations (nearest mean, ties to the lowest index; means recomputed). An empty cluster takes
//    the last cell (highest index) of the highest-numbered cluster with at least 2 cells.
//    One pass over the cells per iteration: each task computes its cells' dot products with the means by sgemm
//    in sub-blocks small enough to stay in cache, takes each row's argmin there and adds the cell to its new
//    cluster's sum (Double, per task); the task sums are added in task order.
// 4. Means scaled to unit length -> Y (K x d).
// Distributed (CellShard): each rank races and assigns its own cells (its tasks are the single process's tasks
// and streams); the best seed per anchor is the first rank's best among equal keys (= the first task's), and
// the Lloyd sums of the ranks are added in rank order.

/// The seeded spherical k-means start of a Harmony fit.
enum KMeansStart {
    /// Lloyd iterations after seeding.
    static let lloydIterations = 10

    /// K unit centroids (K x d row-major) for unit rows `zcos` (N x d; with a `shard`, its cells' rows only).
    static func centroids(zcos local: UnsafePointer<Float>, cells n: Int, dims d: Int, clusters kc: Int,
                          rng: inout SeededGenerator, runner: TaskRunner,
                          shard: CellShard? = nil) throws -> [Float] {
        let shard = shard ?? .whole(n)
        // Addressed by global cell index (only the shard's rows are read).
        let zcos = local - shard.first * d
        let anchors = (0..<kc).map { _ in min(n - 1, Int(rng.uniform() * Double(n - 1))) }
        let raceSeed = rng.next()
        var means = try seeds(zcos: zcos, cells: n, dims: d, anchors: anchors, raceSeed: raceSeed, runner: runner,
                              shard: shard)
        var step = LloydStep(cells: n, dims: d, clusters: kc, shard: shard)
        for _ in 0..<lloydIterations {
            means = try step.run(zcos: zcos, means: means, runner: runner)
        }
        for k in 0..<kc {
            var norm = 0.0
            for j in 0..<d { norm += Double(means[k * d + j]) * Double(means[k * d + j]) }
            let scale = norm > 0 ? Float(1 / norm.squareRoot()) : 0
            for j in 0..<d { means[k * d + j] *= scale }
        }
        return means
    }

    /// Step 2: one seed cell per anchor; returns their rows (K x d).
    private static func seeds(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, anchors: [Int],
                              raceSeed: UInt64, runner: TaskRunner, shard: CellShard) throws -> [Float] {
        let kc = anchors.count
        let anchorRows = shard.shareRows(anchors, dims: d) { zcos + $0 * d }
        let tasks = TaskRunner.taskCount(n)
        // Per (task, anchor): best key and its cell (tasks of other ranks stay at infinity).
        var bestKey = [Double](repeating: .infinity, count: tasks * kc)
        var bestCell = [Int](repeating: -1, count: tasks * kc)
        race(zcos: zcos, cells: n, dims: d, anchorRows: anchorRows, raceSeed: raceSeed, only: nil,
             excluded: [], bestKey: &bestKey, bestCell: &bestCell, runner: runner, shard: shard)
        var firstPicks = reduce(bestKey, bestCell, anchors: 0..<kc, clusters: kc, tasks: tasks, shard: shard)
        var chosen = Set<Int>()
        var picks: [Int] = []
        for j in 0..<kc {
            var pick = firstPicks[j]
            if pick < 0 || chosen.contains(pick) {
                race(zcos: zcos, cells: n, dims: d, anchorRows: anchorRows, raceSeed: raceSeed, only: j,
                     excluded: chosen, bestKey: &bestKey, bestCell: &bestCell, runner: runner, shard: shard)
                pick = reduce(bestKey, bestCell, anchors: j..<(j + 1), clusters: kc, tasks: tasks, shard: shard)[0]
                firstPicks[j] = pick
            }
            guard pick >= 0 else {
                throw HarmonyError.invalidInput("k-means start: fewer distinct cells than clusters (K = \(kc)); use fewer clusters")
            }
            chosen.insert(pick)
            picks.append(pick)
        }
        return shard.shareRows(picks, dims: d) { zcos + $0 * d }
    }

    /// The exponential race for every anchor (or only anchor `only`), skipping `excluded` cells.
    private static func race(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, anchorRows: [Float],
                             raceSeed: UInt64, only: Int?, excluded: Set<Int>, bestKey: inout [Double],
                             bestCell: inout [Int], runner: TaskRunner, shard: CellShard) {
        let kc = anchorRows.count / d
        let tasks = TaskRunner.taskCount(n)
        // The shard's tasks (its range starts at a task boundary; see CellShard).
        let firstTask = shard.first / TaskRunner.cellsPerTask, localTasks = TaskRunner.taskCount(shard.count)
        anchorRows.withUnsafeBufferPointer { aBuf in
            bestKey.withUnsafeMutableBufferPointer { keyBuf in
                bestCell.withUnsafeMutableBufferPointer { cellBuf in
                    let a = aBuf.baseAddress!, keys = keyBuf.baseAddress!, cellsOut = cellBuf.baseAddress!
                    runner.run(localTasks) { local in
                        let t = firstTask + local
                        let start = t * TaskRunner.cellsPerTask, end = min(n, start + TaskRunner.cellsPerTask)
                        let len = end - start
                        let dots = UnsafeMutablePointer<Float>.allocate(capacity: len * kc)
                        defer { dots.deallocate() }
                        BLAS.sgemm(transB: true, m: len, n: kc, k: d, a: zcos + start * d, lda: d, b: a, ldb: d,
                                   c: dots, ldc: kc)
                        var first = 0
                        if only == nil && excluded.isEmpty {
                            // Eight anchors at a time, one stream per SIMD lane (same draws, same keys).
                            while first + 8 <= kc {
                                let best = raceEight(dots: dots, rows: len, stride: kc, anchor: first,
                                                     raceSeed: raceSeed, streamBase: first * tasks + t, streamStep: tasks)
                                for lane in 0..<8 {
                                    keys[t * kc + first + lane] = Double(best.keys[lane])
                                    cellsOut[t * kc + first + lane] = best.rows[lane] < 0 ? -1 : start + Int(best.rows[lane])
                                }
                                first += 8
                            }
                        }
                        for j in first..<kc where only == nil || only == j {
                            var stream = SeededGenerator(seed: raceSeed, stream: UInt64(j * tasks + t))
                            var best = Float.infinity, bestIndex = -1
                            for row in 0..<len {
                                // A uniform in (0, 1] with 24 random bits; -ln v is an exponential variate.
                                let v = Float((stream.next() >> 40) + 1) * 0x1.0p-24
                                let i = start + row
                                if !excluded.isEmpty && excluded.contains(i) { continue }
                                let delta = abs(2 * (1 - dots[row * kc + j])) + 1e-10
                                let key = -FastMath.log(v) / delta
                                if key < best { best = key; bestIndex = i }
                            }
                            keys[t * kc + j] = Double(best)
                            cellsOut[t * kc + j] = bestIndex
                        }
                    }
                }
            }
        }
    }

    /// The race of anchors anchor..<anchor + 8 over `rows` rows of dots (row stride `stride`), lane l drawing
    /// from stream streamBase + l * streamStep: the scalar loop's arithmetic, lane by lane. Returns each lane's
    /// smallest key and its row (-1 if none).
    private static func raceEight(dots: UnsafePointer<Float>, rows: Int, stride: Int, anchor: Int, raceSeed: UInt64,
                                  streamBase: Int, streamStep: Int) -> (keys: SIMD8<Float>, rows: SIMD8<Int32>) {
        var streams = SeededLanes8(seed: raceSeed, firstStream: UInt64(streamBase),
                                             step: UInt64(streamStep))
        var best = SIMD8<Float>(repeating: .infinity)
        var bestRow = SIMD8<Int32>(repeating: -1)
        let scale = SIMD8<Float>(repeating: 0x1.0p-24), one = SIMD8<Float>(repeating: 1)
        let two = SIMD8<Float>(repeating: 2), tiny = SIMD8<Float>(repeating: 1e-10)
        for row in 0..<rows {
            let bits = (streams.next() &>> 40) &+ 1
            let v = SIMD8<Float>(SIMD8<UInt32>(truncatingIfNeeded: bits)) * scale
            let dot = UnsafeRawPointer(dots + row * stride + anchor).loadUnaligned(as: SIMD8<Float>.self)
            let gap = two * (one - dot)
            let delta = gap.replacing(with: -gap, where: gap .< 0) + tiny
            let key = -FastMath.log(v) / delta
            let better = key .< best
            best.replace(with: key, where: better)
            bestRow.replace(with: SIMD8<Int32>(repeating: Int32(row)), where: better)
        }
        return (best, bestRow)
    }

    /// Per anchor j in `anchors`, the cell with the smallest key over tasks (ties: earliest task, i.e. lowest
    /// cell index), or -1. Across ranks, the first rank's best among equal keys: the same earliest task.
    private static func reduce(_ keys: [Double], _ cells: [Int], anchors: Range<Int>, clusters kc: Int, tasks: Int,
                               shard: CellShard) -> [Int] {
        var local: [Double] = []
        for j in anchors {
            var best = Double.infinity, pick = -1
            for t in 0..<tasks where cells[t * kc + j] >= 0 && keys[t * kc + j] < best {
                best = keys[t * kc + j]
                pick = cells[t * kc + j]
            }
            local += [best, Double(pick)]
        }
        let all = shard.gather(local), m = local.count
        return (0..<anchors.count).map { x -> Int in
            var best = Double.infinity, pick = -1
            for r in 0..<(all.count / m) where all[r * m + 2 * x + 1] >= 0 && all[r * m + 2 * x] < best {
                best = all[r * m + 2 * x]
                pick = Int(all[r * m + 2 * x + 1])
            }
            return pick
        }
    }
}
