// Eight xoshiro256** streams advanced together in SIMD lanes (AVX2 has no 64-bit multiply, so x * 5 and x * 9
// are written as shifts and adds; the values are those of SeededGenerator.next(), lane by lane).

/// Eight `SeededGenerator` streams, one per lane.
struct SeededLanes8 {
    private var s0 = SIMD8<UInt64>()
    private var s1 = SIMD8<UInt64>()
    private var s2 = SIMD8<UInt64>()
    private var s3 = SIMD8<UInt64>()

    /// Lane l is `SeededGenerator(seed: seed, stream: firstStream + l * step)`.
    init(seed: UInt64, firstStream: UInt64, step: UInt64) {
        for lane in 0..<8 {
            let state = SeededGenerator(seed: seed, stream: firstStream + UInt64(lane) * step).state
            s0[lane] = state.0
            s1[lane] = state.1
            s2[lane] = state.2
            s3[lane] = state.3
        }
    }

    /// The next value of every stream.
    @inline(__always)
    mutating func next() -> SIMD8<UInt64> {
        let times5 = (s1 &<< 2) &+ s1
        let rotated = (times5 &<< 7) | (times5 &>> 57)
        let result = (rotated &<< 3) &+ rotated
        let t = s1 &<< 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        // Rotation written with xor (the bits are disjoint): LLVM turns the `|` form into a 64-bit rotate, which
        // AVX2 lacks, and scalarises it.
        s3 = (s3 &<< 45) ^ (s3 &>> 19)
        return result
    }
}
