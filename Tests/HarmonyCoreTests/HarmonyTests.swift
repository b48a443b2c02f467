import XCTest
@testable import HarmonyCore

/// Full fits with default settings against harmonypy 2.1.0 (fixtures/README.md, "How close must another
/// implementation be?"): minimum per-PC Pearson correlation with `harmonypy_Zcorr.tsv.gz` at least the
/// suggested bound of each data set.
final class HarmonyTests: XCTestCase {
    private func checkAgainstHarmonypy(_ name: String, batch: String, bound: Double) throws {
        let pcs = try FixtureData.pcs(name)
        let labels = try FixtureData.metaColumn(name, batch)
        let result = try Harmony.fit(pcs, covariates: [Covariate(name: batch, labels: labels)],
                                     parameters: HarmonyParameters())
        let expected = try FixtureData.matrix("fixtures/\(name)/harmonypy_Zcorr.tsv.gz")
        let r = FixtureData.minPearson(result.corrected, expected)
        print("\(name) min Pearson \(r), iterations \(result.iterations), objective \(result.objective)")
        XCTAssertGreaterThanOrEqual(r, bound)
        XCTAssertTrue(result.converged, "the default fit should converge within 10 iterations")
    }

    func testCellLinesMatchesHarmonypy() throws {
        try checkAgainstHarmonypy("cell_lines", batch: "dataset", bound: 0.99)
    }

    func testPbmcStimMatchesHarmonypy() throws {
        try checkAgainstHarmonypy("pbmc_stim", batch: "stim", bound: 0.975)
    }

    func testPbmcsSymphonyMatchesHarmonypy() throws {
        try checkAgainstHarmonypy("pbmcs_symphony", batch: "donor", bound: 0.92)
    }
}
