import XCTest
@testable import HarmonyCore

final class CountSimulatorTests: XCTestCase {
    func testBlocksDoNotDependOnHowTheCellsAreSplit() throws {
        let sim = try CountSimulator(CountSimulationSpec(cells: 300, genes: 500, batches: 3, types: 4, seed: 9, meanUMIs: 2000))
        let whole = try sim.rows(0..<300)
        let a = try sim.rows(0..<117), b = try sim.rows(117..<300)
        XCTAssertEqual(whole.values, a.values + b.values)
        XCTAssertEqual(whole.columns, a.columns + b.columns)
        // Valid CSR with integer counts.
        XCTAssertNoThrow(try SparseRows(columnCount: 500, rowStarts: whole.rowStarts, columns: whole.columns, values: whole.values))
        XCTAssertTrue(whole.values.allSatisfy { $0 >= 1 && $0 == $0.rounded() })
        let again = try CountSimulator(CountSimulationSpec(cells: 300, genes: 500, batches: 3, types: 4, seed: 9, meanUMIs: 2000))
        XCTAssertEqual(try again.rows(0..<300), whole)
        XCTAssertEqual(again.batchCodes, sim.batchCodes)
    }

    func testCountsFollowTheNegativeBinomialMeansAndVariances() throws {
        // One type and batch: every cell of one library level draws from the same table.
        let sim = try CountSimulator(CountSimulationSpec(cells: 40000, genes: 60, batches: 1, types: 1, seed: 4, meanUMIs: 300))
        let rows = try sim.rows(0..<40000)
        let level = 3
        let table = sim.tables[level]
        let cells = (0..<40000).filter { sim.levels[$0] == level }
        var sum = [Double](repeating: 0, count: 60), squares = sum
        for i in cells {
            for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] {
                let x = Double(rows.values[e])
                sum[Int(rows.columns[e])] += x
                squares[Int(rows.columns[e])] += x * x
            }
        }
        let n = Double(cells.count)
        var checked = 0
        for g in 0..<60 {
            // NB with mean mu and inverse dispersion r: p = mu / (r + mu) -> mu = r p / (1 - p), var = mu + mu^2 / r.
            let p = Double(table.p[g]), r = sim.inverseDispersion[g]
            let mu = r * p / (1 - p)
            guard mu > 0.5 else { continue }
            let mean = sum[g] / n, variance = squares[g] / n - mean * mean
            let se = ((mu + mu * mu / r) / n).squareRoot()
            XCTAssertEqual(mean, mu, accuracy: 5 * se, "gene \(g) mean")
            XCTAssertEqual(variance / (mu + mu * mu / r), 1, accuracy: 0.2, "gene \(g) variance")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 5)
    }
}
