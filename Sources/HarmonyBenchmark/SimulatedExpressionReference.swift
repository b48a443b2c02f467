// A gene-space reference built from simulated counts (CountSimulator -> `ExpressionReference.build`, the recipe of
// `harmony reference`), with query cells from the same simulation as CSR rows over the reference's genes, for the
// expression benchmark and the server's MAP_EXPRESSION tests. Batches 1-2 of the simulation form the reference,
// batch 3 the query.
import HarmonyCore

/// A gene-space reference and query counts over its genes.
public struct SimulatedExpressionReference: Sendable {
    /// The reference: genes, gene statistics, loadings, cluster spreads, labels (`cell_type`) and cells.
    public var model: ReferenceModel
    /// The query cells' counts over the reference's genes, in its gene order.
    public var query: SparseRows
    /// Each query cell's total counts over ALL of its simulated genes.
    public var queryTotals: [Double]
    /// Query cell ids.
    public var queryIDs: [String]
    /// The query cells' batch (`batch3`), one per cell.
    public var queryBatches: [String]

    /// Simulates `cells` cells over `simulatedGenes` genes (3 batches, 4 cell types), builds the reference of the
    /// first two batches with `genes` variable genes, `components` PCs and K = `clusters`.
    public init(cells: Int, simulatedGenes: Int, genes: Int, components: Int = 20, clusters: Int,
                meanUMIs: Double = 5000, seed: UInt64, threads: Int = 0) throws {
        let simulation = try CountSimulator(CountSimulationSpec(cells: cells, genes: simulatedGenes, batches: 3, types: 4,
                                                                seed: seed, meanUMIs: meanUMIs))
        let all = try simulation.rows(0..<cells)
        let referenceRows = (0..<cells).filter { simulation.batchCodes[$0] < 2 }
        let queryRows = (0..<cells).filter { simulation.batchCodes[$0] == 2 }
        let reference = try InMemoryExpression(origin: "simulated reference counts",
                                               cellIDs: referenceRows.map { simulation.cellIDs[$0] },
                                               genes: simulation.genes, matrix: Self.rows(all, referenceRows))
        var settings = GeneSpaceSettings(selection: .variable(count: genes), components: components, seed: seed)
        settings.threads = threads
        var parameters = HarmonyParameters()
        parameters.nClusters = clusters
        parameters.threads = threads
        let batch = Covariate(name: "batch", labels: referenceRows.map { simulation.batchNames[Int(simulation.batchCodes[$0])] })
        let built = try ExpressionReference.build(
            source: reference, covariates: [batch],
            labels: ("cell_type", referenceRows.map { simulation.typeNames[Int(simulation.typeCodes[$0])] }),
            compact: false, settings: settings, parameters: parameters)
        model = built.model
        let space = built.build.geneSpace
        let match = try GeneMatch(reference: space.genes, query: simulation.genes, source: simulation.origin)
        queryIDs = queryRows.map { simulation.cellIDs[$0] }
        let overReference = try match.referenceRows(Self.rows(all, queryRows), counts: true, firstCell: 0,
                                                    cellIDs: queryIDs, source: simulation.origin)
        query = overReference.rows
        queryTotals = overReference.totals
        queryBatches = queryRows.map { simulation.batchNames[Int(simulation.batchCodes[$0])] }
    }

    /// The rows `selected` of `matrix`.
    public static func rows(_ matrix: SparseRows, _ selected: [Int]) -> SparseRows {
        var starts = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        for i in selected {
            columns.append(contentsOf: matrix.columns[matrix.rowStarts[i]..<matrix.rowStarts[i + 1]])
            values.append(contentsOf: matrix.values[matrix.rowStarts[i]..<matrix.rowStarts[i + 1]])
            starts.append(columns.count)
        }
        return SparseRows(unchecked: matrix.columnCount, rowStarts: starts, columns: columns, values: values)
    }
}
