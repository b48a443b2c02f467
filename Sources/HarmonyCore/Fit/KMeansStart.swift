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
//    Most cells cannot win: the computed -ln v is never below 1 - v (checked on all 2^24 values of v by
//    KMeansStartTests), so a cell with 1 - v >= fl(limit delta), limit = max(best (1 + 2^-10), 2^-60) >= best, has
//    -ln v / delta > best (the 2^-10 covers the roundings of both products; the 2^-60 keeps them normal) and its
//    key, rounded, is not below best: the logarithm and the division are skipped for it, with the same picks.
//    The dots come from NearestMeanKernel in sub-blocks of `raceRows` cells; the uniforms
//    of (task t, anchor j) come from their own stream, so the choice does not depend on the thread count.
//    A collision with an earlier pick (rare) rescans that anchor with the same streams, excluding chosen cells.
// 3. 10 Lloyd iterations (nearest mean, ties to the lowest index; means recomputed). An empty cluster takes
//    the last cell (highest index) of the highest-numbered cluster with at least 2 cells.
//    One pass over the cells per iteration (LloydStep): each task finds its cells' nearest means by
//    NearestMeanKernel and adds each cell to its new cluster's sum (Double, per task); the task sums are added in
//    task order.
// 4. Means scaled to unit length -> Y (K x d).
// Distributed (CellShard): each rank races and assigns its own cells (its tasks are the single process's tasks
// and streams); the best seed per anchor is the first rank's best among equal keys (= the first task's), and
// the Lloyd sums of the ranks are added in rank order.

/// The seeded spherical k-means start of a Harmony fit.
enum KMeansStart {
    /// Lloyd iterations after seeding.
    static let lloydIterations = 10
    /// A race candidate is skipped when 1 - v >= max(best slack, smallestLimit) delta (see the file header).
    static let slack: Float = 1 + 0x1p-10
    static let smallestLimit: Float = 0x1p-60
    /// Cells per sub-block of the race: 256 x 104 dots (104 KB at K = 100) stay in cache.
    static let raceRows = 256

    /// Float(x) for x in 1...2^24, exactly (x - 1 = hi 2^12 + lo, each part converted by the 2^23 exponent
    /// trick): SIMD8's integer-to-float initialisers are out-of-line generic calls.
    @inline(__always)
    static func float(_ x: SIMD8<UInt32>) -> SIMD8<Float> {
        let magic = SIMD8<UInt32>(repeating: 0x4B00_0000), shift = SIMD8<Float>(repeating: 0x1p23)
        let r = x &- 1
        let hi = unsafeBitCast((r &>> 12) | magic, to: SIMD8<Float>.self) - shift
        let lo = unsafeBitCast((r & 0xFFF) | magic, to: SIMD8<Float>.self) - shift
        return hi * 4096 + lo + 1
    }

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
    static func seeds(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, anchors: [Int],
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

    /// The exponential race for every anchor, or for anchor `only` skipping `excluded` cells.
    private static func race(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, anchorRows: [Float],
                             raceSeed: UInt64, only: Int?, excluded: Set<Int>, bestKey: inout [Double],
                             bestCell: inout [Int], runner: TaskRunner, shard: CellShard) {
        let kc = anchorRows.count / d, kp = NearestMeanKernel.padded(kc)
        let tasks = TaskRunner.taskCount(n)
        // The shard's tasks (its range starts at a task boundary; see CellShard).
        let firstTask = shard.first / TaskRunner.cellsPerTask, localTasks = TaskRunner.taskCount(shard.count)
        let kernel = NearestMeanKernel(means: anchorRows, dims: d, clusters: kc)
        bestKey.withUnsafeMutableBufferPointer { keyBuf in
            bestCell.withUnsafeMutableBufferPointer { cellBuf in
                let keys = keyBuf.baseAddress!, cellsOut = cellBuf.baseAddress!
                runner.run(localTasks) { local in
                    let t = firstTask + local
                    let start = t * TaskRunner.cellsPerTask, end = min(n, start + TaskRunner.cellsPerTask)
                    let dots = UnsafeMutablePointer<Float>.allocate(capacity: KMeansStart.raceRows * kp)
                    defer { dots.deallocate() }
                    if let j = only {
                        var stream = SeededGenerator(seed: raceSeed, stream: UInt64(j * tasks + t))
                        var best = Float.infinity, bestIndex = -1, limit = Float.infinity
                        var block = start
                        while block < end {
                            let len = min(KMeansStart.raceRows, end - block)
                            kernel.dots(rows: zcos + block * d, count: len, into: dots)
                            for row in 0..<len {
                                // A uniform in (0, 1] with 24 random bits; -ln v is an exponential variate.
                                let v = Float((stream.next() >> 40) + 1) * 0x1.0p-24
                                let i = block + row
                                if !excluded.isEmpty && excluded.contains(i) { continue }
                                let delta = abs(2 * (1 - dots[row * kp + j])) + 1e-10
                                if 1 - v >= limit * delta { continue }
                                let key = -FastMath.log(v) / delta
                                if key < best {
                                    best = key
                                    bestIndex = i
                                    limit = max(best * KMeansStart.slack, KMeansStart.smallestLimit)
                                }
                            }
                            block += len
                        }
                        keys[t * kc + j] = Double(best)
                        cellsOut[t * kc + j] = bestIndex
                        return
                    }
                    // Eight anchors per lane group, lane l of group g drawing from stream (8 g + l) tasks + t:
                    // the scalar race's draws and keys (lanes past K only pad the last group).
                    var groups = (0..<(kp / 8)).map {
                        RaceLanes(seed: raceSeed, firstStream: UInt64($0 * 8 * tasks + t), step: UInt64(tasks))
                    }
                    var block = start
                    while block < end {
                        let len = min(KMeansStart.raceRows, end - block)
                        kernel.dots(rows: zcos + block * d, count: len, into: dots)
                        for g in groups.indices {
                            groups[g].run(dots: dots + 8 * g, rows: len, stride: kp, firstRow: block - start)
                        }
                        block += len
                    }
                    for j in 0..<kc {
                        let lanes = groups[j / 8], lane = j % 8
                        keys[t * kc + j] = Double(lanes.best[lane])
                        cellsOut[t * kc + j] = lanes.bestRow[lane] < 0 ? -1 : start + Int(lanes.bestRow[lane])
                    }
                }
            }
        }
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

/// The race of eight anchors over a task's rows, one stream per lane: the scalar race's arithmetic, lane by lane.
private struct RaceLanes {
    private var streams: SeededLanes8
    /// Each lane's smallest key and its row in the task (-1 if none).
    private(set) var best = SIMD8<Float>(repeating: .infinity)
    private(set) var bestRow = SIMD8<Int32>(repeating: -1)
    /// max(best slack, smallestLimit): rows where 1 - v >= limit delta in every lane cannot win (file header).
    private var limit = SIMD8<Float>(repeating: .infinity)

    init(seed: UInt64, firstStream: UInt64, step: UInt64) {
        streams = SeededLanes8(seed: seed, firstStream: firstStream, step: step)
    }

    /// The next `rows` rows of the task (the first being row `firstRow`), their dots with the eight anchors at
    /// `dots` (row stride `stride`).
    mutating func run(dots: UnsafePointer<Float>, rows: Int, stride: Int, firstRow: Int) {
        var streams = self.streams, best = self.best, bestRow = self.bestRow, limit = self.limit
        let scale = SIMD8<Float>(repeating: 0x1.0p-24), one = SIMD8<Float>(repeating: 1)
        let two = SIMD8<Float>(repeating: 2), tiny = SIMD8<Float>(repeating: 1e-10)
        let slack = SIMD8<Float>(repeating: KMeansStart.slack)
        let smallest = SIMD8<Float>(repeating: KMeansStart.smallestLimit)
        for row in 0..<rows {
            let bits = (streams.next() &>> 40) &+ 1
            let v = KMeansStart.float(SIMD8<UInt32>(truncatingIfNeeded: bits)) * scale
            let dot = UnsafeRawPointer(dots + row * stride).loadUnaligned(as: SIMD8<Float>.self)
            let gap = two * (one - dot)
            let delta = gap.replacing(with: -gap, where: gap .< 0) + tiny
            // No lane can win in most rows (see the file header).
            guard any(one - v .< limit * delta) else { continue }
            let key = -FastMath.log(v) / delta
            let better = key .< best
            best.replace(with: key, where: better)
            bestRow.replace(with: SIMD8<Int32>(repeating: Int32(firstRow + row)), where: better)
            let scaled = best * slack
            limit = scaled.replacing(with: smallest, where: scaled .< smallest)
        }
        self.streams = streams
        self.best = best
        self.bestRow = bestRow
        self.limit = limit
    }
}
