import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

// Soft k-means with the diversity penalty (Protocols/algorithm.md §2.2-§2.4).
//
// Memory layout (row-major): `embedding` Z (N x d Float, the current embedding), `centroids` Y (K x d),
// `assignments` R (N x K). The unit rows zcos_i = Z_i / |Z_i| are never stored (an N x d array less): a task
// that needs them gathers its cells' rows and normalises them (RowNormalization.normalizeRow).
// The distance part of the logits, -D / sigma_k = (2 zcos_i . y_k - 2) / sigma_k, is never stored: each task
// gathers its cells' zcos rows and computes their logits into a task-local buffer, the dot products by
// NearestMeanKernel (register tiles, no zeroing and packing of blocks as sgemm does at inner dimension d). Reading
// d floats per cell instead of a stored K-float row cuts the random memory traffic of the rounds (which are
// memory bound) and saves an N x K array.
// O and E are kept level-major (B x K, Double) so adding a cell's R row to its levels is a contiguous loop.
//
// Per cell the logits are L_k = logits_ik + sum_c q[b_c(i)][k] with the log penalty table
//   Harmony2: P[b][k] = theta_b (ln(2E_kb + 1) - ln(O_kb + E_kb + 1))     (product over covariates)
//   Harmony1: P[b][k] = theta_b (ln E_kb - ln(O_kb + E_kb)),
// shifted per level, q[b][k] = P[b][k] - max_k P[b][k] (a constant per row of L, so R does not change), and
// R_i = softmax(L).
// The objective is fused into the same pass: each cell returns T_i = sum_k R_ik D_ik + sum_k sigma_k R_ik ln R_ik
// (SoftmaxKernel), accumulated per task in Double; the diversity term comes from the O, E table.
//
// Cached exponentials (Harmony2). The centroids do not move during a clustering step's rounds, so the logits
// are the same in every round; only the penalty changes. The unpenalised pass that opens a step (the cold start,
// or the initial assignment) therefore leaves e_ik = exp(logits_ik - m_i) in R's own N x K buffer and m_i in
// `rowShift`; a round then needs no sgemm and no exp per element: R_ik = e_ik prod_c f[b_c(i)][k] / S_i with
// f = exp(q), computed once per block for the levels the block holds (SoftmaxKernel.assignCached). The
// buffer holds exponentials until a round writes R rows over them. Harmony1 moves its centroids before every
// round and always uses the log-space kernel; so does any round after the exponentials are gone.
// The last round of a step writes R. Whether a round after the fifth is the last is known only after it
// (inner convergence), so such a round runs without writing rows and, if it was the last, `storeLastRoundRows`
// runs it again from the O and E it started from: same blocks, same tables, so the same rows, sums and
// objective as a round that had written them.
//
// Removal without a second pass: the permutation of the NEXT round is drawn before R is written, and every
// pass that writes R rows also adds them into `pendingSums` by (next-round block, level) pair. A cell's row only
// changes when its own block is processed, so when a block is removed in the next round, its sums are exactly
// the pending sums. This saves one random read of every R row per round. Only pairs that occur have a row
// (BlockSchedule.indexPairs), and each task keeps a compact list of the pairs its cells touch, so no state
// grows with blocks x levels (with 10,000 levels that product was over 600 MB). The partial sums are Float per
// task (at most 2048 cells, 8192 when the pairs are many: see cellsPerTask; the kernel adds each new row with SIMD)
// and Double across tasks (PassReduction).
// Rows are written only when someone will read them (`storeRows`): Harmony2 reads R only after the last round
// of a clustering step, so the cold start and the earlier rounds keep just the sums.
//
// Determinism: passes are cut into fixed tasks (of the block, in cell order; see cellsPerTask), run in waves
// (of bounded memory); each task writes its own partial sums, which are added in task order, so neither the
// thread count nor the wave size changes a result.
//
// Distributed (CellShard): this process holds the embedding, R and row shifts of its shard's cells only; passes
// address them by global cell index through base pointers moved back by the shard's first cell, so the kernels
// are unchanged. Each pass's level sums and objective part are added across ranks in rank order, and a block's
// removal is summed per level across ranks before it updates O and E; every rank then holds the same O and E.

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
    /// The current embedding Z (N x d; the correction writes it in place).
    var embedding: [Float] { didSet { cached = false } }
    /// Centroids Y, K x d (unit rows).
    var centroids: [Float] { didSet { cached = false } }
    /// 2 / sigma_k (K values).
    private let logitScale: [Float]
    /// Soft assignments R, N x K; between an unpenalised pass that caches exponentials and the round that
    /// writes R, the cached e_ik instead (see the file header).
    var assignments: [Float]
    /// m_i, the row maximum of the logits that `assignments` holds exponentials of (N values).
    private var rowShift: [Float]
    /// Whether `assignments` holds the exponentials of the current centroids' logits.
    private var cached = false
    /// O and E before the last round, when that round wrote no rows (for `storeLastRoundRows`).
    private var roundStart: (observed: [Double], expected: [Double])?
    /// Per-level log penalties q and factors f = exp(q) of the block being updated (B x Kp Float, zero padding;
    /// only the block's levels are current).
    private var logPenalty: [Float]
    private var penaltyFactor: [Float]
    /// O, level-major B x K.
    var observed: [Double]
    /// E, level-major B x K.
    var expected: [Double]

    /// The cells whose rows this process holds.
    let shard: CellShard
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
    /// Per-task partial sums of one wave: cells per task x covariates rows of Kp Floats per task, one per (next
    /// block, level) pair its cells touch (rows padded for the SIMD kernel; added in Double across tasks).
    private var partialPending: [Float]
    /// The pair of each of those rows, and the rows used per task.
    private var partialPairs: [Int32]
    private var partialCounts: [Int]
    private var partialObjective: [Double]
    /// Rows of `partialPending`: room for at least one task per thread.
    private let partialRows: Int
    /// Reduced level sums of the last pass (B x K) and its objective parts.
    private var passLevels: [Double]
    /// sum_i T_i of the last pass or round: sum R D + sum sigma R ln R (SoftmaxKernel).
    private var assignmentSum = 0.0

    /// State for `embedding` (N x d) and `centroids` (K x d unit rows); R is set by `assignWithoutPenalty`.
    init(embedding: [Float], centroids: [Float], dims: Int, clusters: Int, design: FitDesign, sigma: [Double],
         theta: [Double], harmony1: Bool, blockSize: Double, rng: SeededGenerator, runner: TaskRunner,
         shard: CellShard? = nil) {
        let cells = design.cells
        self.cells = cells
        let shard = shard ?? .whole(cells)
        self.shard = shard
        self.dims = dims
        // The correction writes the embedding in place: a copy of the input made here, in huge pages.
        self.embedding = HugePages.copied(embedding, runner: runner)
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
        // Read at scattered rows in every round (HugePages).
        assignments = HugePages.zeroed(count: shard.count * clusters, runner: runner)
        rowShift = HugePages.zeroed(count: shard.count, runner: runner)
        logPenalty = [Float](repeating: 0, count: nb * kp)
        penaltyFactor = [Float](repeating: 0, count: nb * kp)
        observed = [Double](repeating: 0, count: nb * clusters)
        expected = [Double](repeating: 0, count: nb * clusters)
        next = BlockSchedule(cells: cells, shard: shard)
        current = BlockSchedule(cells: cells, shard: shard)
        // About 4M floats (16 MB) of partial sums at a time, but at least one task per thread. Tasks are added
        // to the totals one after the other in task order, so the wave size never changes a result.
        let largestTask = min(shard.count, SoftClustering.largestTask) * design.covariateCount
        partialRows = max(runner.threads * largestTask, 4_000_000 / kp)
        partialPending = [Float](repeating: 0, count: partialRows * kp)
        partialPairs = [Int32](repeating: 0, count: partialRows)
        partialCounts = [Int](repeating: 0, count: TaskRunner.taskCount(shard.count) + 1)
        partialObjective = [Double](repeating: 0, count: TaskRunner.taskCount(shard.count) + 1)
        passLevels = [Double](repeating: 0, count: nb * clusters)
    }

    // MARK: - Distances

    /// Harmony1: centroids = rows of R^T zcos scaled to unit length (K x d), summed in fixed tasks.
    func moveCentroidsToAssignments() {
        let kc = clusters, d = dims
        let tasks = TaskRunner.taskCount(shard.count)
        var partial = [Float](repeating: 0, count: tasks * kc * d)
        partial.withUnsafeMutableBufferPointer { pBuf in
            assignments.withUnsafeBufferPointer { rBuf in
              embedding.withUnsafeBufferPointer { zBuf in
                let p = pBuf.baseAddress!, r = rBuf.baseAddress!, z = zBuf.baseAddress!
                runner.runRanges(shard.count) { t, start, end in
                    let unit = UnsafeMutablePointer<Float>.allocate(capacity: (end - start) * d)
                    defer { unit.deallocate() }
                    for i in start..<end { RowNormalization.normalizeRow(z + i * d, into: unit + (i - start) * d, cols: d) }
                    BLAS.sgemm(transA: true, m: kc, n: d, k: end - start, a: r + start * kc, lda: kc,
                               b: unit, ldb: d, c: p + t * kc * d, ldc: d)
                }
              }
            }
        }
        var sums = [Double](repeating: 0, count: kc * d)
        for t in 0..<tasks { for x in 0..<(kc * d) { sums[x] += Double(partial[t * kc * d + x]) } }
        shard.sum(&sums)
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
    /// `storeRows: false` (the Harmony2 cold start, whose rows the next round overwrites before any use) does
    /// not write R: Harmony2 caches the exponentials for the coming rounds instead, Harmony1 keeps only the sums.
    @discardableResult
    func assignWithoutPenalty(storeRows: Bool = true) -> Double {
        drawNextIfNeeded()
        pendingSums = [Double](repeating: 0, count: next.pairCount * clusters)
        let kind: PassKind = storeRows || harmony1 ? .logSpace(penalty: false) : .fill
        pass(order: nil, start: shard.first, end: shard.first + shard.count, kind: kind, storeRows: storeRows)
        cached = kind == .fill
        roundStart = nil
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
    /// Within a round no R row is read (removals use the pending sums), so a round that may not be the last one
    /// of a Harmony2 clustering step passes `storeRows: false`: it keeps only the sums (and the cached
    /// exponentials); `storeLastRoundRows` writes its rows if it turns out to be the last.
    func round(storeRows: Bool = true) -> Double {
        drawNextIfNeeded()
        swap(&current, &next)
        swap(&removalSums, &pendingSums)
        nextDrawn = false
        drawNextIfNeeded()
        roundStart = storeRows ? nil : (observed, expected)
        return runCurrentRound(storeRows: storeRows)
    }

    /// Writes the R rows of the last round, which ran with `storeRows: false`, by running it again from the O and
    /// E it started from (bit-identical rows, sums and objective); returns the objective.
    @discardableResult
    func storeLastRoundRows() -> Double {
        guard let start = roundStart else { preconditionFailure("storeLastRoundRows after a round that stored its rows") }
        observed = start.observed
        expected = start.expected
        roundStart = nil
        return runCurrentRound(storeRows: true)
    }

    /// The block updates of the round `current` (removal sums in `removalSums`).
    private func runCurrentRound(storeRows: Bool) -> Double {
        pendingSums = [Double](repeating: 0, count: next.pairCount * clusters)
        let kind: PassKind = cached ? .cached : .logSpace(penalty: true)
        var total = 0.0
        for j in 0..<current.blockCount {
            let pairs = current.pairStart[j]..<current.pairStart[j + 1]
            removeBlock(Array(removalSums[(pairs.lowerBound * clusters)..<(pairs.upperBound * clusters)]),
                        levels: current.pairLevel[pairs].map { Int($0) })
            updatePenalty(levels: Array(current.pairLevel[pairs]), factors: kind == .cached)
            let start = current.bounds[j], end = current.bounds[j + 1]
            current.order.withUnsafeBufferPointer { order in
                pass(order: order.baseAddress!, start: start, end: end, kind: kind, storeRows: storeRows)
            }
            update(passLevels, levels: Array(0..<design.levelCount), sign: 1)
            total += assignmentSum
        }
        assignmentSum = total
        // Written R rows replace the exponentials.
        if storeRows { cached = false }
        return objective()
    }

    /// Frees the per-(block, level) sums of the rounds and the O, E kept for `storeLastRoundRows` (with many
    /// levels they are the clustering's largest state); the next `assignWithoutPenalty` rebuilds the sums.
    func releaseRoundSums() {
        pendingSums = []
        removalSums = []
        roundStart = nil
    }

    /// Draws the next round's blocks unless they are drawn already.
    private func drawNextIfNeeded() {
        if nextDrawn { return }
        next.draw(rng: &rng, blockSize: blockSize, runner: runner)
        next.indexPairs(levels: design.cellLevels, covariates: design.covariateCount, levelCount: design.levelCount)
        nextDrawn = true
    }

    /// Takes a block's rows out of O and E: `sums` (row r summed over the block's cells of level levels[r]) as
    /// they are for a single process; distributed, this rank's rows per level summed with the other ranks'.
    private func removeBlock(_ sums: [Double], levels: [Int]) {
        guard shard.isDistributed else { return update(sums, levels: levels, sign: -1) }
        let kc = clusters
        var perLevel = [Double](repeating: 0, count: design.levelCount * kc)
        for (r, b) in levels.enumerated() {
            for k in 0..<kc { perLevel[b * kc + k] = sums[r * kc + k] }
        }
        shard.sum(&perLevel)
        update(perLevel, levels: Array(0..<design.levelCount), sign: -1)
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

    /// The rows of `levels` in the log penalty table q (`logPenalty`) for the current O, E, and with `factors`
    /// their exponentials f (`penaltyFactor`); one task per level (2 K logarithms per level and block add up with
    /// many levels). Rows are shifted to a maximum of 0 (f to 1), so f never overflows.
    private func updatePenalty(levels: [Int32], factors: Bool) {
        let kc = clusters, kp = SoftmaxKernel.padded(clusters)
        let harmony1 = self.harmony1
        logPenalty.withUnsafeMutableBufferPointer { logBuf in
          penaltyFactor.withUnsafeMutableBufferPointer { factorBuf in
            observed.withUnsafeBufferPointer { oBuf in
                expected.withUnsafeBufferPointer { eBuf in
                    theta.withUnsafeBufferPointer { thetaBuf in
                        let logOut = logBuf.baseAddress!, factorOut = factorBuf.baseAddress!
                        let observed = oBuf.baseAddress!, expected = eBuf.baseAddress!, theta = thetaBuf.baseAddress!
                        runner.run(levels.count) { x in
                            let b = Int(levels[x])
                            let q = logOut + b * kp, f = factorOut + b * kp
                            withUnsafeTemporaryAllocation(of: Double.self, capacity: kc) { values in
                                var top = -Double.infinity
                                for k in 0..<kc {
                                    let o = max(observed[b * kc + k], 0), e = max(expected[b * kc + k], 0)
                                    let value = theta[b] == 0 ? 0 : harmony1
                                        ? theta[b] * (log(max(e, 1e-300)) - log(max(o + e, 1e-300)))
                                        : theta[b] * (log(2 * e + 1) - log(o + e + 1))
                                    values[k] = max(value, -1e4)
                                    top = max(top, values[k])
                                }
                                for k in 0..<kc {
                                    q[k] = Float(values[k] - top)
                                    if factors { f[k] = Float(exp(values[k] - top)) }
                                }
                            }
                            for k in kc..<kp { q[k] = 0; f[k] = 0 }
                        }
                    }
                }
            }
          }
        }
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
        return 2000 / Double(cells) * (assignmentSum + diversity)
    }

    /// Cells per task of a pass over `count` cells whose rows go to `pairs` (next block, level) pairs: at most
    /// `TaskRunner.cellsPerTask`, or up to four times that with many pairs, cut into an even number of equal tasks
    /// (10k cells: 6 of 1667, not 5 that keep one of 2 threads idle for a fifth of the block). A task keeps one
    /// row of partial sums per pair its cells touch, and those rows are added across tasks: with 64 levels and
    /// 20 blocks (1,280 pairs) a 2048-cell task touched about 1,000 of them, and adding them cost as much as the
    /// pass itself. Never depends on the thread count.
    static func cellsPerTask(_ count: Int, pairs: Int) -> Int {
        let most = min(largestTask, TaskRunner.cellsPerTask * max(1, pairs / 256))
        var tasks = TaskRunner.taskCount(count, perTask: most)
        if tasks > 1 && tasks % 2 == 1 { tasks += 1 }
        return max(1, (count + tasks - 1) / tasks)
    }

    /// The most cells of a pass's task.
    static let largestTask = 4 * TaskRunner.cellsPerTask

    /// What a pass computes per cell (see the file header).
    private enum PassKind: Equatable {
        /// Fresh logits, softmax in log space, with or without the penalty table.
        case logSpace(penalty: Bool)
        /// Fresh logits, unpenalised softmax; the exponentials go to the cache (never R rows).
        case fill
        /// The penalised update from the cached exponentials (no logits).
        case cached
    }

    /// Recomputes R for the cells at positions start..<end of `order` (or cells start..<end when nil) as `kind`
    /// says, storing the rows unless `storeRows` is false. Adds the new rows per (next block, level) pair into
    /// `pendingSums`, sets `passLevels` to their sums per level, and `assignmentSum` to sum_i T_i.
    private func pass(order: UnsafePointer<Int32>?, start: Int, end: Int, kind: PassKind, storeRows: Bool) {
        let count = end - start
        let perTask = SoftClustering.cellsPerTask(count, pairs: next.pairCount)
        let taskRows = perTask * design.covariateCount
        let plan = PassPlan(order: order, start: start, end: end, perTask: perTask, kind: kind, storeRows: storeRows,
                            clusters: clusters, covariates: design.covariateCount, dims: dims, taskRows: taskRows,
                            pairCount: next.pairCount, scale: logitScale,
                            means: NearestMeanKernel(means: centroids, dims: dims, clusters: clusters))
        let tasks = TaskRunner.taskCount(count, perTask: perTask)
        passLevels.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        assignmentSum = 0
        let waveTasks = partialRows / taskRows
        var waveStart = 0
        while waveStart < tasks {
            let waveCount = min(waveTasks, tasks - waveStart)
            withPassBuffers { buffers in
                runner.run(waveCount) { w in plan.run(task: waveStart + w, slot: w, buffers) }
            }
            addWave(waveCount, taskRows: taskRows)
            waveStart += waveCount
        }
        if shard.isDistributed {
            // The level sums and the objective part of every rank's cells, added in rank order.
            var totals = passLevels + [assignmentSum]
            shard.sum(&totals)
            assignmentSum = totals.removeLast()
            passLevels = totals
        }
    }

    /// Adds the partial sums of a wave's `count` tasks (`taskRows` rows apart), in task order, into `pendingSums`,
    /// `passLevels` and `assignmentSum`.
    private func addWave(_ count: Int, taskRows rows: Int) {
        let kc = clusters, kp = SoftmaxKernel.padded(kc)
        partialPending.withUnsafeBufferPointer { src in
          partialPairs.withUnsafeBufferPointer { pairs in
            partialCounts.withUnsafeBufferPointer { counts in
              next.pairLevel.withUnsafeBufferPointer { pairLevel in
                pendingSums.withUnsafeMutableBufferPointer { pending in
                  passLevels.withUnsafeMutableBufferPointer { levels in
                    PassReduction.addTasks(src.baseAddress!, pairs: pairs.baseAddress!, counts: counts.baseAddress!,
                                           tasks: count, taskRows: rows, pairLevel: pairLevel.baseAddress!,
                                           clusters: kc, padded: kp, pending: pending.baseAddress!,
                                           levelTotals: levels.baseAddress!, runner: runner)
                  }
                }
              }
            }
          }
        }
        for w in 0..<count { assignmentSum += partialObjective[w] }
    }

    /// The state a pass reads and writes, as raw pointers for its tasks. Per-cell arrays are addressed by global
    /// cell index: only the shard's rows are held, so their pointers are moved back by the shard's first cell.
    /// Valid only inside `withPassBuffers`.
    private struct PassBuffers {
        /// Z (N x d).
        let cells: UnsafePointer<Float>
        /// R or the cached exponentials (N x K).
        let rows: UnsafeMutablePointer<Float>
        /// m_i (N).
        let shifts: UnsafeMutablePointer<Float>
        /// Each cell's (next block, level) pair per covariate (N x covariates).
        let cellPairs: UnsafePointer<Int32>
        /// Each cell's global level per covariate (N x covariates; the design covers every cell).
        let levels: UnsafePointer<Int32>
        /// q and f = exp(q) per level (B x Kp).
        let logPenalty: UnsafePointer<Float>
        let factors: UnsafePointer<Float>
        /// sigma_k (Kp).
        let sigma: UnsafePointer<Float>
        /// A wave's per-task outputs: partial sums (taskRows x Kp a task), their pairs, rows used, objective part.
        let partialSums: UnsafeMutablePointer<Float>
        let partialPairs: UnsafeMutablePointer<Int32>
        let partialCounts: UnsafeMutablePointer<Int>
        let partialObjective: UnsafeMutablePointer<Double>
    }

    /// Calls `body` with pointers to the pass's state.
    private func withPassBuffers(_ body: (PassBuffers) -> Void) {
        let first = shard.first, d = dims, kc = clusters, nc = design.covariateCount
        partialPending.withUnsafeMutableBufferPointer { ppBuf in
          partialPairs.withUnsafeMutableBufferPointer { pairBuf in
            partialCounts.withUnsafeMutableBufferPointer { countBuf in
              partialObjective.withUnsafeMutableBufferPointer { poBuf in
                embedding.withUnsafeBufferPointer { zBuf in
                  assignments.withUnsafeMutableBufferPointer { rBuf in
                    rowShift.withUnsafeMutableBufferPointer { shiftBuf in
                      next.cellPairs.withUnsafeBufferPointer { nextBuf in
                        design.cellLevels.withUnsafeBufferPointer { levelBuf in
                          logPenalty.withUnsafeBufferPointer { logBuf in
                            penaltyFactor.withUnsafeBufferPointer { factorBuf in
                              sigma.withUnsafeBufferPointer { sigmaBuf in
                                    body(PassBuffers(cells: zBuf.baseAddress! - first * d,
                                                     rows: rBuf.baseAddress! - first * kc,
                                                     shifts: shiftBuf.baseAddress! - first,
                                                     cellPairs: nextBuf.baseAddress! - first * nc,
                                                     levels: levelBuf.baseAddress!, logPenalty: logBuf.baseAddress!,
                                                     factors: factorBuf.baseAddress!, sigma: sigmaBuf.baseAddress!,
                                                     partialSums: ppBuf.baseAddress!,
                                                     partialPairs: pairBuf.baseAddress!,
                                                     partialCounts: countBuf.baseAddress!,
                                                     partialObjective: poBuf.baseAddress!))
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
    }

    /// What every task of one pass shares: the cells it covers, how they are cut into tasks, and what it computes.
    private struct PassPlan {
        let order: UnsafePointer<Int32>?
        let start: Int, end: Int, perTask: Int
        let kind: PassKind
        let storeRows: Bool
        let clusters: Int, covariates: Int, dims: Int
        let taskRows: Int
        /// (next block, level) pairs of the coming round.
        let pairCount: Int
        /// 2 / sigma_k.
        let scale: [Float]
        /// The centroids, laid out for the dot products of the logits.
        let means: NearestMeanKernel

        /// Runs task `task` of the pass, writing its partial sums, pairs, row count and objective part into
        /// wave slot `w`.
        func run(task: Int, slot w: Int, _ b: PassBuffers) {
            let kc = clusters, nc = covariates, kp = SoftmaxKernel.padded(kc)
            let from = start + task * perTask
            let to = min(end, from + perTask)
            let scratch = TaskScratch(plan: self, cells: to - from)
            defer { scratch.deallocate() }
            var slots = TaskSlots(sums: b.partialSums + w * taskRows * kp, pairs: b.partialPairs + w * taskRows,
                                  slotOf: scratch.slotOf, cellSlots: scratch.cellSlots, padded: kp)
            if kind != .cached {
                SoftClustering.logits(cells: b.cells, order: order, from: from, to: to, dims: dims, means: means,
                                      scale: scale, into: scratch.logits)
            }
            var total = 0.0
            // A cached pass stages its cells' exponentials, levels and pairs in sub-blocks (the rows of a block
            // are scattered over R), and while it computes one sub-block it prefetches the rows of the next, so
            // memory and arithmetic overlap.
            var stagedFrom = from, stagedTo = from
            for pos in from..<to {
                let i = order.map { Int($0[pos]) } ?? pos
                if kind == .cached && pos == stagedTo {
                    stagedFrom = pos
                    stagedTo = min(to, pos + SoftClustering.stagedCells)
                    SoftClustering.stage(cells: order, from: stagedFrom, to: stagedTo, rows: b.rows, clusters: kc,
                                         pairs: b.cellPairs, levels: b.levels, covariates: nc, into: scratch.staged)
                }
                let stagedCell = pos - stagedFrom
                if kind == .cached && stagedTo + stagedCell < to {
                    let ahead = stagedTo + stagedCell
                    SoftClustering.prefetch(cell: order.map { Int($0[ahead]) } ?? ahead, rows: b.rows, clusters: kc,
                                            pairs: b.cellPairs, levels: b.levels, covariates: nc)
                }
                for c in 0..<nc {
                    slots.take(pair: kind == .cached ? Int(scratch.staged.pairs[stagedCell * nc + c])
                                                     : Int(b.cellPairs[i * nc + c]), covariate: c)
                }
                total += assign(cell: i, position: pos, logitRow: pos - from, stagedCell: stagedCell, slots: slots,
                                scratch: scratch, b)
            }
            b.partialCounts[w] = slots.used
            b.partialObjective[w] = total
        }

        /// Cell i's new row (written when `storeRows`) added into its slots' sums; returns its objective term T_i.
        @inline(__always)
        private func assign(cell i: Int, position pos: Int, logitRow: Int, stagedCell: Int, slots: TaskSlots,
                            scratch: TaskScratch, _ b: PassBuffers) -> Double {
            let kc = clusters, nc = covariates, kp = SoftmaxKernel.padded(kc)
            let row = b.rows + i * kc, levels = b.levels + i * nc
            switch kind {
            case .fill:
                let parts = SoftmaxKernel.fill(logits: scratch.logits + logitRow * kp, slots: slots.cellSlots,
                                               covariates: nc, sigma: b.sigma, clusters: kc, cache: row,
                                               sums: slots.sums, scratch: scratch.kernel)
                b.shifts[i] = parts.shift
                return parts.term
            case .cached:
                if let term = SoftmaxKernel.assignCached(
                    exponentials: scratch.staged.rows + stagedCell * kp, shift: b.shifts[i],
                    levels: scratch.staged.levels + stagedCell * nc, slots: slots.cellSlots, covariates: nc,
                    factors: b.factors, logFactors: b.logPenalty, sigma: b.sigma, clusters: kc,
                    row: storeRows ? row : nil, sums: slots.sums, scratch: scratch.kernel) {
                    return term
                }
                // Row sum too small for Float products: this cell in log space from its recomputed logits.
                SoftClustering.logits(cells: b.cells, order: order, from: pos, to: pos + 1, dims: dims, means: means,
                                      scale: scale, into: scratch.logits)
                return SoftmaxKernel.assign(logits: scratch.logits, levels: levels, slots: slots.cellSlots,
                                            covariates: nc, penalty: b.logPenalty, sigma: b.sigma, clusters: kc,
                                            row: storeRows ? row : nil, sums: slots.sums, scratch: scratch.kernel)
            case .logSpace(let penalty):
                return SoftmaxKernel.assign(logits: scratch.logits + logitRow * kp, levels: levels,
                                            slots: slots.cellSlots, covariates: nc,
                                            penalty: penalty ? b.logPenalty : nil, sigma: b.sigma, clusters: kc,
                                            row: storeRows ? row : nil, sums: slots.sums, scratch: scratch.kernel)
            }
        }
    }

    /// A task's compact list of the (next block, level) pairs its cells touch: each gets a local slot, a row of
    /// Kp partial sums, the first time a cell of the task has it.
    private struct TaskSlots {
        /// The task's partial-sum rows (Kp apart) and the pair of each used slot.
        let sums: UnsafeMutablePointer<Float>
        let pairs: UnsafeMutablePointer<Int32>
        /// Local slot of each pair (-1: none yet), and the current cell's slot per covariate.
        let slotOf: UnsafeMutablePointer<Int32>
        let cellSlots: UnsafeMutablePointer<Int32>
        let padded: Int
        /// Slots used so far.
        var used = 0

        /// Makes `pair` the current cell's slot for covariate `c`, opening a zeroed row for a pair not seen yet.
        @inline(__always)
        mutating func take(pair: Int, covariate c: Int) {
            if slotOf[pair] < 0 {
                slotOf[pair] = Int32(used)
                pairs[used] = Int32(pair)
                (sums + used * padded).update(repeating: 0, count: padded)
                used += 1
            }
            cellSlots[c] = slotOf[pair]
        }
    }

    /// A task's scratch memory, allocated per task (tasks of one wave run at once).
    private struct TaskScratch {
        /// Logits rows (Kp apart, padded): one per cell, or one in a cached pass (for the cells recomputed in log
        /// space).
        let logits: UnsafeMutablePointer<Float>
        let slotOf: UnsafeMutablePointer<Int32>
        let cellSlots: UnsafeMutablePointer<Int32>
        /// A cached pass's staged sub-block (empty otherwise).
        let staged: StagedCells
        /// The softmax kernel's scratch.
        let kernel: UnsafeMutablePointer<Float>

        init(plan: PassPlan, cells len: Int) {
            let kc = plan.clusters, kp = SoftmaxKernel.padded(kc)
            kernel = SoftmaxKernel.makeScratch(clusters: kc)
            let logitRows = plan.kind == .cached ? 1 : len
            logits = UnsafeMutablePointer<Float>.allocate(capacity: logitRows * kp)
            slotOf = UnsafeMutablePointer<Int32>.allocate(capacity: plan.pairCount)
            slotOf.initialize(repeating: -1, count: plan.pairCount)
            cellSlots = UnsafeMutablePointer<Int32>.allocate(capacity: plan.covariates)
            staged = StagedCells(cells: plan.kind == .cached ? SoftClustering.stagedCells : 0, clusters: kc,
                                 covariates: plan.covariates)
        }

        func deallocate() {
            kernel.deallocate(); logits.deallocate()
            slotOf.deallocate(); cellSlots.deallocate(); staged.deallocate()
        }
    }

    /// Cells per staged sub-block of a cached pass: 256 rows of Kp floats (104 KB at K = 100) stay in L2.
    static let stagedCells = 256

    /// A task's staging area: exponential rows (Kp apart, zero padding), and each cell's levels and pairs.
    struct StagedCells {
        let rows: UnsafeMutablePointer<Float>
        let levels: UnsafeMutablePointer<Int32>
        let pairs: UnsafeMutablePointer<Int32>

        init(cells: Int, clusters kc: Int, covariates nc: Int) {
            let kp = SoftmaxKernel.padded(kc)
            rows = UnsafeMutablePointer<Float>.allocate(capacity: cells * kp)
            rows.initialize(repeating: 0, count: cells * kp)
            levels = UnsafeMutablePointer<Int32>.allocate(capacity: cells * nc)
            pairs = UnsafeMutablePointer<Int32>.allocate(capacity: cells * nc)
        }

        func deallocate() {
            rows.deallocate(); levels.deallocate(); pairs.deallocate()
        }
    }

    /// Copies the exponential rows (K values into rows of Kp), levels and pairs of the cells at positions
    /// from..<to of `order` (or cells from..<to) into `staged`.
    private static func stage(cells order: UnsafePointer<Int32>?, from: Int, to: Int, rows r: UnsafePointer<Float>,
                              clusters kc: Int, pairs: UnsafePointer<Int32>, levels: UnsafePointer<Int32>,
                              covariates nc: Int, into staged: StagedCells) {
        let kp = SoftmaxKernel.padded(kc)
        for pos in from..<to {
            let i = order.map { Int($0[pos]) } ?? pos, x = pos - from
            let src = r + i * kc, dst = staged.rows + x * kp
            var k = 0
            while k + 8 <= kc {
                UnsafeMutableRawPointer(dst + k).storeBytes(
                    of: UnsafeRawPointer(src + k).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                k += 8
            }
            while k < kc { dst[k] = src[k]; k += 1 }
            for c in 0..<nc {
                staged.levels[x * nc + c] = levels[i * nc + c]
                staged.pairs[x * nc + c] = pairs[i * nc + c]
            }
        }
    }

    /// Prefetches cell i's row of R (K Floats), levels and pairs.
    @inline(__always)
    private static func prefetch(cell i: Int, rows r: UnsafePointer<Float>, clusters kc: Int,
                                 pairs: UnsafePointer<Int32>, levels: UnsafePointer<Int32>, covariates nc: Int) {
        let row = UnsafeRawPointer(r + i * kc)
        var offset = 0
        while offset < kc * 4 {
            harmony_prefetch(row + offset)
            offset += 64
        }
        harmony_prefetch(row + (kc * 4 - 1))
        harmony_prefetch(pairs + i * nc)
        harmony_prefetch(levels + i * nc)
    }

    /// Logits rows (Kp apart, padding set) of the cells at positions from..<to of `order` (or cells from..<to):
    /// the dot products of their unit rows (zcos) with the centroids (NearestMeanKernel: one multiply-add
    /// chain a product), then (2 / sigma_k) (dot - 1).
    private static func logits(cells: UnsafePointer<Float>, order: UnsafePointer<Int32>?, from: Int, to: Int,
                               dims d: Int, means: NearestMeanKernel, scale: [Float],
                               into logits: UnsafeMutablePointer<Float>) {
        let kc = means.clusters, kp = SoftmaxKernel.padded(kc), len = to - from
        let unit = UnsafeMutablePointer<Float>.allocate(capacity: len * d)
        defer { unit.deallocate() }
        for row in 0..<len {
            let i = order.map { Int($0[from + row]) } ?? from + row
            RowNormalization.normalizeRow(cells + i * d, into: unit + row * d, cols: d)
        }
        means.dots(rows: unit, count: len, into: logits)
        for x in 0..<len {
            let line = logits + x * kp
            for k in 0..<kc { line[k] = scale[k] * (line[k] - 1) }
            for k in kc..<kp { line[k] = SoftmaxKernel.padding }
        }
    }
}
