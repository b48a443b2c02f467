import XCTest
@testable import HarmonyCore

final class GeneMatchTests: XCTestCase {
    let reference = [Gene(id: "E1", name: "CD3E"), Gene(id: "E2", name: "MS4A1"), Gene(id: "E3", name: "LYZ"),
                     Gene(id: "E4", name: "NKG7")]

    /// Ids first, then names; unknown query genes feed nothing; absent reference genes are reported.
    func testMatchesByIdThenByName() throws {
        let query = [Gene(id: "X9", name: "LYZ"), Gene(id: "E1", name: "renamed"), Gene(id: "E7", name: "GAPDH"),
                     Gene(id: "MS4A1", name: "MS4A1")]
        let match = try GeneMatch(reference: reference, query: query, source: "q.h5ad")
        XCTAssertEqual(match.queryToReference, [2, 0, -1, 1])
        XCTAssertEqual(match.present, [true, true, true, false])
        XCTAssertEqual(match.matchedById, 1)
        XCTAssertEqual(match.matchedByName, 2)
        XCTAssertEqual(match.overlap, 0.75)
    }

    /// Another species or naming: nothing matches.
    func testNoOverlap() throws {
        let mouse = [Gene(id: "ENSMUSG1", name: "Cd3e"), Gene(id: "ENSMUSG2", name: "Lyz2")]
        let match = try GeneMatch(reference: reference, query: mouse, source: "mouse")
        XCTAssertEqual(match.matchedCount, 0)
        XCTAssertEqual(match.overlap, 0)
    }

    /// A reference gene given twice in the query is an error, by id and by name; a duplicate outside the
    /// reference is harmless.
    func testDuplicatesFeedingOneReferenceGeneAreErrors() throws {
        for query in [[Gene(id: "E1", name: "CD3E"), Gene(id: "E1", name: "CD3E")],
                      [Gene(id: "a", name: "LYZ"), Gene(id: "b", name: "LYZ")]] {
            XCTAssertThrowsError(try GeneMatch(reference: reference, query: query, source: "dup.h5ad")) { error in
                guard case HarmonyError.invalidInput(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("dup.h5ad") && m.contains("appears twice"), m)
            }
        }
        let harmless = try GeneMatch(reference: reference, query: [Gene(id: "Z", name: "Z"), Gene(id: "Z", name: "Z"),
                                                                    Gene(id: "E2", name: "MS4A1")], source: "ok")
        XCTAssertEqual(harmless.queryToReference, [-1, -1, 1])
    }

    /// Rows are re-indexed and sorted over the reference genes; totals cover every query gene.
    func testReferenceRowsKeepWholeLibraryTotals() throws {
        let query = [Gene(id: "E7", name: "GAPDH"), Gene(id: "E3", name: "LYZ"), Gene(id: "E1", name: "CD3E")]
        let match = try GeneMatch(reference: reference, query: query, source: "q")
        let block = try SparseRows(columnCount: 3, rowStarts: [0, 3, 4], columns: [0, 1, 2, 0], values: [5, 2, 1, 7])
        let (rows, totals) = try match.referenceRows(block, counts: true, firstCell: 0, cellIDs: ["a", "b"], source: "q")
        XCTAssertEqual(rows, try SparseRows(columnCount: 4, rowStarts: [0, 2, 2], columns: [0, 2], values: [1, 2]))
        XCTAssertEqual(totals, [8, 7])
    }

    /// A range of the rows of a block gives what the same rows copied out as a block of their own give.
    func testReferenceRowsOfARangeEqualThoseRowsCopied() throws {
        let query = [Gene(id: "E7", name: "GAPDH"), Gene(id: "E3", name: "LYZ"), Gene(id: "E1", name: "CD3E")]
        let match = try GeneMatch(reference: reference, query: query, source: "q")
        let block = try SparseRows(columnCount: 3, rowStarts: [0, 3, 4, 6, 7], columns: [0, 1, 2, 0, 1, 2, 2],
                                   values: [5, 2, 1, 7, 3, 4, 9])
        let ids = ["a", "b", "c", "d"]
        let (rows, totals) = try match.referenceRows(block, cells: 1..<3, counts: true, firstCell: 1, cellIDs: ids, source: "q")
        let copied = try SparseRows(columnCount: 3, rowStarts: [0, 1, 3], columns: [0, 1, 2], values: [7, 3, 4])
        let expected = try match.referenceRows(copied, counts: true, firstCell: 1, cellIDs: ids, source: "q")
        XCTAssertEqual(rows, expected.rows)
        XCTAssertEqual(totals, expected.totals)
        XCTAssertEqual(rows, try SparseRows(columnCount: 4, rowStarts: [0, 0, 2], columns: [0, 2], values: [4, 3]))
        XCTAssertEqual(totals, [7, 7])
        XCTAssertThrowsError(try match.referenceRows(block, cells: 3..<5, counts: true, firstCell: 3, cellIDs: ids, source: "q"))
        let empty = try SparseRows(columnCount: 3, rowStarts: [0, 1, 1], columns: [0], values: [2])
        XCTAssertThrowsError(try match.referenceRows(empty, cells: 1..<2, counts: true, firstCell: 1, cellIDs: ids, source: "q")) {
            XCTAssertTrue("\($0)".contains("cell b is empty"), "\($0)")
        }
    }

    /// Negative or non-integer counts and empty cells are errors naming the cell.
    func testBadCountsAndEmptyCells() throws {
        let match = try GeneMatch(reference: reference, query: reference, source: "q")
        let cases: [(SparseRows, String)] = [
            (try SparseRows(columnCount: 4, rowStarts: [0, 1, 2], columns: [0, 1], values: [1, -2]), "non-negative integers"),
            (try SparseRows(columnCount: 4, rowStarts: [0, 1, 2], columns: [0, 1], values: [1, 2.5]), "non-negative integers"),
            (try SparseRows(columnCount: 4, rowStarts: [0, 1, 1], columns: [0], values: [3]), "is empty"),
            (try SparseRows(columnCount: 4, rowStarts: [0, 1, 2], columns: [0, 2], values: [3, 0]), "is empty"),
        ]
        for (block, message) in cases {
            XCTAssertThrowsError(try match.referenceRows(block, counts: true, firstCell: 10,
                                                         cellIDs: (0..<12).map { "c\($0)" }, source: "q.h5ad")) { error in
                guard case HarmonyError.invalidInput(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("q.h5ad: cell c11") && m.contains(message), m)
            }
        }
        // Log-normalized values (not counts) may be fractional.
        let logValues = try SparseRows(columnCount: 4, rowStarts: [0, 1], columns: [1], values: [0.7])
        XCTAssertEqual(try match.referenceRows(logValues, counts: false, firstCell: 0, cellIDs: ["a"], source: "q").totals,
                       [0.7 as Float].map(Double.init))
    }
}
