#if canImport(Glibc)
import Glibc
#endif

// The per-cell kernel of every assignment pass, written with SIMD8<Float> over clusters.
//
// Rows are padded to Kp = K rounded up to a multiple of 8: the logits rows (padding -1e30, so exp gives
// exactly 0 there and 0 * (-1e30) = 0 in the objective sums), the penalty table rows and sigma (zeros). Sums run over 8 lanes in a fixed order, so a cell's result does not
// depend on anything but its inputs.

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

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ k: Int) {
        UnsafeMutableRawPointer(p + k).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Computes R_i = softmax(logits + sum_c penalty[level_c]), writes it to `row` (K values) unless nil, adds
    /// it to the Kp rows `sums + slot_c * Kp` (one per covariate), and returns
    /// (sum_k sigma_k R_ik logits_ik, sum_k sigma_k R_ik ln R_ik).
    /// `logits` is a Kp row whose padding holds `padding`; `penalty` rows and `sigma` are Kp long, zero-padded.
    @inline(__always)
    static func assign(logits g: UnsafePointer<Float>, levels: UnsafePointer<Int32>, slots: UnsafePointer<Int32>,
                       covariates: Int,
                       penalty: UnsafePointer<Float>?, sigma: UnsafePointer<Float>, clusters kc: Int,
                       row: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) -> (kmeans: Double, entropy: Double) {
        let kp = padded(kc)
        let e = scratch + kp
        // l = g + penalties (the padding stays about -1e30).
        var l = g
        if let penalty {
            var k = 0
            while k < kp {
                var v = load(g, k)
                for c in 0..<covariates { v += load(penalty + Int(levels[c]) * kp, k) }
                store(v, scratch, k)
                k += 8
            }
            l = UnsafePointer(scratch)
        }
        var top8 = load(l, 0)
        var k = 8
        while k < kp {
            let v = load(l, k)
            top8.replace(with: v, where: v .> top8)
            k += 8
        }
        let top4 = SIMD4<Float>(Swift.max(top8[0], top8[4]), Swift.max(top8[1], top8[5]),
                                Swift.max(top8[2], top8[6]), Swift.max(top8[3], top8[7]))
        let top = Swift.max(Swift.max(top4[0], top4[2]), Swift.max(top4[1], top4[3]))
        let shift = SIMD8<Float>(repeating: top)
        var sum8 = SIMD8<Float>.zero
        k = 0
        while k < kp {
            let v = FastMath.exp(load(l, k) - shift)
            store(v, e, k)
            sum8 += v
            k += 8
        }
        let total = sum8.sum()
        let inverse = SIMD8<Float>(repeating: 1 / total)
        var kmeans8 = SIMD8<Float>.zero, weighted8 = SIMD8<Float>.zero, mass8 = SIMD8<Float>.zero
        k = 0
        while k < kp {
            let r = load(e, k) * inverse
            let sr = load(sigma, k) * r
            kmeans8.addProduct(sr, load(g, k))
            weighted8.addProduct(sr, load(l, k))
            mass8 += sr
            for c in 0..<covariates {
                let target = sums + Int(slots[c]) * kp
                store(load(target, k) + r, target, k)
            }
            if let row {
                if k + 8 <= kc {
                    store(r, row, k)
                } else {
                    for j in 0..<(kc - k) { row[k + j] = r[j] }
                }
            }
            k += 8
        }
        let lse = Double(top) + log(Double(total))
        return (Double(kmeans8.sum()), Double(weighted8.sum()) - lse * Double(mass8.sum()))
    }
}
