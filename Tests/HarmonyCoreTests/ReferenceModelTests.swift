import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

final class ReferenceModelTests: XCTestCase {
    /// N_k, C_k and pi_kl equal direct sums over a hand-made fit; compact drops only the cells.
    func testBuildComputesStatistics() throws {
        let r = Matrix<Float>(rows: 4, cols: 2, values: [1, 0, 0.25, 0.75, 0.5, 0.5, 0, 1])
        let z = Matrix<Float>(rows: 4, cols: 2, values: [1, 2, 3, 4, -1, 0, 2, -2])
        let fit = HarmonyFitResult(corrected: z, assignments: r, centroids: Matrix(rows: 2, cols: 2),
                                   levelTerms: [Matrix(rows: 2, cols: 2), Matrix(rows: 2, cols: 2, repeating: 0.5)],
                                   objective: [], objectiveKMeans: [], clusterRounds: [], iterations: 1, converged: true,
                                   resolved: ResolvedParameters(nClusters: 2, sigma: [0.1, 0.2], thetaPerLevel: [2, 2],
                                                                blockSize: 0.05),
                                   timings: PhaseTimings())
        let batch = Covariate(name: "batch", labels: ["b", "a", "b", "a"])
        let model = try ReferenceModel.build(fit: fit, embedding: z, covariates: [batch], parameters: HarmonyParameters(),
                                             cellIds: ["c1", "c2", "c3", "c4"],
                                             labels: (name: "type", values: ["T", "B", "T", "T"]), compact: false)
        XCTAssertEqual(model.clusterMass, [1.75, 2.25])
        // C_0 = 1*(1,2) + 0.25*(3,4) + 0.5*(-1,0); C_1 = 0.75*(3,4) + 0.5*(-1,0) + 1*(2,-2)
        XCTAssertEqual(model.clusterSums.values, [1.25, 3, 3.75, 1])
        XCTAssertEqual(model.parameters.sigma, [0.1, 0.2])
        XCTAssertEqual(model.labels?.values, ["B", "T"])
        // pi_0 = (0.25, 1.5) / 1.75, pi_1 = (0.75, 1.5) / 2.25
        let pi = model.labels!.clusterFrequencies.values
        for (got, want) in zip(pi, [0.25 / 1.75, 1.5 / 1.75, 0.75 / 2.25, 1.5 / 2.25]) { XCTAssertEqual(got, want, accuracy: 1e-12) }
        XCTAssertEqual(model.cells?.labelCodes, [1, 0, 1, 1])
        XCTAssertEqual(model.globalLevel(covariate: "batch", label: "b"), 1)
        XCTAssertNil(model.globalLevel(covariate: "batch", label: "zz"))
        let norm = (1.25 * 1.25 + 9.0).squareRoot()
        XCTAssertEqual(Double(model.centroids[0, 0]), 1.25 / norm, accuracy: 1e-7)
        let compact = try ReferenceModel.build(fit: fit, embedding: z, covariates: [batch], parameters: HarmonyParameters(),
                                               cellIds: ["c1", "c2", "c3", "c4"], labels: nil, compact: true)
        XCTAssertTrue(compact.isCompact)
        XCTAssertEqual(compact.clusterSums, model.clusterSums)
        XCTAssertThrowsError(try ReferenceModel.build(fit: fit, embedding: z, covariates: [batch], parameters: HarmonyParameters(),
                                                      cellIds: ["c1"], labels: nil, compact: true))
    }

    /// Our fit -> model file -> mapping, against symphonypy's mapped query, kNN labels and mixing.
    private func endToEnd(_ dataset: String, batchColumn: String, isReference: ([String: String]) -> Bool,
                          clusters: Int?, minAccuracy: Double?) throws {
        let pcs = try ReferenceTestData.table("data/\(dataset)/pcs.tsv.gz")
        let meta = try ReferenceTestData.table("data/\(dataset)/meta.tsv.gz")
        let all = try pcs.numericMatrix()
        var metaRow: [String: Int] = [:]
        for (i, id) in meta.ids.enumerated() { metaRow[id] = i }
        func field(_ id: String, _ column: String) -> String { meta.fields[metaRow[id]!][meta.columnIndex(named: column)!] }
        var refRows: [Int] = [], queryRows: [Int] = []
        for (i, id) in pcs.ids.enumerated() {
            let row = Dictionary(uniqueKeysWithValues: meta.header.dropFirst().map { ($0, field(id, $0)) })
            if isReference(row) { refRows.append(i) } else { queryRows.append(i) }
        }
        let refIds = refRows.map { pcs.ids[$0] }, queryIds = queryRows.map { pcs.ids[$0] }
        let reference = all.selectingRows(refRows).converted(to: Float.self)
        let query = all.selectingRows(queryRows).converted(to: Float.self)
        var params = HarmonyParameters()
        params.lambda = .fixed([1])
        params.maxIterations = 20
        params.nClusters = clusters
        let batch = Covariate(name: batchColumn, labels: refIds.map { field($0, batchColumn) })
        let fit = try Harmony.fit(reference, covariates: [batch], parameters: params)
        let built = try ReferenceModel.build(fit: fit, embedding: reference, covariates: [batch], parameters: params,
                                             cellIds: refIds, labels: (name: "cell_type", values: refIds.map { field($0, "cell_type") }),
                                             compact: false)
        let path = NSTemporaryDirectory() + "ref-e2e-\(dataset)-\(getpid()).hmod"
        defer { unlink(path) }
        try ModelFile.write(built, to: path)
        let model = try ModelFile.read(path)
        let queryBatches = queryIds.map { field($0, batchColumn) }
        XCTAssertTrue(queryBatches.allSatisfy { model.globalLevel(covariate: batchColumn, label: $0) == nil })
        let mapped = try QueryState.mapJointly(model: model, cells: query, batches: queryBatches, batchKey: batchColumn,
                                               options: .symphony)
        // Per-PC Pearson correlation with symphonypy's mapping of its own (harmonypy) reference.
        let expected = try ReferenceTestData.rows(try ReferenceTestData.table("fixtures/\(dataset)/symphony/symphonypy_query_Zcorr.tsv.gz"),
                                                  ids: queryIds)
        let d = model.dimension
        var worst = 1.0
        for j in 0..<d {
            let a = (0..<query.rows).map { Double(mapped.corrected[$0, j]) }
            let b = (0..<query.rows).map { expected[$0, j] }
            worst = min(worst, Statistics.pearson(a, b))
        }
        // kNN label transfer accuracy.
        let transfer = try XCTUnwrap(LabelTransfer(model: model))
        XCTAssertEqual(transfer.method, .nearestNeighbors)
        let predicted = try transfer.predict(corrected: mapped.corrected, assignments: nil)
        let truth = queryIds.map { field($0, "cell_type") }
        let accuracy = Double((0..<truth.count).filter { predicted.label($0) == truth[$0] }.count) / Double(truth.count)
        // iLISI over role (reference vs query) on reference Z_corr + mapped query, median over query cells.
        let joint = Matrix<Double>(rows: refRows.count + queryRows.count, cols: d,
                                   values: model.cells!.corrected.values.map(Double.init) + mapped.corrected.values.map(Double.init))
        let roles = [Int32](repeating: 0, count: refRows.count) + [Int32](repeating: 1, count: queryRows.count)
        let lisi = try LISI.perCell(joint, labelSets: [roles])[0]
        let queryLisi = LISI.median(Array(lisi[refRows.count...]))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            try SharedData.path("fixtures/\(dataset)/symphony/symphony.json")))) as! [String: Any]
        let after = (json["lisi"] as! [String: Any])["after"] as! [String: Any]
        let fixtureLisi = after["iLISI_role_median_over_query_cells"] as! Double
        print("[\(dataset)] end to end: min per-PC r vs symphonypy \(worst), kNN accuracy \(accuracy), "
              + "query iLISI(role) \(queryLisi) (fixture \(fixtureLisi)), reference iterations \(fit.iterations)")
        XCTAssertGreaterThanOrEqual(worst, 0.95)
        if let minAccuracy { XCTAssertGreaterThanOrEqual(accuracy, minAccuracy) }
        XCTAssertGreaterThanOrEqual(queryLisi, fixtureLisi - 0.1)
    }

    func testEndToEndPBMC() throws {
        try endToEnd("pbmcs_symphony", batchColumn: "donor", isReference: { $0["role"] == "reference" }, clusters: 100,
                     minAccuracy: 0.90)
    }

    func testEndToEndCellLines() throws {
        try endToEnd("cell_lines", batchColumn: "dataset", isReference: { $0["dataset"] != "t293" }, clusters: nil,
                     minAccuracy: nil)
    }

}
