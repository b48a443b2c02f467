import XCTest
@testable import HarmonyCore

/// Joining metadata to an embedding by id, and the checks a fit's input must pass.
final class FitInputTests: XCTestCase {
    private var dir: IOTestDirectory!
    override func setUpWithError() throws {
        dir = try IOTestDirectory()
        var pcs = "cell_id\tPC1\n", meta = "cell_id\tbatch\ttype\n"
        for i in 0..<8 { pcs += "c\(i)\t\(i)\n" }
        // Metadata in another order, with an extra cell: the join goes by id.
        for i in (0..<9).reversed() { meta += "c\(i)\t\(["b", "a", "c"][i % 3])\tt\(i % 2)\n" }
        try dir.write("pcs.tsv", pcs)
        try dir.write("meta.tsv", meta)
    }
    override func tearDown() { dir.remove() }

    func testJoinsByIdAndCodesLevelsInByteOrder() throws {
        let input = try FitInput.load(embedding: dir.path("pcs.tsv"), metadata: dir.path("meta.tsv"), columns: ["batch", "type"])
        XCTAssertEqual(input.covariates.map(\.name), ["batch", "type"])
        XCTAssertEqual(input.covariates[0].levels, ["a", "b", "c"])
        XCTAssertEqual(input.covariates[0].codes, [1, 0, 2, 1, 0, 2, 1, 0])
        XCTAssertEqual(input.covariates[1].codes, [0, 1, 0, 1, 0, 1, 0, 1])
    }

    func testSingleLevelIsAllowedOnlyWhenAsked() throws {
        var meta = "cell_id\tbatch\n"
        for i in 0..<8 { meta += "c\(i)\tone\n" }
        try dir.write("meta.tsv", meta)
        XCTAssertThrowsError(try FitInput.load(embedding: dir.path("pcs.tsv"), metadata: dir.path("meta.tsv"), columns: ["batch"])) {
            XCTAssertTrue("\($0)".contains("column 2 (batch)"))
        }
        XCTAssertNoThrow(try FitInput.load(embedding: dir.path("pcs.tsv"), metadata: dir.path("meta.tsv"), columns: ["batch"],
                                           requireTwoLevels: false))
    }

    func testMetadataErrors() throws {
        let load = { try FitInput.load(embedding: self.dir.path("pcs.tsv"), metadata: self.dir.path("meta.tsv"), columns: ["batch"]) }
        try dir.write("meta.tsv", "cell_id\tbatch\nc0\ta\nc0\tb\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("meta.tsv, line 3: duplicate cell id 'c0'")) }
        try dir.write("meta.tsv", "cell_id\tbatch\nc0\ta\nc1\ta\tz\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("meta.tsv, line 3: 3 fields"), "\($0)") }
        XCTAssertThrowsError(try FitInput.load(embedding: dir.path("pcs.tsv"), metadata: dir.path("meta.tsv"), columns: [])) {
            XCTAssertTrue("\($0)".contains("no metadata column"))
        }
    }

    func testMetadataWrittenByRWithoutAnIdHeader() throws {
        var meta = "batch\n"
        for i in 0..<8 { meta += "c\(i)\t\(i % 2)\n" }
        try dir.write("meta.tsv", meta)
        let input = try FitInput.load(embedding: dir.path("pcs.tsv"), metadata: dir.path("meta.tsv"), columns: ["batch"])
        XCTAssertEqual(input.covariates[0].codes, [0, 1, 0, 1, 0, 1, 0, 1])
    }
}
