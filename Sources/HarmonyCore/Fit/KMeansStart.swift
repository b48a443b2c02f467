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

/// The seeded spherical k-means start of a Harmony fit.
enum KMeansStart {
    /// Lloyd iterations after seeding.
    static let lloydIterations = 10

    /// K unit centroids (K x d row-major) for unit rows `zcos` (N x d).
    static func centroids(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, clusters kc: Int,
                          rng: inout SeededGenerator, runner: TaskRunner) throws -> [Float] {
        let anchors = (0..<kc).map { _ in min(n - 1, Int(rng.uniform() * Double(n - 1))) }
        let raceSeed = rng.next()
        var means = try seeds(zcos: zcos, cells: n, dims: d, anchors: anchors, raceSeed: raceSeed, runner: runner)
        var step = LloydStep(cells: n, dims: d, clusters: kc)
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
                              raceSeed: UInt64, runner: TaskRunner) throws -> [Float] {
        let kc = anchors.count
        var anchorRows = [Float](repeating: 0, count: kc * d)
        for (j, s) in anchors.enumerated() { for t in 0..<d { anchorRows[j * d + t] = zcos[s * d + t] } }
        let tasks = TaskRunner.taskCount(n)
        // Per (task, anchor): best key and its cell.
        var bestKey = [Double](repeating: .infinity, count: tasks * kc)
        var bestCell = [Int](repeating: -1, count: tasks * kc)
        race(zcos: zcos, cells: n, dims: d, anchorRows: anchorRows, raceSeed: raceSeed, only: nil,
             excluded: [], bestKey: &bestKey, bestCell: &bestCell, runner: runner)
        var chosen = Set<Int>()
        var picks: [Int] = []
        for j in 0..<kc {
            var pick = reduce(bestKey, bestCell, anchor: j, clusters: kc, tasks: tasks)
            if pick < 0 || chosen.contains(pick) {
                race(zcos: zcos, cells: n, dims: d, anchorRows: anchorRows, raceSeed: raceSeed, only: j,
                     excluded: chosen, bestKey: &bestKey, bestCell: &bestCell, runner: runner)
                pick = reduce(bestKey, bestCell, anchor: j, clusters: kc, tasks: tasks)
            }
            guard pick >= 0 else {
                throw HarmonyError.invalidInput("k-means start: fewer distinct cells than clusters (K = \(kc)); use fewer clusters")
            }
            chosen.insert(pick)
            picks.append(pick)
        }
        var rows = [Float](repeating: 0, count: kc * d)
        for (j, i) in picks.enumerated() { for t in 0..<d { rows[j * d + t] = zcos[i * d + t] } }
        return rows
    }

    /// The exponential race for every anchor (or only anchor `only`), skipping `excluded` cells.
    private static func race(zcos: UnsafePointer<Float>, cells n: Int, dims d: Int, anchorRows: [Float],
                             raceSeed: UInt64, only: Int?, excluded: Set<Int>, bestKey: inout [Double],
                             bestCell: inout [Int], runner: TaskRunner) {
        let kc = anchorRows.count / d
        let tasks = TaskRunner.taskCount(n)
        anchorRows.withUnsafeBufferPointer { aBuf in
            bestKey.withUnsafeMutableBufferPointer { keyBuf in
                bestCell.withUnsafeMutableBufferPointer { cellBuf in
                    let a = aBuf.baseAddress!, keys = keyBuf.baseAddress!, cellsOut = cellBuf.baseAddress!
                    runner.runRanges(n) { t, start, end in
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

    /// The smallest key over tasks for anchor j (ties: earliest task, i.e. lowest cell index).
    private static func reduce(_ keys: [Double], _ cells: [Int], anchor j: Int, clusters kc: Int, tasks: Int) -> Int {
        var best = Double.infinity, pick = -1
        for t in 0..<tasks where cells[t * kc + j] >= 0 && keys[t * kc + j] < best {
            best = keys[t * kc + j]
            pick = cells[t * kc + j]
        }
        return pick
    }
}
