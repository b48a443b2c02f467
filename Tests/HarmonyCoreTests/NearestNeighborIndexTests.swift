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

    /// 100k queries against a 200k-cell reference at d = 30 (printed; scaled-down stand-in for 1M cells).
    func testSearchSpeed() {
        var rng = QueryStateTests.SplitMix(state: 9)
        let n = 200_000, d = 30
        var points = QueryStateTests.randomCells(n, d: d, rng: &rng)
        for i in 0..<n { for j in 0..<d { points[i, j] = points[i, j] * 0.3 + Float((i % 50) % (j + 2)) } }
        var buildStart = Date()
        let index = NearestNeighborIndex(points: points)
        let build = Date().timeIntervalSince(buildStart)
        var queries = QueryStateTests.randomCells(100_000, d: d, rng: &rng)
        for i in 0..<queries.rows { for j in 0..<d { queries[i, j] = queries[i, j] * 0.3 + Float((i % 50) % (j + 2)) } }
        buildStart = Date()
        let (ids, _) = index.search(queries, k: 5)
        let search = Date().timeIntervalSince(buildStart)
        print("kNN: built a 200k-cell index in \(build) s; 100k queries (k 5, d 30) in \(search) s")
        XCTAssertFalse(ids.contains(-1))
        XCTAssertLessThan(search, 30)
    }
}
