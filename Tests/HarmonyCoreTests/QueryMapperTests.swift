import XCTest
@testable import HarmonyCore

final class QueryMapperTests: XCTestCase {
    /// Symphony's mapQuery from the fixture's compressed reference: one query batch, lambda 1, sigma 0.1.
    private func checkSymphonyFixture(_ dataset: String) throws {
        let model = try ReferenceTestData.symphonyModel(dataset)
        let expectedZ = try ReferenceTestData.table("fixtures/\(dataset)/symphony/query_Zcorr.tsv.gz")
        let expectedR = try ReferenceTestData.table("fixtures/\(dataset)/symphony/query_R.tsv.gz")
        let pcs = try ReferenceTestData.table("data/\(dataset)/pcs.tsv.gz")
        let query = try ReferenceTestData.rows(pcs, ids: expectedZ.ids).converted(to: Float.self)
        var options = QueryMappingOptions.symphony
        options.includeAssignments = true
        let mapped = try QueryState.mapJointly(model: model, cells: query,
                                               batches: [String](repeating: "query", count: query.rows),
                                               batchKey: "ref_batch", options: options)
        let zErr = ReferenceTestData.relativeError(mapped.corrected.values.map(Double.init),
                                                   try expectedZ.numericMatrix().values)
        let expectedRows = try ReferenceTestData.rows(expectedR, ids: expectedZ.ids)
        let rErr = ReferenceTestData.maxAbsError(mapped.assignments!.values.map(Double.init), expectedRows.values)
        print("[\(dataset)] mapped query vs Symphony fixture: Zcorr rel err \(zErr), R abs err \(rErr)")
        XCTAssertLessThan(zErr, 1e-5)
        XCTAssertLessThan(rErr, 1e-5)
        // The reported top cluster is the argmax of R.
        let k = model.clusterCount
        for i in 0..<query.rows {
            let row = Array(expectedRows.values[(i * k)..<((i + 1) * k)])
            XCTAssertEqual(Double(mapped.topProbability[i]), row.max()!, accuracy: 1e-5)
        }
    }

    func testSymphonyFixturePBMC() throws { try checkSymphonyFixture("pbmcs_symphony") }

    func testSymphonyFixtureCellLines() throws { try checkSymphonyFixture("cell_lines") }

    /// A cell of a level the reference knows is corrected with that level's terms: z - sum_k R_ik beta_kb.
    func testKnownLevelUsesReferenceTerms() throws {
        let k = 3, d = 2
        let sums = Matrix<Double>(rows: k, cols: d, values: [1, 0, 0, 1, -1, 0])
        var terms = Matrix<Double>(rows: k, cols: d)
        terms.values = [0.5, 0.25, -1, 2, 3, -3]
        let model = try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [0.5, 0.5, 0.5], theta: [2], lambda: .dynamic(alpha: 0.2)),
            clusterMass: [1, 1, 1], clusterSums: sums, levelTerms: [terms, Matrix(rows: k, cols: d)],
            covariates: [ReferenceCovariate(name: "batch", levels: ["a", "b"])], labels: nil, cells: nil)
        let mapper = try QueryMapper(model: model, options: QueryMappingOptions(includeAssignments: true))
        var state = QueryState(mapper: mapper, batchKey: "batch")
        let cells = Matrix<Float>(rows: 2, cols: d, values: [2, 0.5, -0.3, 1])
        let out = try state.add(cells: cells, batch: "a")
        XCTAssertTrue(state.newBatches.isEmpty)
        let r = out.assignments!
        for i in 0..<2 {
            for j in 0..<d {
                var expected = Double(cells[i, j])
                for c in 0..<k { expected -= Double(r[i, c]) * terms[c, j] }
                XCTAssertEqual(Double(out.corrected[i, j]), expected, accuracy: 1e-6)
            }
        }
    }

    func testRejectsWrongDimensionAndBadSigma() throws {
        let model = try ReferenceTestData.symphonyModel("cell_lines")
        let mapper = try QueryMapper(model: model)
        XCTAssertThrowsError(try mapper.assign(Matrix<Float>(rows: 1, cols: 3)))
        XCTAssertThrowsError(try QueryMapper(model: model, options: QueryMappingOptions(sigma: [0.1, 0.2])))
        XCTAssertThrowsError(try QueryMapper(model: model, options: QueryMappingOptions(lambda: -1)))
        var bad = Matrix<Float>(rows: 1, cols: model.dimension)
        bad.values[0] = .nan
        XCTAssertThrowsError(try mapper.assign(bad))
    }
}
