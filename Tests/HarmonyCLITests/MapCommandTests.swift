import XCTest
import HarmonyTestSupport
@testable import HarmonyCore

/// `harmony map` and `harmony inspect` on the pbmcs_symphony split (reference 3pv1 + 3pv2, query 5p).
final class MapCommandTests: XCTestCase {
    private var cli: CLIRunner!
    private var queryIds: [String] = []
    private var queryTypes: [String] = []

    override func setUpWithError() throws {
        cli = try CLIRunner()
        let shared = try SharedData.path("data/pbmcs_symphony")
        let pcs = try DelimitedTable.read(shared + "/pcs.tsv.gz")
        let meta = try DelimitedTable.read(shared + "/meta.tsv.gz")
        let all = try pcs.numericMatrix()
        let role = meta.columnIndex(named: "role")!, donor = meta.columnIndex(named: "donor")!
        let type = meta.columnIndex(named: "cell_type")!
        var row: [String: Int] = [:]
        for (i, id) in meta.ids.enumerated() { row[id] = i }
        var refRows: [Int] = []
        var refText = "cell_id\t" + pcs.header.dropFirst().joined(separator: "\t") + "\n"
        var refMeta = "cell_id\tdonor\tcell_type\n"
        var query = "cell_id\t" + pcs.header.dropFirst().joined(separator: "\t") + "\n"
        var queryMeta = "cell_id\tdonor\tcell_type\n"
        for (i, id) in pcs.ids.enumerated() {
            let m = meta.fields[row[id]!]
            if m[role] == "reference" {
                refRows.append(i)
                refText += id + "\t" + pcs.fields[i].joined(separator: "\t") + "\n"
                refMeta += "\(id)\t\(m[donor])\t\(m[type])\n"
            } else {
                query += id + "\t" + pcs.fields[i].joined(separator: "\t") + "\n"
                queryMeta += "\(id)\t\(m[donor])\t\(m[type])\n"
                queryIds.append(id)
                queryTypes.append(m[type])
            }
        }
        try cli.write("reference.tsv", refText)
        try cli.write("reference_meta.tsv", refMeta)
        try cli.write("query.tsv", query)
        try cli.write("query_meta.tsv", queryMeta)
        let refIds = refRows.map { pcs.ids[$0] }
        let reference = all.selectingRows(refRows).converted(to: Float.self)
        var params = HarmonyParameters()
        params.lambda = .fixed([1])
        params.maxIterations = 20
        params.nClusters = 100
        let batch = Covariate(name: "donor", labels: refIds.map { meta.fields[row[$0]!][donor] })
        let fit = try Harmony.fit(reference, covariates: [batch], parameters: params)
        let labels = refIds.map { meta.fields[row[$0]!][type] }
        for compact in [false, true] {
            let model = try ReferenceModel.build(fit: fit, embedding: reference, covariates: [batch], parameters: params,
                                                 cellIds: refIds, labels: (name: "cell_type", values: labels), compact: compact)
            try ModelFile.write(model, to: cli.directory.appendingPathComponent(compact ? "compact.hmod" : "ref.hmod").path)
        }
    }

    override func tearDown() {
        cli.remove()
    }

    private func predictionAccuracy(_ name: String) throws -> Double {
        let table = try DelimitedTable.read(cli.directory.appendingPathComponent(name).path)
        XCTAssertEqual(table.header, ["cell_id", "label", "confidence", "cluster", "cluster_prob", "mapping_distance"])
        XCTAssertEqual(table.ids, queryIds)
        var right = 0
        for (i, fields) in table.fields.enumerated() {
            if fields[0] == queryTypes[i] { right += 1 }
            let confidence = Double(fields[1])!, p = Double(fields[3])!
            XCTAssertTrue(confidence > 0 && confidence <= 1 && p > 0 && p <= 1 && Int(fields[2])! < 100)
            XCTAssertGreaterThan(Double(fields[4])!, 0)
        }
        return Double(right) / Double(table.ids.count)
    }

    func testMapWritesCorrectedEmbeddingAndPredictions() throws {
        let r = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                             "--out", "mapped.tsv.gz", "--predictions", "pred.tsv", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let mapped = try DelimitedTable.read(cli.directory.appendingPathComponent("mapped.tsv.gz").path)
        XCTAssertEqual(mapped.ids, queryIds)
        XCTAssertEqual(mapped.header.count, 21)
        let knn = try predictionAccuracy("pred.tsv")
        let c = try cli.run(["map", "query.tsv", "--reference", "compact.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                             "--out", "mapped2.npy", "--predictions", "pred2.tsv", "--quiet"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let clusters = try predictionAccuracy("pred2.tsv")
        print("harmony map on pbmcs_symphony: kNN label accuracy \(knn), cluster-based \(clusters)")
        XCTAssertGreaterThanOrEqual(knn, 0.9)
        XCTAssertGreaterThanOrEqual(clusters, 0.8)
    }

    /// The whole command-line pipeline: fit --reference-out --labels, then map --predictions.
    func testFitThenMap() throws {
        let fit = try cli.run(["fit", "reference.tsv", "--meta", "reference_meta.tsv", "--vars", "donor", "--lambda", "1",
                               "--max-iter", "20", "--nclust", "100", "--out", "ref_corrected.tsv",
                               "--reference-out", "cli.hmod", "--labels", "cell_type", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let map = try cli.run(["map", "query.tsv", "--reference", "cli.hmod", "--meta", "query_meta.tsv",
                               "--batch-key", "donor", "--out", "cli_mapped.tsv", "--predictions", "cli_pred.tsv", "--quiet"])
        XCTAssertEqual(map.status, 0, map.stderr)
        let accuracy = try predictionAccuracy("cli_pred.tsv")
        print("harmony fit --reference-out then harmony map: kNN label accuracy \(accuracy)")
        XCTAssertGreaterThanOrEqual(accuracy, 0.9)
    }

    func testInspect() throws {
        let text = try cli.run(["inspect", "ref.hmod"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("clusters K 100, dimensions d 20"), text.stdout)
        XCTAssertTrue(text.stdout.contains("covariate donor: 2 levels: 3pv1, 3pv2"), text.stdout)
        let json = try cli.run(["inspect", "compact.hmod", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["compact"] as? Bool, true)
        XCTAssertEqual(object["reference_cells"] as? Int, 770)
        XCTAssertEqual((object["sections"] as? [Any])?.count, 6)
        XCTAssertEqual(object["format_version"] as? Int, 2)
        XCTAssertEqual(object["cluster_spread"] as? Bool, true)
        XCTAssertNil(object["gene_space"])
        XCTAssertTrue(text.stdout.contains("cluster spreads: stored"), text.stdout)
        XCTAssertTrue(text.stdout.contains("genes: none"), text.stdout)
    }

    /// A model with a gene section: inspect shows the count, normalization and first genes; --json lists them all.
    func testInspectShowsTheGeneSection() throws {
        let model = try ModelFile.read(cli.directory.appendingPathComponent("compact.hmod").path)
        let d = model.dimension, g = 12
        let genes = (0..<g).map { Gene(id: "ENSG\($0)", name: "GENE\($0)") }
        let space = try GeneSpace(genes: genes, means: [Double](repeating: 1, count: g),
                                  standardDeviations: [Double](repeating: 0.5, count: g),
                                  loadings: Matrix(rows: g, cols: d, repeating: 0.1), normalization: .logCounts(targetSum: 10_000))
        let withGenes = try ReferenceModel(parameters: model.parameters, clusterMass: model.clusterMass,
                                           clusterSums: model.clusterSums, levelTerms: model.levelTerms,
                                           covariates: model.covariates, labels: model.labels, cells: nil,
                                           geneSpace: space, clusterSpread: model.clusterSpread)
        try ModelFile.write(withGenes, to: cli.directory.appendingPathComponent("genes.hmod").path)
        let text = try cli.run(["inspect", "genes.hmod"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("genes 12: counts scaled to 10000.0 per cell, then log1p"), text.stdout)
        XCTAssertTrue(text.stdout.contains("first genes: GENE0 (ENSG0), GENE1 (ENSG1)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("GENE9 (ENSG9), ..."), text.stdout)
        XCTAssertFalse(text.stdout.contains("GENE10"), text.stdout)
        let json = try cli.run(["inspect", "genes.hmod", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let section = object["gene_space"] as? [String: Any]
        XCTAssertEqual(section?["count"] as? Int, 12)
        XCTAssertEqual(section?["normalization"] as? String, "log_counts")
        XCTAssertEqual(section?["target_sum"] as? Double, 10_000)
        let listed = section?["genes"] as? [[String: String]]
        XCTAssertEqual(listed?.count, 12)
        XCTAssertEqual(listed?.last, ["id": "ENSG11", "name": "GENE11"])
    }

    /// An .h5ad query (obsm X_pca, obs metadata, no --meta) maps like the table, into an .h5ad output with obs
    /// predictions and obsm["X_pca_harmony"]; expression onto this embedding-built reference is refused.
    func testH5ADQueryAndOutput() throws {
        let table = try DelimitedTable.read(cli.directory.appendingPathComponent("query.tsv").path)
        let pcs = try table.numericMatrix().converted(to: Float.self)
        let meta = try DelimitedTable.read(cli.directory.appendingPathComponent("query_meta.tsv").path)
        let donor = meta.columnIndex(named: "donor")!
        try AnnDataWriter.write(AnnDataOutput(obsNames: table.ids, obsColumns: [("donor", .categorical(meta.fields.map { $0[donor] }))],
                                              obsm: [("X_pca", pcs)]),
                                to: cli.directory.appendingPathComponent("query.h5ad").path)
        let viaTable = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                                    "--out", "t.tsv", "--predictions", "t_pred.tsv", "--quiet"])
        XCTAssertEqual(viaTable.status, 0, viaTable.stderr)
        let viaH5AD = try cli.run(["map", "query.h5ad", "--basis", "X_pca", "--reference", "ref.hmod", "--batch-key", "donor",
                                   "--out", "h.h5ad", "--predictions", "h_pred.tsv", "--quiet"])
        XCTAssertEqual(viaH5AD.status, 0, viaH5AD.stderr)
        let expected = try DelimitedTable.read(cli.directory.appendingPathComponent("t.tsv").path).numericMatrix()
        let out = try AnnData.open(cli.directory.appendingPathComponent("h.h5ad").path)
        XCTAssertEqual(out.obsNames, queryIds)
        let corrected = try out.obsm("X_pca_harmony")
        XCTAssertEqual(corrected.rows, expected.rows)
        for (a, b) in zip(corrected.values, expected.values) { XCTAssertEqual(Double(a), b, accuracy: 1e-5 * max(1, abs(b))) }
        let labels = try out.obsMetadata()
        XCTAssertEqual(try labels.labels(column: "label", rows: Array(0..<queryIds.count)),
                       try DelimitedTable.read(cli.directory.appendingPathComponent("t_pred.tsv").path).fields.map { $0[0] })
        XCTAssertNotNil(labels.table.columnIndex(named: "mapping_distance"))
        XCTAssertEqual(try out.obsmNames().sorted(), ["X_pca_harmony", "X_pca_reference"])
        // Expression (a 10x directory) onto a reference built from an embedding: refused, nothing written.
        let tenx = SharedData.repositoryRoot.appendingPathComponent("Tests/Fixtures/expression/tenx_v3_dir").path
        let before = cli.listing()
        let refused = try cli.run(["map", tenx, "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                                   "--out", "x.tsv"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("built from an embedding"), refused.stderr)
        XCTAssertEqual(cli.listing(), before)
    }

    /// --min-confidence relabels low-confidence cells Unknown; --max-mapping-distance flags the far cells; the
    /// two runs agree on everything else.
    func testMinConfidenceAndMappingFlag() throws {
        let plain = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                                 "--out", "a.tsv", "--predictions", "a_pred.tsv", "--quiet"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let strict = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                                  "--out", "b.tsv", "--predictions", "b_pred.tsv", "--min-confidence", "0.9",
                                  "--max-mapping-distance", "6", "--quiet"])
        XCTAssertEqual(strict.status, 0, strict.stderr)
        let a = try DelimitedTable.read(cli.directory.appendingPathComponent("a_pred.tsv").path)
        let b = try DelimitedTable.read(cli.directory.appendingPathComponent("b_pred.tsv").path)
        XCTAssertEqual(b.header, ["cell_id", "label", "confidence", "cluster", "cluster_prob", "mapping_distance", "mapping_flag"])
        var unknown = 0, flagged = 0
        for (x, y) in zip(a.fields, b.fields) {
            XCTAssertEqual(Array(x[1...4]), Array(y[1...4]))
            let lowConfidence = Double(x[1])! < 0.9
            XCTAssertEqual(y[0], lowConfidence ? "Unknown" : x[0])
            if lowConfidence { unknown += 1 }
            XCTAssertEqual(y[5], Double(x[4])! > 6 ? "1" : "0")
            if y[5] == "1" { flagged += 1 }
        }
        print("--min-confidence 0.9: \(unknown) Unknown; --max-mapping-distance 6: \(flagged) flagged of \(a.ids.count)")
        XCTAssertGreaterThan(unknown, 0)
        let bad = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv", "--batch-key", "donor",
                               "--out", "c.tsv", "--max-mapping-distance", "6"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("needs --predictions"), bad.stderr)
    }

    /// --batch NAME puts every cell in one batch without metadata: the same bytes as a metadata table that gives
    /// every cell that batch; a reference level's name picks that batch's reference terms (a first-covariate
    /// level, as harmonyd does); --batch-key and --batch exclude each other.
    func testOneBatchNameNeedsNoMetadata() throws {
        // Maps with --batch NAME and with a table giving every cell NAME in `column`; returns the --out bytes.
        func viaNameAndTable(_ name: String, column: String) throws -> Data {
            try cli.write("one_batch.tsv", "cell_id\t\(column)\n" + queryIds.map { "\($0)\t\(name)\n" }.joined())
            let viaTable = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "one_batch.tsv",
                                        "--batch-key", column, "--out", "t.tsv", "--predictions", "t_pred.tsv", "--quiet"])
            XCTAssertEqual(viaTable.status, 0, viaTable.stderr)
            let viaName = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--batch", name,
                                       "--out", "b.tsv", "--predictions", "b_pred.tsv", "--quiet"])
            XCTAssertEqual(viaName.status, 0, viaName.stderr)
            XCTAssertEqual(try cli.read("b.tsv"), try cli.read("t.tsv"))
            XCTAssertEqual(try cli.read("b_pred.tsv"), try cli.read("t_pred.tsv"))
            return try cli.read("b.tsv")
        }
        let newBatch = try viaNameAndTable("sample7", column: "sample")
        // Named after a reference donor, the cells take that donor's terms: other numbers than a new batch's.
        let donor = try DelimitedTable.read(cli.directory.appendingPathComponent("reference_meta.tsv").path).fields[0][0]
        XCTAssertNotEqual(try viaNameAndTable(donor, column: "donor"), newBatch)
        let before = cli.listing()
        for (arguments, message) in [(["--batch", "x", "--batch-key", "donor"], "not both"),
                                     ([], "--batch-key COLUMN"), (["--batch", ""], "must not be empty"),
                                     (["--batch-key", "donor"], "no cell metadata")] {
            let r = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--out", "x.tsv"] + arguments)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
        }
        XCTAssertEqual(cli.listing(), before)
    }

    func testBadInputExitsWithStatusTwo() throws {
        var bytes = try Data(contentsOf: cli.directory.appendingPathComponent("ref.hmod"))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: cli.directory.appendingPathComponent("bad.hmod"))
        let before = cli.listing()
        let corrupt = try cli.run(["map", "query.tsv", "--reference", "bad.hmod", "--meta", "query_meta.tsv",
                                   "--batch-key", "donor", "--out", "m.tsv"])
        XCTAssertEqual(corrupt.status, 2)
        XCTAssertTrue(corrupt.stderr.contains("checksum mismatch"), corrupt.stderr)
        let column = try cli.run(["map", "query.tsv", "--reference", "ref.hmod", "--meta", "query_meta.tsv",
                                  "--batch-key", "sample", "--out", "m.tsv"])
        XCTAssertEqual(column.status, 2)
        XCTAssertTrue(column.stderr.contains("no column 'sample'"), column.stderr)
        XCTAssertEqual(cli.listing(), before)
        let inspect = try cli.run(["inspect", "bad.hmod"])
        XCTAssertEqual(inspect.status, 2)
    }
}
