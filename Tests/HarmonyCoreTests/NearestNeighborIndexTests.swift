import XCTest
@testable import HarmonyCore

final class NearestNeighborIndexTests: XCTestCase {
    static func bruteForce(_ points: Matrix<Float>, _ queries: Matrix<Float>, k: Int) -> [Int32] {
        var out: [Int32] = []
        for q in 0..<queries.rows {
            var all: [(Double, Int32)] = []
            for p in 0..<points.rows {
                var ss = 0.0
                for j in 0..<points.cols {
                    let diff = Double(queries[q, j]) - Double(points[p, j])
                    ss += diff * diff
                }
                all.append((ss, Int32(p)))
            }
            all.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            out.append(contentsOf: all.prefix(k).map(\.1))
        }
        return out
    }

    /// The index returns exactly the brute-force neighbours, on clustered and on uniform data.
    func testEqualsBruteForce() {
        var rng = QueryStateTests.SplitMix(state: 5)
        for clustered in [false, true] {
            let n = 3000, d = 8
            var points = QueryStateTests.randomCells(n, d: d, rng: &rng)
            if clustered {
                for i in 0..<n { for j in 0..<d { points[i, j] = points[i, j] * 0.1 + Float((i % 7) * (j % 3)) } }
            }
            let queries = QueryStateTests.randomCells(300, d: d, rng: &rng)
            let index = NearestNeighborIndex(points: points, seed: 1)
            let (got, distances) = index.search(queries, k: 5)
            XCTAssertEqual(got, Self.bruteForce(points, queries, k: 5), "clustered \(clustered)")
            for i in 0..<300 { for j in 1..<5 { XCTAssertLessThanOrEqual(distances[i * 5 + j - 1], distances[i * 5 + j]) } }
        }
        // Fewer points than k.
        let tiny = Matrix<Float>(rows: 2, cols: 2, values: [0, 0, 1, 1])
        let (ids, _) = NearestNeighborIndex(points: tiny).search(Matrix(rows: 1, cols: 2, values: [0.9, 0.9]), k: 3)
        XCTAssertEqual(ids, [1, 0, -1])
    }

    /// Duplicated points: ties go to the smaller index.
    func testTiesBreakBySmallerIndex() {
        let points = Matrix<Float>(rows: 6, cols: 1, values: [1, 0, 1, 0, 1, 5])
        let (ids, _) = NearestNeighborIndex(points: points).search(Matrix(rows: 1, cols: 1, values: [0.9]), k: 4)
        XCTAssertEqual(ids, [0, 2, 4, 1])
    }

    /// PC-like data: 50 cluster centres plus noise, both with a standard deviation that decays over the
    /// dimensions as PCA embeddings do (1 / (1 + j / 3)).
    static func pcLike(_ n: Int, d: Int, rng: inout QueryStateTests.SplitMix) -> Matrix<Float> {
        var centres = QueryStateTests.SplitMix(state: 77)
        let c = (0..<(50 * d)).map { _ in Float.random(in: -4...4, using: &centres) }
        var m = QueryStateTests.randomCells(n, d: d, rng: &rng)
        for i in 0..<n {
            let g = Int(rng.next() % 50)
            for j in 0..<d { m[i, j] = (c[g * d + j] + 0.4 * m[i, j]) / (1 + Float(j) / 3) }
        }
        return m
    }

    /// On PC-like data (the kind the index is built for) the neighbours are exact. Speed is measured by
    /// `harmony bench --map-cells` (BENCHMARKS.md), not here.
    func testSearchIsExactOnPCLikeData() {
        var rng = QueryStateTests.SplitMix(state: 9)
        let points = Self.pcLike(50_000, d: 30, rng: &rng)
        let index = NearestNeighborIndex(points: points)
        let queries = Self.pcLike(200, d: 30, rng: &rng)
        let (ids, _) = index.search(queries, k: 5)
        XCTAssertFalse(ids.contains(-1))
        XCTAssertEqual(ids, Self.bruteForce(points, queries, k: 5))
    }
}
