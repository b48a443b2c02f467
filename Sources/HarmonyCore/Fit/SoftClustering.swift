#if canImport(Glibc)
import Glibc
#endif

// Soft k-means with the diversity penalty (Protocols/algorithm.md §2.2-§2.4).
//
// Memory layout (row-major): `zcos` (N x d Float, unit rows), `centroids` Y (K x d), `assignments` R (N x K).
// The distance part of the logits, -D / sigma_k = (2 zcos_i . y_k - 2) / sigma_k, is never stored: each task
// gathers its cells' zcos rows and computes their logits with one sgemm into a task-local buffer. Reading
// d floats per cell instead of a stored K-float row cuts the random memory traffic of the rounds (which are
// memory bound) and saves an N x K array.
// O and E are kept level-major (B x K, Double) so adding a cell's R row to its levels is a contiguous loop.
//
// Per cell the logits are L_k = logits_ik + sum_c P[b_c(i)][k] with the penalty table
//   Harmony2: P[b][k] = theta_b (ln(2E_kb + 1) - ln(O_kb + E_kb + 1))     (product over covariates)
//   Harmony1: P[b][k] = theta_b (ln E_kb - ln(O_kb + E_kb)),
// and R_i = softmax(L) in log space (row maximum subtracted, FastMath.exp).
// The objective is fused into the same pass: with lse_i = max + ln(sum exp), ln R_ik = L_k - lse_i, so
//   sum_ik R D = -sum_ik sigma_k R_ik logits_ik,  sum_ik sigma_k R ln R = sum_i (sum_k sigma_k R_ik L_k - lse_i sum_k sigma_k R_ik),
// accumulated per cell in Float over K and per task in Double; the diversity term comes from the O, E table.
//
// Removal without a second pass: the permutation of the NEXT round is drawn before R is written, and every
// pass that writes R rows also adds them into `pendingSums` by (next-round block, level) pair. A cell's row only
// changes when its own block is processed, so when a block is removed in the next round, its sums are exactly
// the pending sums. This saves one random read of every R row per round. Only pairs that occur have a row
// (BlockSchedule.indexPairs), and each task keeps a compact list of the pairs its cells touch, so no state
// grows with blocks x levels (with 10,000 levels that product was over 600 MB). The partial sums are Float per
// task (at most 2048 cells; the kernel adds each new row with SIMD) and Double across tasks (PassReduction).
// Rows are written only when someone will read them (`storeRows`): Harmony2 reads R only after the last round
// of a clustering step, so the cold start and the earlier rounds keep just the sums.
//
// Determinism: passes are cut into fixed tasks (of the block, in cell order; see cellsPerTask), run in waves
// (of bounded memory); each task writes its own partial sums, which are added in task order, so neither the
// thread count nor the wave size changes a result.

/// The soft-assignment state of a fit: unit rows, centroids, R, O, E, and the clustering rounds.
final class SoftClustering {
    let cells: Int
    let clusters: Int
    let design: FitDesign
    let runner: TaskRunner
    /// Harmony1 penalty and objective forms instead of Harmony2's.
    let harmony1: Bool
    /// sigma_k (K values, zero-padded to a multiple of 8).
    let sigma: [Float]
    /// theta per global level.
    let theta: [Double]
    /// Fraction of cells per block.
    let blockSize: Double

    /// Embedding dimensions d.
    let dims: Int
    /// Unit rows of the current embedding, N x d.
    var zcos: [Float]
    /// Centroids Y, K x d (unit rows).
    var centroids: [Float]
    /// 2 / sigma_k (K values).
    private let logitScale: [Float]
    /// Soft assignments R, N x K.
    var assignments: [Float]
    /// O, level-major B x K.
    var observed: [Double]
    /// E, level-major B x K.
    var expected: [Double]

    /// The random stream of the rounds (one permutation per round).
    private var rng: SeededGenerator
    /// Blocks of the coming round, and whether they are drawn but not yet used.
    private var next: BlockSchedule
    /// Blocks of the round being run (the buffers are swapped with `next`, never copied).
    private var current: BlockSchedule
    private var nextDrawn = false
    /// Sum of R rows per (block, level) pair of the coming round (`next.pairCount` x K).
    private var pendingSums: [Double] = []
    /// The same for the round being run (pairs of `current`).
    private var removalSums: [Double] = []
    /// Per-task partial sums of one wave: `taskRows` rows of Kp Floats per task, one per (next block, level)
    /// pair its cells touch (rows padded for the SIMD kernel; added in Double across tasks).
    private var partialPending: [Float]
    /// The pair of each of those rows, and the rows used per task.
    private var partialPairs: [Int32]
    private var partialCounts: [Int]
    private var partialObjective: [Double]
    /// Rows per task: at most `TaskRunner.cellsPerTask` cells x covariates.
    private let taskRows: Int
    /// Tasks per wave.
    private let waveTasks: Int
    /// Reduced level sums of the last pass (B x K) and its objective parts.
    private var passLevels: [Double]
    private var kmeansSum = 0.0
    private var entropySum = 0.0

    /// State for `zcos` (N x d unit rows) and `centroids` (K x d); R is set by `assignWithoutPenalty`.
    init(zcos: [Float], centroids: [Float], dims: Int, clusters: Int, design: FitDesign, sigma: [Double],
         theta: [Double], harmony1: Bool, blockSize: Double, rng: SeededGenerator, runner: TaskRunner) {
        let cells = design.cells
        self.cells = cells
        self.dims = dims
        self.zcos = zcos
        self.centroids = centroids
        logitScale = sigma.map { Float(2 / $0) }
        self.clusters = clusters
        self.design = design
        self.runner = runner
        self.harmony1 = harmony1
        let kp = SoftmaxKernel.padded(clusters)
        self.sigma = sigma.map { Float($0) } + [Float](repeating: 0, count: kp - clusters)
        self.theta = theta
        self.blockSize = blockSize
        self.rng = rng
        let nb = design.levelCount
        assignments = [Float](repeating: 0, count: cells * clusters)
        observed = [Double](repeating: 0, count: nb * clusters)
        expected = [Double](repeating: 0, count: nb * clusters)
        next = BlockSchedule(cells: cells)
        current = BlockSchedule(cells: cells)
        taskRows = TaskRunner.cellsPerTask * design.covariateCount
        // About 4M floats (16 MB) of partial sums at a time, but at least one task per thread. Tasks are added
        // to the totals one after the other in task order, so the wave size never changes a result.
        waveTasks = min(TaskRunner.taskCount(cells), max(runner.threads, 4_000_000 / (taskRows * kp)))
        partialPending = [Float](repeating: 0, count: waveTasks * taskRows * kp)
        partialPairs = [Int32](repeating: 0, count: waveTasks * taskRows)
        partialCounts = [Int](repeating: 0, count: waveTasks)
        partialObjective = [Double](repeating: 0, count: waveTasks * 2)
        passLevels = [Double](repeating: 0, count: nb * clusters)
    }

    // MARK: - Distances

    /// Harmony1: centroids = rows of R^T zcos scaled to unit length (K x d), summed in fixed tasks.
    func moveCentroidsToAssignments() {
        let kc = clusters, d = dims
        let tasks = TaskRunner.taskCount(cells)
        var partial = [Float](repeating: 0, count: tasks * kc * d)
        partial.withUnsafeMutableBufferPointer { pBuf in
            assignments.withUnsafeBufferPointer { rBuf in
              zcos.withUnsafeBufferPointer { zBuf in
                let p = pBuf.baseAddress!, r = rBuf.baseAddress!, zcos = zBuf.baseAddress!
                runner.runRanges(cells) { t, start, end in
                    BLAS.sgemm(transA: true, m: kc, n: d, k: end - start, a: r + start * kc, lda: kc,
                               b: zcos + start * d, ldb: d, c: p + t * kc * d, ldc: d)
                }
              }
            }
        }
        var sums = [Double](repeating: 0, count: kc * d)
        for t in 0..<tasks { for x in 0..<(kc * d) { sums[x] += Double(partial[t * kc * d + x]) } }
        var out = [Float](repeating: 0, count: kc * d)
        for k in 0..<kc {
            var norm = 0.0
            for j in 0..<d { norm += sums[k * d + j] * sums[k * d + j] }
            let scale = norm > 0 ? 1 / norm.squareRoot() : 0
            for j in 0..<d { out[k * d + j] = Float(sums[k * d + j] * scale) }
        }
        centroids = out
    }

    // MARK: - Assignment passes

    /// R = softmax(logits) for every cell (no penalty), O and E rebuilt; returns the objective.
    /// `storeRows: false` (the Harmony2 cold start, whose rows the next round overwrites before any use) only
    /// keeps the sums.
    @discardableResult
    func assignWithoutPenalty(storeRows: Bool = true) -> Double {
        drawNextIfNeeded()
        pendingSums = [Double](repeating: 0, count: next.pairCount * clusters)
        pass(order: nil, start: 0, end: cells, penalty: nil, storeRows: storeRows)
        let nb = design.levelCount, kc = clusters
        observed = passLevels
        let totals = clusterTotals(passLevels)
        for b in 0..<nb {
            for k in 0..<kc { expected[b * kc + k] = design.levelFractions[b] * totals[k] }
        }
        return objective()
    }

    /// One clustering round over the blocks drawn for it: per block, remove its rows from O and E, recompute
    /// them with the penalty, add them back. Returns the objective after the round.
    /// Within a round no R row is read (removals use the pending sums), so a round that cannot be the last one
    /// of a Harmony2 clustering step may pass `storeRows: false` and keep only the sums.
    func round(storeRows: Bool = true) -> Double {
        drawNextIfNeeded()
        swap(&current, &next)
        swap(&removalSums, &pendingSums)
        nextDrawn = false
        drawNextIfNeeded()
        pendingSums = [Double](repeating: 0, count: next.pairCount * clusters)
        var kmeansTotal = 0.0, entropyTotal = 0.0
        for j in 0..<current.blockCount {
            let pairs = current.pairStart[j]..<current.pairStart[j + 1]
            update(Array(removalSums[(pairs.lowerBound * clusters)..<(pairs.upperBound * clusters)]),
                   levels: current.pairLevel[pairs].map { Int($0) }, sign: -1)
            let table = penaltyTable()
            let start = current.bounds[j], end = current.bounds[j + 1]
            current.order.withUnsafeBufferPointer { order in
                pass(order: order.baseAddress!, start: start, end: end, penalty: table, storeRows: storeRows)
            }
            update(passLevels, levels: Array(0..<design.levelCount), sign: 1)
            kmeansTotal += kmeansSum
            entropyTotal += entropySum
        }
        kmeansSum = kmeansTotal
        entropySum = entropyTotal
        return objective()
    }

    /// Draws the next round's blocks unless they are drawn already.
    private func drawNextIfNeeded() {
        if nextDrawn { return }
        next.draw(rng: &rng, blockSize: blockSize)
        next.indexPairs(levels: design.cellLevels, covariates: design.covariateCount, levelCount: design.levelCount)
        nextDrawn = true
    }

    /// For K-rows `sums` (row r belongs to global level levels[r]): O[levels[r]] += sign * row r;
    /// E += sign * p_b * (their cluster totals) for every level b.
    private func update(_ sums: [Double], levels: [Int], sign: Double) {
        let nb = design.levelCount, kc = clusters
        var totals = [Double](repeating: 0, count: kc)
        let firstCovariate = design.levelOffsets[0]..<design.levelOffsets[1]
        for (r, b) in levels.enumerated() where firstCovariate.contains(b) {
            for k in 0..<kc { totals[k] += sums[r * kc + k] }
        }
        observed.withUnsafeMutableBufferPointer { o in
            expected.withUnsafeMutableBufferPointer { e in
                for (r, b) in levels.enumerated() {
                    for k in 0..<kc { o[b * kc + k] += sign * sums[r * kc + k] }
                }
                for b in 0..<nb {
                    let p = sign * design.levelFractions[b]
                    for k in 0..<kc { e[b * kc + k] += p * totals[k] }
                }
            }
        }
    }

    /// Sum over covariate 0's levels of level sums (B x K) = the per-cluster totals.
    private func clusterTotals(_ levels: [Double]) -> [Double] {
        let kc = clusters
        var totals = [Double](repeating: 0, count: kc)
        for b in design.levelOffsets[0]..<design.levelOffsets[1] {
            for k in 0..<kc { totals[k] += levels[b * kc + k] }
        }
        return totals
    }

    /// The per-level log penalty P (B x Kp Float, zero padding) for the current O, E; one task per level (2 B K
    /// logarithms per block add up with many levels).
    private func penaltyTable() -> [Float] {
        let nb = design.levelCount, kc = clusters, kp = SoftmaxKernel.padded(clusters)
        let harmony1 = self.harmony1
        var table = [Float](repeating: 0, count: nb * kp)
        table.withUnsafeMutableBufferPointer { tableBuf in
            observed.withUnsafeBufferPointer { oBuf in
                expected.withUnsafeBufferPointer { eBuf in
                    theta.withUnsafeBufferPointer { thetaBuf in
                        let out = tableBuf.baseAddress!, observed = oBuf.baseAddress!, expected = eBuf.baseAddress!
                        let theta = thetaBuf.baseAddress!
                        runner.run(nb) { b in
                            guard theta[b] != 0 else { return }
                            for k in 0..<kc {
                                let o = max(observed[b * kc + k], 0), e = max(expected[b * kc + k], 0)
                                let value = harmony1
                                    ? theta[b] * (log(max(e, 1e-300)) - log(max(o + e, 1e-300)))
                                    : theta[b] * (log(2 * e + 1) - log(o + e + 1))
                                out[b * kp + k] = Float(max(value, -1e4))
                            }
                        }
                    }
                }
            }
        }
        return table
    }

    /// The objective (2000 / N) (k-means + entropy + diversity) from the last pass sums and the current O, E.
    func objective() -> Double {
        let nb = design.levelCount, kc = clusters
        let observed = self.observed, expected = self.expected
        var diversity = 0.0
        for b in 0..<nb where theta[b] != 0 {
            for k in 0..<kc {
                let o = observed[b * kc + k], e = expected[b * kc + k]
                guard o > 0 else { continue }
                let ratio = harmony1 ? (o + e) / e : (o + e + 1) / (2 * e + 1)
                diversity += Double(sigma[k]) * theta[b] * o * log(ratio)
            }
        }
        return 2000 / Double(cells) * (-kmeansSum + entropySum + diversity)
    }

    /// Cells per task of a pass over `count` cells: at most `TaskRunner.cellsPerTask`, cut into an even number
    /// of equal tasks (10k cells: 6 of 1667, not 5 that keep one of 2 threads idle for a fifth of the block).
    /// Never depends on the thread count.
    static func cellsPerTask(_ count: Int) -> Int {
        var tasks = TaskRunner.taskCount(count)
        if tasks > 1 && tasks % 2 == 1 { tasks += 1 }
        return max(1, (count + tasks - 1) / tasks)
    }

    /// Recomputes R for the cells at positions start..<end of `order` (or cells start..<end when nil) with
    /// `penalty` (nil = none), storing the rows unless `storeRows` is false. Adds the new rows per
    /// (next block, level) pair into `pendingSums`, sets `passLevels` to their sums per level, and the objective
    /// parts `kmeansSum`, `entropySum`.
    private func pass(order: UnsafePointer<Int32>?, start: Int, end: Int, penalty: [Float]?, storeRows: Bool = true) {
        let kc = clusters, nc = design.covariateCount
        let kp = SoftmaxKernel.padded(kc)
        let count = end - start
        let perTask = SoftClustering.cellsPerTask(count)
        let tasks = TaskRunner.taskCount(count, perTask: perTask)
        let table = penalty ?? []
        let rows = taskRows, pairCount = next.pairCount
        passLevels.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        kmeansSum = 0
        entropySum = 0
        var waveStart = 0
        while waveStart < tasks {
            let waveCount = min(waveTasks, tasks - waveStart)
            partialPending.withUnsafeMutableBufferPointer { ppBuf in
              partialPairs.withUnsafeMutableBufferPointer { pairBuf in
                partialCounts.withUnsafeMutableBufferPointer { countBuf in
                partialObjective.withUnsafeMutableBufferPointer { poBuf in
                    zcos.withUnsafeBufferPointer { zBuf in
                        assignments.withUnsafeMutableBufferPointer { rBuf in
                            next.cellPairs.withUnsafeBufferPointer { nextBuf in
                                design.cellLevels.withUnsafeBufferPointer { levelBuf in
                                    table.withUnsafeBufferPointer { tableBuf in
                                        sigma.withUnsafeBufferPointer { sigmaBuf in
                                          centroids.withUnsafeBufferPointer { yBuf in
                                            let po = poBuf.baseAddress!, pp = ppBuf.baseAddress!
                                            let slotPairs = pairBuf.baseAddress!, slotCounts = countBuf.baseAddress!
                                            let zc = zBuf.baseAddress!, r = rBuf.baseAddress!
                                            let y = yBuf.baseAddress!, d = dims, scale = logitScale
                                            let cellPairs = nextBuf.baseAddress!, lv = levelBuf.baseAddress!
                                            let pt = penalty == nil ? nil : tableBuf.baseAddress
                                            let sg = sigmaBuf.baseAddress!
                                            runner.run(waveCount) { w in
                                                let from = start + (waveStart + w) * perTask
                                                let to = min(end, from + perTask)
                                                let sums = pp + w * rows * kp, pairsOfSlot = slotPairs + w * rows
                                                var used = 0
                                                let scratch = SoftmaxKernel.makeScratch(clusters: kc)
                                                let len = to - from
                                                let logits = UnsafeMutablePointer<Float>.allocate(capacity: len * kp)
                                                for x in 0..<len {
                                                    for k in kc..<kp { logits[x * kp + k] = SoftmaxKernel.padding }
                                                }
                                                let gathered = UnsafeMutablePointer<Float>.allocate(capacity: len * d)
                                                // Local slot of each pair this task touches (-1: none yet).
                                                let slotOf = UnsafeMutablePointer<Int32>.allocate(capacity: pairCount)
                                                slotOf.initialize(repeating: -1, count: pairCount)
                                                let cellSlots = UnsafeMutablePointer<Int32>.allocate(capacity: nc)
                                                defer {
                                                    scratch.deallocate(); logits.deallocate(); gathered.deallocate()
                                                    slotOf.deallocate(); cellSlots.deallocate()
                                                }
                                                // Logits of the task's cells: (zcos rows) Y^T by sgemm into rows
                                                // of Kp (padding untouched), then (2 / sigma_k) (dot - 1).
                                                var source = zc + from * d
                                                if let order {
                                                    for row in 0..<len {
                                                        let src = zc + Int(order[from + row]) * d, dst = gathered + row * d
                                                        for t in 0..<d { dst[t] = src[t] }
                                                    }
                                                    source = UnsafePointer(gathered)
                                                }
                                                BLAS.sgemm(transB: true, m: len, n: kc, k: d, a: source, lda: d, b: y,
                                                           ldb: d, c: logits, ldc: kp)
                                                for x in 0..<len {
                                                    let line = logits + x * kp
                                                    for k in 0..<kc { line[k] = scale[k] * (line[k] - 1) }
                                                }
                                                var kmeans = 0.0, entropy = 0.0
                                                for pos in from..<to {
                                                    let i = order.map { Int($0[pos]) } ?? pos
                                                    for c in 0..<nc {
                                                        let pair = Int(cellPairs[i * nc + c])
                                                        if slotOf[pair] < 0 {
                                                            slotOf[pair] = Int32(used)
                                                            pairsOfSlot[used] = Int32(pair)
                                                            (sums + used * kp).update(repeating: 0, count: kp)
                                                            used += 1
                                                        }
                                                        cellSlots[c] = slotOf[pair]
                                                    }
                                                    let parts = SoftmaxKernel.assign(
                                                        logits: logits + (pos - from) * kp, levels: lv + i * nc,
                                                        slots: cellSlots, covariates: nc, penalty: pt, sigma: sg,
                                                        clusters: kc, row: storeRows ? r + i * kc : nil, sums: sums,
                                                        scratch: scratch)
                                                    kmeans += parts.kmeans
                                                    entropy += parts.entropy
                                                }
                                                slotCounts[w] = used
                                                po[2 * w] = kmeans
                                                po[2 * w + 1] = entropy
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
              }
            }
            partialPending.withUnsafeBufferPointer { src in
              partialPairs.withUnsafeBufferPointer { pairs in
                partialCounts.withUnsafeBufferPointer { counts in
                  next.pairLevel.withUnsafeBufferPointer { pairLevel in
                    pendingSums.withUnsafeMutableBufferPointer { pending in
                      passLevels.withUnsafeMutableBufferPointer { levels in
                        PassReduction.addTasks(src.baseAddress!, pairs: pairs.baseAddress!, counts: counts.baseAddress!,
                                               tasks: waveCount, taskRows: rows, pairLevel: pairLevel.baseAddress!,
                                               clusters: kc, padded: kp, pending: pending.baseAddress!,
                                               levelTotals: levels.baseAddress!, runner: runner)
                      }
                    }
                  }
                }
              }
            }
            for w in 0..<waveCount {
                kmeansSum += partialObjective[2 * w]
                entropySum += partialObjective[2 * w + 1]
            }
            waveStart += waveCount
        }
    }
}
