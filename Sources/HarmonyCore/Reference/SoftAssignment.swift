// Query soft assignment without diversity penalty (Protocols/algorithm.md §5.2):
//   R_ik = softmax_k( -2 (1 - zhat_i . y_k) / sigma_k ),  zhat_i = z_i / |z_i|,
// max-shifted so the largest exponent is 0. The dot products are one SGEMM (n x d)(d x K); the exponentials
// use `FastMath.exp` (branch-free polynomial, vectorised by the compiler). Memory layout: every buffer row-major,
// cells in rows. Nothing here allocates per cell.
// The top cluster falls out of the softmax for free: it is the first index of the largest exponent (softmax is
// monotone), and since that exponent is shifted to exactly 0 and FastMath.exp(0) == 1 exactly, its probability
// is exactly 1 / sum, the value R holds there.

/// Soft assignment of cells to fixed unit centroids.
enum SoftAssignment {
    /// Writes R (n x K) for the n x d cells in `z` against the K x d unit centroids `y`, and each cell's top
    /// cluster (first on ties) with its probability. `scale[k]` = 2 / sigma_k. `zhat` is n x d scratch.
    static func assign(z: UnsafeBufferPointer<Float>, n: Int, d: Int, y: UnsafeBufferPointer<Float>, k: Int,
                       scale: UnsafeBufferPointer<Float>, zhat: UnsafeMutableBufferPointer<Float>,
                       into r: UnsafeMutableBufferPointer<Float>,
                       cluster: UnsafeMutableBufferPointer<Int32>, probability: UnsafeMutableBufferPointer<Float>) {
        guard n > 0 else { return }
        // Row norms in Double (four lanes, then the tail); a zero row stays zero and then gets a uniform row of R.
        let zp = z.baseAddress!, hp = zhat.baseAddress!
        for i in 0..<n {
            let row = zp + i &* d, out = hp + i &* d
            var acc = SIMD4<Double>()
            var j = 0
            while j &+ 4 <= d {
                let v = SIMD4<Double>(Double(row[j]), Double(row[j &+ 1]), Double(row[j &+ 2]), Double(row[j &+ 3]))
                acc.add(v, times: v)
                j &+= 4
            }
            var ss = acc.sum()
            while j < d {
                let v = Double(row[j])
                ss += v * v
                j &+= 1
            }
            let inv = ss > 0 ? Float(1 / ss.squareRoot()) : 0
            for j in 0..<d { out[j] = row[j] * inv }
        }
        BLAS.sgemm(transB: true, m: n, n: k, k: d, alpha: 1,
                    a: zhat.baseAddress!, lda: d, b: y.baseAddress!, ldb: d, beta: 0, c: r.baseAddress!, ldc: k)
        let base = r.baseAddress!
        for i in 0..<n {
            let (best, p) = softmaxRow(base + i * k, k: k, scale: scale.baseAddress!)
            cluster[i] = Int32(best)
            probability[i] = p
        }
    }

    /// Turns one row of dot products s_k into softmax_k((s_k - 1) scale_k) in place, 8 lanes at a time; returns
    /// the first index of the largest entry and that entry.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, k: Int,
                           scale: UnsafePointer<Float>) -> (index: Int, value: Float) {
        let wide = k - k % 8
        var top8 = SIMD8<Float>(repeating: -.infinity)
        var c = 0
        while c < wide {
            let a = (FloatRows.load(row, c) - 1) * FloatRows.load(scale, c)
            FloatRows.store(a, row, c)
            top8.replace(with: a, where: a .> top8)
            c += 8
        }
        var top = largest(top8)
        while c < k {
            row[c] = (row[c] - 1) * scale[c]
            top = max(top, row[c])
            c += 1
        }
        let best = firstIndex(of: top, in: row, k: k)
        // No reduction inside the exp loop, so the compiler vectorises it; the sum runs on 8 lanes.
        for c in 0..<k { row[c] = FastMath.exp(row[c] - top) }
        var sum8 = SIMD8<Float>()
        c = 0
        while c < wide {
            sum8 += FloatRows.load(row, c)
            c += 8
        }
        var sum = sum8.sum()
        while c < k {
            sum += row[c]
            c += 1
        }
        let inv = 1 / sum
        for c in 0..<k { row[c] *= inv }
        return (best, inv)
    }

    // The first index of `value` in row[0..<k]: the first 8-lane group holding it, then its lane.
    @inline(__always)
    static func firstIndex(of value: Float, in row: UnsafeMutablePointer<Float>, k: Int) -> Int {
        let wide = k - k % 8
        let target = SIMD8<Float>(repeating: value)
        var best = 0
        while best < wide && !any(FloatRows.load(row, best) .== target) { best &+= 8 }
        while best < k - 1 && row[best] != value { best &+= 1 }
        return best
    }

    // The largest lane (the generic `SIMD.max()` is not inlined).
    @inline(__always)
    static func largest(_ v: SIMD8<Float>) -> Float {
        let half = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        return Swift.max(Swift.max(half[0], half[1]), Swift.max(half[2], half[3]))
    }
}
