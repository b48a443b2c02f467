import XCTest
@testable import HarmonyCore

/// The k-means start's kernels against plain scalar computations of what they document.
final class KMeansStartTests: XCTestCase {
    /// Random rows (n x d) and means (K x d) in [-1, 1), with means 3, 11 and K - 1 copies of mean 0 (exact ties).
    private func data(cells n: Int, dims d: Int, clusters kc: Int, seed: UInt64) -> (rows: [Float], means: [Float]) {
        var rng = SeededGenerator(seed: seed)
        let rows = (0..<(n * d)).map { _ in Float(2 * rng.uniform() - 1) }
        var means = (0..<(kc * d)).map { _ in Float(2 * rng.uniform() - 1) }
        for k in [3, 11, kc - 1] where k > 0 && k < kc {
            for j in 0..<d { means[k * d + j] = means[j] }
        }
        return (rows, means)
    }

    /// argmin_k |mu_k|^2 - 2 z . mu_k, ties to the lowest k, one scalar at a time; the dot is a fused
    /// multiply-add chain in increasing j (or `dots`, when given, row-major n x K).
    private func scalarNearest(rows: [Float], means: [Float], dims d: Int, clusters kc: Int,
                               dots: [Float]? = nil) -> [Int32] {
        let n = rows.count / d
        return (0..<n).map { i -> Int32 in
            var best = Float.infinity, at: Int32 = -1
            for k in 0..<kc {
                var norm: Float = 0, dot: Float = 0
                for j in 0..<d {
                    norm += means[k * d + j] * means[k * d + j]
                    dot = dot.adding(rows[i * d + j], times: means[k * d + j])
                }
                let score = norm - 2 * (dots?[i * kc + k] ?? dot)
                if score < best { best = score; at = Int32(k) }
            }
            return at
        }
    }

    private func kernelNearest(rows: [Float], means: [Float], dims d: Int, clusters kc: Int) -> [Int32] {
        let kernel = NearestMeanKernel(means: means, dims: d, clusters: kc)
        var out = [Int32](repeating: -1, count: rows.count / d)
        rows.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { kernel.nearest(rows: r.baseAddress!, count: rows.count / d, into: $0.baseAddress!) }
        }
        return out
    }

    func testNearestMeanKernelEqualsScalarArgminWithTies() {
        for (kc, n, d) in [(100, 1003, 30), (13, 257, 30), (16, 64, 7), (8, 5, 3), (3, 9, 30), (24, 130, 50)] {
            let (rows, means) = data(cells: n, dims: d, clusters: kc, seed: UInt64(kc * 1000 + n))
            let expected = scalarNearest(rows: rows, means: means, dims: d, clusters: kc)
            XCTAssertEqual(kernelNearest(rows: rows, means: means, dims: d, clusters: kc), expected, "K \(kc), n \(n), d \(d)")
            // The copies of mean 0 are never chosen: ties go to the lowest k.
            XCTAssertFalse(expected.contains { $0 == 3 || $0 == 11 || ($0 == Int32(kc - 1) && kc > 1) })
        }
        // Rows equal to means: every score of the duplicated mean ties exactly with mean 0's.
        let (_, means) = data(cells: 1, dims: 30, clusters: 20, seed: 5)
        let rows = Array(means[0..<(30 * 4)]) + Array(means[(30 * 11)..<(30 * 12)])
        XCTAssertEqual(kernelNearest(rows: rows, means: means, dims: 30, clusters: 20),
                       scalarNearest(rows: rows, means: means, dims: 30, clusters: 20))
    }

    /// One fused multiply-add chain in increasing j from 0.
    private func chainDot(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> Float {
        zip(x, y).reduce(Float(0)) { $0.adding($1.0, times: $1.1) }
    }

    /// The race's dot products: bit for bit the scalar chain, and within float rounding of sgemm's.
    func testKernelDotsEqualScalarChain() {
        for (n, d, kc) in [(1000, 30, 100), (37, 10, 13), (64, 50, 24)] {
            let (rows, means) = data(cells: n, dims: d, clusters: kc, seed: UInt64(n))
            let kp = NearestMeanKernel.padded(kc)
            var mine = [Float](repeating: .nan, count: n * kp), blas = [Float](repeating: 0, count: n * kc)
            rows.withUnsafeBufferPointer { r in
                NearestMeanKernel(means: means, dims: d, clusters: kc)
                    .dots(rows: r.baseAddress!, count: n, into: &mine)
                means.withUnsafeBufferPointer { m in
                    BLAS.sgemm(transB: true, m: n, n: kc, k: d, a: r.baseAddress!, lda: d, b: m.baseAddress!, ldb: d,
                               c: &blas, ldc: kc)
                }
            }
            var otherBits = 0, worst: Float = 0
            for i in 0..<n {
                for k in 0..<kc {
                    let expected = chainDot(rows[(i * d)..<(i * d + d)], means[(k * d)..<(k * d + d)])
                    if mine[i * kp + k].bitPattern != expected.bitPattern { otherBits += 1 }
                    worst = max(worst, abs(mine[i * kp + k] - blas[i * kc + k]))
                }
                for k in kc..<kp where mine[i * kp + k] != 0 { otherBits += 1 }
            }
            XCTAssertEqual(otherBits, 0, "n \(n), d \(d), K \(kc)")
            // |dot| <= d here; d float roundings of at most d each.
            XCTAssertLessThan(worst, Float(d * d) * Float.ulpOfOne)
        }
    }

    /// The race's skip test relies on -FastMath.log(v) >= 1 - v for every uniform v = m 2^-24, m in 1...2^24.
    func testRaceBoundHoldsForEveryUniform() {
        var worstScalar = Float.infinity, worstLanes = Float.infinity
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
        var m: UInt32 = 1
        while m <= 1 << 24 {
            let v = SIMD8<Float>(lanes &+ m) * 0x1.0p-24
            worstLanes = min(worstLanes, (-FastMath.log(v) - (1 - v)).min())
            let s = Float(m) * 0x1.0p-24
            worstScalar = min(worstScalar, -FastMath.log(s) - (1 - s))
            m += 8
        }
        XCTAssertGreaterThanOrEqual(worstLanes, 0)
        XCTAssertGreaterThanOrEqual(worstScalar, 0)
    }

    /// The race's integer-to-float conversion is exact on its whole range.
    func testUniformConversionIsExact() {
        var wrong = 0
        var x: UInt32 = 1
        while x <= 1 << 24 {
            let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &+ x
            let converted = KMeansStart.float(lanes)
            for lane in 0..<8 where lanes[lane] <= 1 << 24 && converted[lane] != Float(lanes[lane]) { wrong += 1 }
            x += 8
        }
        XCTAssertEqual(wrong, 0)
    }

    /// The seeds equal a plain race: per anchor j, the smallest key -ln v / delta over all cells with v from
    /// stream (j x tasks + task) in cell order, dots as scalar fused multiply-add chains, an already chosen cell
    /// rescanned without the chosen ones.
    func testSeedsEqualPlainRace() throws {
        for (n, kc, threads) in [(5000, 100, 2), (300, 60, 1), (4100, 13, 2)] {
            let d = 30
            var rng = SeededGenerator(seed: UInt64(n + kc))
            var rows = (0..<(n * d)).map { _ in Float(rng.normal()) }
            for i in 0..<n {
                var norm: Float = 0
                for j in 0..<d { norm += rows[i * d + j] * rows[i * d + j] }
                for j in 0..<d { rows[i * d + j] /= norm.squareRoot() }
            }
            let anchors = (0..<kc).map { _ in rng.below(n) }
            let raceSeed = rng.next()
            let seeds = try rows.withUnsafeBufferPointer {
                try KMeansStart.seeds(zcos: $0.baseAddress!, cells: n, dims: d, anchors: anchors, raceSeed: raceSeed,
                                      runner: TaskRunner(requested: threads), shard: .whole(n))
            }
            let picks = plainRace(rows: rows, dims: d, anchors: anchors, raceSeed: raceSeed)
            XCTAssertEqual(seeds, picks.flatMap { rows[($0 * d)..<($0 * d + d)] }, "n \(n), K \(kc)")
        }
    }

    private func plainRace(rows: [Float], dims d: Int, anchors: [Int], raceSeed: UInt64) -> [Int] {
        let n = rows.count / d, kc = anchors.count, per = TaskRunner.cellsPerTask, tasks = TaskRunner.taskCount(n)
        let anchorRows = anchors.flatMap { rows[($0 * d)..<($0 * d + d)] }
        var dots = [Float](repeating: 0, count: n * kc)
        for i in 0..<n {
            for j in 0..<kc { dots[i * kc + j] = chainDot(rows[(i * d)..<(i * d + d)], anchorRows[(j * d)..<(j * d + d)]) }
        }
        func race(_ j: Int, excluding chosen: Set<Int>) -> Int {
            var best = Float.infinity, pick = -1
            for t in 0..<tasks {
                var stream = SeededGenerator(seed: raceSeed, stream: UInt64(j * tasks + t))
                for i in (t * per)..<min(n, t * per + per) {
                    let v = Float((stream.next() >> 40) + 1) * 0x1.0p-24
                    if chosen.contains(i) { continue }
                    let key = -FastMath.log(v) / (abs(2 * (1 - dots[i * kc + j])) + 1e-10)
                    if key < best { best = key; pick = i }
                }
            }
            return pick
        }
        var chosen = Set<Int>(), picks: [Int] = []
        for j in 0..<kc {
            var pick = race(j, excluding: [])
            if chosen.contains(pick) { pick = race(j, excluding: chosen) }
            chosen.insert(pick)
            picks.append(pick)
        }
        return picks
    }
}
