import XCTest
@testable import HarmonyCore

/// Full fits against harmonypy 2.1.0 outputs (fixtures/README.md, "How close must another implementation be?").
final class HarmonyTests: XCTestCase {
    private func fitDataset(_ name: String, batch: String, parameters: HarmonyParameters = HarmonyParameters())
        throws -> (HarmonyFitResult, Matrix<Float>) {
        let pcs = try FixtureData.pcs(name)
        let labels = try FixtureData.metaColumn(name, batch)
        let result = try Harmony.fit(pcs, covariates: [Covariate(name: batch, labels: labels)], parameters: parameters)
        return (result, pcs)
    }

    func testCellLinesMatchesHarmonypy() throws {
        let (result, _) = try fitDataset("cell_lines", batch: "dataset")
        let expected = try FixtureData.matrix("fixtures/cell_lines/harmonypy_Zcorr.tsv.gz")
        let r = FixtureData.minPearson(result.corrected, expected)
        print("cell_lines min Pearson \(r), iterations \(result.iterations), objective \(result.objective)")
        XCTAssertGreaterThanOrEqual(r, 0.99)
    }

    func testPbmcStimMatchesHarmonypy() throws {
        let (result, _) = try fitDataset("pbmc_stim", batch: "stim")
        let expected = try FixtureData.matrix("fixtures/pbmc_stim/harmonypy_Zcorr.tsv.gz")
        let r = FixtureData.minPearson(result.corrected, expected)
        print("pbmc_stim min Pearson \(r), iterations \(result.iterations)")
        XCTAssertGreaterThanOrEqual(r, 0.975)
    }

    func testPbmcsSymphonyMatchesHarmonypy() throws {
        let (result, _) = try fitDataset("pbmcs_symphony", batch: "donor")
        let expected = try FixtureData.matrix("fixtures/pbmcs_symphony/harmonypy_Zcorr.tsv.gz")
        let r = FixtureData.minPearson(result.corrected, expected)
        print("pbmcs_symphony min Pearson \(r), iterations \(result.iterations)")
        XCTAssertGreaterThanOrEqual(r, 0.92)
    }
}
