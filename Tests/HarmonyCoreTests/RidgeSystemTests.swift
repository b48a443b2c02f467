import XCTest
@testable import HarmonyCore

/// The structured solves (arrowhead, Schur + Cholesky) against a dense direct solve of the same equations.
final class RidgeSystemTests: XCTestCase {
    /// Gaussian elimination with partial pivoting: solves A X = G for a (size x size) and G (size x d).
    private func denseSolve(_ a: [Double], _ g: [Double], size: Int, d: Int) -> [Double] {
        var a = a, x = g
        for col in 0..<size {
            let pivot = (col..<size).max { abs(a[$0 * size + col]) < abs(a[$1 * size + col]) }!
            if pivot != col {
                for j in 0..<size { a.swapAt(col * size + j, pivot * size + j) }
                for t in 0..<d { x.swapAt(col * d + t, pivot * d + t) }
            }
            for row in 0..<size where row != col {
                let f = a[row * size + col] / a[col * size + col]
                if f == 0 { continue }
                for j in 0..<size { a[row * size + j] -= f * a[col * size + j] }
                for t in 0..<d { x[row * d + t] -= f * x[col * d + t] }
            }
        }
        for row in 0..<size { for t in 0..<d { x[row * d + t] /= a[row * size + row] } }
        return x
    }

    /// A random system built from actual cells: each cell has one level per covariate and a weight r_i.
    private func randomSystem(levelsPerCovariate: [Int], cells: Int, dims d: Int, seed: UInt64) -> RidgeSystem {
        var rng = SeededGenerator(seed: seed)
        var offsets = [0]
        for b in levelsPerCovariate { offsets.append(offsets.last! + b) }
        let m = offsets.last!
        var system = RidgeSystem(dims: d, interceptCount: 0, interceptSum: [Double](repeating: 0, count: d),
                                 covariate: (0..<levelsPerCovariate.count).flatMap { c in
                                     [Int](repeating: c, count: levelsPerCovariate[c]) },
                                 counts: [Double](repeating: 0, count: m),
                                 penalties: (0..<m).map { _ in 0.05 + rng.uniform() },
                                 sums: [Double](repeating: 0, count: m * d),
                                 cross: [Double](repeating: 0, count: m * m))
        for _ in 0..<cells {
            let w = rng.uniform()
            let z = (0..<d).map { _ in rng.normal() }
            let levels = levelsPerCovariate.indices.map { offsets[$0] + rng.below(levelsPerCovariate[$0]) }
            system.interceptCount += w
            for t in 0..<d { system.interceptSum[t] += w * z[t] }
            for a in levels {
                system.counts[a] += w
                for t in 0..<d { system.sums[a * d + t] += w * z[t] }
                for b in levels where b != a { system.cross[a * m + b] += w }
            }
        }
        return system
    }

    private func compare(levels: [Int], seed: UInt64) throws {
        let d = 4
        let system = randomSystem(levelsPerCovariate: levels, cells: 300, dims: d, seed: seed)
        let size = system.levelCount + 1
        var g = system.interceptSum
        g += system.sums
        let expected = denseSolve(system.denseMatrix(), g, size: size, d: d)
        let actual = try system.solve()
        let scale = expected.map { abs($0) }.max()!
        let error = zip(actual, expected).map { abs($0 - $1) }.max()!
        print("levels \(levels): max |structured - dense| / max |beta| = \(error / scale)")
        XCTAssertLessThanOrEqual(error / scale, 1e-10)
    }

    func testArrowheadMatchesDenseSolve() throws {
        try compare(levels: [5], seed: 1)
    }

    func testTwoCovariatesMatchDenseSolve() throws {
        try compare(levels: [4, 6], seed: 2)
    }

    func testThreeCovariatesMatchDenseSolve() throws {
        try compare(levels: [3, 7, 2], seed: 3)
    }

    func testZeroPenaltyIsSingular() {
        var system = randomSystem(levelsPerCovariate: [3], cells: 50, dims: 2, seed: 4)
        system.penalties = [0, 0, 0]
        XCTAssertThrowsError(try system.solve()) { error in
            guard case HarmonyError.numerical = error else { return XCTFail("expected a numerical error, got \(error)") }
        }
        var two = randomSystem(levelsPerCovariate: [3, 2], cells: 50, dims: 2, seed: 5)
        two.penalties = [Double](repeating: 0, count: 5)
        XCTAssertThrowsError(try two.solve())
    }
}
