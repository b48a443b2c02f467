import XCTest
import HarmonyTestSupport

/// `harmony lisi`: JSON medians on stdout matching the fixtures, per-cell output, bad input.
final class LisiCommandTests: XCTestCase {
    func testMediansMatchTheFixtureOnCellLinesSmall() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let data = SharedData.directory.appendingPathComponent("data/cell_lines_small")
        let metricsURL = URL(fileURLWithPath: try SharedData.path("fixtures/cell_lines_small/metrics.json"))
        let r = try cli.run(["lisi", data.appendingPathComponent("pcs.tsv.gz").path,
                             "--meta", data.appendingPathComponent("meta.tsv.gz").path,
                             "--vars", "dataset,cell_type", "--per-cell", "lisi.tsv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let median = out["median"] as! [String: Double], mean = out["mean"] as! [String: Double]
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: metricsURL)) as! [String: Any]
        let expected = (metrics["lisi"] as! [String: Any])["uncorrected"] as! [String: Double]
        XCTAssertEqual(median["dataset"]!, expected["iLISI_median"]!, accuracy: 1e-9)
        XCTAssertEqual(median["cell_type"]!, expected["cLISI_median"]!, accuracy: 1e-9)
        XCTAssertEqual(mean["dataset"]!, expected["iLISI_mean"]!, accuracy: 1e-9)
        XCTAssertEqual(out["cells"] as? Int, 300)
        let perCell = try String(contentsOf: cli.directory.appendingPathComponent("lisi.tsv"), encoding: .utf8)
        XCTAssertTrue(perCell.hasPrefix("cell_id\tlisi_dataset\tlisi_cell_type\n"))
        XCTAssertEqual(perCell.split(separator: "\n").count, 301)
    }

    func testBadInputExitsWithStatusTwo() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.write("e.tsv", "id\tx\n" + (0..<8).map { "c\($0)\t\($0)\n" }.joined())
        try cli.write("m.tsv", "id\tb\n" + (0..<7).map { "c\($0)\ta\n" }.joined())
        let missing = try cli.run(["lisi", "e.tsv", "--meta", "m.tsv", "--vars", "b", "--per-cell", "p.tsv"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("e.tsv, line 9: cell 'c7' is not in the metadata file m.tsv"), missing.stderr)
        XCTAssertFalse(cli.exists("p.tsv"))
        let perplexity = try cli.run(["lisi", "e.tsv", "--meta", "m.tsv", "--vars", "b", "--perplexity", "0"])
        XCTAssertEqual(perplexity.status, 2)
        XCTAssertTrue(perplexity.stderr.contains("--perplexity"), perplexity.stderr)
    }
}
