import XCTest
@testable import HarmonyCore

final class BatchStatisticsTests: XCTestCase {
    /// Statistics of `rows` fed in chunks of `chunk` cells.
    private func statistics(r: [Float], z: [Float], k: Int, d: Int, rows: [Int], chunk: Int) -> BatchStatistics {
        var stats = BatchStatistics(k: k, d: d)
        r.withUnsafeBufferPointer { rb in
            z.withUnsafeBufferPointer { zb in
                var start = 0
                while start < rows.count {
                    let end = min(rows.count, start + chunk)
                    stats.add(rows: Array(rows[start..<end]), r: rb, z: zb)
                    start = end
                }
            }
        }
        return stats
    }

    /// Odd K, d over one 32-column tile, cells picked out of order: every chunking gives the same bits, and the
    /// sums are within Float-block rounding of the exact Double sums.
    func testAnyChunkingGivesTheSameBitsCloseToTheExactSums() {
        var rng = QueryStateTests.SplitMix(state: 11)
        let k = 7, d = 37, n = 300
        let r = (0..<(n * k)).map { _ in Float.random(in: 0...1, using: &rng) }
        let z = (0..<(n * d)).map { _ in Float.random(in: -4...4, using: &rng) }
        // Every other cell, backwards: the statistics follow the order of `rows`, not of the buffer.
        let rows = stride(from: n - 1, through: 0, by: -2).map { $0 }
        var exactMass = [Double](repeating: 0, count: k)
        var exactSums = [Double](repeating: 0, count: k * d)
        for i in rows {
            for c in 0..<k {
                exactMass[c] += Double(r[i * k + c])
                for j in 0..<d { exactSums[c * d + j] += Double(r[i * k + c]) * Double(z[i * d + j]) }
            }
        }
        let whole = statistics(r: r, z: z, k: k, d: d, rows: rows, chunk: rows.count)
        XCTAssertEqual(whole.cells, rows.count)
        XCTAssertLessThan(ReferenceTestData.relativeError(whole.mass, exactMass), 1e-12)
        XCTAssertLessThan(ReferenceTestData.relativeError(whole.sums, exactSums), 1e-6)
        for chunk in [1, 5, 31, 32, 33, 64, 100] {
            let parts = statistics(r: r, z: z, k: k, d: d, rows: rows, chunk: chunk)
            XCTAssertEqual(parts.mass, whole.mass, "chunk \(chunk)")
            XCTAssertEqual(parts.sums, whole.sums, "chunk \(chunk)")
            XCTAssertEqual(parts.cells, whole.cells)
        }
    }
}
