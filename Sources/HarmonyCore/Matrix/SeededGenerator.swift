#if canImport(Glibc)
import Glibc
#endif

// A small seeded pseudo-random generator: xoshiro256** (Blackman & Vigna) with its state filled by SplitMix64.
//
// Every random draw of HarmonyCore (the k-means start, the block permutations of the clustering rounds, the
// simulator) goes through this type, never through Foundation or the system generator, so a seed gives the same
// numbers on every platform and Swift version. The derived draws (uniform doubles, bounded integers,
// permutations, normals) are defined here too, for the same reason.

/// A deterministic xoshiro256** pseudo-random generator seeded through SplitMix64.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix(&sm)
        s1 = SeededGenerator.splitMix(&sm)
        s2 = SeededGenerator.splitMix(&sm)
        s3 = SeededGenerator.splitMix(&sm)
    }

    /// An independent stream for sub-task `stream` of a computation seeded with `seed` (e.g. one chunk of cells),
    /// so chunks can be generated in parallel and still give the same numbers.
    public init(seed: UInt64, stream: UInt64) {
        var sm = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        _ = SeededGenerator.splitMix(&sm)
        self.init(seed: SeededGenerator.splitMix(&sm))
    }

    /// The four state words (for SeededLanes8).
    var state: (UInt64, UInt64, UInt64, UInt64) { (s0, s1, s2, s3) }

    /// SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
    @inline(__always)
    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in (0, 1], safe to take the logarithm of.
    @inline(__always)
    public mutating func uniformPositive() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound (bound > 0), without modulo bias (Lemire's multiply-and-reject).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(_:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A standard normal draw (Box-Muller; one of the pair is discarded to keep the stream simple).
    @inline(__always)
    public mutating func normal() -> Double {
        let u = uniformPositive()
        let v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// Fills `buffer` with a uniformly random permutation of 0..<buffer.count (Fisher-Yates from the top).
    public mutating func permutation(into buffer: UnsafeMutableBufferPointer<Int32>) {
        let n = buffer.count
        for i in 0..<n { buffer[i] = Int32(i) }
        var i = n - 1
        while i > 0 {
            let j = below(i + 1)
            buffer.swapAt(i, j)
            i -= 1
        }
    }
}
