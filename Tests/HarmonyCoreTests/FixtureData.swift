import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

/// Loads the shared data sets and fixtures for tests; a missing file is a test failure, never a skip.
enum FixtureData {
    /// `<repo>/../shared`.
    static var shared: String { SharedData.directory.path }

    /// The small expression files of `Tests/Fixtures/expression` (made by its `make_fixtures.py`).
    static var expressionFixtures: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fixtures/expression"
    }

    /// A table as a Double matrix (id column dropped); fails the test when the file is missing.
    static func matrix(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> Matrix<Double> {
        do {
            return try DelimitedTable.read(shared + "/" + relative).numericMatrix()
        } catch {
            XCTFail("cannot read shared file \(relative): \(error)", file: file, line: line)
            throw error
        }
    }

    /// One text column of a data set's meta table.
    static func metaColumn(_ dataset: String, _ column: String) throws -> [String] {
        let table = try DelimitedTable.read(shared + "/data/\(dataset)/meta.tsv.gz")
        guard let index = table.header.firstIndex(of: column) else {
            XCTFail("meta of \(dataset) has no column \(column)")
            throw HarmonyError.fileFormat("no column \(column)")
        }
        return table.fields.map { $0[index - 1] }
    }

    /// The data set's PCs as Float.
    static func pcs(_ dataset: String) throws -> Matrix<Float> {
        try matrix("data/\(dataset)/pcs.tsv.gz").converted(to: Float.self)
    }

    /// Pearson correlation of column j of two matrices of the same shape.
    static func pearson<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: Matrix<A>, _ b: Matrix<B>, column j: Int) -> Double {
        Statistics.pearson((0..<a.rows).map { Double(a[$0, j]) }, (0..<b.rows).map { Double(b[$0, j]) })
    }

    /// Minimum over columns of the per-column Pearson correlation.
    static func minPearson<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: Matrix<A>, _ b: Matrix<B>) -> Double {
        (0..<a.cols).map { pearson(a, b, column: $0) }.min() ?? .nan
    }

    /// max |a - b| over all entries.
    static func maxAbsDiff<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: Matrix<A>, _ b: Matrix<B>) -> Double {
        var worst = 0.0
        for x in 0..<a.values.count { worst = max(worst, abs(Double(a.values[x]) - Double(b.values[x]))) }
        return worst
    }

    /// max |a| over all entries.
    static func maxAbs<A: BinaryFloatingPoint>(_ a: Matrix<A>) -> Double {
        a.values.reduce(0.0) { max($0, abs(Double($1))) }
    }
}
