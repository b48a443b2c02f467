import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

/// Shared data and fixtures for the reference-mapping tests (paths computed from this file).
enum ReferenceTestData {
    /// Reads a shared table, failing the test (not skipping) when it is missing.
    static func table(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> DelimitedTable {
        try DelimitedTable.read(try SharedData.path(relative, file: file, line: line))
    }

    /// The rows of `table` for `ids`, in that order, as Double.
    static func rows(_ table: DelimitedTable, ids: [String]) throws -> Matrix<Double> {
        let m = try table.numericMatrix()
        var index: [String: Int] = [:]
        for (i, id) in table.ids.enumerated() { index[id] = i }
        return m.selectingRows(ids.map { index[$0]! })
    }

    /// The fixture's Symphony model (N_k, C_k) as a `ReferenceModel` with zero reference level terms.
    static func symphonyModel(_ dataset: String, sigma: Double = 0.1) throws -> ReferenceModel {
        let m = try table("fixtures/\(dataset)/symphony/ref_model.tsv.gz").numericMatrix()
        let k = m.rows, d = m.cols - 1
        var sums = Matrix<Double>(rows: k, cols: d)
        var mass = [Double](repeating: 0, count: k)
        for c in 0..<k {
            mass[c] = m[c, 0]
            for j in 0..<d { sums[c, j] = m[c, j + 1] }
        }
        let params = ReferenceParameters(preset: .harmony2, sigma: [Double](repeating: sigma, count: k), theta: [2],
                                         lambda: .fixed([1]))
        return try ReferenceModel(parameters: params, clusterMass: mass, clusterSums: sums,
                                  levelTerms: [Matrix(rows: k, cols: d), Matrix(rows: k, cols: d)],
                                  covariates: [ReferenceCovariate(name: "ref_batch", levels: ["r0", "r1"])],
                                  labels: nil, cells: nil)
    }

    /// max |a - b| / max |b|.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, scale = 0.0
        for i in 0..<a.count {
            diff = max(diff, abs(a[i] - b[i]))
            scale = max(scale, abs(b[i]))
        }
        return diff / max(scale, .leastNormalMagnitude)
    }

    /// max |a - b|.
    static func maxAbsError(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
