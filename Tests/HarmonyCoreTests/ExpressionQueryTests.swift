import XCTest
@testable import HarmonyCore

final class ExpressionQueryTests: XCTestCase {
    /// A gene-space reference built in memory from simulated counts (120 genes, 40 of them variable, 6 PCs).
    static func reference() throws -> (ReferenceModel, InMemoryExpression) {
        let (source, batches) = try GeneSpaceTestData.counts(cells: 300, genes: 120)
        let settings = GeneSpaceSettings(selection: .variable(count: 40), minCells: 3, components: 6, seed: 3)
        let space = try GeneSpaceBuilder.build(source: source, batches: batches, batchCount: 2, settings: settings).geneSpace
        let d = space.dimension
        let model = try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [0.1], theta: [2], lambda: .fixed([1])),
            clusterMass: [300], clusterSums: Matrix(rows: 1, cols: d), levelTerms: [Matrix(rows: 1, cols: d)],
            covariates: [ReferenceCovariate(name: "b", levels: ["x"])], labels: nil, cells: nil, geneSpace: space)
        return (model, source)
    }

    /// A query of other cells, its genes a shuffled subset of the reference data's genes, with one gene renamed to
    /// another id (matched by name) and extra genes the reference does not know.
    static func query(_ genes: [Gene], keep: [Int], cells: Int) throws -> InMemoryExpression {
        var rng = SeededGenerator(seed: 11)
        var rates = [Double](repeating: 0, count: keep.count + 3)
        for c in rates.indices { rates[c] = exp(rng.normal() * 0.8 - 0.3) }
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        for _ in 0..<cells {
            for c in 0..<(rates.count - 1) {
                let x = GeneSpaceTestData.poisson(rates[c] * (0.5 + rng.uniform()), &rng)
                if x > 0 { columns.append(Int32(c)); values.append(Float(x)) }
            }
            columns.append(Int32(rates.count - 1)); values.append(1)  // never an empty cell
            starts.append(columns.count)
        }
        var queryGenes = keep.map { genes[$0] }
        queryGenes[0].id = "renamed-" + queryGenes[0].id
        queryGenes += [Gene(id: "EXTRA1", name: "E1"), Gene(id: "EXTRA2", name: "E2"), Gene(id: "EXTRA3", name: "E3")]
        return try InMemoryExpression(origin: "query.h5ad", cellIDs: (0..<cells).map { "q\($0)" }, genes: queryGenes,
                                      matrix: SparseRows(columnCount: rates.count, rowStarts: starts, columns: columns,
                                                         values: values))
    }

    /// The query's cells, its genes shuffled and partly missing, project exactly as the matched matrix (reference
    /// genes in reference order, whole-library totals, absent genes flagged) projected directly.
    func testShuffledSubsetEqualsProjectingTheMatchedMatrix() throws {
        let (model, data) = try Self.reference()
        let space = try XCTUnwrap(model.geneSpace)
        var rng = SeededGenerator(seed: 2)
        let referenceColumns = space.genes.map { g in data.genes.firstIndex(of: g)! }
        // Keep 34 of the 40 reference genes plus 30 others, in a random order.
        let dropped = Set(referenceColumns.prefix(6))
        var keep = (0..<data.geneCount).filter { !dropped.contains($0) }.filter { referenceColumns.contains($0) || $0 % 3 == 0 }
        for i in stride(from: keep.count - 1, to: 0, by: -1) { keep.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let query = try Self.query(data.genes, keep: keep, cells: 250)

        let result = try ExpressionQuery(model: model, source: query, blockCells: 64)
        XCTAssertEqual(result.cellIDs, query.cellIDs)
        XCTAssertEqual(result.match.matchedCount, 34)
        XCTAssertEqual(result.match.matchedByName, referenceColumns.contains(keep[0]) ? 1 : 0)
        XCTAssertTrue(result.overlapSummary.contains("34 of the reference's 40 genes"), result.overlapSummary)

        // The matched matrix, built independently: dense per cell, then the reference genes picked in order.
        let g = space.geneCount
        var position = [Int: Int]()
        for (r, gene) in space.genes.enumerated() { position[data.genes.firstIndex(of: gene)!] = r }
        var starts = [0], columns: [Int32] = [], values: [Float] = [], totals: [Double] = []
        let m = query.matrix
        for i in 0..<m.rowCount {
            var dense = [Float](repeating: 0, count: g)
            var total = 0.0
            for e in m.rowStarts[i]..<m.rowStarts[i + 1] {
                total += Double(m.values[e])
                let c = Int(m.columns[e])
                if c < keep.count, let r = position[keep[c]] { dense[r] = m.values[e] }
            }
            for r in 0..<g where dense[r] != 0 { columns.append(Int32(r)); values.append(dense[r]) }
            starts.append(columns.count)
            totals.append(total)
        }
        let present = space.genes.map { gene in keep.contains(data.genes.firstIndex(of: gene)!) }
        XCTAssertEqual(present.filter { $0 }.count, 34)
        let expected = try space.project(SparseRows(columnCount: g, rowStarts: starts, columns: columns, values: values),
                                         totals: totals, present: present)
        XCTAssertEqual(result.projection.rows, 250)
        XCTAssertEqual(result.projection.cols, space.dimension)
        XCTAssertLessThanOrEqual(FixtureData.maxAbsDiff(result.projection, expected), 1e-6 * FixtureData.maxAbs(expected))
        // Block size does not change the result.
        let oneBlock = try ExpressionQuery(model: model, source: query, blockCells: 10_000)
        XCTAssertEqual(oneBlock.projection, result.projection)
    }

    /// The reference's own cells project onto themselves whatever the gene order of the query.
    func testReferenceCellsInAnotherGeneOrderKeepTheirProjection() throws {
        let (model, data) = try Self.reference()
        let space = try XCTUnwrap(model.geneSpace)
        let direct = try ExpressionQuery(model: model, source: data)
        XCTAssertEqual(direct.match.matchedById, space.geneCount)
        // Reverse the gene order of every cell.
        let m = data.matrix, gTotal = data.geneCount
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        for i in 0..<m.rowCount {
            for e in (m.rowStarts[i]..<m.rowStarts[i + 1]).reversed() {
                columns.append(Int32(gTotal - 1) - m.columns[e]); values.append(m.values[e])
            }
            starts.append(columns.count)
        }
        let reversed = try InMemoryExpression(cellIDs: data.cellIDs, genes: data.genes.reversed(),
                                              matrix: SparseRows(columnCount: gTotal, rowStarts: starts, columns: columns, values: values))
        let other = try ExpressionQuery(model: model, source: reversed)
        XCTAssertLessThanOrEqual(FixtureData.maxAbsDiff(other.projection, direct.projection),
                                 1e-6 * FixtureData.maxAbs(direct.projection))
    }

    func testTooSmallAnOverlapIsRefusedWithBothCountsAndAHint() throws {
        let (model, data) = try Self.reference()
        let space = try XCTUnwrap(model.geneSpace)
        let referenceColumns = space.genes.map { g in data.genes.firstIndex(of: g)! }
        let keep = Array(referenceColumns.prefix(15)) + [Int](0..<data.geneCount).filter { !referenceColumns.contains($0) }
        let query = try Self.query(data.genes, keep: keep, cells: 20)
        XCTAssertThrowsError(try ExpressionQuery(model: model, source: query)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("query.h5ad") && text.contains("15 of the reference's 40 genes")
                          && text.contains("query's \(keep.count + 3) genes") && text.contains("Ensembl"), text)
            guard case HarmonyError.invalidInput = error else { return XCTFail("\(error)") }
        }
        // A lower threshold accepts it.
        XCTAssertEqual(try ExpressionQuery(model: model, source: query, minimumOverlap: 0.3).match.matchedCount, 15)
        XCTAssertThrowsError(try ExpressionQuery(model: model, source: query, minimumOverlap: 1.5)) { error in
            guard case HarmonyError.invalidParameter = error else { return XCTFail("\(error)") }
        }
    }

    func testBadValuesEmptyCellsDuplicatesAndGenelessModelsAreRefused() throws {
        let (model, data) = try Self.reference()
        let genes = data.genes
        func source(_ values: [Float], columns: [Int32], starts: [Int], genes: [Gene]) throws -> InMemoryExpression {
            try InMemoryExpression(origin: "bad.h5ad", cellIDs: (0..<(starts.count - 1)).map { "c\($0)" }, genes: genes,
                                   matrix: SparseRows(columnCount: genes.count, rowStarts: starts, columns: columns, values: values))
        }
        let allColumns = (0..<genes.count).map { Int32($0) }
        func cells(_ first: [Float], second: [Float]) -> ([Float], [Int32], [Int]) {
            (first + second, allColumns + allColumns, [0, genes.count, 2 * genes.count])
        }
        let ones = [Float](repeating: 1, count: genes.count)
        var negative = ones; negative[5] = -2
        var fraction = ones; fraction[7] = 0.5
        var infinite = ones; infinite[9] = .infinity
        for (bad, word) in [(negative, "negative"), (fraction, "integer"), (infinite, "finite")] {
            let (v, c, s) = cells(ones, second: bad)
            XCTAssertThrowsError(try ExpressionQuery(model: model, source: source(v, columns: c, starts: s, genes: genes))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("bad.h5ad") && text.contains("cell c1") && text.contains(word), text)
            }
        }
        // A cell without counts.
        XCTAssertThrowsError(try ExpressionQuery(model: model, source: source(ones, columns: allColumns,
                                                                               starts: [0, genes.count, genes.count], genes: genes))) { error in
            XCTAssertTrue("\(error)".contains("c1 is empty"), "\(error)")
        }
        // A reference gene twice in the query.
        let space = try XCTUnwrap(model.geneSpace)
        let doubled = genes + [space.genes[0]]
        XCTAssertThrowsError(try ExpressionQuery(model: model, source: source(ones + [1], columns: allColumns + [Int32(genes.count)],
                                                                               starts: [0, genes.count + 1], genes: doubled))) { error in
            XCTAssertTrue("\(error)".contains("appears twice"), "\(error)")
        }
        // A model without genes.
        let geneless = try ReferenceModel(parameters: model.parameters, clusterMass: model.clusterMass,
                                          clusterSums: model.clusterSums, levelTerms: model.levelTerms,
                                          covariates: model.covariates, labels: nil, cells: nil)
        XCTAssertThrowsError(try ExpressionQuery(model: geneless, source: data)) { error in
            XCTAssertTrue("\(error)".contains("no genes"), "\(error)")
        }
    }
}
