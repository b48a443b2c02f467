import XCTest
@testable import HarmonyCore

/// One correction step with R fixed against the float64 expected outputs of `fixtures/<set>/onestep/`.
/// Tolerances (fixtures/README.md, float32 implementation): Zcorr within 1e-5 x max |expected|, Y within 1e-5.
final class RidgeCorrectionTests: XCTestCase {
    private func step(dataset: String, rFile: String, penalty: RidgePenalty) throws -> (Matrix<Float>, Matrix<Float>, Int) {
        let z = try FixtureData.pcs(dataset)
        let r = try FixtureData.matrix("fixtures/\(dataset)/onestep/\(rFile)").converted(to: Float.self)
        let y = try FixtureData.matrix("fixtures/\(dataset)/onestep/init_Y.tsv.gz").converted(to: Float.self)
        let labels = try FixtureData.metaColumn(dataset, "dataset")
        let design = FitDesign(covariates: [Covariate(name: "dataset", labels: labels)], cells: z.rows)
        var corrected = Matrix<Float>(rows: z.rows, cols: z.cols)
        let settings = CorrectionSettings(penalty: penalty, dropLevels: true, cutoff: 1e-5, updateCentroids: true)
        let output = try z.values.withUnsafeBufferPointer { zb in
            try r.values.withUnsafeBufferPointer { rb in
                try corrected.values.withUnsafeMutableBufferPointer { cb in
                    try RidgeCorrection.correct(z: zb.baseAddress!, r: rb.baseAddress!, corrected: cb.baseAddress!,
                                                dims: z.cols, clusters: r.cols, centroids: y.values, design: design,
                                                settings: settings, runner: TaskRunner(requested: 2))
                }
            }
        }
        return (corrected, Matrix(rows: y.rows, cols: y.cols, values: output.centroids), output.activeClusters)
    }

    private func check(dataset: String, rFile: String, penalty: RidgePenalty, expectedPrefix: String,
                       activeClusters: Int? = nil) throws {
        let (corrected, centroids, active) = try step(dataset: dataset, rFile: rFile, penalty: penalty)
        let base = "fixtures/\(dataset)/onestep/\(expectedPrefix)"
        let expectedZ = try FixtureData.matrix(base + "_Zcorr.tsv.gz")
        let expectedY = try FixtureData.matrix(base + "_Y.tsv.gz")
        let zError = FixtureData.maxAbsDiff(corrected, expectedZ) / FixtureData.maxAbs(expectedZ)
        let yError = FixtureData.maxAbsDiff(centroids, expectedY)
        print("\(dataset) \(expectedPrefix): Zcorr max error / max|Z| = \(zError), Y max error = \(yError), active \(active)")
        XCTAssertLessThanOrEqual(zError, 1e-5)
        XCTAssertLessThanOrEqual(yError, 1e-5)
        if let activeClusters { XCTAssertEqual(active, activeClusters) }
    }

    func testSmallAutoLambda() throws {
        try check(dataset: "cell_lines_small", rFile: "init_R.tsv.gz", penalty: .dynamic(alpha: 0.2), expectedPrefix: "step_auto")
    }

    func testSmallFixedLambda() throws {
        try check(dataset: "cell_lines_small", rFile: "init_R.tsv.gz", penalty: .fixed([1]), expectedPrefix: "step_lambda1")
    }

    func testCellLinesAutoLambda() throws {
        try check(dataset: "cell_lines", rFile: "init_R.tsv.gz", penalty: .dynamic(alpha: 0.2),
                  expectedPrefix: "step_auto", activeClusters: 98)
    }

    func testCellLinesFixedLambda() throws {
        try check(dataset: "cell_lines", rFile: "init_R.tsv.gz", penalty: .fixed([1]),
                  expectedPrefix: "step_lambda1", activeClusters: 98)
    }

    func testIterationOneAuto() throws {
        try check(dataset: "cell_lines_small", rFile: "iter1_R.tsv.gz", penalty: .dynamic(alpha: 0.2),
                  expectedPrefix: "iter1_auto_step")
    }

    func testIterationOneFixed() throws {
        try check(dataset: "cell_lines_small", rFile: "iter1_R.tsv.gz", penalty: .fixed([1]),
                  expectedPrefix: "iter1_lambda1_step")
    }

    /// R = softmax(-2 (1 - Y z) / 0.1) from init_Zcos and init_Y, within 1e-5 absolute.
    func testInitialAssignmentFromCentroids() throws {
        let dataset = "cell_lines_small"
        let zcos = try FixtureData.matrix("fixtures/\(dataset)/onestep/init_Zcos.tsv.gz").converted(to: Float.self)
        let y = try FixtureData.matrix("fixtures/\(dataset)/onestep/init_Y.tsv.gz").converted(to: Float.self)
        let expected = try FixtureData.matrix("fixtures/\(dataset)/onestep/init_R_from_Y_expected.tsv.gz")
        let labels = try FixtureData.metaColumn(dataset, "dataset")
        let design = FitDesign(covariates: [Covariate(name: "dataset", labels: labels)], cells: zcos.rows)
        let clustering = SoftClustering(embedding: zcos.values, centroids: y.values, dims: zcos.cols, clusters: y.rows,
                                        design: design, sigma: [Double](repeating: 0.1, count: y.rows),
                                        theta: [2, 2, 2], harmony1: false, blockSize: 0.05,
                                        rng: SeededGenerator(seed: 0), runner: TaskRunner(requested: 1))
        clustering.assignWithoutPenalty()
        let r = Matrix(rows: zcos.rows, cols: y.rows, values: clustering.assignments)
        let error = FixtureData.maxAbsDiff(r, expected)
        print("init R from Y: max error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-5)
    }
}
