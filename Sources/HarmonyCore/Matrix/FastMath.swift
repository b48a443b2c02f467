#if canImport(Glibc)
import Glibc
#endif

// Vectorisable elementwise math for the soft-assignment passes.
//
// exp: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 Taylor/minimax-style polynomial, 2^n by building
// the float exponent bits. Relative error about 2e-7 over the range used (inputs are logits minus their row
// maximum, so x <= 0); inputs below -87.3 flush to 0 instead of producing denormals. The loop has no branches
// so the compiler vectorises it.

/// Fast elementwise functions over Float buffers.
enum FastMath {
    /// exp(x) for x in [-87.3, 88], about 2e-7 relative error; smaller x gives 0.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let clamped = Swift.max(x, -87.3)
        // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (exact for |n| < 2^22).
        let shifter: Float = 12_582_912
        let t = clamped * 1.442_695_04 + shifter
        let n = t - shifter
        let r = (clamped - n * 0.693_145_75) - n * 1.428_606_8e-6
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) << 23
        let scaled = p * Float(bitPattern: bits)
        return x < -87.3 ? 0 : scaled
    }

    /// Replaces each of `count` values at `x` by exp(value - shift) and returns their sum (in Float; callers
    /// sum at most a few hundred values).
    @inline(__always)
    static func expShiftedInPlace(_ x: UnsafeMutablePointer<Float>, _ count: Int, shift: Float) -> Float {
        var sum: Float = 0
        for k in 0..<count {
            let e = exp(x[k] - shift)
            x[k] = e
            sum += e
        }
        return sum
    }
}
