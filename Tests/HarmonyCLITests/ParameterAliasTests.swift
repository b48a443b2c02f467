import Foundation
import XCTest

/// harmonypy's parameter names are aliases of ours: a fit given them writes exactly what our names write.
final class ParameterAliasTests: XCTestCase {
    func testHarmonypyNamesGiveTheSameFitAsOurs() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.simulate(cells: 400, dims: 8, batches: 2, types: 3, seed: 4)
        let common = ["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--quiet"]
        let ours = try cli.run(common + ["--lambda", "0.5", "--max-iter", "3", "--max-iter-cluster", "6",
                                         "--seed", "9", "--threads", "2", "--out", "ours.tsv"])
        let theirs = try cli.run(common + ["--lamb", "0.5", "--max-iter-harmony", "3", "--max-iter-kmeans", "6",
                                           "--random-state", "9", "--ncores", "2", "--out", "theirs.tsv"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        XCTAssertEqual(theirs.status, 0, theirs.stderr)
        let a = try Data(contentsOf: cli.directory.appendingPathComponent("ours.tsv"))
        let b = try Data(contentsOf: cli.directory.appendingPathComponent("theirs.tsv"))
        XCTAssertFalse(a.isEmpty)
        XCTAssertEqual(a, b)
        // A different seed changes the result, so the comparison above can fail.
        let other = try cli.run(common + ["--lamb", "0.5", "--max-iter-harmony", "3", "--max-iter-kmeans", "6",
                                          "--random-state", "10", "--out", "other.tsv"])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertNotEqual(try Data(contentsOf: cli.directory.appendingPathComponent("other.tsv")), a)
    }

    func testThetaPerLevelAsHarmonypyAllows() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.simulate(cells: 400, dims: 8, batches: 3, types: 3, seed: 4)
        let common = ["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--quiet",
                      "--max-iter", "3"]
        func output(_ theta: String, _ name: String) throws -> Data {
            let r = try cli.run(common + ["--theta", theta, "--out", name])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try Data(contentsOf: cli.directory.appendingPathComponent(name))
        }
        // The same value on every level is the single value; another value on one level changes the fit.
        XCTAssertEqual(try output("2,2,2", "a.tsv"), try output("2", "b.tsv"))
        XCTAssertNotEqual(try output("2,0.5,2", "c.tsv"), try output("2", "d.tsv"))
        let wrong = try cli.run(common + ["--theta", "1,2", "--out", "e.tsv"])
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("one per level (3)"), wrong.stderr)
    }
}
