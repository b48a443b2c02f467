#if canImport(Glibc)
import Glibc
#endif

// The per-cell kernel of every assignment pass, written with SIMD8<Float> over clusters.
//
// Buffers are padded to Kp = K rounded up to a multiple of 8: the penalty table rows (zeros in the padding),
// sigma (zeros) and the scratch rows, whose padding holds -1e30 so that exp gives exactly 0 there and
// 0 * (-1e30) = 0 in the objective sums. Sums run over 8 lanes in a fixed order, so a cell's result does not
// depend on anything but its inputs.

/// Softmax of one cell's penalised logits, fused with its objective terms.
enum SoftmaxKernel {
    /// Value in the padding lanes of the scratch rows.
    static let padding: Float = -1e30

    /// K rounded up to a multiple of 8.
    @inline(__always)
    static func padded(_ k: Int) -> Int { (k + 7) & ~7 }

    /// A scratch area for `assign`: 3 rows of Kp floats with their padding set.
    static func makeScratch(clusters kc: Int) -> UnsafeMutablePointer<Float> {
        let kp = padded(kc)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * kp)
        scratch.initialize(repeating: padding, count: 3 * kp)
        return scratch
    }

    /// The scratch row holding the last `assign` result.
    @inline(__always)
    static func resultRow(_ scratch: UnsafeMutablePointer<Float>, clusters kc: Int) -> UnsafeMutablePointer<Float> {
        scratch + 2 * padded(kc)
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ k: Int) {
        UnsafeMutableRawPointer(p + k).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Writes R_i = softmax(logits + sum_c penalty[level_c]) into `row` (K values) and into the third scratch
    /// row (`resultRow(scratch:)`, cache-hot for the caller's sums), and returns
    /// (sum_k sigma_k R_ik logits_ik, sum_k sigma_k R_ik ln R_ik). `penalty` rows and `sigma` are Kp long.
    @inline(__always)
    static func assign(logits: UnsafePointer<Float>, levels: UnsafePointer<Int32>, covariates: Int,
                       penalty: UnsafePointer<Float>?, sigma: UnsafePointer<Float>, clusters kc: Int,
                       row: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) -> (kmeans: Double, entropy: Double) {
        let kp = padded(kc)
        let g = scratch, l = scratch + kp, e = scratch + 2 * kp
        g.update(from: logits, count: kc)
        // l = g + penalties; the padding of g stays -1e30, so l's padding does too.
        if let penalty {
            var k = 0
            while k < kp {
                var v = load(g, k)
                for c in 0..<covariates { v += load(penalty + Int(levels[c]) * kp, k) }
                store(v, l, k)
                k += 8
            }
        } else {
            l.update(from: g, count: kp)
        }
        var top8 = load(l, 0)
        var k = 8
        while k < kp { let v = load(l, k)
            top8.replace(with: v, where: v .> top8); k += 8 }
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
            let lv = load(l, k)
            let r = load(e, k) * inverse
            let sr = load(sigma, k) * r
            kmeans8 += sr * load(g, k)
            weighted8 += sr * lv
            mass8 += sr
            store(r, e, k)
            if k + 8 <= kc {
                store(r, row, k)
            } else {
                for j in 0..<(kc - k) { row[k + j] = r[j] }
            }
            k += 8
        }
        let lse = Double(top) + log(Double(total))
        return (Double(kmeans8.sum()), Double(weighted8.sum()) - lse * Double(mass8.sum()))
    }
}
