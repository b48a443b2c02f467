import XCTest
@testable import HarmonyCore

final class LabelTransferTests: XCTestCase {
    /// A full model on a line: cells at x = 0..5 labelled A A B B C C, and one cluster per label.
    private func lineModel(compact: Bool) throws -> ReferenceModel {
        let n = 6
        let x = Matrix<Float>(rows: n, cols: 1, values: (0..<n).map { Float($0) })
        let codes: [Int32] = [0, 0, 1, 1, 2, 2]
        let cells = ReferenceCells(ids: (0..<n).map { "r\($0)" }, original: x, corrected: x,
                                   covariateCodes: [[Int32](repeating: 0, count: n)], labelCodes: codes)
        let pi = Matrix<Double>(rows: 2, cols: 3, values: [0.7, 0.2, 0.1, 0.1, 0.3, 0.6])
        return try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [0.1, 0.1], theta: [2], lambda: .fixed([1])),
            clusterMass: [3, 3], clusterSums: Matrix(rows: 2, cols: 1, values: [1, 2]),
            levelTerms: [Matrix(rows: 2, cols: 1)], covariates: [ReferenceCovariate(name: "batch", levels: ["a"])],
            labels: ReferenceLabels(name: "type", values: ["A", "B", "C"], clusterFrequencies: pi),
            cells: compact ? nil : cells)
    }

    /// Majority of the k nearest; a tied vote goes to the label of the nearest voter; confidence = vote share.
    func testKnnVoteAndTies() throws {
        let transfer = try XCTUnwrap(LabelTransfer(model: try lineModel(compact: false), k: 3))
        XCTAssertEqual(transfer.method, .nearestNeighbors)
        // 0.2: neighbours 0, 1, 2 -> A A B. 3.4: neighbours 3, 4, 2 -> B C B.
        let out = try transfer.predict(corrected: Matrix(rows: 2, cols: 1, values: [0.2, 3.4]), assignments: nil)
        XCTAssertEqual((0..<2).map { out.label($0) }, ["A", "B"])
        XCTAssertEqual(out.confidence, [Float(2) / 3, Float(2) / 3])
        // k = 2 at 1.6: 2 (B, 0.4) and 1 (A, 0.6) tie 1:1 -> B; at 1.4: 1 (A, 0.4) and 2 (B, 0.6) -> A.
        let two = try XCTUnwrap(LabelTransfer(model: try lineModel(compact: false), k: 2))
        let tie = try two.predict(corrected: Matrix(rows: 2, cols: 1, values: [1.6, 1.4]), assignments: nil)
        XCTAssertEqual((0..<2).map { tie.label($0) }, ["B", "A"])
        XCTAssertEqual(tie.confidence, [0.5, 0.5])
    }

    /// P(l | i) = sum_k R_ik pi_kl for compact models (or when forced).
    func testClusterEstimate() throws {
        let transfer = try XCTUnwrap(LabelTransfer(model: try lineModel(compact: true)))
        XCTAssertEqual(transfer.method, .clusters)
        let r = Matrix<Float>(rows: 2, cols: 2, values: [1, 0, 0.25, 0.75])
        let out = try transfer.predict(corrected: Matrix(rows: 2, cols: 1), assignments: r)
        XCTAssertEqual((0..<2).map { out.label($0) }, ["A", "C"])
        XCTAssertEqual(out.confidence[0], 0.7, accuracy: 1e-6)
        XCTAssertEqual(out.confidence[1], Float(0.25 * 0.1 + 0.75 * 0.6), accuracy: 1e-6)
        XCTAssertThrowsError(try transfer.predict(corrected: Matrix(rows: 2, cols: 1), assignments: nil))
        XCTAssertEqual(LabelTransfer(model: try lineModel(compact: false), forceClusters: true)?.method, .clusters)
    }
}
