// The search of one group of queries (those sharing a nearest list) in `NearestNeighborIndex`; see the
// header of NearestNeighborIndex.swift for the algorithm and its exactness argument. One function per phase:
// the group's distances to every list centroid (`QueryGroup`), then for each list in visiting order the
// queries its bounds cannot prune, their coordinates centred on the list, their dot products with its points
// and the candidate scan; last the exact re-ranking.

/// Searches the inverted lists for one group of queries at a time, reusing its scratch buffers.
struct ListSearcher {
    let index: NearestNeighborIndex
    /// Neighbours returned per query.
    let k: Int
    /// Candidates kept per query (k + `extraCandidates`, for the exact re-ranking).
    let keep: Int
    private var dots: [Float] = []
    private var block: [Float] = []
    // |q - c_l|^2 of each selected query for the list being scanned.
    private var blockNorms: [Float] = []
    // The group's queries (positions in the group) that the bounds do not prune for the list being scanned.
    private var selected: [Int] = []

    init(index: NearestNeighborIndex, k: Int) {
        self.index = index
        self.k = k
        self.keep = min(k + NearestNeighborIndex.extraCandidates, index.count)
    }

    /// The k nearest points (original indices, distances) of the queries `rows` of `queries` (row-major, d).
    mutating func search(queries: [Float], rows: [Int], group: Int) -> (indices: [Int32], distances: [Float]) {
        var g = QueryGroup(index: index, queries: queries, rows: rows, group: group, keep: keep)
        for l in g.visitingOrder() where index.listStart[l + 1] > index.listStart[l] {
            selectQueries(g, list: l)
            if selected.isEmpty { continue }
            centre(&g, on: l)
            computeDots(list: l)
            scan(&g, list: l)
        }
        return rerank(queries: queries, rows: rows, bestI: g.bestI, bestD: g.bestD, errorScale: g.errorScale)
    }

    // Fills `selected` with the queries of the group whose lower bound on their distance to list l's points does
    // not exceed their current k-th candidate (with slack).
    private mutating func selectQueries(_ g: QueryGroup, list l: Int) {
        selected.removeAll(keepingCapacity: true)
        // Hyperplane bound: every point of list l is on l's side of the bisector between c_g and c_l (up to
        // `assignSlack`, the rounding of the float assignment), and a query's distance to that bisector is
        // (|q - c_l|^2 - |q - c_g|^2) / (2 |c_l - c_g|); `gemmSlack` covers the float squared distances.
        let m = g.count
        let cgl = g.centerDistance[l].squareRoot()
        let cnl = index.centroidNorms[l], cng = index.centroidNorms[g.group]
        let assignSlack = 2e-5 * (index.listMaxNorm[l] + cnl + cng)
        for r in 0..<m {
            var lb = max(g.toCentroid[l * m + r] - index.radius[l], 0)
            if l != g.group && cgl > 0 {
                let tl = g.toCentroid[l * m + r]
                let gemmSlack = 2e-5 * (2 * g.qnorm[r] + cnl + cng)
                let h = (tl * tl - g.toGroup[r] - gemmSlack - assignSlack) / (2 * cgl * (1 + 1e-5))
                lb = max(lb, h)
            }
            let threshold = g.bestD[r * keep + keep - 1]
            // Slack covers float rounding of the GEMM distances, so the bound never prunes a true neighbour.
            if lb * lb <= threshold * 1.0001 + 1e-6 * g.qnorm[r] { selected.append(r) }
        }
    }

    // The selected queries minus list l's centroid into `block` (rows), their squared norms into `blockNorms`,
    // and each one's float error scale updated with (|q - c_l| + r_l)^2.
    private mutating func centre(_ g: inout QueryGroup, on l: Int) {
        let s = selected.count, d = index.dimension
        if block.count < s * d { block = [Float](repeating: 0, count: s * d) }
        if blockNorms.count < s { blockNorms = [Float](repeating: 0, count: s) }
        for (row, r) in selected.enumerated() {
            var ss = 0.0
            for j in 0..<d {
                let v = Float(Double(g.q[r * d + j]) - Double(index.centroids[l * d + j]))
                block[row * d + j] = v
                ss += Double(v) * Double(v)
            }
            blockNorms[row] = Float(ss)
            let reach = ss.squareRoot() + Double(index.radius[l])
            g.errorScale[r] = max(g.errorScale[r], reach * reach)
        }
    }

    // dots[row * size + p] = centred query `row` . centred point p of list l.
    private mutating func computeDots(list l: Int) {
        let lo = index.listStart[l], size = index.listStart[l + 1] - lo
        let s = selected.count, d = index.dimension
        if dots.count < s * size { dots = [Float](repeating: 0, count: s * size) }
        index.points.withUnsafeBufferPointer { pb in
            block.withUnsafeBufferPointer { bb in
                dots.withUnsafeMutableBufferPointer { out in
                    ListSearcher.dotProducts(bb.baseAddress!, rows: s, dims: d, points: pb.baseAddress! + lo * d,
                                             size: size, into: out.baseAddress!)
                }
            }
        }
    }

    // Offers every point of list l to each selected query's candidates.
    private func scan(_ g: inout QueryGroup, list l: Int) {
        let lo = index.listStart[l], size = index.listStart[l + 1] - lo
        let keep = self.keep
        dots.withUnsafeBufferPointer { db in
            index.norms.withUnsafeBufferPointer { norms in
                index.originalIndex.withUnsafeBufferPointer { ids in
                    g.bestD.withUnsafeMutableBufferPointer { bd in
                        g.bestI.withUnsafeMutableBufferPointer { bi in
                            let list = ListPoints(norms: norms.baseAddress! + lo, ids: ids.baseAddress! + lo, size: size)
                            for (row, r) in selected.enumerated() {
                                var candidates = Candidates(distances: bd.baseAddress! + r * keep,
                                                            ids: bi.baseAddress! + r * keep, keep: keep)
                                candidates.scan(list, dots: db.baseAddress! + row * size, queryNorm: blockNorms[row])
                            }
                        }
                    }
                }
            }
        }
    }

    /// out[row * size + p] = block[row] . point p, for `rows` query rows (row-major, `dims`) and the `size` points of
    /// one list stored dimension-major (`NearestNeighborIndex.points`). Float sums of `dims` products, whose
    /// rounding the exactness bound covers in any order and with or without fused multiply-adds.
    // Speed: each sum is a chain of dependent multiply-adds (latency ~4 cycles, two issued a cycle), so a kernel needs
    // about eight independent chains to keep the units busy: four rows share each load of sixteen points, and a
    // leftover row (a single-cell request has one) runs alone over sixty-four points at a time.
    static func dotProducts(_ block: UnsafePointer<Float>, rows: Int, dims d: Int, points: UnsafePointer<Float>,
                            size: Int, into out: UnsafeMutablePointer<Float>) {
        var row = 0
        while row + 4 <= rows {
            fourRows(block + row * d, dims: d, points: points, size: size, into: out + row * size)
            row += 4
        }
        while row < rows {
            oneRow(block + row * d, dims: d, points: points, size: size, into: out + row * size)
            row += 1
        }
    }

    // Four consecutive query rows of `block` against every point.
    private static func fourRows(_ b0: UnsafePointer<Float>, dims d: Int, points: UnsafePointer<Float>, size: Int,
                                 into out: UnsafeMutablePointer<Float>) {
        let b1 = b0 + d, b2 = b1 + d, b3 = b2 + d
        var p = 0
        while p + 16 <= size {
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
            var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
            var column = points + p
            for j in 0..<d {
                let v0 = FloatRows.load(column, 0), v1 = FloatRows.load(column, 8)
                let s0 = SIMD8(repeating: b0[j]), s1 = SIMD8(repeating: b1[j])
                let s2 = SIMD8(repeating: b2[j]), s3 = SIMD8(repeating: b3[j])
                a00 = a00.adding(v0, times: s0); a01 = a01.adding(v1, times: s0)
                a10 = a10.adding(v0, times: s1); a11 = a11.adding(v1, times: s1)
                a20 = a20.adding(v0, times: s2); a21 = a21.adding(v1, times: s2)
                a30 = a30.adding(v0, times: s3); a31 = a31.adding(v1, times: s3)
                column += size
            }
            FloatRows.store(a00, out, p); FloatRows.store(a01, out, p + 8)
            FloatRows.store(a10, out + size, p); FloatRows.store(a11, out + size, p + 8)
            FloatRows.store(a20, out + 2 * size, p); FloatRows.store(a21, out + 2 * size, p + 8)
            FloatRows.store(a30, out + 3 * size, p); FloatRows.store(a31, out + 3 * size, p + 8)
            p += 16
        }
        for r in 0..<4 { tail(b0 + r * d, dims: d, points: points, size: size, from: p, into: out + r * size) }
    }

    // One query row against every point.
    private static func oneRow(_ b: UnsafePointer<Float>, dims d: Int, points: UnsafePointer<Float>, size: Int,
                               into out: UnsafeMutablePointer<Float>) {
        var p = 0
        while p + 64 <= size {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var column = points + p
            for j in 0..<d {
                let s = SIMD8(repeating: b[j])
                a0 = a0.adding(FloatRows.load(column, 0), times: s)
                a1 = a1.adding(FloatRows.load(column, 8), times: s)
                a2 = a2.adding(FloatRows.load(column, 16), times: s)
                a3 = a3.adding(FloatRows.load(column, 24), times: s)
                a4 = a4.adding(FloatRows.load(column, 32), times: s)
                a5 = a5.adding(FloatRows.load(column, 40), times: s)
                a6 = a6.adding(FloatRows.load(column, 48), times: s)
                a7 = a7.adding(FloatRows.load(column, 56), times: s)
                column += size
            }
            FloatRows.store(a0, out, p); FloatRows.store(a1, out, p + 8)
            FloatRows.store(a2, out, p + 16); FloatRows.store(a3, out, p + 24)
            FloatRows.store(a4, out, p + 32); FloatRows.store(a5, out, p + 40)
            FloatRows.store(a6, out, p + 48); FloatRows.store(a7, out, p + 56)
            p += 64
        }
        tail(b, dims: d, points: points, size: size, from: p, into: out)
    }

    // Points `from` ..< size for one row: eight at a time, then one at a time.
    private static func tail(_ b: UnsafePointer<Float>, dims d: Int, points: UnsafePointer<Float>, size: Int, from: Int,
                             into out: UnsafeMutablePointer<Float>) {
        var p = from
        while p + 8 <= size {
            var a = SIMD8<Float>()
            var column = points + p
            for j in 0..<d {
                a = a.adding(FloatRows.load(column, 0), times: SIMD8(repeating: b[j]))
                column += size
            }
            FloatRows.store(a, out, p)
            p += 8
        }
        while p < size {
            var sum: Float = 0
            for j in 0..<d { sum = sum.adding(b[j], times: points[j * size + p]) }
            out[p] = sum
            p += 1
        }
    }

    /// Exact Double distances for the kept candidates; the k best by (distance, index). A query whose answer the
    /// float error bound cannot certify is answered by an exact scan of every point.
    private func rerank(queries: [Float], rows: [Int], bestI: [Int32], bestD: [Float],
                        errorScale: [Double]) -> (indices: [Int32], distances: [Float]) {
        let d = index.dimension, n = index.count
        var outI = [Int32](repeating: -1, count: rows.count * k)
        var outD = [Float](repeating: .infinity, count: rows.count * k)
        let unit = NearestNeighborIndex.floatErrorUnit * Double(d + 4)
        // One query's candidates (ids, then their exact distances), sorted by (distance, index).
        var ids = [Int32](repeating: 0, count: keep), exact = [Double](repeating: 0, count: keep)
        queries.withUnsafeBufferPointer { q in
            index.original.withUnsafeBufferPointer { x in
                for (r, i) in rows.enumerated() {
                    var m = 0
                    for c in 0..<keep where bestI[r * keep + c] != Int32.max {
                        ids[m] = bestI[r * keep + c]
                        m += 1
                    }
                    ListSearcher.squaredDistances(q.baseAddress! + i * d, original: x.baseAddress!, ids: ids, count: m,
                                                  dims: d, into: &exact)
                    ListSearcher.sortByDistance(&exact, &ids, count: m)
                    // Every point not kept had a float distance >= the last kept one's; it is certainly farther than
                    // the k-th when that float distance, less the error bound, exceeds the k-th exact distance.
                    let last = Double(bestD[r * keep + keep - 1])
                    if keep < n, last.isFinite, m >= k, !(last - unit * errorScale[r] > exact[k - 1]) {
                        var distances = [Double](repeating: 0, count: n)
                        ListSearcher.squaredDistances(q.baseAddress! + i * d, original: x.baseAddress!,
                                                      ids: (0..<n).map { Int32($0) }, count: n, dims: d, into: &distances)
                        let order = (0..<n).sorted {
                            distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1)
                        }
                        for c in 0..<min(k, n) {
                            outI[r * k + c] = Int32(order[c])
                            outD[r * k + c] = Float(distances[order[c]].squareRoot())
                        }
                        continue
                    }
                    for c in 0..<min(k, m) {
                        outI[r * k + c] = ids[c]
                        outD[r * k + c] = Float(exact[c].squareRoot())
                    }
                }
            }
        }
        return (outI, outD)
    }

    /// out[c] = |q - x_ids[c]|^2 in Double for c < count, with x the original points (N x d). Each distance is the
    /// sum over j in increasing order of (Double(q_j) - Double(x_j))^2, a multiply then an add; four candidates go
    /// through the same operations side by side in SIMD lanes, so the bits are those of a scalar loop.
    static func squaredDistances(_ q: UnsafePointer<Float>, original x: UnsafePointer<Float>, ids: [Int32], count: Int,
                                 dims d: Int, into out: inout [Double]) {
        var c = 0
        while c + 4 <= count {
            let p0 = x + Int(ids[c]) * d, p1 = x + Int(ids[c + 1]) * d
            let p2 = x + Int(ids[c + 2]) * d, p3 = x + Int(ids[c + 3]) * d
            var sum = SIMD4<Double>()
            for j in 0..<d {
                let diff = SIMD4<Double>(repeating: Double(q[j]))
                    - SIMD4<Double>(Double(p0[j]), Double(p1[j]), Double(p2[j]), Double(p3[j]))
                sum += diff * diff
            }
            for lane in 0..<4 { out[c + lane] = sum[lane] }
            c += 4
        }
        while c < count {
            let p = x + Int(ids[c]) * d
            var sum = 0.0
            for j in 0..<d {
                let diff = Double(q[j]) - Double(p[j])
                sum += diff * diff
            }
            out[c] = sum
            c += 1
        }
    }

    /// Sorts the first `count` (distance, id) pairs by distance, then id (insertion sort: a dozen candidates).
    static func sortByDistance(_ distances: inout [Double], _ ids: inout [Int32], count: Int) {
        distances.withUnsafeMutableBufferPointer { d in
            ids.withUnsafeMutableBufferPointer { i in
                for c in 1..<max(count, 1) {
                    insertByDistance(d[c], i[c], at: c, distances: d.baseAddress!, ids: i.baseAddress!)
                }
            }
        }
    }
}

/// Puts (dist, id) in slot `pos` or, moving the slots before it up by one, before the first of them that comes
/// after it by (distance, index); the slots before `pos` are sorted that way.
@inline(__always)
private func insertByDistance<D: BinaryFloatingPoint>(_ dist: D, _ id: Int32, at pos: Int,
                                                      distances: UnsafeMutablePointer<D>, ids: UnsafeMutablePointer<Int32>) {
    var pos = pos
    while pos > 0 && (distances[pos - 1] > dist || (distances[pos - 1] == dist && ids[pos - 1] > id)) {
        distances[pos] = distances[pos - 1]
        ids[pos] = ids[pos - 1]
        pos -= 1
    }
    distances[pos] = dist
    ids[pos] = id
}

/// One group of queries (those sharing a nearest list) during a search: the queries, their distances to the list
/// centroids, and each query's best candidates so far.
private struct QueryGroup {
    /// The group's list.
    let group: Int
    /// Number of queries.
    let count: Int
    /// The queries (count x d) and their squared norms.
    let q: [Float]
    let qnorm: [Float]
    // |q - c_l| for every list l and query r at l * count + r (list-major, so the pruning pass reads one
    // contiguous row), and the squared distance of each query to its own group's centroid.
    let toCentroid: [Float]
    let toGroup: [Float]
    /// |c_l - c_group|^2 for every list l.
    let centerDistance: [Float]
    /// Per query, its `keep` best candidates so far (float distance, original index), sorted by both.
    var bestD: [Float]
    var bestI: [Int32]
    /// Per query, the largest (|q - c_l| + r_l)^2 over the lists scanned: the scale of the float error.
    var errorScale: [Double]

    init(index: NearestNeighborIndex, queries: [Float], rows: [Int], group: Int, keep: Int) {
        let m = rows.count, d = index.dimension, lists = index.listCount
        self.group = group
        count = m
        var q = [Float](repeating: 0, count: m * d)
        var qnorm = [Float](repeating: 0, count: m)
        for (r, i) in rows.enumerated() {
            var ss = 0.0
            for j in 0..<d {
                let v = queries[i * d + j]
                q[r * d + j] = v
                ss += Double(v) * Double(v)
            }
            qnorm[r] = Float(ss)
        }
        // Distances from each query to each list centroid, stored list-major (lists x m).
        var toCentroid = [Float](repeating: 0, count: m * lists)
        BLAS.sgemm(transB: true, m: lists, n: m, k: d, alpha: 1,
                   a: index.centroids, lda: d, b: q, ldb: d, beta: 0, c: &toCentroid, ldc: m)
        // Squared distances (float, up to GEMM rounding) to every centroid; the group's own column is kept.
        var toGroup = [Float](repeating: 0, count: m)
        toCentroid.withUnsafeMutableBufferPointer { tc in
            for l in 0..<lists {
                let cn = index.centroidNorms[l]
                for r in 0..<m {
                    let s = qnorm[r] + cn - 2 * tc[l * m + r]
                    tc[l * m + r] = max(s, 0)
                }
            }
            for r in 0..<m { toGroup[r] = tc[group * m + r] }
            for e in 0..<(lists * m) { tc[e] = tc[e].squareRoot() }
        }
        self.q = q
        self.qnorm = qnorm
        self.toCentroid = toCentroid
        self.toGroup = toGroup
        centerDistance = (0..<lists).map { l in
            var s: Float = 0
            for j in 0..<d {
                let diff = index.centroids[l * d + j] - index.centroids[group * d + j]
                s += diff * diff
            }
            return s
        }
        bestD = [Float](repeating: .infinity, count: m * keep)
        bestI = [Int32](repeating: Int32.max, count: m * keep)
        errorScale = [Double](repeating: 0, count: m)
    }

    /// The lists in order of distance from the group's own centroid (the closest lists tighten bounds first).
    func visitingOrder() -> [Int] {
        Array(centerDistance.indices).sorted {
            centerDistance[$0] < centerDistance[$1] || (centerDistance[$0] == centerDistance[$1] && $0 < $1)
        }
    }
}

/// The points of one list as the candidate scan reads them: squared norms and original indices, in list order.
private struct ListPoints {
    let norms: UnsafePointer<Float>
    let ids: UnsafePointer<Int32>
    let size: Int
}

/// One query's `keep` best candidates (float distance, original index), sorted by (distance, index), in place in
/// the group's arrays.
private struct Candidates {
    let distances: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int32>
    let keep: Int
    /// The largest distance kept (infinity until `keep` candidates were offered).
    private var threshold: Float
    /// Bit `lane` in lane `lane`: summing the selected lanes gives a mask of them.
    private static let laneBits = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)

    init(distances: UnsafeMutablePointer<Float>, ids: UnsafeMutablePointer<Int32>, keep: Int) {
        self.distances = distances
        self.ids = ids
        self.keep = keep
        threshold = distances[keep - 1]
    }

    /// Offers every point of `list` at distance |q|^2 + |p|^2 - 2 q.p (centred coordinates), with `dots` the
    /// query's dot products with the list's points. Eight distances at a time (the same operations per lane as
    /// the scalar tail); most groups of eight hold no candidate and cost one comparison.
    @inline(__always)
    mutating func scan(_ list: ListPoints, dots: UnsafePointer<Float>, queryNorm qn: Float) {
        let size = list.size, nb = list.norms
        let wide = size - size % 8
        let qnv = SIMD8<Float>(repeating: qn)
        var p = 0
        while p < wide {
            let nbv = FloatRows.load(nb, p)
            let dv = FloatRows.load(dots, p)
            let dist = qnv + nbv - 2 * dv
            // Only the lanes within the threshold as it stood are offered (lowest first, as the scalar order);
            // `offer` checks each against the threshold as it tightens.
            var lanes = Self.laneBits.replacing(with: 0, where: .!(dist .<= SIMD8<Float>(repeating: threshold)))
                .wrappedSum()
            while lanes != 0 {
                let lane = lanes.trailingZeroBitCount
                offer(list.ids[p + lane], dist[lane])
                lanes &= lanes - 1
            }
            p += 8
        }
        while p < size {
            offer(list.ids[p], qn + nb[p] - 2 * dots[p])
            p += 1
        }
    }

    /// Inserts point `id` at distance `dist` unless it is beyond the kept ones.
    @inline(__always)
    private mutating func offer(_ id: Int32, _ dist: Float) {
        if dist > threshold { return }
        if dist == threshold && id > ids[keep - 1] { return }
        // The last kept candidate drops out; the row stays sorted by (distance, index).
        insertByDistance(dist, id, at: keep - 1, distances: distances, ids: ids)
        threshold = distances[keep - 1]
    }
}
