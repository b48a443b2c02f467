// Vectorised elementwise math for the soft-assignment passes.
//
// exp: x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-6 Taylor polynomial (relative error about 2e-7),
// 2^n by building the float exponent bits. Inputs are clamped at -87.3 so no denormal appears; the scalar
// form then returns exactly 0 for them, the SIMD8 form exp(-87.3) (see there). Otherwise the SIMD8 form
// computes 8 lanes with the same operations as the scalar form, so both give identical results.
// The range reduction and the Horner steps are multiply-adds (MultiplyAdd.swift: fused, one rounding each and
// half the instructions, in a build for FMA hardware; a multiply and an add in a portable build).

/// Fast elementwise functions on Float and SIMD8<Float>.
enum FastMath {
    /// exp(x) for x <= 88 with about 2e-7 relative error; x < -87.3 gives 0.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let clamped = Swift.max(x, -87.3)
        let shifter: Float = 12_582_912
        let t = shifter.adding(clamped, times: 1.442_695_04)
        let n = t - shifter
        let r = clamped.adding(n, times: -0.693_145_75).adding(n, times: -1.428_606_8e-6)
        var p: Float = 1.0 / 720
        p = (1.0 / 120 as Float).adding(p, times: r)
        p = (1.0 / 24 as Float).adding(p, times: r)
        p = (1.0 / 6 as Float).adding(p, times: r)
        p = (0.5 as Float).adding(p, times: r)
        p = (1 as Float).adding(p, times: r)
        p = (1 as Float).adding(p, times: r)
        let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) << 23
        let scaled = p * Float(bitPattern: bits)
        return x < -87.3 ? 0 : scaled
    }

    /// Lane-wise exp as in `exp(_: Float)`, except that inputs below -87.3 give exp(-87.3) (about 1.2e-38, the
    /// smallest normal float) instead of 0: one select less in the softmax kernel, and no sum notices it.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -87.3)
        let clamped = x.replacing(with: low, where: x .< low)
        // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (exact for |n| < 2^22).
        let shifter = SIMD8<Float>(repeating: 12_582_912)
        let t = shifter.adding(clamped, times: SIMD8<Float>(repeating: 1.442_695_04))
        let n = t - shifter
        let r = clamped.adding(n, times: SIMD8<Float>(repeating: -0.693_145_75))
            .adding(n, times: SIMD8<Float>(repeating: -1.428_606_8e-6))
        var p = SIMD8<Float>(repeating: 1.0 / 720)
        p = SIMD8<Float>(repeating: 1.0 / 120).adding(p, times: r)
        p = SIMD8<Float>(repeating: 1.0 / 24).adding(p, times: r)
        p = SIMD8<Float>(repeating: 1.0 / 6).adding(p, times: r)
        p = SIMD8<Float>(repeating: 0.5).adding(p, times: r)
        p = SIMD8<Float>(repeating: 1).adding(p, times: r)
        p = SIMD8<Float>(repeating: 1).adding(p, times: r)
        let bits = (unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// Natural logarithm of a positive, finite, normal Float with about 1e-7 absolute error on (0, 1]
    /// (mantissa m in [sqrt(1/2), sqrt(2)), ln m by the atanh series in s = (m - 1) / (m + 1)).
    @inline(__always)
    static func log(_ x: Float) -> Float {
        // Branch-free: mantissa bits above sqrt(2) move one power of two into the exponent.
        let bits = x.bitPattern
        let mantissa = bits & 0x007F_FFFF
        let high: UInt32 = mantissa > 0x0035_04F3 ? 1 : 0
        let exponent = Int32(bitPattern: (bits >> 23) & 0xFF) - 127 + Int32(bitPattern: high)
        let m = Float(bitPattern: mantissa | ((127 - high) << 23))
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var p: Float = 1.0 / 9
        p = p * s2 + 1.0 / 7
        p = p * s2 + 1.0 / 5
        p = p * s2 + 1.0 / 3
        p = p * s2 + 1
        return Float(exponent) * 0.693_147_18 + 2 * s * p
    }

    /// Lane-wise `log(_: Float)` with the same operations (identical results lane by lane).
    @inline(__always)
    static func log(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let mantissa = bits & 0x007F_FFFF
        // 1 where mantissa > 0x3504F3: the difference wraps and sets the top bit (a lane select here
        // would be scalarised).
        let high = (SIMD8<UInt32>(repeating: 0x0035_04F3) &- mantissa) &>> 31
        let exponent = unsafeBitCast((bits &>> 23) & 0xFF, to: SIMD8<Int32>.self) &- 127
            &+ unsafeBitCast(high, to: SIMD8<Int32>.self)
        let m = unsafeBitCast(mantissa | ((127 &- high) &<< 23), to: SIMD8<Float>.self)
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var p = SIMD8<Float>(repeating: 1.0 / 9)
        p = p * s2 + 1.0 / 7
        p = p * s2 + 1.0 / 5
        p = p * s2 + 1.0 / 3
        p = p * s2 + 1
        return SIMD8<Float>(exponent) * 0.693_147_18 + 2 * s * p
    }
}
