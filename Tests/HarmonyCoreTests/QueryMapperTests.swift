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

    /// The top cluster computed inside the softmax is the first index of the largest entry of R, and its
    /// probability is exactly that entry, for K not a multiple of 8 and for ties.
    func testTopClusterIsFirstArgmaxOfR() throws {
        for k in [1, 7, 8, 13, 100] {
            let d = 5
            var generator = SeededGenerator(seed: UInt64(k))
            var centroids = Matrix<Float>(rows: k, cols: d)
            for c in 0..<k {
                let row = (0..<d).map { _ in Float.random(in: -1...1, using: &generator) }
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for j in 0..<d { centroids[c, j] = row[j] / norm }
            }
            // A duplicated centroid: cells nearest to it tie between c = 0 and c = k - 1.
            if k > 1 { for j in 0..<d { centroids[k - 1, j] = centroids[0, j] } }
            let model = try ReferenceModel(
                parameters: ReferenceParameters(preset: .harmony2, sigma: [Double](repeating: 0.2, count: k),
                                                theta: [2], lambda: .dynamic(alpha: 0.2)),
                clusterMass: [Double](repeating: 1, count: k), clusterSums: Matrix(rows: k, cols: d),
                levelTerms: [], covariates: [ReferenceCovariate(name: "batch", levels: [])], labels: nil, cells: nil)
            var cells = Matrix<Float>(rows: 40, cols: d)
            for i in 0..<cells.rows {
                for j in 0..<d { cells[i, j] = i < 5 ? centroids[0, j] : Float.random(in: -1...1, using: &generator) }
            }
            let mapper = try QueryMapper(model: model)
            let r = mapper.assignments(of: cells)
            for i in 0..<cells.rows {
                let row = Array(r.r.values[(i * k)..<((i + 1) * k)])
                let best = row.firstIndex(of: row.max()!)!
                XCTAssertEqual(Int(r.topCluster[i]), best, "k \(k) cell \(i)")
                XCTAssertEqual(r.topProbability[i], row[best], "k \(k) cell \(i)")
            }
            if k > 1 { XCTAssertEqual(r.topCluster[0], 0) }
        }
    }

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
