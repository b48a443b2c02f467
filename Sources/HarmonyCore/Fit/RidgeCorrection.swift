// The ridge mixture-of-experts correction (Protocols/algorithm.md §2.5), from the ORIGINAL embedding Z.
//
// With few groups (CellOrderCorrection.applies) phases 1 and 3 run over the cells in cell order instead, with
// kernels of their own (CellOrderCorrection); otherwise:
// Phase 1 (statistics): cells are visited group by group (groups = level combinations, see FitDesign) in
//   fixed tasks of 2048 cells. Each task gathers its rows of R (len x K) and Z (len x d) and computes
//   R^T Z with one sgemm and the column sums of R in double; the task results are added in task order into
//   double per-group sums n_gk, s_gk. Tasks run in waves whose Float partials stay near 16 MB (with thousands
//   of small groups there are as many tasks as groups). Per-level sums, cross counts and intercept sums are
//   sums over groups.
// Phase 2 (solves): one RidgeSystem per cluster, in double, in parallel over a wave of clusters. A cluster's
//   system reads only its own K-slice of the per-level sums, so its terms are then written over that slice:
//   the per-level sums become the terms, and the two K x levels x d arrays are never alive together.
// Phase 3 (apply): per group, M_g = sum over its levels of the K x d batch terms (Float); each task gathers
//   its R rows and computes Zcorr = Z - R M_g with one sgemm.
// Precision: Z, R, Zcorr are Float; n, s, cross counts, solves and the batch terms are Double. sgemm over at
// most 2048 cells per task keeps the Float part of each sum short.
// Memory: per-level arrays are one K x d array per level (the fit result keeps them as they are, no copy).
// Distributed (CellShard): a rank sums and corrects its own cells (its part of each group, in the same order);
// the per-group sums of the ranks are added in rank order, and every rank solves the same systems.

/// One ridge correction step with R fixed.
enum RidgeCorrection {
    /// Writes Zcorr = Z - sum_k R_ik (batch terms of cell i's levels in cluster k) into `corrected` and returns
    /// the new centroids and batch terms. `z`, `r`, `corrected` are N x d, N x K, N x d; `centroids` K x d.
    /// With a `shard`, they hold the shard's rows only, and only those are corrected.
    static func correct(z localZ: UnsafePointer<Float>, r localR: UnsafePointer<Float>,
                        corrected localOut: UnsafeMutablePointer<Float>,
                        dims d: Int, clusters kc: Int, centroids: [Float], design: FitDesign,
                        settings: CorrectionSettings, runner: TaskRunner,
                        shard: CellShard? = nil) throws -> CorrectionOutput {
        let shard = shard ?? .whole(design.cells)
        let cells = CellRows(z: localZ - shard.first * d, r: localR - shard.first * kc,
                             corrected: localOut - shard.first * d)
        // Few groups: both passes over the cells run in cell order (CellOrderCorrection).
        let byCell = CellOrderCorrection.applies(groups: design.groupCount, clusters: kc, dims: d)
        let tasks = byCell ? [] : groupTasks(design, cells: shard.range)

        // MARK: - Phase 1: per-group sums, then per level
        var (groupN, groupS) = byCell
            ? CellOrderCorrection.groupSums(cells, dims: d, clusters: kc, design: design, shard: shard, runner: runner)
            : groupSums(cells, dims: d, clusters: kc, design: design, tasks: tasks, runner: runner)
        if shard.isDistributed { sumOverRanks(&groupN, &groupS, shard: shard) }
        var sums = LevelSums(groupN: groupN, groupS: &groupS, dims: d, clusters: kc, design: design)

        // MARK: - Phase 2: one regression per cluster; the terms replace the level sums
        let solved = try solveClusters(&sums, groupN: groupN, groupS: groupS, centroids: centroids, dims: d,
                                       clusters: kc, design: design, settings: settings, runner: runner)
        let terms = sums.levelS
        sums.levelS = []

        // MARK: - Phase 3: apply per group
        groupS = []
        if byCell {
            let padded = CellOrderCorrection.paddedTerms(terms, dims: d, clusters: kc, design: design)
            CellOrderCorrection.apply(cells, terms: padded, dims: d, clusters: kc, design: design, shard: shard,
                                      runner: runner)
        } else {
            // M_g in Float; with one covariate M_g is level g's terms, converted per task instead of stored.
            let groupTerms = sums.oneCovariate ? nil : combinedTerms(terms, dims: d, clusters: kc, design: design)
            apply(cells, terms: terms, groupTerms: groupTerms, dims: d, clusters: kc, design: design, tasks: tasks,
                  runner: runner)
        }
        return CorrectionOutput(centroids: solved.centroids, levelTerms: terms,
                                activeClusters: solved.active.filter { $0 }.count)
    }

    /// The shard's rows of Z, R and Zcorr, addressed by global cell index (as `groupOrder` lists cells): the
    /// pointers are moved back by the shard's first cell.
    struct CellRows {
        let z: UnsafePointer<Float>
        let r: UnsafePointer<Float>
        let corrected: UnsafeMutablePointer<Float>
    }

    /// Per-level sums of all cells: n_bk (levels x K), s_b (one K x d array a level), and N_k.
    struct LevelSums {
        var levelN: [Double]
        var levelS: [[Double]]
        var clusterTotal: [Double]
        /// One covariate: the groups are the levels in level order (FitDesign), so the per-level sums are the
        /// per-group sums.
        let oneCovariate: Bool

        /// Sums the per-group sums over each group's levels; with one covariate `groupS` is moved (not copied)
        /// into `levelS` and left empty.
        init(groupN: [Double], groupS: inout [[Double]], dims d: Int, clusters kc: Int, design: FitDesign) {
            let ng = design.groupCount, nb = design.levelCount, nc = design.covariateCount
            oneCovariate = nc == 1
            levelN = [Double](repeating: 0, count: nb * kc)
            if oneCovariate {
                levelS = groupS
                groupS = []
            } else {
                levelS = [[Double]](repeating: [Double](repeating: 0, count: kc * d), count: nb)
            }
            clusterTotal = [Double](repeating: 0, count: kc)
            for g in 0..<ng {
                for k in 0..<kc { clusterTotal[k] += groupN[g * kc + k] }
                for c in 0..<nc {
                    let b = design.groupLevels[g * nc + c]
                    for k in 0..<kc { levelN[b * kc + k] += groupN[g * kc + k] }
                    if !oneCovariate {
                        levelS[b].withUnsafeMutableBufferPointer { level in
                            groupS[g].withUnsafeBufferPointer { group in
                                for x in 0..<(kc * d) { level[x] += group[x] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Phase 2: solves every cluster's system, in waves of 2 clusters a thread, and writes each cluster's terms
    /// over its K-slice of `sums.levelS` (0 for a level without an unknown). Returns the centroids (moved to the
    /// normalised intercepts when `settings.updateCentroids`) and which clusters corrected.
    private static func solveClusters(_ sums: inout LevelSums, groupN: [Double], groupS: [[Double]],
                                      centroids: [Float], dims d: Int, clusters kc: Int, design: FitDesign,
                                      settings: CorrectionSettings,
                                      runner: TaskRunner) throws -> (centroids: [Float], active: [Bool]) {
        let nb = design.levelCount
        var newCentroids = centroids
        var active = [Bool](repeating: false, count: kc)
        let wave = 2 * runner.threads
        for first in stride(from: 0, to: kc, by: wave) {
            let clusters = first..<min(kc, first + wave)
            var solved = [(levels: [Int], beta: [Double])?](repeating: nil, count: clusters.count)
            var failure = [HarmonyError?](repeating: nil, count: clusters.count)
            do {
                let levelN = sums.levelN, levelS = sums.levelS, clusterTotal = sums.clusterTotal
                let groups = sums.oneCovariate ? levelS : groupS
                solved.withUnsafeMutableBufferPointer { solvedBuf in
                    failure.withUnsafeMutableBufferPointer { failBuf in
                        runner.run(clusters.count) { x in
                            let k = first + x
                            do {
                                guard let system = buildSystem(cluster: k, clusters: kc, dims: d, design: design,
                                                               settings: settings, groupN: groupN, groupS: groups,
                                                               levelN: levelN, levelS: levelS,
                                                               clusterTotal: clusterTotal[k]) else { return }
                                solvedBuf[x] = (system.levels, try system.system.solve())
                            } catch let error as HarmonyError {
                                failBuf[x] = error
                            } catch {
                                failBuf[x] = .numerical("ridge correction: \(error)")
                            }
                        }
                    }
                }
            }
            if let error = failure.compactMap({ $0 }).first { throw error }
            // Unknown j + 1 of cluster k's solution is level levels[j]'s term (0 is the intercept).
            var unknown = [Int32](repeating: -1, count: clusters.count * nb)
            for (x, result) in solved.enumerated() {
                for (j, b) in (result?.levels ?? []).enumerated() { unknown[x * nb + b] = Int32(j + 1) }
            }
            for b in 0..<nb {
                sums.levelS[b].withUnsafeMutableBufferPointer { slice in
                    for (x, k) in clusters.enumerated() {
                        let j = Int(unknown[x * nb + b])
                        for t in 0..<d { slice[k * d + t] = j < 0 ? 0 : solved[x]!.beta[j * d + t] }
                    }
                }
            }
            for (x, k) in clusters.enumerated() {
                guard let (_, beta) = solved[x] else { continue }
                active[k] = true
                if settings.updateCentroids {
                    var norm = 0.0
                    for t in 0..<d { norm += beta[t] * beta[t] }
                    norm = norm.squareRoot()
                    if norm > 0 { for t in 0..<d { newCentroids[k * d + t] = Float(beta[t] / norm) } }
                }
            }
        }
        return (newCentroids, active)
    }

    /// M_g = sum over group g's levels of their K x d terms, in Float (G x K x d).
    static func combinedTerms(_ terms: [[Double]], dims d: Int, clusters kc: Int, design: FitDesign) -> [Float] {
        let ng = design.groupCount, nc = design.covariateCount
        var groupTerms = [Float](repeating: 0, count: ng * kc * d)
        for g in 0..<ng {
            for c in 0..<nc {
                let b = design.groupLevels[g * nc + c]
                for x in 0..<(kc * d) { groupTerms[g * kc * d + x] += Float(terms[b][x]) }
            }
        }
        return groupTerms
    }

    /// Phase 3: Zcorr = Z - R M_g for every task's cells, one sgemm a task. `groupTerms` holds M_g, or is nil
    /// with one covariate (M_g is then level g's terms, converted per task).
    static func apply(_ cells: CellRows, terms: [[Double]], groupTerms: [Float]?, dims d: Int,
                      clusters kc: Int, design: FitDesign, tasks: [GroupTask], runner: TaskRunner) {
        let oneCovariate = groupTerms == nil
        (groupTerms ?? []).withUnsafeBufferPointer { mBuf in
            design.groupOrder.withUnsafeBufferPointer { order in
                runner.run(tasks.count) { t in
                    let task = tasks[t], len = task.end - task.start
                    let rBuf = UnsafeMutablePointer<Float>.allocate(capacity: len * kc)
                    let out = UnsafeMutablePointer<Float>.allocate(capacity: len * d)
                    let converted = UnsafeMutablePointer<Float>.allocate(capacity: oneCovariate ? kc * d : 0)
                    defer { rBuf.deallocate(); out.deallocate(); converted.deallocate() }
                    let m: UnsafePointer<Float>
                    if oneCovariate {
                        terms[task.group].withUnsafeBufferPointer { src in
                            for x in 0..<(kc * d) { converted[x] = Float(src[x]) }
                        }
                        m = UnsafePointer(converted)
                    } else {
                        m = mBuf.baseAddress! + task.group * kc * d
                    }
                    for row in 0..<len {
                        let i = Int(order[task.start + row])
                        let src = cells.r + i * kc, dst = rBuf + row * kc
                        for k in 0..<kc { dst[k] = src[k] }
                    }
                    BLAS.sgemm(m: len, n: d, k: kc, a: rBuf, lda: kc, b: m, ldb: d, c: out, ldc: d)
                    for row in 0..<len {
                        let i = Int(order[task.start + row])
                        for t in 0..<d { cells.corrected[i * d + t] = cells.z[i * d + t] - out[row * d + t] }
                    }
                }
            }
        }
    }

    /// Phase 1: n_gk (G x K) and, per group, s_g (K x d), summed in task order.
    static func groupSums(_ cells: CellRows, dims d: Int, clusters kc: Int,
                          design: FitDesign, tasks: [GroupTask],
                          runner: TaskRunner) -> (n: [Double], s: [[Double]]) {
        let z = cells.z, r = cells.r
        var groupN = [Double](repeating: 0, count: design.groupCount * kc)
        var groupS = [[Double]](repeating: [Double](repeating: 0, count: kc * d), count: design.groupCount)
        // About 4M floats of partial sums per wave, but at least one task per thread.
        let waveTasks = min(tasks.count, max(runner.threads, 4_000_000 / (kc * d)))
        var partialS = [Float](repeating: 0, count: waveTasks * kc * d)
        var partialN = [Double](repeating: 0, count: waveTasks * kc)
        var waveStart = 0
        while waveStart < tasks.count {
            let count = min(waveTasks, tasks.count - waveStart)
            partialS.withUnsafeMutableBufferPointer { ps in
                partialN.withUnsafeMutableBufferPointer { pn in
                    let psp = ps.baseAddress!, pnp = pn.baseAddress!
                    design.groupOrder.withUnsafeBufferPointer { order in
                        runner.run(count) { w in
                            let task = tasks[waveStart + w], len = task.end - task.start
                            let rBuf = UnsafeMutablePointer<Float>.allocate(capacity: len * kc)
                            let zBuf = UnsafeMutablePointer<Float>.allocate(capacity: len * d)
                            defer { rBuf.deallocate(); zBuf.deallocate() }
                            let n = pnp + w * kc
                            n.update(repeating: 0, count: kc)
                            for row in 0..<len {
                                let i = Int(order[task.start + row])
                                let rSrc = r + i * kc, rDst = rBuf + row * kc
                                rDst.update(from: rSrc, count: kc)
                                FloatRows.add(rSrc, to: n, count: kc)
                                let zSrc = z + i * d, zDst = zBuf + row * d
                                for t in 0..<d { zDst[t] = zSrc[t] }
                            }
                            BLAS.sgemm(transA: true, m: kc, n: d, k: len, a: rBuf, lda: kc, b: zBuf, ldb: d,
                                       c: psp + w * kc * d, ldc: d)
                        }
                    }
                }
            }
            for w in 0..<count {
                let g = tasks[waveStart + w].group
                for k in 0..<kc { groupN[g * kc + k] += partialN[w * kc + k] }
                groupS[g].withUnsafeMutableBufferPointer { sums in
                    for x in 0..<(kc * d) { sums[x] += Double(partialS[w * kc * d + x]) }
                }
            }
            waveStart += count
        }
        return (groupN, groupS)
    }

    /// Adds the per-group sums of the ranks in rank order.
    private static func sumOverRanks(_ groupN: inout [Double], _ groupS: inout [[Double]], shard: CellShard) {
        var all = groupN
        for sums in groupS { all += sums }
        shard.sum(&all)
        groupN = Array(all[0..<groupN.count])
        var offset = groupN.count
        for g in groupS.indices {
            groupS[g] = Array(all[offset..<(offset + groupS[g].count)])
            offset += groupS[g].count
        }
    }

    /// A fixed slice of one group's cells (positions in `groupOrder`).
    struct GroupTask {
        let group: Int
        let start: Int
        let end: Int
    }

    /// Cuts every group's cells within `cells` (all by default) into tasks of at most `TaskRunner.cellsPerTask`
    /// cells. A group lists its cells in increasing order, so those within `cells` are consecutive.
    static func groupTasks(_ design: FitDesign, cells: Range<Int>? = nil) -> [GroupTask] {
        var tasks: [GroupTask] = []
        let cells = cells ?? 0..<design.cells
        for g in 0..<design.groupCount {
            let members = design.groupOffsets[g]..<design.groupOffsets[g + 1]
            var start = firstPosition(in: members, of: design.groupOrder, atLeast: cells.lowerBound)
            let end = firstPosition(in: start..<members.upperBound, of: design.groupOrder, atLeast: cells.upperBound)
            while start < end {
                let stop = min(end, start + TaskRunner.cellsPerTask)
                tasks.append(GroupTask(group: g, start: start, end: stop))
                start = stop
            }
        }
        return tasks
    }

    /// The first position p in `positions` with order[p] >= cell (positions.upperBound if none); `order` increases
    /// over `positions`.
    private static func firstPosition(in positions: Range<Int>, of order: [Int32], atLeast cell: Int) -> Int {
        var low = positions.lowerBound, high = positions.upperBound
        while low < high {
            let mid = (low + high) / 2
            if Int(order[mid]) < cell { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Cluster k's normal equations and the global levels of its unknowns, or nil when it does not correct.
    private static func buildSystem(cluster k: Int, clusters kc: Int, dims d: Int, design: FitDesign,
                                    settings: CorrectionSettings, groupN: [Double], groupS: [[Double]],
                                    levelN: [Double], levelS: [[Double]],
                                    clusterTotal: Double) -> (system: RidgeSystem, levels: [Int])? {
        let nb = design.levelCount, nc = design.covariateCount
        // Step 1: which levels qualify and which covariates are active.
        var qualifies = [Bool](repeating: false, count: nb)
        for b in 0..<nb where design.levelCounts[b] > 0 {
            qualifies[b] = !settings.dropLevels
                || levelN[b * kc + k] / Double(design.levelCounts[b]) > settings.cutoff
        }
        var kept: [Int] = []
        for c in 0..<nc {
            let range = design.levelOffsets[c]..<design.levelOffsets[c + 1]
            let count = range.filter { qualifies[$0] }.count
            if count >= 2 || (!settings.dropLevels && count >= 1) { kept += range.filter { qualifies[$0] } }
        }
        guard !kept.isEmpty else { return nil }
        var position = [Int](repeating: -1, count: nb)
        for (j, b) in kept.enumerated() { position[b] = j }
        let m = kept.count

        // Steps 2-4: penalties and sufficient statistics.
        var system = RidgeSystem(dims: d, interceptCount: 0, interceptSum: [Double](repeating: 0, count: d),
                                 covariate: kept.map { design.levelCovariate[$0] },
                                 counts: kept.map { levelN[$0 * kc + k] },
                                 penalties: [], sums: [Double](repeating: 0, count: m * d),
                                 cross: [Double](repeating: 0, count: nc > 1 ? m * m : 0))
        system.penalties = kept.map { b -> Double in
            switch settings.penalty {
            case .dynamic(let alpha): return alpha * design.levelFractions[b] * clusterTotal
            case .fixed(let values): return values.count == 1 ? values[0] : values[design.levelCovariate[b]]
            }
        }
        for (j, b) in kept.enumerated() {
            for t in 0..<d { system.sums[j * d + t] = levelS[b][k * d + t] }
        }
        for g in 0..<design.groupCount {
            var slots: [Int] = []
            for c in 0..<nc {
                let j = position[design.groupLevels[g * nc + c]]
                if j >= 0 { slots.append(j) }
            }
            if slots.isEmpty { continue }
            let weight = groupN[g * kc + k]
            system.interceptCount += weight
            for t in 0..<d { system.interceptSum[t] += groupS[g][k * d + t] }
            if nc > 1 {
                for a in slots { for b in slots where a != b { system.cross[a * m + b] += weight } }
            }
        }
        return (system, kept)
    }
}
