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
        // Without the sidecar the cells are named 0, 1, ...; the error says why they do not match.
        try FileManager.default.removeItem(at: cli.directory.appendingPathComponent("n/pcs.ids.txt"))
        let orphan = try cli.run(["lisi", "n/pcs.npy", "--meta", "n/meta.tsv.gz", "--vars", "batch"])
        XCTAssertEqual(orphan.status, 2, orphan.stderr)
        XCTAssertTrue(orphan.stderr.contains("has no ids file n/pcs.ids.txt"), orphan.stderr)
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

    func testCountsAsA10xDirectory() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let args = ["simulate", "--counts", "--cells", "300", "--genes", "200", "--batches", "2", "--types", "3", "--seed", "5"]
        let r = try cli.run(args + ["--out-dir", "a"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run(args + ["--out-dir", "b"]).status, 0)
        for name in ["matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz", "meta.tsv.gz"] {
            let a = try Data(contentsOf: cli.directory.appendingPathComponent("a/\(name)"))
            let b = try Data(contentsOf: cli.directory.appendingPathComponent("b/\(name)"))
            XCTAssertEqual(a, b, name)
        }
        // MatrixMarket genes x cells, 1-based, entries sorted by cell then gene, integer counts; the header's entry
        // count matches.
        let text = try gunzip(cli.directory.appendingPathComponent("a/matrix.mtx.gz"))
        var lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.removeFirst(), "%%MatrixMarket matrix coordinate integer general")
        while lines.first?.hasPrefix("%") == true { lines.removeFirst() }
        let shape = lines.removeFirst().split(separator: " ").map { Int($0)! }
        XCTAssertEqual(Array(shape.prefix(2)), [200, 300])
        XCTAssertEqual(shape[2], lines.count)
        var last = (0, 0)
        for line in lines {
            let f = line.split(separator: " ").map { Int($0)! }
            XCTAssertTrue((1...200).contains(f[0]) && (1...300).contains(f[1]) && f[2] >= 1, line)
            XCTAssertTrue((f[1], f[0]) > last, "order at \(line)")
            last = (f[1], f[0])
        }
        let features = try gunzip(cli.directory.appendingPathComponent("a/features.tsv.gz")).split(separator: "\n")
        XCTAssertEqual(features.count, 200)
        XCTAssertEqual(features[0].split(separator: "\t").last, "Gene Expression")
        XCTAssertEqual(try gunzip(cli.directory.appendingPathComponent("a/barcodes.tsv.gz")).split(separator: "\n").count, 300)
        // Without --counts, --dims is required; with it, --dims is refused.
        XCTAssertEqual(try cli.run(["simulate", "--cells", "10", "--batches", "2", "--types", "3", "--out-dir", "x"]).status, 2)
        XCTAssertEqual(try cli.run(args + ["--dims", "4", "--out-dir", "x"]).status, 2)
        XCTAssertFalse(cli.exists("x"))
    }

    private func gunzip(_ url: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
