import XCTest
@testable import HarmonyCore

final class SimulatorTests: XCTestCase {
    func testShapesLabelsAndDeterminism() {
        let spec = SimulationSpec(cells: 40_000, dims: 12, batches: 3, types: 5, seed: 7)
        let a = Simulator.generate(spec)
        let b = Simulator.generate(spec)
        XCTAssertEqual(a.embedding.rows, 40_000)
        XCTAssertEqual(a.embedding.cols, 12)
        XCTAssertEqual(a.ids.first, "cell000001")
        XCTAssertEqual(a.ids.last, "cell040000")
        XCTAssertEqual(Set(a.batch), ["batch01", "batch02", "batch03"])
        XCTAssertEqual(Set(a.cellType).count, 5)
        XCTAssertEqual(a.embedding.values, b.embedding.values, "same spec must give identical data")
        XCTAssertEqual(a.batch, b.batch)
        XCTAssertTrue(a.embedding.values.allSatisfy { $0.isFinite })
        var other = spec
        other.seed = 8
        XCTAssertNotEqual(Simulator.generate(other).embedding.values, a.embedding.values)
    }

    func testBatchesHaveUnequalSizesAndShiftedMeans() {
        let data = Simulator.generate(SimulationSpec(cells: 30_000, dims: 8, batches: 4, types: 6, seed: 3))
        let covariate = Covariate(name: "batch", labels: data.batch)
        let counts = covariate.levelCounts
        XCTAssertGreaterThan(Double(counts.max()!) / Double(counts.min()!), 1.1, "batch sizes should differ")
        // Mean of dimension 0 per batch: the batch shifts should separate them by more than sampling noise.
        var sums = [Double](repeating: 0, count: 4)
        for i in 0..<data.embedding.rows { sums[Int(covariate.codes[i])] += Double(data.embedding[i, 0]) }
        let means = (0..<4).map { sums[$0] / Double(counts[$0]) }
        XCTAssertGreaterThan(means.max()! - means.min()!, 0.3)
    }

    func testBatchEffectScalesTheShiftsOnly() {
        var spec = SimulationSpec(cells: 5_000, dims: 6, batches: 3, types: 4, seed: 5)
        let full = Simulator.generate(spec)
        spec.batchEffect = 0
        let none = Simulator.generate(spec)
        XCTAssertEqual(full.batch, none.batch, "labels do not depend on the batch effect")
        XCTAssertEqual(full.cellType, none.cellType)
        // Without a batch effect, cells of one type have the same distribution in every batch: the gap between
        // batch means of one type is sampling noise only, far below the shifted data's.
        func largestGap(_ data: SimulatedData) -> Double {
            let type = data.cellType[0]
            var sums: [String: (Double, Int)] = [:]
            for i in 0..<data.embedding.rows where data.cellType[i] == type {
                let s = sums[data.batch[i], default: (0, 0)]
                sums[data.batch[i]] = (s.0 + Double(data.embedding[i, 0]), s.1 + 1)
            }
            let means = sums.values.filter { $0.1 >= 50 }.map { $0.0 / Double($0.1) }
            return means.max()! - means.min()!
        }
        XCTAssertLessThan(largestGap(none), 0.5)
        XCTAssertGreaterThan(largestGap(full), 2 * largestGap(none))
    }
}
