import XCTest
@testable import HarmonyCore

/// The correction's two passes over cells, in cell order (CellOrderCorrection) and group by group (RidgeCorrection's
/// general passes), against sums computed here in Double, cell by cell. Odd K (a cluster left over from the pairs),
/// d = 45 (two tiles of 32, the second padded), two covariates (groups are level combinations) and 5,000 cells
/// (tasks of 2,048 and a partial one). Tolerance: 1e-5 relative to the largest value (Float products and sums).
final class CellOrderCorrectionTests: XCTestCase {
    private let cells = 5000, dims = 45, clusters = 7

    private struct Data {
        let z: [Float]
        let r: [Float]
        let design: FitDesign
    }

    private func data() -> Data {
        var rng = SeededGenerator(seed: 11)
        let z = (0..<(cells * dims)).map { _ in Float(rng.uniform() * 4 - 2) }
        var r: [Float] = []
        for _ in 0..<cells {
            let row = (0..<clusters).map { _ in rng.uniform() + 0.01 }
            let total = row.reduce(0, +)
            r += row.map { Float($0 / total) }
        }
        let first = (0..<cells).map { _ in Int32(rng.below(3)) }
        let second = (0..<cells).map { _ in Int32(rng.below(4)) }
        let design = FitDesign(covariates: [Covariate(name: "a", levels: ["a0", "a1", "a2"], codes: first),
                                            Covariate(name: "b", levels: ["b0", "b1", "b2", "b3"], codes: second)],
                               cells: cells)
        return Data(z: z, r: r, design: design)
    }

    /// n_gk and s_g computed cell by cell in Double.
    private func expectedSums(_ data: Data) -> (n: [Double], s: [[Double]]) {
        let ng = data.design.groupCount, kc = clusters, d = dims
        var n = [Double](repeating: 0, count: ng * kc)
        var s = [[Double]](repeating: [Double](repeating: 0, count: kc * d), count: ng)
        for i in 0..<cells {
            let g = Int(data.design.cellGroups[i])
            for k in 0..<kc {
                let weight = Double(data.r[i * kc + k])
                n[g * kc + k] += weight
                for t in 0..<d { s[g][k * d + t] += weight * Double(data.z[i * d + t]) }
            }
        }
        return (n, s)
    }

    private func withRows<T>(_ data: Data, corrected: inout [Float], _ body: (RidgeCorrection.CellRows) -> T) -> T {
        data.z.withUnsafeBufferPointer { z in
            data.r.withUnsafeBufferPointer { r in
                corrected.withUnsafeMutableBufferPointer { out in
                    body(RidgeCorrection.CellRows(z: z.baseAddress!, r: r.baseAddress!, corrected: out.baseAddress!))
                }
            }
        }
    }

    private func assertClose(_ actual: [Double], _ expected: [Double], _ what: String) {
        let scale = expected.map { abs($0) }.max()!
        let error = zip(actual, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(error / scale, 1e-5, what)
    }

    func testDesignIsSmallEnoughForTheCellOrderPasses() {
        XCTAssertTrue(CellOrderCorrection.applies(groups: data().design.groupCount, clusters: clusters, dims: dims))
        XCTAssertFalse(CellOrderCorrection.applies(groups: 10_000, clusters: 100, dims: 30))
    }

    func testBothStatisticsPassesMatchTheCellByCellSums() {
        let data = data()
        let expected = expectedSums(data)
        XCTAssertEqual(data.design.groupCount, 12)
        var unused = [Float](repeating: 0, count: cells * dims)
        let runner = TaskRunner(requested: 2)
        let byCell = withRows(data, corrected: &unused) {
            CellOrderCorrection.groupSums($0, dims: dims, clusters: clusters, design: data.design,
                                          shard: .whole(cells), runner: runner)
        }
        let byGroup = withRows(data, corrected: &unused) {
            RidgeCorrection.groupSums($0, dims: dims, clusters: clusters, design: data.design,
                                      tasks: RidgeCorrection.groupTasks(data.design), runner: runner)
        }
        for (name, sums) in [("cell order", byCell), ("group order", byGroup)] {
            assertClose(sums.n, expected.n, "\(name): n")
            assertClose(sums.s.flatMap { $0 }, expected.s.flatMap { $0 }, "\(name): s")
        }
    }

    func testBothApplyPassesMatchTheCellByCellCorrection() {
        let data = data()
        let ng = data.design.groupCount, nb = data.design.levelCount, nc = data.design.covariateCount
        var rng = SeededGenerator(seed: 12)
        let terms = (0..<nb).map { _ in (0..<(clusters * dims)).map { _ in rng.uniform() - 0.5 } }
        var expected = [Double](repeating: 0, count: cells * dims)
        for i in 0..<cells {
            let g = Int(data.design.cellGroups[i])
            for t in 0..<dims {
                var sum = 0.0
                for k in 0..<clusters {
                    var term = 0.0
                    for c in 0..<nc { term += terms[data.design.groupLevels[g * nc + c]][k * dims + t] }
                    sum += Double(data.r[i * clusters + k]) * term
                }
                expected[i * dims + t] = Double(data.z[i * dims + t]) - sum
            }
        }
        XCTAssertGreaterThan(ng, nb)
        let runner = TaskRunner(requested: 2)
        var byCell = [Float](repeating: .nan, count: cells * dims)
        withRows(data, corrected: &byCell) {
            CellOrderCorrection.apply($0, terms: CellOrderCorrection.paddedTerms(terms, dims: dims, clusters: clusters,
                                                                                 design: data.design),
                                      dims: dims, clusters: clusters, design: data.design, shard: .whole(cells),
                                      runner: runner)
        }
        var byGroup = [Float](repeating: .nan, count: cells * dims)
        withRows(data, corrected: &byGroup) {
            RidgeCorrection.apply($0, terms: terms,
                                  groupTerms: RidgeCorrection.combinedTerms(terms, dims: dims, clusters: clusters,
                                                                            design: data.design),
                                  dims: dims, clusters: clusters, design: data.design,
                                  tasks: RidgeCorrection.groupTasks(data.design), runner: runner)
        }
        assertClose(byCell.map { Double($0) }, expected, "cell order")
        assertClose(byGroup.map { Double($0) }, expected, "group order")
    }

    func testCellOrderPassesDoNotDependOnTheThreadCount() {
        let data = data()
        var unused = [Float](repeating: 0, count: cells * dims)
        let sums = [1, 2, 3].map { threads in
            withRows(data, corrected: &unused) {
                CellOrderCorrection.groupSums($0, dims: dims, clusters: clusters, design: data.design,
                                              shard: .whole(cells), runner: TaskRunner(requested: threads))
            }
        }
        XCTAssertEqual(sums[0].n, sums[1].n)
        XCTAssertEqual(sums[0].s, sums[1].s)
        XCTAssertEqual(sums[0].n, sums[2].n)
        XCTAssertEqual(sums[0].s, sums[2].s)
    }
}
