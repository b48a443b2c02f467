import XCTest
@testable import HarmonyCore

final class SeededGeneratorTests: XCTestCase {
    func testStreamsAreReproducibleAndDistinct() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        var s0 = SeededGenerator(seed: 1, stream: 0), s1 = SeededGenerator(seed: 1, stream: 1)
        XCTAssertNotEqual(s0.next(), s1.next())
    }

    func testUniformBoundsAndMoments() {
        var rng = SeededGenerator(seed: 7)
        var sum = 0.0, sumSquares = 0.0
        let n = 200_000
        for _ in 0..<n {
            let u = rng.uniform()
            XCTAssert(u >= 0 && u < 1)
            let z = rng.normal()
            sum += z
            sumSquares += z * z
            let k = rng.below(7)
            XCTAssert(k >= 0 && k < 7)
        }
        // Mean 0 and variance 1 within about 5 standard errors.
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.012)
        XCTAssertEqual(sumSquares / Double(n), 1, accuracy: 0.02)
    }

    func testPermutationIsAPermutation() {
        var rng = SeededGenerator(seed: 3)
        var buffer = [Int32](repeating: -1, count: 1000)
        buffer.withUnsafeMutableBufferPointer { rng.permutation(into: $0) }
        XCTAssertEqual(buffer.sorted(), (0..<1000).map { Int32($0) })
        XCTAssertNotEqual(buffer, (0..<1000).map { Int32($0) })
    }
}
