// The ridge correction's two passes over the cells, in cell order, for designs with few groups.
//
// RidgeCorrection's general passes visit the cells group by group and gather each task's rows of R and Z into
// contiguous buffers for sgemm. With a handful of groups that order reads R (N x K) as G interleaved sweeps, and
// the gathers cost more than the products: at 1M cells x 30 dims, 4 batches, K 100, phase 1 took 0.195 s an
// iteration, of which sgemm 0.08 s. When the K x d blocks of all groups fit in cache together (`applies`), the
// two passes here run over fixed tasks of consecutive cells instead, so R, Z and Zcorr are read and written
// once, in memory order, by register-tiled kernels:
// - statistics (phase 1): per task and group, S_g += R_i^T z_i (Float) and n_g += R_i (Double), over the task's
//   cells of that group in increasing order. A task reads spans of consecutive cells and copies their rows
//   group by group into a buffer that stays in cache, which the kernel then reads consecutively. The task
//   partials are added in Double in task order, each group on its own thread, as the general pass does;
// - apply (phase 3): Zcorr_i = Z_i - R_i M_g(i) with M_g the group's K x d terms in Float, reading R in place.
// Dimensions go in tiles of 32 (four SIMD8 vectors): z rows are copied into a zero-padded buffer and the terms
// are kept padded, so a tile never reads past a row; the padding lanes are never written out.
// Every sum runs in a fixed order (cells in increasing order, clusters in increasing order, one
// multiply-add chain per lane, MultiplyAdd.swift), so the results do not depend on the thread count. They differ from the
// general passes' sgemm in the last bits only (another summation order).
// Distributed (CellShard): a rank runs the tasks of its own cells (a shard starts on a task boundary).

/// Phases 1 and 3 of the ridge correction over cells in index order (see the file header).
enum CellOrderCorrection {
    /// Dimensions per tile.
    static let tile = 32
    /// Largest G x K x (d rounded up to the tile) Floats of all groups' blocks together: about the L2 cache.
    static let cacheBytes = 1 << 20
    /// Cells per chunk of the statistics kernel (its accumulators are loaded and stored once per chunk).
    static let chunkCells = 64

    /// d rounded up to a multiple of `tile`.
    static func paddedDims(_ d: Int) -> Int { (d + tile - 1) / tile * tile }

    /// Whether the cell-order passes serve a design with `groups` groups.
    static func applies(groups: Int, clusters kc: Int, dims d: Int) -> Bool {
        groups * kc * paddedDims(d) * MemoryLayout<Float>.stride <= cacheBytes
    }

    // MARK: - Phase 1

    /// n_gk (G x K) and, per group, s_g (K x d) over the shard's cells, summed in task order.
    static func groupSums(_ cells: RidgeCorrection.CellRows, dims d: Int, clusters kc: Int, design: FitDesign,
                          shard: CellShard, runner: TaskRunner) -> (n: [Double], s: [[Double]]) {
        let ng = design.groupCount, dp = paddedDims(d)
        var groupN = [Double](repeating: 0, count: ng * kc)
        // One buffer per group (not copies of one shared buffer): the groups are summed on several threads.
        var groupS = (0..<ng).map { _ in [Double](repeating: 0, count: kc * d) }
        let tasks = TaskRunner.taskCount(shard.count)
        let taskFloats = ng * kc * dp
        // About 4M floats of partial sums per wave, but at least one task per thread.
        let waveTasks = min(tasks, max(runner.threads, 4_000_000 / taskFloats))
        var partialS = [Float](repeating: 0, count: waveTasks * taskFloats)
        var partialN = [Double](repeating: 0, count: waveTasks * ng * kc)
        var present = [Bool](repeating: false, count: waveTasks * ng)
        var waveStart = 0
        while waveStart < tasks {
            let count = min(waveTasks, tasks - waveStart)
            partialS.withUnsafeMutableBufferPointer { ps in
              partialN.withUnsafeMutableBufferPointer { pn in
                present.withUnsafeMutableBufferPointer { pr in
                  design.cellGroups.withUnsafeBufferPointer { groups in
                    let psp = ps.baseAddress!, pnp = pn.baseAddress!, prp = pr.baseAddress!
                    runner.run(count) { w in
                        let task = waveStart + w
                        let start = shard.first + task * TaskRunner.cellsPerTask
                        let end = min(shard.first + shard.count, start + TaskRunner.cellsPerTask)
                        taskSums(cells, from: start, to: end, groups: groups.baseAddress!, groupCount: ng,
                                 dims: d, clusters: kc, s: psp + w * taskFloats, n: pnp + w * ng * kc,
                                 present: prp + w * ng)
                    }
                    // Each group's sums over the wave's tasks, in task order; groups in parallel.
                    groupS.withUnsafeMutableBufferPointer { gs in
                      groupN.withUnsafeMutableBufferPointer { gn in
                        runner.run(ng) { g in
                            gs[g].withUnsafeMutableBufferPointer { sums in
                                for w in 0..<count where prp[w * ng + g] {
                                    let src = psp + w * taskFloats + g * kc * dp, n = pnp + (w * ng + g) * kc
                                    for k in 0..<kc {
                                        gn[g * kc + k] += n[k]
                                        for t in 0..<d { sums[k * d + t] += Double(src[k * dp + t]) }
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
            waveStart += count
        }
        return (groupN, groupS)
    }

    /// One task's partial sums: for each group g with cells in from..<to, present[g], s (g's K x dp block of
    /// Floats) = sum of R_i^T z_i and n (g's K Doubles) = sum of R_i over them; other groups' blocks untouched.
    /// The task goes in spans of `spanCells` consecutive cells (their rows of R stay in L2), and each span by
    /// group, in chunks of `chunkCells` cells.
    private static func taskSums(_ cells: RidgeCorrection.CellRows, from: Int, to: Int, groups: UnsafePointer<Int32>,
                                 groupCount ng: Int, dims d: Int, clusters kc: Int, s: UnsafeMutablePointer<Float>,
                                 n: UnsafeMutablePointer<Double>, present: UnsafeMutablePointer<Bool>) {
        let dp = paddedDims(d), span = spanCells(groups: ng)
        let z = UnsafeMutablePointer<Float>.allocate(capacity: span * dp)
        let r = UnsafeMutablePointer<Float>.allocate(capacity: span * kc)
        // Each group's first row in the span's buffers, and the next free one while copying.
        var starts = [Int](repeating: 0, count: ng + 1), cursor = starts
        defer { z.deallocate(); r.deallocate() }
        present.update(repeating: false, count: ng)
        var first = from
        while first < to {
            let last = min(to, first + span)
            // The span's rows of R and padded rows of z, read in cell order and copied group by group (a counting
            // sort: increasing inside a group), so the kernel reads each group's rows consecutively from the
            // cache; R is added to the group's counts on the way.
            starts.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            for i in first..<last { starts[Int(groups[i]) + 1] += 1 }
            for g in 0..<ng { starts[g + 1] += starts[g] }
            for g in 0...ng { cursor[g] = starts[g] }
            for i in first..<last {
                let g = Int(groups[i]), x = cursor[g]
                cursor[g] += 1
                let counts = n + g * kc
                if !present[g] {
                    present[g] = true
                    (s + g * kc * dp).update(repeating: 0, count: kc * dp)
                    counts.update(repeating: 0, count: kc)
                }
                (r + x * kc).update(from: cells.r + i * kc, count: kc)
                FloatRows.add(r + x * kc, to: counts, count: kc)
                let row = z + x * dp
                row.update(from: cells.z + i * d, count: d)
                (row + d).update(repeating: 0, count: dp - d)
            }
            for g in 0..<ng where starts[g + 1] > starts[g] {
                var m = starts[g]
                while m < starts[g + 1] {
                    let stop = min(starts[g + 1], m + chunkCells)
                    for t in stride(from: 0, to: dp, by: tile) {
                        accumulate(s + g * kc * dp + t, padded: dp, rows: r + m * kc, count: stop - m, clusters: kc,
                                   z: z + m * dp + t, zStride: dp)
                    }
                    m = stop
                }
            }
            first = last
        }
    }

    /// Cells per span of a statistics task: 256, or 16 a group with more than 16 groups (so that a group's
    /// accumulators, loaded and stored once per span, serve several cells).
    static func spanCells(groups: Int) -> Int { max(256, 16 * groups) }

    /// For one 32-dimension tile: out[k, 0..<32] += sum over the `count` consecutive rows x of R_xk z_x[tile],
    /// R_x at rows + x K and z_x's tile at z + x zStride; two clusters at a time in eight registers.
    @inline(__always)
    private static func accumulate(_ out: UnsafeMutablePointer<Float>, padded dp: Int, rows r: UnsafePointer<Float>,
                                   count: Int, clusters kc: Int, z: UnsafePointer<Float>, zStride: Int) {
        var k = 0
        while k + 2 <= kc {
            let o0 = out + k * dp, o1 = o0 + dp
            var a0 = FloatRows.load(o0, 0), a1 = FloatRows.load(o0, 8)
            var a2 = FloatRows.load(o0, 16), a3 = FloatRows.load(o0, 24)
            var b0 = FloatRows.load(o1, 0), b1 = FloatRows.load(o1, 8)
            var b2 = FloatRows.load(o1, 16), b3 = FloatRows.load(o1, 24)
            var zx = z, rx = r + k
            for _ in 0..<count {
                let z0 = FloatRows.load(zx, 0), z1 = FloatRows.load(zx, 8)
                let z2 = FloatRows.load(zx, 16), z3 = FloatRows.load(zx, 24)
                let ra = SIMD8<Float>(repeating: rx[0]), rb = SIMD8<Float>(repeating: rx[1])
                a0.add(ra, times: z0); a1.add(ra, times: z1); a2.add(ra, times: z2); a3.add(ra, times: z3)
                b0.add(rb, times: z0); b1.add(rb, times: z1); b2.add(rb, times: z2); b3.add(rb, times: z3)
                zx += zStride
                rx += kc
            }
            FloatRows.store(a0, o0, 0); FloatRows.store(a1, o0, 8)
            FloatRows.store(a2, o0, 16); FloatRows.store(a3, o0, 24)
            FloatRows.store(b0, o1, 0); FloatRows.store(b1, o1, 8)
            FloatRows.store(b2, o1, 16); FloatRows.store(b3, o1, 24)
            k += 2
        }
        if k < kc {
            let o0 = out + k * dp
            var a0 = FloatRows.load(o0, 0), a1 = FloatRows.load(o0, 8)
            var a2 = FloatRows.load(o0, 16), a3 = FloatRows.load(o0, 24)
            var zx = z, rx = r + k
            for _ in 0..<count {
                let ra = SIMD8<Float>(repeating: rx[0])
                a0.add(ra, times: FloatRows.load(zx, 0)); a1.add(ra, times: FloatRows.load(zx, 8))
                a2.add(ra, times: FloatRows.load(zx, 16)); a3.add(ra, times: FloatRows.load(zx, 24))
                zx += zStride
                rx += kc
            }
            FloatRows.store(a0, o0, 0); FloatRows.store(a1, o0, 8)
            FloatRows.store(a2, o0, 16); FloatRows.store(a3, o0, 24)
        }
    }

    // MARK: - Phase 3

    /// Zcorr_i = Z_i - R_i M_g(i) for the shard's cells. `terms` holds M_g per group as G x K x dp Floats
    /// (`paddedTerms`).
    static func apply(_ cells: RidgeCorrection.CellRows, terms: [Float], dims d: Int, clusters kc: Int,
                      design: FitDesign, shard: CellShard, runner: TaskRunner) {
        let dp = paddedDims(d)
        terms.withUnsafeBufferPointer { mBuf in
            design.cellGroups.withUnsafeBufferPointer { groups in
                let m = mBuf.baseAddress!
                runner.runRanges(shard.count) { _, localStart, localEnd in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: tile) { sum in
                        let out = sum.baseAddress!
                        for i in (shard.first + localStart)..<(shard.first + localEnd) {
                            let block = m + Int(groups[i]) * kc * dp, row = cells.r + i * kc
                            for t in stride(from: 0, to: dp, by: tile) {
                                product(row, terms: block + t, padded: dp, clusters: kc, into: out)
                                let z = cells.z + i * d + t, target = cells.corrected + i * d + t
                                for j in 0..<min(tile, d - t) { target[j] = z[j] - out[j] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// out[0..<32] = sum_k row[k] terms[k, tile] (clusters in increasing order).
    @inline(__always)
    private static func product(_ row: UnsafePointer<Float>, terms m: UnsafePointer<Float>, padded dp: Int,
                                clusters kc: Int, into out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD8<Float>.zero, a1 = a0, a2 = a0, a3 = a0
        for k in 0..<kc {
            let r = SIMD8<Float>(repeating: row[k]), mk = m + k * dp
            a0.add(r, times: FloatRows.load(mk, 0)); a1.add(r, times: FloatRows.load(mk, 8))
            a2.add(r, times: FloatRows.load(mk, 16)); a3.add(r, times: FloatRows.load(mk, 24))
        }
        FloatRows.store(a0, out, 0); FloatRows.store(a1, out, 8)
        FloatRows.store(a2, out, 16); FloatRows.store(a3, out, 24)
    }

    /// M_g for every group as G x K x dp Floats (zero padding): the sum of its levels' terms (Double, in
    /// covariate order) rounded once.
    static func paddedTerms(_ terms: [[Double]], dims d: Int, clusters kc: Int, design: FitDesign) -> [Float] {
        let ng = design.groupCount, nc = design.covariateCount, dp = paddedDims(d)
        var out = [Float](repeating: 0, count: ng * kc * dp)
        for g in 0..<ng {
            for k in 0..<kc {
                for t in 0..<d {
                    var sum = 0.0
                    for c in 0..<nc { sum += terms[design.groupLevels[g * nc + c]][k * d + t] }
                    out[(g * kc + k) * dp + t] = Float(sum)
                }
            }
        }
        return out
    }
}
