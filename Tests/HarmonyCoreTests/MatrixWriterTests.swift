import XCTest
@testable import HarmonyCore

/// Text output: shortest round-trip numbers, ids, separators, gzip; atomic writes leave nothing on failure.
final class MatrixWriterTests: XCTestCase {
    private var dir: IOTestDirectory!
    override func setUpWithError() throws { dir = try IOTestDirectory() }
    override func tearDown() { dir.remove() }

    func testShortestRoundTripTextReadsBackExactly() throws {
        let values: [Float] = [0.1, 1.0 / 3, -1e-7, 123456.79, Float.leastNormalMagnitude, 3.4028235e38]
        let m = Matrix(rows: 3, cols: 2, values: values)
        for name in ["o.tsv", "o.csv", "o.txt.gz", "o.csv.gz"] {
            try MatrixWriter.write(m, ids: ["a", "b", "c"], columnNames: ["x", "y"], to: dir.path(name))
            let back = try Embedding.read(dir.path(name))
            XCTAssertEqual(back.ids, ["a", "b", "c"], name)
            XCTAssertEqual(back.columnNames, ["x", "y"], name)
            XCTAssertEqual(back.floatValues, m, name)
        }
        let text = String(decoding: MatrixWriter.encodeText(m, ids: ["a", "b", "c"], columnNames: ["x", "y"],
                                                            idHeader: "cell_id", separator: UInt8(ascii: "\t")), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("cell_id\tx\ty\na\t0.1\t0.33333334\n"), text)
    }

    func testManyRowsKeepTheirOrder() throws {
        let n = 5000
        let m = Matrix<Double>(rows: n, cols: 1, values: (0..<n).map { Double($0) / 3 })
        try MatrixWriter.write(m, ids: (0..<n).map { "r\($0)" }, columnNames: ["v"], to: dir.path("m.tsv"))
        let back = try Embedding.read(dir.path("m.tsv"))
        XCTAssertEqual(back.values, m)
        XCTAssertEqual(back.ids.last, "r4999")
    }

    func testGroupWritesAllOrNothing() throws {
        var group = AtomicFileGroup()
        group.add(Array("one".utf8), to: dir.path("a.txt"))
        group.add(Array("two".utf8), to: dir.path("missing-dir/b.txt"))
        XCTAssertThrowsError(try group.commit()) { XCTAssertTrue("\($0)".contains("missing-dir/b.txt: cannot create")) }
        XCTAssertEqual(dir.listing(), [], "no destination and no temporary file")
        try AtomicFileGroup.write(Array("x".utf8), to: dir.path("c.txt"))
        XCTAssertEqual(dir.listing(), ["c.txt"])
    }
}
