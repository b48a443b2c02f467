import XCTest
@testable import HarmonyCore

/// The text embedding reader: exact parsing, formats, and every located error.
final class EmbeddingTests: XCTestCase {
    private var dir: IOTestDirectory!
    override func setUpWithError() throws { dir = try IOTestDirectory() }
    override func tearDown() { dir.remove() }

    private func assertError(_ text: String, name: String = "e.tsv", _ fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try dir.write(name, text)
        XCTAssertThrowsError(try Embedding.read(path), file: file, line: line) { error in
            let message = "\(error)"
            for f in fragments { XCTAssertTrue(message.contains(f), "'\(f)' not in '\(message)'", file: file, line: line) }
        }
    }

    func testParsesTsvExactlyWithIdsNamesAndLineNumbers() throws {
        let path = try dir.write("e.tsv", "cell_id\tPC1\tPC2\nA\t0.1\t-2.5e-3\n\nB\t1e300\t0x1p-3\n")
        let e = try Embedding.read(path)
        XCTAssertEqual(e.ids, ["A", "B"])
        XCTAssertEqual(e.columnNames, ["PC1", "PC2"])
        XCTAssertEqual(e.values.values, [0.1, -2.5e-3, 1e300, 0.125])
        XCTAssertEqual(e.lineNumbers, [2, 4])
    }

    func testHeaderWithoutIdColumnNameAsRWritesIt() throws {
        let e = try Embedding.read(try dir.write("r.tsv", "PC1\tPC2\ncellA\t1\t2\ncellB\t3\t4\n"))
        XCTAssertEqual(e.columnNames, ["PC1", "PC2"])
        XCTAssertEqual(e.ids, ["cellA", "cellB"])
        XCTAssertEqual(e.values.values, [1, 2, 3, 4])
    }

    func testCsvWithQuotesAndCrlfAndGzip() throws {
        let path = try dir.write("e.csv", "\"id\",\"x\"\r\n\"a\",\"1.5\"\r\nb,2\r\n")
        let e = try Embedding.read(path)
        XCTAssertEqual(e.ids, ["a", "b"])
        XCTAssertEqual(e.values.values, [1.5, 2])
        let gz = try dir.write("e.tsv.gz", bytes: try Gzip.compress(Array("id\tx\ty\nq\t3\t4\n".utf8)))
        XCTAssertEqual(try Embedding.read(gz).values.values, [3, 4])
    }

    func testManyRowsParseInParallelChunksInOrder() throws {
        var text = "id\ta\tb\n"
        for i in 0..<20_000 { text += "r\(i)\t\(i)\t\(-Double(i) / 7)\n" }
        let e = try Embedding.read(try dir.write("big.tsv", text))
        XCTAssertEqual(e.cellCount, 20_000)
        XCTAssertEqual(e.ids[12_345], "r12345")
        XCTAssertEqual(e.values[19_999, 1], -19_999.0 / 7)
    }

    func testErrorsNameFileLineAndColumn() throws {
        try assertError("id\tx\ty\na\t1\tnan\n", ["e.tsv, line 2, column 3 (y)", "non-finite value 'nan'"])
        try assertError("id\tx\ty\na\t1\t-inf\n", ["line 2, column 3 (y)", "non-finite"])
        try assertError("id\tx\ty\na\t1\t1..2\n", ["line 2, column 3 (y)", "'1..2' is not a number"])
        try assertError("id\tx\ty\na\t\t2\n", ["line 2, column 2 (x)", "empty value"])
        try assertError("id\tx\ty\na\t1\t\n", ["line 2, column 3 (y)", "empty value"])
        try assertError("id\tx\ty\na\t1\t \n", ["line 2, column 3 (y)"])
        try assertError("id\tx\ty\na\t1\nb\t1\t2\n", ["e.tsv, line 2", "2 fields", "header has 3"])
        try assertError("id\tx\ty\na\t1\t2\nb\t1\t2\t3\n", ["line 3", "4 fields"])
        try assertError("id\tx\ty\na\t1\t2\nb\t1\t2\na\t5\t6\n", ["line 4", "duplicate cell id 'a'", "line 2"])
        try assertError("id\tx\n\t1\n", ["line 2, column 1", "missing cell id"])
        try assertError("id\n", ["line 1", "header"])
        try assertError("", ["empty"])
        try assertError("id,x\na,1\n", name: "e.parquet", ["unsupported file type"])
    }

    func testMissingFileIsReported() {
        XCTAssertThrowsError(try Embedding.read(dir.path("absent.tsv"))) { error in
            XCTAssertTrue("\(error)".contains("absent.tsv: cannot open"))
        }
    }
}
