#if canImport(Glibc)
import Glibc
#endif

// The per-cell kernels of the assignment passes, written with SIMD8<Float> over clusters.
//
// Rows are padded to Kp = K rounded up to a multiple of 8: the logits rows (padding -1e30, so exp gives
// at most 1.2e-38 there, and sigma's zero padding removes those lanes from the objective sums), the penalty
// table rows and sigma (zeros). Sums run over 8 lanes in a fixed order, so a cell's result does not depend on
// anything but its inputs.
//
// Three kernels:
// - `assign`: softmax of logits plus log penalties, in log space (Harmony1, and any round without cached
//   exponentials);
// - `fill`: the unpenalised softmax of a fresh logits row, which also leaves e_i = exp(g_i - m_i) (m_i the row
//   maximum) in the cell's R row for the rounds that follow;
// - `assignCached`: a Harmony2 round's update from those exponentials and per-level penalty factors,
//   R_ik = e_ik prod_c f[b_c(i)][k] / S_i, with no exp per element.
// Each returns the cell's objective term T_i = sum_k R_ik D_ik + sum_k sigma_k R_ik ln R_ik. In the last two it
// comes without D: sigma_k g_ik = -D_ik and ln R_ik = g_ik - m_i + q_ik - ln S_i (q = ln f, summed over the
// cell's covariates), so T_i = sum_k sigma_k R_ik (q_ik - m_i - ln S_i) exactly.

/// Softmax of one cell's penalised logits, fused with its objective terms.
enum SoftmaxKernel {
    /// Value in the padding lanes of logits rows.
    static let padding: Float = -1e30

    /// K rounded up to a multiple of 8.
    @inline(__always)
    static func padded(_ k: Int) -> Int { (k + 7) & ~7 }

    /// A scratch area for `assign`: 2 rows of Kp floats.
    static func makeScratch(clusters kc: Int) -> UnsafeMutablePointer<Float> {
        let kp = padded(kc)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * kp)
        scratch.initialize(repeating: 0, count: 2 * kp)
        return scratch
    }

    // The largest of the kp (a multiple of 8) values at `row`, 8 lanes at a time.
    @inline(__always)
    private static func maximum(_ row: UnsafePointer<Float>, count kp: Int) -> Float {
        var top8 = FloatRows.load(row, 0)
        var k = 8
        while k < kp {
            let v = FloatRows.load(row, k)
            top8.replace(with: v, where: v .> top8)
            k += 8
        }
        return top8.max()
    }

    /// Computes R_i = softmax(logits + sum_c penalty[level_c]), writes it to `row` (K values) unless nil, adds
    /// it to the Kp rows `sums + slot_c * Kp` (one per covariate), and returns T_i (see the file header).
    /// `logits` is a Kp row whose padding holds `padding`; `penalty` rows and `sigma` are Kp long, zero-padded.
    @inline(__always)
    static func assign(logits g: UnsafePointer<Float>, levels: UnsafePointer<Int32>, slots: UnsafePointer<Int32>,
                       covariates: Int,
                       penalty: UnsafePointer<Float>?, sigma: UnsafePointer<Float>, clusters kc: Int,
                       row: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) -> Double {
        let kp = padded(kc)
        let e = scratch + kp
        // l = g + penalties (the padding stays about -1e30).
        var l = g
        if let penalty {
            var k = 0
            while k < kp {
                var v = FloatRows.load(g, k)
                for c in 0..<covariates { v += FloatRows.load(penalty + Int(levels[c]) * kp, k) }
                FloatRows.store(v, scratch, k)
                k += 8
            }
            l = UnsafePointer(scratch)
        }
        let top = maximum(l, count: kp)
        let shift = SIMD8<Float>(repeating: top)
        var sum8 = SIMD8<Float>.zero
        var k = 0
        while k < kp {
            let v = FastMath.exp(FloatRows.load(l, k) - shift)
            FloatRows.store(v, e, k)
            sum8 += v
            k += 8
        }
        let total = sum8.sum()
        let inverse = SIMD8<Float>(repeating: 1 / total)
        var kmeans8 = SIMD8<Float>.zero, weighted8 = SIMD8<Float>.zero, mass8 = SIMD8<Float>.zero
        k = 0
        while k < kp {
            let r = FloatRows.load(e, k) * inverse
            let sr = FloatRows.load(sigma, k) * r
            kmeans8.add(sr, times: FloatRows.load(g, k))
            weighted8.add(sr, times: FloatRows.load(l, k))
            mass8 += sr
            for c in 0..<covariates {
                let target = sums + Int(slots[c]) * kp
                FloatRows.store(FloatRows.load(target, k) + r, target, k)
            }
            if let row {
                if k + 8 <= kc {
                    FloatRows.store(r, row, k)
                } else {
                    for j in 0..<(kc - k) { row[k + j] = r[j] }
                }
            }
            k += 8
        }
        // sum_k R D = -sum_k sigma_k R_ik g_ik; sum_k sigma_k R ln R = sum_k sigma_k R_ik l_ik - lse sum_k sigma_k R_ik.
        let lse = Double(top) + log(Double(total))
        return Double(weighted8.sum()) - lse * Double(mass8.sum()) - Double(kmeans8.sum())
    }

    /// Below this row sum `assignCached` gives up (returns nil) and the caller recomputes the cell in log space.
    /// Why Float is safe above it: every product e_ik f_ik lies in [0, 1] (both factors are shifted to a
    /// maximum of 1), so S_i <= K and nothing overflows; a product that underflows (< 2^-126) weighs less than
    /// 2^-66 of S_i >= 2^-60, far below Float resolution; the K-term sum itself has the same rounding as the
    /// log-space kernel's.
    static let smallestCachedSum: Float = 0x1p-60

    /// The unpenalised softmax of the Kp logits row `g`: writes e_ik = exp(g_ik - m_i) (K values) to `cache`,
    /// adds R_i = e_i / S_i to the Kp rows `sums + slot_c * Kp`, and returns (m_i, T_i).
    @inline(__always)
    static func fill(logits g: UnsafePointer<Float>, slots: UnsafePointer<Int32>, covariates: Int,
                     sigma: UnsafePointer<Float>, clusters kc: Int, cache: UnsafeMutablePointer<Float>,
                     sums: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> (shift: Float, term: Double) {
        let kp = padded(kc)
        let top = maximum(g, count: kp)
        let shift = SIMD8<Float>(repeating: top)
        var sum8 = SIMD8<Float>.zero
        var k = 0
        while k < kp {
            var v = FastMath.exp(FloatRows.load(g, k) - shift)
            // Padding lanes hold exp(-87.3), not 0; the cache has no padding, so they leave S_i as well.
            if k + 8 > kc { for j in (kc - k)..<8 { v[j] = 0 } }
            FloatRows.store(v, scratch, k)
            sum8 += v
            k += 8
        }
        return (top, finish(scratch, total: sum8.sum(), shift: top, logFactors: nil, levels: nil, slots: slots,
                            covariates: covariates, sigma: sigma, clusters: kc, cache: cache, row: nil, sums: sums))
    }

    /// A Harmony2 round's update of one cell from its cached exponentials (a Kp row with zero padding, shift
    /// `shift` = m_i) and the per-level penalty factors `factors` f = exp(q) and their logs `logFactors` q (Kp rows, zero
    /// padding, each row's maximum over clusters shifted to f = 1): R_ik = e_ik prod_c f[level_c][k] / S_i,
    /// written to `row` unless nil, added to the rows `sums + slot_c * Kp`. Returns
    /// T_i, or nil when S_i < `smallestCachedSum` (nothing written or added).
    @inline(__always)
    static func assignCached(exponentials cache: UnsafePointer<Float>, shift: Float, levels: UnsafePointer<Int32>,
                             slots: UnsafePointer<Int32>, covariates: Int, factors: UnsafePointer<Float>,
                             logFactors: UnsafePointer<Float>, sigma: UnsafePointer<Float>, clusters kc: Int,
                             row: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Float>,
                             scratch: UnsafeMutablePointer<Float>) -> Double? {
        let kp = padded(kc)
        var sum8 = SIMD8<Float>.zero
        var k = 0
        while k < kp {
            var v = FloatRows.load(cache, k)
            for c in 0..<covariates { v *= FloatRows.load(factors + Int(levels[c]) * kp, k) }
            FloatRows.store(v, scratch, k)
            sum8 += v
            k += 8
        }
        let total = sum8.sum()
        guard total >= smallestCachedSum else { return nil }
        return finish(scratch, total: total, shift: shift, logFactors: logFactors, levels: levels, slots: slots,
                      covariates: covariates, sigma: sigma, clusters: kc, cache: nil, row: row, sums: sums)
    }

    /// Shared end of `fill` and `assignCached`: the unnormalised row u (Kp, in `scratch`) with sum S becomes
    /// R = u / S; adds R to the slot sums, writes it to `row` (or u itself to `cache`) and returns
    /// T = sum_k sigma_k R_k (q_k - m - ln S).
    @inline(__always)
    private static func finish(_ u: UnsafePointer<Float>, total: Float, shift: Float, logFactors: UnsafePointer<Float>?,
                               levels: UnsafePointer<Int32>?, slots: UnsafePointer<Int32>, covariates: Int,
                               sigma: UnsafePointer<Float>, clusters kc: Int, cache: UnsafeMutablePointer<Float>?,
                               row: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Float>) -> Double {
        let kp = padded(kc)
        let inverse = SIMD8<Float>(repeating: 1 / total)
        var weighted8 = SIMD8<Float>.zero, mass8 = SIMD8<Float>.zero
        var k = 0
        while k < kp {
            let raw = FloatRows.load(u, k)
            let r = raw * inverse
            let sr = FloatRows.load(sigma, k) * r
            if let logFactors, let levels {
                var q = FloatRows.load(logFactors + Int(levels[0]) * kp, k)
                for c in 1..<covariates { q += FloatRows.load(logFactors + Int(levels[c]) * kp, k) }
                weighted8.add(sr, times: q)
            }
            mass8 += sr
            for c in 0..<covariates {
                let target = sums + Int(slots[c]) * kp
                FloatRows.store(FloatRows.load(target, k) + r, target, k)
            }
            if let out = row ?? cache {
                let value = row == nil ? raw : r
                if k + 8 <= kc {
                    FloatRows.store(value, out, k)
                } else {
                    for j in 0..<(kc - k) { out[k + j] = value[j] }
                }
            }
            k += 8
        }
        return Double(weighted8.sum()) - (Double(shift) + log(Double(total))) * Double(mass8.sum())
    }
}
