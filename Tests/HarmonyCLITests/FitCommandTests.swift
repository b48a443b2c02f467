import XCTest
import HarmonyTestSupport

/// `harmony fit` on bad input: exit status 2, a message naming file, line and column, and no output written.
final class FitCommandTests: XCTestCase {
    private var cli: CLIRunner!

    override func setUpWithError() throws {
        cli = try CLIRunner()
        // Eight cells, two batches: a valid base that each test breaks in one place.
        var pcs = "cell_id\tPC1\tPC2\n"
        var meta = "cell_id\tbatch\tdonor\n"
        for i in 0..<8 {
            pcs += "c\(i)\t\(Double(i) * 0.5)\t\(Double(i % 3) - 1)\n"
            meta += "c\(i)\t\(i % 2 == 0 ? "a" : "b")\td\(i % 4)\n"
        }
        try cli.write("pcs.tsv", pcs)
        try cli.write("meta.tsv", meta)
    }

    override func tearDown() {
        cli.remove()
    }

    /// Runs fit with `extra` options after rewriting one input, and checks status 2, the message and no output.
    private func assertRejected(pcs: String? = nil, meta: String? = nil, vars: String = "batch", extra: [String] = [],
                                message fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        if let pcs { try cli.write("pcs.tsv", pcs) }
        if let meta { try cli.write("meta.tsv", meta) }
        let before = cli.listing()
        let r = try cli.run(["fit", "pcs.tsv", "--meta", "meta.tsv", "--vars", vars, "--out", "out.tsv",
                             "--report", "report.json"] + extra)
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(r.stderr.contains(fragment), "'\(fragment)' not in: \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(cli.listing(), before, "no output or temporary file may be left", file: file, line: line)
    }

    func testNonFiniteValue() throws {
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2\nc1\t1\tnan\n",
                           message: ["pcs.tsv, line 3, column 3 (PC2)", "non-finite value 'nan'"])
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\tinf\t2\n", message: ["pcs.tsv, line 2, column 2 (PC1)", "non-finite"])
    }

    func testNotANumberAndEmptyValue() throws {
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2x\n", message: ["line 2, column 3 (PC2)", "'2x' is not a number"])
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t\t2\n", message: ["line 2, column 2 (PC1)", "empty value"])
    }

    func testRaggedRows() throws {
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2\nc1\t1\n", message: ["pcs.tsv, line 3", "2 fields", "header has 3"])
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2\nc1\t1\t2\t3\n", message: ["pcs.tsv, line 3", "4 fields"])
    }

    func testMissingAndDuplicateCellIdsInTheEmbedding() throws {
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2\n\t1\t2\n", message: ["pcs.tsv, line 3, column 1", "missing cell id"])
        try assertRejected(pcs: "cell_id\tPC1\tPC2\nc0\t1\t2\nc1\t1\t2\nc0\t3\t4\n",
                           message: ["pcs.tsv, line 4", "duplicate cell id 'c0'", "line 2"])
    }

    func testMissingAndDuplicateCellIdsInTheMetadata() throws {
        var meta = "cell_id\tbatch\tdonor\n"
        for i in 0..<8 { meta += "c\(i)\t\(i % 2 == 0 ? "a" : "b")\td\n" }
        try assertRejected(meta: meta + "c3\ta\td\n", message: ["meta.tsv, line 10", "duplicate cell id 'c3'", "line 5"])
        try assertRejected(meta: meta + "\ta\td\n", message: ["meta.tsv, line 10, column 1", "missing cell id"])
    }

    func testCellMissingFromTheMetadata() throws {
        var meta = "cell_id\tbatch\n"
        for i in 0..<8 where i != 5 { meta += "c\(i)\t\(i % 2 == 0 ? "a" : "b")\n" }
        try assertRejected(meta: meta, message: ["pcs.tsv, line 7", "cell 'c5' is not in the metadata file meta.tsv"])
    }

    func testUnknownColumnAndEmptyColumnName() throws {
        try assertRejected(vars: "batch,sample", message: ["meta.tsv", "no column 'sample'", "'batch', 'donor'"])
        try assertRejected(vars: "batch,", message: ["--vars"])
        try assertRejected(vars: "batch,batch", message: ["'batch' is listed twice"])
    }

    func testEmptyValueInAUsedColumn() throws {
        var meta = "cell_id\tbatch\tdonor\n"
        for i in 0..<8 { meta += "c\(i)\t\(i == 6 ? "" : "a\(i % 2)")\td\n" }
        try assertRejected(meta: meta, message: ["meta.tsv, line 8, column 2 (batch)", "empty value for cell 'c6'"])
    }

    // NA, NaN and friends are what R, pandas and anndata write for a missing batch; they must not become a
    // one-cell level of their own.
    func testMissingValueMarkersInAUsedColumn() throws {
        for marker in ["NA", "NaN", "<NA>"] {
            var meta = "cell_id\tbatch\tdonor\n"
            for i in 0..<8 { meta += "c\(i)\t\(i == 3 ? marker : "a\(i % 2)")\td\n" }
            try assertRejected(meta: meta, message: ["meta.tsv, line 5, column 2 (batch)",
                                                     "missing value '\(marker)' for cell 'c3'"])
        }
    }

    func testFewerThanSixCells() throws {
        try assertRejected(pcs: "cell_id\tPC1\nc0\t1\nc1\t2\nc2\t3\nc3\t4\nc4\t5\n",
                           message: ["pcs.tsv", "5 cell(s)", "at least 6"])
    }

    func testCovariateWithOneLevel() throws {
        var meta = "cell_id\tbatch\n"
        for i in 0..<8 { meta += "c\(i)\tsame\n" }
        try assertRejected(meta: meta, message: ["meta.tsv, column 2 (batch)", "'same'", "at least two levels"])
    }

    func testBadOptionValues() throws {
        try assertRejected(extra: ["--theta", "-1"], message: ["--theta"])
        // One value, one per column or one per level: three values fit none of them here (1 column, 2 levels).
        // Checked against the data's levels, so after the "read" progress line (silenced here).
        try assertRejected(extra: ["--theta", "1,2,3", "--quiet"],
                           message: ["theta has 3 values", "one per covariate (1) or one per level (2)"])
        try assertRejected(extra: ["--block-size", "2"], message: ["--block-size"])
        try assertRejected(extra: ["--preset", "harmony3"], message: ["--preset"])
        try assertRejected(extra: ["--lambda", "lots"], message: ["--lambda"])
        try assertRejected(extra: ["--lambda", "1", "--alpha", "0.3"], message: ["--alpha applies only with --lambda auto"])
        try assertRejected(extra: ["--nclust", "0"], message: ["--nclust"])
        try assertRejected(extra: ["--sigma", "0"], message: ["--sigma"])
        try assertRejected(extra: ["--max-iter", "0"], message: ["--max-iter"])
        try assertRejected(extra: ["--threads", "-2"], message: ["--threads"])
        try assertRejected(extra: ["--seed", "x"], message: ["--seed"])
    }

    func testBadPathsAreUsageErrors() throws {
        let r = try cli.run(["fit", "nope.tsv", "--meta", "meta.tsv", "--vars", "batch", "--out", "out.tsv"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("nope.tsv: cannot open"), r.stderr)
        let bad = try cli.run(["fit", "pcs.tsv", "--meta", "meta.tsv", "--vars", "batch", "--out", "out.parquet"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("unsupported file type"), bad.stderr)
        let noDir = try cli.run(["fit", "pcs.tsv", "--meta", "meta.tsv", "--vars", "batch", "--out", "no/such/dir/o.tsv"])
        XCTAssertEqual(noDir.status, 2)
        XCTAssertTrue(noDir.stderr.contains("does not exist"), noDir.stderr)
        XCTAssertFalse(cli.exists("out.tsv"))
    }

    // MARK: - Happy path on the committed sample

    func testFitOfTheSampleWritesOutputAndReport() throws {
        let sample = SharedData.repositoryRoot.appendingPathComponent("Samples/data")
        let r = try cli.run(["fit", sample.appendingPathComponent("pcs.tsv.gz").path,
                             "--meta", sample.appendingPathComponent("meta.tsv.gz").path, "--vars", "batch",
                             "--out", "corrected.tsv.gz", "--report", "report.json", "--reference-out", "ref.hmod",
                             "--labels", "cell_type"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("iteration 1: objective"), "progress lines on stderr: \(r.stderr)")
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(cli.listing(), ["corrected.tsv.gz", "meta.tsv", "pcs.tsv", "ref.hmod", "report.json"])
        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: cli.directory.appendingPathComponent("report.json"))) as! [String: Any]
        for key in ["iterations", "converged", "objective", "objective_kmeans", "cluster_rounds", "fit_seconds",
                    "timings", "read_seconds", "write_seconds", "K", "N", "d", "parameters"] {
            XCTAssertNotNil(report[key], "report lacks \(key)")
        }
        let iterations = report["iterations"] as! Int
        XCTAssertEqual(report["N"] as? Int, 3000)
        XCTAssertEqual(report["d"] as? Int, 20)
        XCTAssertEqual(report["K"] as? Int, 100)
        XCTAssertEqual((report["objective"] as! [Double]).count, iterations + 1)
        XCTAssertEqual((report["cluster_rounds"] as! [Int]).count, iterations)
        let timings = report["timings"] as! [String: Double]
        XCTAssertEqual(Set(timings.keys), ["initialization", "kmeans_start", "clustering", "correction", "total"])
        XCTAssertGreaterThan(timings["kmeans_start"]!, 0)
        XCTAssertLessThanOrEqual(timings["kmeans_start"]!, timings["initialization"]!)
        XCTAssertGreaterThan(report["fit_seconds"] as! Double, 0)
        XCTAssertEqual((report["parameters"] as! [String: Any])["lambda"] as? String, "auto")
        // The output carries the input's ids in order, and is corrected (differs from the input).
        let corrected = try String(decoding: gunzip(cli.directory.appendingPathComponent("corrected.tsv.gz")), as: UTF8.self)
        let original = try String(decoding: gunzip(sample.appendingPathComponent("pcs.tsv.gz")), as: UTF8.self)
        let outLines = corrected.split(separator: "\n"), inLines = original.split(separator: "\n")
        XCTAssertEqual(outLines.count, 3001)
        XCTAssertEqual(outLines[0], inLines[0])
        XCTAssertEqual(outLines.map { $0.prefix { $0 != "\t" } }, inLines.map { $0.prefix { $0 != "\t" } })
        XCTAssertNotEqual(outLines[1], inLines[1])
    }

    func testExplicitOptionsOverrideThePreset() throws {
        let r = try cli.run(["fit", "pcs.tsv", "--meta", "meta.tsv", "--vars", "batch,donor", "--out", "o.npy",
                             "--preset", "harmony1", "--theta", "1,0.5", "--nclust", "2", "--max-iter", "3",
                             "--no-early-stop", "--report", "r.json", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "--quiet prints nothing")
        XCTAssertTrue(cli.exists("o.npy") && cli.exists("o.ids.txt"))
        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: cli.directory.appendingPathComponent("r.json"))) as! [String: Any]
        let p = report["parameters"] as! [String: Any]
        XCTAssertEqual(p["preset"] as? String, "harmony1")
        XCTAssertEqual(p["theta"] as? [Double], [1, 0.5])
        XCTAssertEqual(p["lambda"] as? [Double], [1], "harmony1's fixed lambda is kept")
        XCTAssertEqual(p["max_iter_cluster"] as? Int, 20, "harmony1's rounds are kept")
        XCTAssertEqual(report["iterations"] as? Int, 3)
        XCTAssertEqual(report["K"] as? Int, 2)
    }

    private func gunzip(_ url: URL) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -dc '\(url.path)'"]
        let out = cli.directory.appendingPathComponent(".gunzip")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        defer { try? FileManager.default.removeItem(at: out) }
        return try Data(contentsOf: out)
    }
}
