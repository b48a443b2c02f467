import XCTest

/// `harmony simulate`: the same options give the same bytes; both formats; bad options.
final class SimulateCommandTests: XCTestCase {
    func testDeterministicFilesInBothFormats() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let args = ["simulate", "--cells", "500", "--dims", "4", "--batches", "2", "--types", "3", "--seed", "7"]
        XCTAssertEqual(try cli.run(args + ["--out-dir", "a"]).status, 0)
        XCTAssertEqual(try cli.run(args + ["--out-dir", "b"]).status, 0)
        for name in ["pcs.tsv.gz", "meta.tsv.gz"] {
            let a = try Data(contentsOf: cli.directory.appendingPathComponent("a/\(name)"))
            let b = try Data(contentsOf: cli.directory.appendingPathComponent("b/\(name)"))
            XCTAssertEqual(a, b, name)
            XCTAssertGreaterThan(a.count, 100)
        }
        XCTAssertEqual(try cli.run(args + ["--out-dir", "n", "--format", "npy"]).status, 0)
        XCTAssertTrue(cli.exists("n/pcs.npy") && cli.exists("n/pcs.ids.txt") && cli.exists("n/meta.tsv.gz"))
        // The npy data set is usable as is: lisi joins its sidecar ids with the metadata.
        let lisi = try cli.run(["lisi", "n/pcs.npy", "--meta", "n/meta.tsv.gz", "--vars", "batch,cell_type"])
        XCTAssertEqual(lisi.status, 0, lisi.stderr)
        XCTAssertTrue(lisi.stdout.contains("\"cells\" : 500"), lisi.stdout)
    }

    func testBadOptions() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let r = try cli.run(["simulate", "--cells", "0", "--dims", "4", "--batches", "2", "--types", "3", "--out-dir", "x"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--cells"), r.stderr)
        let f = try cli.run(["simulate", "--cells", "10", "--dims", "4", "--batches", "2", "--types", "3", "--out-dir", "x",
                             "--format", "h5ad"])
        XCTAssertEqual(f.status, 2)
        XCTAssertFalse(cli.exists("x"))
    }
}
