// Dot products of unit rows with the K means (or anchors) of the k-means start, and each row's nearest mean,
// without an sgemm (KMeansStart, LloydStep).
//
// score_ik = |mu_k|^2 - 2 z_i . mu_k; the nearest mean is the smallest score, ties to the lowest k.
// The means are kept transposed (d x Kp, Kp = K rounded up to 8, padding columns 0 with norm +inf so they never
// win). Four rows and sixteen means at a time are accumulated in registers: per dimension j two loads of means,
// four broadcasts of z_ij and eight multiply-adds (MultiplyAdd.swift: fused in a build for FMA hardware). Each dot
// product is one chain of multiply-adds in increasing j from 0, whatever the tile, so the products do not depend on the BLAS build (OpenBLAS's sgemm
// rounds some edge tiles differently, by an ulp); there is no zeroing and packing of every block either, which
// cost a third of sgemm's time at inner dimension d = 30. `nearest` never writes the scores.
// Float, as the fit's embedding: the argmin only ranks scores, and the means are summed in Double by the caller.

/// The means (or anchors) of the k-means start laid out for `nearest` and `dots`.
struct NearestMeanKernel: Sendable {
    /// Columns of the transposed means: K rounded up to a multiple of 8.
    static func padded(_ kc: Int) -> Int { (kc + 7) / 8 * 8 }

    let dims: Int
    let clusters: Int
    /// Means transposed, d x Kp.
    private let transposed: [Float]
    /// |mu_k|^2 (summed in Float in increasing j, without fused multiply-adds), +inf for padding columns.
    private let norms: [Float]

    /// The layout of `means` (K x d, row-major).
    init(means: [Float], dims d: Int, clusters kc: Int) {
        let kp = NearestMeanKernel.padded(kc)
        var transposed = [Float](repeating: 0, count: d * kp)
        var norms = [Float](repeating: .infinity, count: kp)
        for k in 0..<kc {
            var norm: Float = 0
            for j in 0..<d {
                let x = means[k * d + j]
                transposed[j * kp + k] = x
                norm += x * x
            }
            norms[k] = norm
        }
        dims = d
        clusters = kc
        self.transposed = transposed
        self.norms = norms
    }

    /// Writes the nearest mean of each of `count` rows (stride d) into `out`.
    func nearest(rows: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Int32>) {
        let d = dims, kp = NearestMeanKernel.padded(clusters)
        transposed.withUnsafeBufferPointer { tBuf in
            norms.withUnsafeBufferPointer { nBuf in
                let mt = tBuf.baseAddress!, norm = nBuf.baseAddress!
                var r = 0
                while r < count {
                    // A last group of fewer than four rows repeats its last row (its results are not stored).
                    let z = NearestMeanKernel.fourRows(rows, from: r, count: count, dims: d)
                    // Per row and lane: the smallest score seen in that lane and its k (the first one on ties).
                    var best0 = SIMD8<Float>(repeating: .infinity), best1 = best0, best2 = best0, best3 = best0
                    var at0 = SIMD8<Int32>(repeating: 0), at1 = at0, at2 = at0, at3 = at0
                    var c = 0
                    while c < kp {
                        let wide = c + 16 <= kp
                        let a = NearestMeanKernel.tile(z, column: c, wide: wide, dims: d, transposed: mt, padded: kp)
                        let n0 = UnsafeRawPointer(norm + c).loadUnaligned(as: SIMD8<Float>.self)
                        let k0 = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &+ Int32(c)
                        keep(n0 - 2 * a.0, k0, &best0, &at0)
                        keep(n0 - 2 * a.2, k0, &best1, &at1)
                        keep(n0 - 2 * a.4, k0, &best2, &at2)
                        keep(n0 - 2 * a.6, k0, &best3, &at3)
                        if wide {
                            let n1 = UnsafeRawPointer(norm + c + 8).loadUnaligned(as: SIMD8<Float>.self)
                            let k1 = k0 &+ 8
                            keep(n1 - 2 * a.1, k1, &best0, &at0)
                            keep(n1 - 2 * a.3, k1, &best1, &at1)
                            keep(n1 - 2 * a.5, k1, &best2, &at2)
                            keep(n1 - 2 * a.7, k1, &best3, &at3)
                        }
                        c += wide ? 16 : 8
                    }
                    let best = SIMD4(first(best0, at0), first(best1, at1), first(best2, at2), first(best3, at3))
                    for lane in 0..<min(4, count - r) { out[r + lane] = best[lane] }
                    r += 4
                }
            }
        }
    }

    /// Writes the dot products of `count` rows (stride d) with every mean into `out` (row stride Kp; the
    /// padding columns get 0).
    func dots(rows: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let d = dims, kp = NearestMeanKernel.padded(clusters)
        transposed.withUnsafeBufferPointer { tBuf in
            let mt = tBuf.baseAddress!
            var r = 0
            while r < count {
                let z = NearestMeanKernel.fourRows(rows, from: r, count: count, dims: d)
                let stored = min(4, count - r)
                var c = 0
                while c < kp {
                    let wide = c + 16 <= kp
                    let a = NearestMeanKernel.tile(z, column: c, wide: wide, dims: d, transposed: mt, padded: kp)
                    let line = out + r * kp + c
                    NearestMeanKernel.store(a.0, a.1, wide: wide, at: line)
                    if stored > 1 { NearestMeanKernel.store(a.2, a.3, wide: wide, at: line + kp) }
                    if stored > 2 { NearestMeanKernel.store(a.4, a.5, wide: wide, at: line + 2 * kp) }
                    if stored > 3 { NearestMeanKernel.store(a.6, a.7, wide: wide, at: line + 3 * kp) }
                    c += wide ? 16 : 8
                }
                r += 4
            }
        }
    }

    /// Eight or sixteen dot products of one row.
    @inline(__always)
    private static func store(_ low: SIMD8<Float>, _ high: SIMD8<Float>, wide: Bool, at line: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(line).storeBytes(of: low, as: SIMD8<Float>.self)
        if wide { UnsafeMutableRawPointer(line + 8).storeBytes(of: high, as: SIMD8<Float>.self) }
    }

    /// Rows r ..< r + 4, the last one repeated past `count`.
    @inline(__always)
    private static func fourRows(_ rows: UnsafePointer<Float>, from r: Int, count: Int, dims d: Int)
        -> (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) {
        (rows + r * d, rows + min(r + 1, count - 1) * d, rows + min(r + 2, count - 1) * d,
         rows + min(r + 3, count - 1) * d)
    }

    /// Dot products of four rows with columns c ..< c + 16 (or c ..< c + 8 unless `wide`): row 0's two halves,
    /// then row 1's, ...
    @inline(__always)
    private static func tile(_ z: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
                             column c: Int, wide: Bool, dims d: Int, transposed mt: UnsafePointer<Float>, padded kp: Int)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        var a00 = SIMD8<Float>(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00
        var m = mt + c
        if wide {
            for j in 0..<d {
                let m0 = UnsafeRawPointer(m).loadUnaligned(as: SIMD8<Float>.self)
                let m1 = UnsafeRawPointer(m + 8).loadUnaligned(as: SIMD8<Float>.self)
                let x0 = SIMD8<Float>(repeating: z.0[j]), x1 = SIMD8<Float>(repeating: z.1[j])
                a00 = a00.adding(x0, times: m0); a01 = a01.adding(x0, times: m1)
                a10 = a10.adding(x1, times: m0); a11 = a11.adding(x1, times: m1)
                let x2 = SIMD8<Float>(repeating: z.2[j]), x3 = SIMD8<Float>(repeating: z.3[j])
                a20 = a20.adding(x2, times: m0); a21 = a21.adding(x2, times: m1)
                a30 = a30.adding(x3, times: m0); a31 = a31.adding(x3, times: m1)
                m += kp
            }
        } else {
            for j in 0..<d {
                let m0 = UnsafeRawPointer(m).loadUnaligned(as: SIMD8<Float>.self)
                a00 = a00.adding(SIMD8<Float>(repeating: z.0[j]), times: m0)
                a10 = a10.adding(SIMD8<Float>(repeating: z.1[j]), times: m0)
                a20 = a20.adding(SIMD8<Float>(repeating: z.2[j]), times: m0)
                a30 = a30.adding(SIMD8<Float>(repeating: z.3[j]), times: m0)
                m += kp
            }
        }
        return (a00, a01, a10, a11, a20, a21, a30, a31)
    }

    /// Lane-wise: takes `score` where it is strictly smaller (columns arrive in increasing k per lane).
    @inline(__always)
    private func keep(_ score: SIMD8<Float>, _ k: SIMD8<Int32>, _ best: inout SIMD8<Float>,
                      _ at: inout SIMD8<Int32>) {
        let better = score .< best
        best.replace(with: score, where: better)
        at.replace(with: k, where: better)
    }

    /// The lowest k among the lanes holding the smallest score. Lane minima by halves with compares and blends:
    /// the generic `min()` and `pointwiseMin` are out-of-line calls.
    @inline(__always)
    private func first(_ best: SIMD8<Float>, _ at: SIMD8<Int32>) -> Int32 {
        let best4 = best.lowHalf.replacing(with: best.highHalf, where: best.highHalf .< best.lowHalf)
        let best2 = best4.lowHalf.replacing(with: best4.highHalf, where: best4.highHalf .< best4.lowHalf)
        let low = SIMD8<Float>(repeating: best2[1] < best2[0] ? best2[1] : best2[0])
        let at8 = at.replacing(with: .max, where: best .!= low)
        let at4 = at8.lowHalf.replacing(with: at8.highHalf, where: at8.highHalf .< at8.lowHalf)
        let at2 = at4.lowHalf.replacing(with: at4.highHalf, where: at4.highHalf .< at4.lowHalf)
        return at2[1] < at2[0] ? at2[1] : at2[0]
    }
}
