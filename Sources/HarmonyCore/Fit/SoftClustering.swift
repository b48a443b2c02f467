#if canImport(Glibc)
import Glibc
#endif

// Soft k-means with the diversity penalty (ALGORITHM.md §2.4, §2.6, §2.7).
//
// Memory layout (N x K Float, row-major): `logits` = -D / sigma_k = (2 zcos_i . y_k - 2) / sigma_k, the
// distance part of every cell's logits, computed once per D update by sgemm; `assignments` = R.
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
// Determinism: passes are cut into fixed tasks of 2048 cells (of the block, in permutation order); each task
// writes its own partial sums, which are added in task order.

/// The soft-assignment state of a fit: logits, R, O, E, and the clustering rounds.
final class SoftClustering {
    let cells: Int
    let clusters: Int
    let design: FitDesign
    let runner: TaskRunner
    /// Harmony1 penalty and objective forms instead of Harmony2's.
    let harmony1: Bool
    /// sigma_k (K values).
    let sigma: [Float]
    /// theta per global level.
    let theta: [Double]

    /// -D / sigma, N x K.
    var logits: [Float]
    /// Soft assignments R, N x K.
    var assignments: [Float]
    /// O, level-major B x K.
    var observed: [Double]
    /// E, level-major B x K.
    var expected: [Double]

    /// Per-task partial level sums (tasks x B x K) and objective parts (tasks x 2).
    private var partialLevels: [Double]
    private var partialObjective: [Double]
    /// Reduced level sums of the last pass (B x K) and its objective parts.
    private var passLevels: [Double]
    private var kmeansSum = 0.0
    private var entropySum = 0.0
    /// The block permutation buffer.
    private var permutation: [Int32]

    init(cells: Int, clusters: Int, design: FitDesign, sigma: [Double], theta: [Double], harmony1: Bool,
         runner: TaskRunner) {
        self.cells = cells
        self.clusters = clusters
        self.design = design
        self.runner = runner
        self.harmony1 = harmony1
        self.sigma = sigma.map { Float($0) }
        self.theta = theta
        let nb = design.levelCount
        logits = [Float](repeating: 0, count: cells * clusters)
        assignments = [Float](repeating: 0, count: cells * clusters)
        observed = [Double](repeating: 0, count: nb * clusters)
        expected = [Double](repeating: 0, count: nb * clusters)
        let tasks = TaskRunner.taskCount(cells)
        partialLevels = [Double](repeating: 0, count: tasks * nb * clusters)
        partialObjective = [Double](repeating: 0, count: tasks * 2)
        passLevels = [Double](repeating: 0, count: nb * clusters)
        permutation = [Int32](repeating: 0, count: cells)
    }

    // MARK: - Distances

    /// logits = (2 zcos Y^T - 2) / sigma_k from unit rows `zcos` (N x d) and centroids `centroids` (K x d).
    func setLogits(zcos: UnsafePointer<Float>, centroids: [Float], dims d: Int) {
        let kc = clusters
        let scale = sigma.map { 2 / $0 }
        centroids.withUnsafeBufferPointer { yBuf in
            logits.withUnsafeMutableBufferPointer { gBuf in
                let y = yBuf.baseAddress!, g = gBuf.baseAddress!
                runner.runRanges(cells) { _, start, end in
                    let out = g + start * kc
                    BLAS.sgemm(transB: true, m: end - start, n: kc, k: d, a: zcos + start * d, lda: d, b: y,
                               ldb: d, c: out, ldc: kc)
                    for row in 0..<(end - start) {
                        for k in 0..<kc { out[row * kc + k] = scale[k] * (out[row * kc + k] - 1) }
                    }
                }
            }
        }
    }

    /// Harmony1: centroids = rows of R^T zcos scaled to unit length (K x d), summed in fixed tasks.
    func centroidsFromAssignments(zcos: UnsafePointer<Float>, dims d: Int) -> [Float] {
        let kc = clusters
        let tasks = TaskRunner.taskCount(cells)
        var partial = [Float](repeating: 0, count: tasks * kc * d)
        partial.withUnsafeMutableBufferPointer { pBuf in
            assignments.withUnsafeBufferPointer { rBuf in
                let p = pBuf.baseAddress!, r = rBuf.baseAddress!
                runner.runRanges(cells) { t, start, end in
                    BLAS.sgemm(transA: true, m: kc, n: d, k: end - start, a: r + start * kc, lda: kc,
                               b: zcos + start * d, ldb: d, c: p + t * kc * d, ldc: d)
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
        return out
    }

    // MARK: - Assignment passes

    /// R = softmax(logits) for every cell (no penalty), O and E rebuilt; returns the objective.
    @discardableResult
    func assignWithoutPenalty() -> Double {
        pass(start: 0, end: cells, permuted: false, penalty: nil)
        let nb = design.levelCount, kc = clusters
        observed = passLevels
        let totals = clusterTotals(passLevels)
        for b in 0..<nb {
            for k in 0..<kc { expected[b * kc + k] = design.levelFractions[b] * totals[k] }
        }
        return objective()
    }

    /// One clustering round: a fresh permutation from `rng`, then the blocks in order (remove, recompute with
    /// the penalty, add back). Returns the objective after the round.
    func round(rng: inout SeededGenerator, blockSize: Double) -> Double {
        permutation.withUnsafeMutableBufferPointer { rng.permutation(into: $0) }
        let blocks = Int((1 / blockSize - 1e-9).rounded(.up))
        let perBlock = max(1, Int(Double(cells) * blockSize))
        kmeansSum = 0
        entropySum = 0
        var kmeansTotal = 0.0, entropyTotal = 0.0
        for j in 0..<blocks {
            let start = j * perBlock
            if start >= cells { break }
            let end = j == blocks - 1 ? cells : min(cells, start + perBlock)
            pass(start: start, end: end, permuted: true, penalty: nil, removeOnly: true)
            update(sign: -1)
            let table = penaltyTable()
            pass(start: start, end: end, permuted: true, penalty: table)
            update(sign: 1)
            kmeansTotal += kmeansSum
            entropyTotal += entropySum
        }
        kmeansSum = kmeansTotal
        entropySum = entropyTotal
        return objective()
    }

    /// O += sign * (last pass level sums); E += sign * p_b * (last pass cluster totals).
    private func update(sign: Double) {
        let nb = design.levelCount, kc = clusters
        let totals = clusterTotals(passLevels)
        for b in 0..<nb {
            let p = design.levelFractions[b]
            for k in 0..<kc {
                observed[b * kc + k] += sign * passLevels[b * kc + k]
                expected[b * kc + k] += sign * p * totals[k]
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

    /// The per-level log penalty P (B x K Float) for the current O, E.
    private func penaltyTable() -> [Float] {
        let nb = design.levelCount, kc = clusters
        var table = [Float](repeating: 0, count: nb * kc)
        for b in 0..<nb where theta[b] != 0 {
            for k in 0..<kc {
                let o = max(observed[b * kc + k], 0), e = max(expected[b * kc + k], 0)
                let value = harmony1
                    ? theta[b] * (log(max(e, 1e-300)) - log(max(o + e, 1e-300)))
                    : theta[b] * (log(2 * e + 1) - log(o + e + 1))
                table[b * kc + k] = Float(max(value, -1e4))
            }
        }
        return table
    }

    /// The objective (2000 / N) (k-means + entropy + diversity) from the last pass sums and the current O, E.
    func objective() -> Double {
        let nb = design.levelCount, kc = clusters
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

    /// Visits positions start..<end (of the permutation, or cells directly). With `removeOnly`, only sums the
    /// current R rows per level; otherwise recomputes R with `penalty` (nil = none), sums the new rows per level
    /// and the objective parts. Results land in `passLevels`, `kmeansSum`, `entropySum`.
    private func pass(start: Int, end: Int, permuted: Bool, penalty: [Float]?, removeOnly: Bool = false) {
        let nb = design.levelCount, kc = clusters, nc = design.covariateCount
        let count = end - start
        let tasks = TaskRunner.taskCount(count)
        let table = penalty ?? []
        partialLevels.withUnsafeMutableBufferPointer { plBuf in
            partialObjective.withUnsafeMutableBufferPointer { poBuf in
                logits.withUnsafeBufferPointer { gBuf in
                    assignments.withUnsafeMutableBufferPointer { rBuf in
                        permutation.withUnsafeBufferPointer { permBuf in
                            design.cellLevels.withUnsafeBufferPointer { levelBuf in
                                table.withUnsafeBufferPointer { tableBuf in
                                    sigma.withUnsafeBufferPointer { sigmaBuf in
                                        let pl = plBuf.baseAddress!, po = poBuf.baseAddress!
                                        let g = gBuf.baseAddress!, r = rBuf.baseAddress!
                                        let perm = permBuf.baseAddress!, lv = levelBuf.baseAddress!
                                        let pt = penalty == nil ? nil : tableBuf.baseAddress, sg = sigmaBuf.baseAddress!
                                        runner.runRanges(count) { t, from, to in
                                            let acc = pl + t * nb * kc
                                            acc.update(repeating: 0, count: nb * kc)
                                            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * kc)
                                            defer { scratch.deallocate() }
                                            var kmeans = 0.0, entropy = 0.0
                                            for pos in (start + from)..<(start + to) {
                                                let i = permuted ? Int(perm[pos]) : pos
                                                let row = r + i * kc
                                                if !removeOnly {
                                                    let parts = SoftClustering.assignCell(
                                                        logits: g + i * kc, levels: lv + i * nc, covariates: nc,
                                                        penalty: pt, sigma: sg, clusters: kc, row: row,
                                                        scratch: scratch)
                                                    kmeans += parts.kmeans
                                                    entropy += parts.entropy
                                                }
                                                for c in 0..<nc {
                                                    let target = acc + Int(lv[i * nc + c]) * kc
                                                    for k in 0..<kc { target[k] += Double(row[k]) }
                                                }
                                            }
                                            po[2 * t] = kmeans
                                            po[2 * t + 1] = entropy
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for x in 0..<(nb * kc) { passLevels[x] = 0 }
        kmeansSum = 0
        entropySum = 0
        for t in 0..<tasks {
            for x in 0..<(nb * kc) { passLevels[x] += partialLevels[t * nb * kc + x] }
            kmeansSum += partialObjective[2 * t]
            entropySum += partialObjective[2 * t + 1]
        }
    }

    /// Softmax of one cell's penalised logits into `row`; returns sum_k sigma_k R_ik logits_ik and
    /// sum_k sigma_k R_ik ln R_ik.
    @inline(__always)
    private static func assignCell(logits: UnsafePointer<Float>, levels: UnsafePointer<Int32>, covariates: Int,
                                   penalty: UnsafePointer<Float>?, sigma: UnsafePointer<Float>, clusters kc: Int,
                                   row: UnsafeMutablePointer<Float>,
                                   scratch: UnsafeMutablePointer<Float>) -> (kmeans: Double, entropy: Double) {
        let l = scratch, e = scratch + kc
        l.update(from: logits, count: kc)
        if let penalty {
            for c in 0..<covariates {
                let p = penalty + Int(levels[c]) * kc
                for k in 0..<kc { l[k] += p[k] }
            }
        }
        var top = l[0]
        for k in 1..<max(kc, 1) { top = max(top, l[k]) }
        for k in 0..<kc { e[k] = l[k] }
        let total = FastMath.expShiftedInPlace(e, kc, shift: top)
        let inverse = 1 / total
        var kmeans: Float = 0, weighted: Float = 0, mass: Float = 0
        for k in 0..<kc {
            let value = e[k] * inverse
            row[k] = value
            let sr = sigma[k] * value
            kmeans += sr * logits[k]
            weighted += sr * l[k]
            mass += sr
        }
        let lse = Double(top) + log(Double(total))
        return (Double(kmeans), Double(weighted) - lse * Double(mass))
    }
}
