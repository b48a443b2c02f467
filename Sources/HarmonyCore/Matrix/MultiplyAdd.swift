// The kernels' multiply-add, a + x y, in one place.
//
// A build for FMA hardware (HARMONY_NATIVE=1, which defines HARMONY_FMA; see Package.swift) fuses it into one
// instruction with one rounding. A portable x86-64 build cannot assume that instruction, and there Swift's
// `addingProduct`, which promises a single rounding whatever the hardware, becomes a call into libm for every
// lane: the fit ran 23x slower than in a native build (100k x 30 cells, 26.6 s against 1.14 s) and the kNN label
// search 20x. So a portable build multiplies, then adds, rounding twice. Each build is deterministic; a portable
// and a native build differ in the last bits of the same results.

extension SIMD8 where Scalar == Float {
    /// self + x y, lane by lane (fused in an FMA build).
    @inline(__always)
    func adding(_ x: Self, times y: Self) -> Self {
        #if HARMONY_FMA
        return addingProduct(x, y)
        #else
        return self + x * y
        #endif
    }

    /// self += x y, lane by lane (fused in an FMA build).
    @inline(__always)
    mutating func add(_ x: Self, times y: Self) { self = adding(x, times: y) }
}

extension SIMD4 where Scalar == Double {
    /// self += x y, lane by lane (fused in an FMA build).
    @inline(__always)
    mutating func add(_ x: Self, times y: Self) {
        #if HARMONY_FMA
        addProduct(x, y)
        #else
        self += x * y
        #endif
    }
}

extension Float {
    /// self + x y (fused in an FMA build).
    @inline(__always)
    func adding(_ x: Float, times y: Float) -> Float {
        #if HARMONY_FMA
        return addingProduct(x, y)
        #else
        return self + x * y
        #endif
    }
}
