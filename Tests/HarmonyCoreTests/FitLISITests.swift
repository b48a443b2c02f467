import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

/// Full Harmony fits of real data sets judged by LISI against harmonypy 2.1.0 (fixtures' metrics.json):
/// median iLISI at most 0.05 below harmonypy's, median cLISI at most 0.05 above it.
final class FitLISITests: XCTestCase {
    private func check(_ name: String, batch: String, label: String?) throws {
        let data = SharedData.directory.appendingPathComponent("data/\(name)")
        let metricsURL = URL(fileURLWithPath: try SharedData.path("fixtures/\(name)/metrics.json"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: metricsURL)) as! [String: Any]
        let reference = (metrics["lisi"] as! [String: Any])["harmonypy_default"] as! [String: Double]
        let input = try FitInput.load(embedding: data.appendingPathComponent("pcs.tsv.gz").path,
                                      metadata: data.appendingPathComponent("meta.tsv.gz").path, columns: [batch])
        let fit = try Harmony.fit(input.embedding.floatValues, covariates: input.covariates, parameters: HarmonyParameters())
        var labelSets = [input.covariates[0].codes]
        if let label {
            labelSets.append(Covariate(name: label, labels: try input.metadata.labels(
                column: label, rows: try input.metadata.rows(for: input.embedding))).codes)
        }
        let scores = try LISI.perCell(fit.corrected.converted(to: Double.self), labelSets: labelSets)
        let iLISI = LISI.median(scores[0])
        print("\(name): median iLISI \(iLISI) (harmonypy \(reference["iLISI_median"]!)), \(fit.iterations) iterations")
        XCTAssertGreaterThanOrEqual(iLISI, reference["iLISI_median"]! - 0.05, "\(name) iLISI")
        if label != nil {
            let cLISI = LISI.median(scores[1])
            print("\(name): median cLISI \(cLISI) (harmonypy \(reference["cLISI_median"]!))")
            XCTAssertLessThanOrEqual(cLISI, reference["cLISI_median"]! + 0.05, "\(name) cLISI")
        }
    }

    func testCellLines() throws { try check("cell_lines", batch: "dataset", label: "cell_type") }

    func testPbmcStim() throws { try check("pbmc_stim", batch: "stim", label: nil) }

    func testPbmcsSymphony() throws { try check("pbmcs_symphony", batch: "donor", label: "cell_type") }
}
