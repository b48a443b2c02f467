import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

/// LISI against the fixtures' per-cell values (R `lisi` convention, perplexity 30), and its building blocks.
final class LISITests: XCTestCase {
    /// (data set, batch column, label column or nil)
    private static let sets: [(String, String, String?)] = [
        ("cell_lines_small", "dataset", "cell_type"), ("cell_lines", "dataset", "cell_type"),
        ("pbmc_stim", "stim", nil), ("pbmcs_symphony", "donor", "cell_type"),
    ]

    private func path(_ relative: String) throws -> String { try SharedData.path(relative) }

    /// Compares our per-cell LISI with the fixture columns on the uncorrected PCs and on harmonypy's output.
    func testPerCellMatchesFixturesOnEveryDataSet() throws {
        for (name, batch, label) in Self.sets {
            let expected = try DelimitedTable.read(try path("fixtures/\(name)/lisi_per_cell.tsv.gz"))
            let expectedValues = try expected.numericMatrix()
            let vars = [batch] + (label.map { [$0] } ?? [])
            for (input, suffix) in [("data/\(name)/pcs.tsv.gz", "uncorrected"),
                                    ("fixtures/\(name)/harmonypy_Zcorr.tsv.gz", "harmonypy_default")] {
                let fit = try FitInput.load(embedding: try path(input), metadata: try path("data/\(name)/meta.tsv.gz"),
                                            columns: vars)
                XCTAssertEqual(fit.embedding.ids, expected.ids, "\(name): cell order")
                // harmonypy's outputs are float32 written with 9 digits: the fixture scored the float32 values.
                let values = suffix == "uncorrected" ? fit.embedding.values : fit.embedding.floatValues.converted(to: Double.self)
                let scores = try LISI.perCell(values, labelSets: fit.covariates.map(\.codes))
                for (s, prefix) in ["iLISI", "cLISI"].prefix(vars.count).enumerated() {
                    let column = "\(prefix)_\(suffix)"
                    guard let c = expected.columnIndex(named: column) else { XCTFail("no column \(column)"); continue }
                    var worst = 0.0
                    for i in 0..<scores[s].count {
                        worst = max(worst, abs(scores[s][i] - expectedValues[i, c]))
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-9, "\(name) \(column): max |diff| \(worst)")
                    print("LISI \(name) \(column): max |diff| = \(worst)")
                }
            }
        }
    }

    /// The metrics.json medians follow from the per-cell values.
    func testMedianAndMean() {
        XCTAssertEqual(LISI.median([3, 1, 2]), 2)
        XCTAssertEqual(LISI.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(LISI.mean([1, 2, 3, 6]), 3)
        XCTAssertTrue(LISI.median([]).isNaN)
    }

    /// Two well-separated groups, each all one label: every cell's LISI is 1; alternating labels inside each
    /// group with equal weights give 2.
    func testPerfectSeparationAndPerfectMixing() throws {
        var values: [Double] = []
        for i in 0..<200 { values += [Double(i % 100) * 1e-3 + (i < 100 ? 0 : 100), 0] }
        let x = Matrix(rows: 200, cols: 2, values: values)
        let byGroup = (0..<200).map { Int32($0 < 100 ? 0 : 1) }
        let scores = try LISI.perCell(x, labelSets: [byGroup], perplexity: 10)
        XCTAssertEqual(scores[0].max()!, 1, accuracy: 1e-12)
        XCTAssertEqual(scores[0].min()!, 1, accuracy: 1e-12)
        // Two cells at every point, one of each label: well mixed, though the cell's own twin (the other
        // label, at distance 0) tips the balance below the ideal 2.
        var twin: [Double] = []
        for i in 0..<100 { twin += [Double(i), 0, Double(i), 0] }
        let mixed = try LISI.perCell(Matrix(rows: 200, cols: 2, values: twin),
                                     labelSets: [(0..<200).map { Int32($0 % 2) }], perplexity: 5)
        XCTAssertGreaterThan(LISI.median(mixed[0]), 1.5)
        XCTAssertLessThan(LISI.median(mixed[0]), 2)
    }

    func testBadPerplexityIsRefused() {
        XCTAssertThrowsError(try LISI.perCell(Matrix(rows: 3, cols: 1, values: [0, 1, 2]), labelSets: [[0, 1, 0]],
                                              perplexity: 0))
    }
}
