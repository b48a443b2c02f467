import XCTest
@testable import HarmonyCore

/// The blocked exact kNN against a direct O(N^2) search.
final class NearestNeighborsTests: XCTestCase {
    func testMatchesBruteForceAcrossBlocksAndIgnoresThreadCount() {
        // 5000 cells cross the 4096-point chunk and 256-query block boundaries.
        var state: UInt64 = 12345
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let n = 5000, d = 5, k = 12
        let x = Matrix(rows: n, cols: d, values: (0..<(n * d)).map { _ in next() })
        let nn = NearestNeighbors.exact(x, k: k)
        let single = NearestNeighbors.exact(x, k: k, threads: 1)
        XCTAssertEqual(nn.indices, single.indices)
        XCTAssertEqual(nn.distances, single.distances)
        for q in stride(from: 0, to: n, by: 397) {
            var all: [(Double, Int)] = []
            for j in 0..<n where j != q {
                var s = 0.0
                for c in 0..<d { let t = x[q, c] - x[j, c]; s += t * t }
                all.append((s.squareRoot(), j))
            }
            all.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            XCTAssertEqual(nn.indices[(q * k)..<((q + 1) * k)].map(Int.init), all.prefix(k).map(\.1), "cell \(q)")
            for r in 0..<k { XCTAssertEqual(nn.distances[q * k + r], all[r].0, accuracy: 1e-15) }
        }
    }

    func testCoincidentCellsAreNeighboursAtDistanceZero() {
        let x = Matrix(rows: 6, cols: 1, values: [0, 0, 0, 5, 6, 7])
        let nn = NearestNeighbors.exact(x, k: 2)
        XCTAssertEqual(Array(nn.indices[0..<2]), [1, 2])
        XCTAssertEqual(Array(nn.distances[0..<2]), [0, 0])
        XCTAssertEqual(Array(nn.indices[2..<4]), [0, 2])
    }
}
