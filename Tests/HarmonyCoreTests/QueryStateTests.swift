import XCTest
@testable import HarmonyCore

final class QueryStateTests: XCTestCase {
    /// A deterministic pseudo-random generator (SplitMix64) so every run sees the same data.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomModel(k: Int, d: Int, rng: inout SplitMix) throws -> ReferenceModel {
        var sums = Matrix<Double>(rows: k, cols: d)
        for i in 0..<sums.values.count { sums.values[i] = Double.random(in: -5...5, using: &rng) }
        var terms = Matrix<Double>(rows: k, cols: d)
        for i in 0..<terms.values.count { terms.values[i] = Double.random(in: -0.5...0.5, using: &rng) }
        let mass = (0..<k).map { _ in Double.random(in: 1...50, using: &rng) }
        return try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [Double](repeating: 0.2, count: k), theta: [2],
                                            lambda: .dynamic(alpha: 0.2)),
            clusterMass: mass, clusterSums: sums, levelTerms: [terms, Matrix(rows: k, cols: d)],
            covariates: [ReferenceCovariate(name: "batch", levels: ["ref1", "ref2"])], labels: nil, cells: nil)
    }

    static func randomCells(_ n: Int, d: Int, rng: inout SplitMix) -> Matrix<Float> {
        Matrix(rows: n, cols: d, values: (0..<(n * d)).map { _ in Float.random(in: -3...3, using: &rng) })
    }

    /// Chunks of 1, 7 and 1000 cells end with the statistics and re-corrected embedding of one call.
    func testChunkingDoesNotChangeTheResult() throws {
        var rng = SplitMix(state: 42)
        let model = try Self.randomModel(k: 12, d: 6, rng: &rng)
        let n = 2500
        let cells = Self.randomCells(n, d: 6, rng: &rng)
        let labels = (0..<n).map { i in ["q1", "q2", "ref1"][(i * 7 + i / 13) % 3] }
        let mapper = try QueryMapper(model: model)
        var whole = QueryState(mapper: mapper, batchKey: "batch")
        _ = try whole.add(cells: cells, batches: labels)
        let expected = try whole.correct(cells: cells, batches: labels)
        XCTAssertEqual(whole.newBatches, ["q1", "q2"])
        for chunk in [1, 7, 1000] {
            var state = QueryState(mapper: mapper, batchKey: "batch")
            var start = 0
            while start < n {
                let end = min(n, start + chunk)
                _ = try state.add(cells: cells.selectingRows(start..<end), batches: Array(labels[start..<end]))
                start = end
            }
            XCTAssertEqual(state.newBatches, whole.newBatches)
            XCTAssertEqual(state.batchCellCounts, whole.batchCellCounts)
            for b in 0..<2 {
                XCTAssertLessThan(ReferenceTestData.relativeError(state.batchMass[b], whole.batchMass[b]), 1e-9)
                XCTAssertLessThan(ReferenceTestData.relativeError(state.batchSums[b], whole.batchSums[b]), 1e-9)
            }
            let again = try state.correct(cells: cells, batches: labels)
            let err = ReferenceTestData.relativeError(again.corrected.values.map(Double.init),
                                                      expected.corrected.values.map(Double.init))
            XCTAssertLessThan(err, 1e-9, "chunk \(chunk)")
            XCTAssertEqual(again.topCluster, expected.topCluster)
        }
    }

    /// A large offline query (several blocks, corrected in parallel) equals one unblocked pass.
    func testJointMappingInBlocksEqualsOnePass() throws {
        var rng = SplitMix(state: 21)
        let model = try Self.randomModel(k: 10, d: 4, rng: &rng)
        let n = QueryState.jointBlock * 2 + 123
        let cells = Self.randomCells(n, d: 4, rng: &rng)
        let labels = (0..<n).map { ["q1", "q2", "ref2"][($0 / 1000) % 3] }
        let options = QueryMappingOptions(lambda: 3, includeAssignments: true)
        let blocked = try QueryState.mapJointly(model: model, cells: cells, batches: labels, batchKey: "batch",
                                                options: options, threads: 2)
        var state = QueryState(mapper: try QueryMapper(model: model, options: options), batchKey: "batch")
        _ = try state.add(cells: cells, batches: labels)
        let onePass = try state.correct(cells: cells, batches: labels)
        XCTAssertLessThan(ReferenceTestData.relativeError(blocked.corrected.values.map(Double.init),
                                                          onePass.corrected.values.map(Double.init)), 1e-6)
        XCTAssertEqual(blocked.topCluster, onePass.topCluster)
        XCTAssertEqual(blocked.assignments, onePass.assignments)
    }

    /// The closed form equals a direct solve of the (1 + B) x (1 + B) normal equations of one cluster.
    func testTermsSolveTheNormalEquations() throws {
        var rng = SplitMix(state: 7)
        let model = try Self.randomModel(k: 4, d: 3, rng: &rng)
        let cells = Self.randomCells(300, d: 3, rng: &rng)
        let labels = (0..<300).map { $0 % 3 == 0 ? "x" : "y" }
        var state = QueryState(mapper: try QueryMapper(model: model, options: QueryMappingOptions(lambda: 5)),
                               batchKey: "batch")
        _ = try state.add(cells: cells, batches: labels)
        let (intercept, betas) = state.terms()
        let lambda = 5.0
        for c in 0..<4 {
            for j in 0..<3 {
                // Residuals of the three normal equations (intercept row, row of x, row of y).
                let n = state.batchMass.map { $0[c] }
                let s = state.batchSums.map { $0[c * 3 + j] }
                let b0 = intercept[c, j], b = betas.map { $0[c, j] }
                let row0 = (model.clusterMass[c] + n[0] + n[1]) * b0 + n[0] * b[0] + n[1] * b[1]
                    - (model.clusterSums[c, j] + s[0] + s[1])
                XCTAssertEqual(row0, 0, accuracy: 1e-9 * max(1, abs(model.clusterSums[c, j])))
                for q in 0..<2 {
                    XCTAssertEqual(n[q] * b0 + (n[q] + lambda) * b[q] - s[q], 0, accuracy: 1e-9 * max(1, abs(s[q])))
                }
            }
        }
    }

}
