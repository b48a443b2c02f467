// Sufficient statistics of one new query batch: n_k = sum_i R_ik and s_k = sum_i R_ik z_i (Protocols/algorithm.md §5.3),
// kept so that they do not depend on how the batch was cut into chunks.
//
// n_k is a Double sum cell after cell, in arrival order (K additions per cell). s_k (K x d per cell) is where the
// time goes, so only the sum across cells is Double: the batch's cells, counted in arrival order, fall into fixed
// blocks of `blockCells`, and each complete block contributes its Float product R_blk^T Z_blk (one kernel, one
// summation order) added into Double. Block boundaries follow the batch's own cell count, not the chunks, so any
// chunking forms the same blocks from the same bits and ends with the same sums, bit for bit. The cells of the
// last, incomplete block are kept (R and z rows) until it fills, and meanwhile counted exactly: each adds
// R_ik z_ij to a Double pending sum (the Float x Float product is exact in Double), again cell after cell in
// arrival order. The statistics are s = committed blocks + pending cells.
// Precision: a block's Float sum of 32 products is within ~32 ulp (2e-6) of exact relative to the sum of the
// magnitudes; the Double accumulation adds no error of note.

/// Chunking-invariant n_k and s_k of one new query batch.
struct BatchStatistics: Sendable {
    /// Cells per Float block.
    static let blockCells = 32
    /// Columns per kernel tile (four 8-lane vectors).
    static let tile = 32

    let k: Int, d: Int
    // d rounded up to whole tiles: the stride of the padded z rows.
    let paddedD: Int
    /// n_k (K values).
    private(set) var mass: [Double]
    /// s_k (K x d, row-major) = committed + pending.
    private(set) var sums: [Double]
    /// Cells added.
    private(set) var cells = 0
    // Complete blocks (K x d) and the cells of the open block: their exact sum, R rows (blockCells x K) and
    // zero-padded z rows (blockCells x paddedD).
    private var committed: [Double]
    private var pendingSums: [Double]
    private var pendingR: [Float]
    private var pendingZ: [Float]
    private var pendingCount = 0

    /// Empty statistics for K clusters and d dimensions.
    init(k: Int, d: Int) {
        self.k = k
        self.d = d
        paddedD = (d + Self.tile - 1) / Self.tile * Self.tile
        mass = [Double](repeating: 0, count: k)
        sums = [Double](repeating: 0, count: k * d)
        committed = sums
        pendingSums = sums
        pendingR = [Float](repeating: 0, count: Self.blockCells * k)
        pendingZ = [Float](repeating: 0, count: Self.blockCells * paddedD)
    }

    /// Adds the cells `rows` (in order) of a chunk with assignments `r` (n x K) and values `z` (n x d).
    mutating func add(rows: [Int], r: UnsafeBufferPointer<Float>, z: UnsafeBufferPointer<Float>) {
        guard !rows.isEmpty else { return }
        let k = self.k, d = self.d, pd = paddedD, g = Self.blockCells
        let rBase = r.baseAddress!, zBase = z.baseAddress!
        mass.withUnsafeMutableBufferPointer { mb in
            let m = mb.baseAddress!
            for i in rows {
                let row = rBase + i &* k
                for c in 0..<k { m[c] += Double(row[c]) }
            }
        }
        // R rows of the block being committed (rows of the chunk, or of `pendingR`), and its padded z rows.
        var rowPointers = [UnsafePointer<Float>](repeating: rBase, count: g)
        var blockZ = [Float]()
        var start = 0
        while start < rows.count {
            if pendingCount == 0 && rows.count - start >= g {
                // A whole block straight from the chunk.
                if blockZ.isEmpty { blockZ = [Float](repeating: 0, count: g * pd) }
                for o in 0..<g { rowPointers[o] = rBase + rows[start + o] &* k }
                blockZ.withUnsafeMutableBufferPointer { bz in
                    Self.copyZ(rows[start..<(start + g)], from: zBase, d: d, pd: pd, into: bz.baseAddress!)
                }
                committed.withUnsafeMutableBufferPointer { cb in
                    blockZ.withUnsafeBufferPointer { bz in
                        Self.commit(rowPointers, bz.baseAddress!, k: k, d: d, pd: pd, into: cb.baseAddress!)
                    }
                }
                start += g
                continue
            }
            let take = min(g - pendingCount, rows.count - start)
            let firstNew = pendingCount
            pendingR.withUnsafeMutableBufferPointer { br in
                for (o, i) in rows[start..<(start + take)].enumerated() {
                    (br.baseAddress! + (firstNew + o) &* k).update(from: rBase + i &* k, count: k)
                }
            }
            pendingZ.withUnsafeMutableBufferPointer { bz in
                Self.copyZ(rows[start..<(start + take)], from: zBase, d: d, pd: pd, into: bz.baseAddress! + firstNew &* pd)
            }
            pendingCount += take
            start += take
            if pendingCount == g {
                pendingR.withUnsafeBufferPointer { br in
                    for o in 0..<g { rowPointers[o] = br.baseAddress! + o &* k }
                    committed.withUnsafeMutableBufferPointer { cb in
                        pendingZ.withUnsafeBufferPointer { bz in
                            Self.commit(rowPointers, bz.baseAddress!, k: k, d: d, pd: pd, into: cb.baseAddress!)
                        }
                    }
                }
                pendingSums.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                pendingCount = 0
            } else {
                // These cells stay pending: count them exactly, after any earlier pending ones.
                addPendingExactly(from: firstNew)
            }
        }
        cells += rows.count
        sums.withUnsafeMutableBufferPointer { sb in
            committed.withUnsafeBufferPointer { cb in
                pendingSums.withUnsafeBufferPointer { pb in
                    for i in 0..<(k * d) { sb[i] = cb[i] + pb[i] }
                }
            }
        }
    }

    // Copies the z rows of `rows` into consecutive rows of stride pd (the padding columns stay as they are: 0).
    private static func copyZ(_ rows: ArraySlice<Int>, from z: UnsafePointer<Float>, d: Int, pd: Int,
                              into out: UnsafeMutablePointer<Float>) {
        for (o, i) in rows.enumerated() {
            let src = z + i &* d, dst = out + o &* pd
            for j in 0..<d { dst[j] = src[j] }
        }
    }

    // committed += R_blk^T Z_blk, the product in Float (fixed order: cell 0 to blockCells - 1, multiply-adds),
    // added into Double. `rows[i]` is the R row (K values) of block cell i, `z` its padded z rows.
    private static func commit(_ rows: [UnsafePointer<Float>], _ z: UnsafePointer<Float>, k: Int, d: Int, pd: Int,
                               into committed: UnsafeMutablePointer<Double>) {
        let pairSums = UnsafeMutablePointer<Float>.allocate(capacity: 2 * tile)
        defer { pairSums.deallocate() }
        rows.withUnsafeBufferPointer { rp in
            for t in stride(from: 0, to: pd, by: tile) {
                let width = min(tile, d - t)
                var c = 0
                while c < k {
                    let pair = c + 1 < k
                    blockTile(rp.baseAddress!, z, pd: pd, cells: rp.count, column: t, cluster: c, pair: pair,
                              into: pairSums)
                    let first = committed + (c &* d &+ t)
                    for j in 0..<width { first[j] += Double(pairSums[j]) }
                    if pair {
                        let second = first + d
                        for j in 0..<width { second[j] += Double(pairSums[tile + j]) }
                    }
                    c += 2
                }
            }
        }
    }

    // Float sums over the block's cells of R_ic z_i[column..<column+32] (and of cluster c + 1 when `pair`),
    // written to out[0..<32] (and out[32..<64]).
    @inline(__always)
    private static func blockTile(_ r: UnsafePointer<UnsafePointer<Float>>, _ z: UnsafePointer<Float>, pd: Int,
                                  cells: Int, column: Int, cluster c: Int, pair: Bool,
                                  into out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        let zb = UnsafeRawPointer(z + column)
        let second = pair ? c + 1 : c
        for i in 0..<cells {
            let row = zb + i &* pd &* 4
            let z0 = row.loadUnaligned(as: SIMD8<Float>.self)
            let z1 = row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let z2 = row.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            let z3 = row.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            let ra = SIMD8<Float>(repeating: r[i][c])
            let rs = SIMD8<Float>(repeating: r[i][second])
            a0.add(ra, times: z0); a1.add(ra, times: z1); a2.add(ra, times: z2); a3.add(ra, times: z3)
            b0.add(rs, times: z0); b1.add(rs, times: z1); b2.add(rs, times: z2); b3.add(rs, times: z3)
        }
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: a0, as: SIMD8<Float>.self)
        o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
        o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
        o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
        o.storeBytes(of: b0, toByteOffset: 128, as: SIMD8<Float>.self)
        o.storeBytes(of: b1, toByteOffset: 160, as: SIMD8<Float>.self)
        o.storeBytes(of: b2, toByteOffset: 192, as: SIMD8<Float>.self)
        o.storeBytes(of: b3, toByteOffset: 224, as: SIMD8<Float>.self)
    }

    // pendingSums += R_ik z_ij for the pending cells from block row `first` on, one cell after another.
    private mutating func addPendingExactly(from first: Int) {
        let k = self.k, d = self.d, pd = paddedD
        pendingR.withUnsafeBufferPointer { br in
            pendingZ.withUnsafeBufferPointer { bz in
                pendingSums.withUnsafeMutableBufferPointer { sb in
                    for row in first..<pendingCount {
                        let rRow = br.baseAddress! + row &* k, zRow = bz.baseAddress! + row &* pd
                        for c in 0..<k {
                            let w = Double(rRow[c])
                            let out = sb.baseAddress! + c &* d
                            for j in 0..<d { out[j] += w * Double(zRow[j]) }
                        }
                    }
                }
            }
        }
    }
}
