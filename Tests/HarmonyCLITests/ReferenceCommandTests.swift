import XCTest

/// `harmony reference`: a build from simulated 10x counts, the single-level case and bad input.
final class ReferenceCommandTests: XCTestCase {
    func testBuildsAModelFromCountsAndWritesItsTables() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        XCTAssertEqual(try cli.run(["simulate", "--counts", "--cells", "600", "--genes", "400", "--batches", "2",
                                    "--types", "3", "--seed", "2", "--out-dir", "d"]).status, 0)
        let r = try cli.run(["reference", "d", "--meta", "d/meta.tsv.gz", "--vars", "batch", "--labels", "cell_type",
                             "--genes", "150", "--pcs", "10", "--out", "ref.hmod", "--pcs-out", "pcs.tsv",
                             "--corrected-out", "corrected.tsv", "--genes-out", "genes.tsv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for phase in ["read 600 cells x 400 genes", "150 variable genes", "means and SDs of 150 genes", "10 PCs", "Harmony", "wrote"] {
            XCTAssertTrue(r.stderr.contains(phase), "missing progress '\(phase)': \(r.stderr)")
        }
        XCTAssertTrue(cli.exists("ref.hmod") && cli.exists("pcs.tsv") && cli.exists("corrected.tsv") && cli.exists("genes.tsv"))
        let genes = try String(contentsOf: cli.directory.appendingPathComponent("genes.tsv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(genes.count, 151)
        XCTAssertEqual(genes[0], "gene_id\tgene\tmean\tsd")
        let inspect = try cli.run(["inspect", "ref.hmod"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
    }

    func testASingleBatchLevelBuildsWithoutCorrection() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        XCTAssertEqual(try cli.run(["simulate", "--counts", "--cells", "300", "--genes", "200", "--batches", "1",
                                    "--types", "3", "--seed", "3", "--out-dir", "d"]).status, 0)
        let r = try cli.run(["reference", "d", "--meta", "d/meta.tsv.gz", "--vars", "batch", "--genes", "100", "--pcs", "8",
                             "--out", "ref.hmod", "--pcs-out", "pcs.tsv", "--corrected-out", "corrected.tsv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("soft clustering only"), r.stderr)
        // Nothing was corrected.
        let pcs = try String(contentsOf: cli.directory.appendingPathComponent("pcs.tsv"), encoding: .utf8)
        let corrected = try String(contentsOf: cli.directory.appendingPathComponent("corrected.tsv"), encoding: .utf8)
        XCTAssertEqual(pcs, corrected)
    }

    func testNonIntegerCountsAreAnInputErrorWithNoOutput() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try FileManager.default.createDirectory(at: cli.directory.appendingPathComponent("d"), withIntermediateDirectories: true)
        var matrix = "%%MatrixMarket matrix coordinate real general\n%\n3 8 9\n"
        for c in 1...8 { matrix += "\(c % 3 + 1) \(c) \(c == 5 ? "2.5" : "\(c)")\n" }
        matrix += "1 1 4\n"
        try matrix.write(to: cli.directory.appendingPathComponent("d/matrix.mtx"), atomically: true, encoding: .utf8)
        try "A\tGA\tGene Expression\nB\tGB\tGene Expression\nC\tGC\tGene Expression\n"
            .write(to: cli.directory.appendingPathComponent("d/features.tsv"), atomically: true, encoding: .utf8)
        try (1...8).map { "c\($0)" }.joined(separator: "\n")
            .write(to: cli.directory.appendingPathComponent("d/barcodes.tsv"), atomically: true, encoding: .utf8)
        try ("cell_id\tbatch\n" + (1...8).map { "c\($0)\tb\($0 % 2)" }.joined(separator: "\n"))
            .write(to: cli.directory.appendingPathComponent("meta.tsv"), atomically: true, encoding: .utf8)
        let r = try cli.run(["reference", "d", "--meta", "meta.tsv", "--vars", "batch", "--pcs", "1", "--min-cells", "0",
                             "--out", "ref.hmod", "--pcs-out", "pcs.tsv", "--quiet"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("cell c5") && r.stderr.contains("gene G"), r.stderr)
        XCTAssertFalse(cli.exists("ref.hmod") || cli.exists("pcs.tsv"))
    }
}
