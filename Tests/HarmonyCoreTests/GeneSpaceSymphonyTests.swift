import XCTest
@testable import HarmonyCore

/// Projection against pbmcs_symphony's shipped Symphony-style gene statistics, loadings and query PCs (made
/// independently of this code, see that data set's README): PCs there are not re-centred after scaling, which a
/// zero projection offset expresses.
final class GeneSpaceSymphonyTests: XCTestCase {
    func testProjectingQueryExpressionReproducesTheShippedQueryPCs() throws {
        let dir = "data/pbmcs_symphony"
        let stats = try FixtureData.matrix("\(dir)/gene_stats.tsv.gz")        // mean, sd per gene
        let loadings = try FixtureData.matrix("\(dir)/loadings.tsv.gz")      // genes x 20
        let pcs = try FixtureData.matrix("\(dir)/pcs.tsv.gz")                // cells x 20
        let genes = try DelimitedTable.read(FixtureData.shared + "/\(dir)/gene_stats.tsv.gz").fields.map { $0[0] }
        let roles = try FixtureData.metaColumn("pbmcs_symphony", "role")
        let space = try GeneSpace(genes: genes.map { Gene(id: $0, name: $0) }, means: (0..<stats.rows).map { stats[$0, 0] },
                                  standardDeviations: (0..<stats.rows).map { stats[$0, 1] }, loadings: loadings,
                                  normalization: .asGiven)

        // expr.mtx.gz: genes x cells, 1-based coordinates, log-normalized values; transposed to cells x genes.
        let text = String(decoding: try FileBytes.read(FixtureData.shared + "/\(dir)/expr.mtx.gz"), as: UTF8.self)
        var lines = text.split(separator: "\n").drop { $0.hasPrefix("%") }
        let shape = lines.removeFirst().split(separator: " ").map { Int($0)! }
        XCTAssertEqual(shape[0], genes.count)
        var entries = [[(Int32, Float)]](repeating: [], count: shape[1])
        for line in lines {
            let f = line.split(separator: " ")
            entries[Int(f[1])! - 1].append((Int32(Int(f[0])! - 1), Float(Double(f[2])!)))
        }
        let query = roles.indices.filter { roles[$0] == "query" }
        XCTAssertEqual(query.count, 430)
        var starts = [0], cols: [Int32] = [], vals: [Float] = []
        for i in query {
            for (g, v) in entries[i].sorted(by: { $0.0 < $1.0 }) { cols.append(g); vals.append(v) }
            starts.append(cols.count)
        }
        let rows = try SparseRows(columnCount: genes.count, rowStarts: starts, columns: cols, values: vals)
        let projected = try space.project(rows)
        let expected = pcs.selectingRows(query)
        // 1e-5 relative to the largest query PC value of the component.
        for j in 0..<20 {
            var worst = 0.0, scale = 0.0
            for i in 0..<query.count {
                worst = max(worst, abs(Double(projected[i, j]) - expected[i, j])); scale = max(scale, abs(expected[i, j]))
            }
            XCTAssertLessThan(worst, 1e-5 * scale, "PC\(j + 1)")
        }
    }
}
