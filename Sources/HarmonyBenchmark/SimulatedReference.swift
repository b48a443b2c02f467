// A reference model fitted on simulated data, with query cells from the same simulation, for the benchmark
// and the server's tests. Batches 1-2 of the simulation form the reference, batches 3-4 the query.
import HarmonyCore

/// A small real reference (simulation -> Harmony fit -> reference model) and query cells for it.
public struct SimulatedReference: Sendable {
    /// The reference built from the fit, with labels (`cell_type`) and its cells (so it can be refitted).
    public var model: ReferenceModel
    /// Cells of the query batches, in simulation order.
    public var query: Matrix<Float>
    /// The batch label of each query cell (`batch03`, `batch04`).
    public var queryBatches: [String]

    /// Simulates `cells` cells (4 batches, `types` cell types), fits the reference half with K = `clusters`.
    public init(cells: Int, dims: Int, clusters: Int, types: Int = 4, seed: UInt64, threads: Int = 0) throws {
        let data = Simulator.generate(SimulationSpec(cells: cells, dims: dims, batches: 4, types: types, seed: seed))
        let referenceRows = data.batch.indices.filter { data.batch[$0] <= "batch02" }
        let queryRows = data.batch.indices.filter { data.batch[$0] > "batch02" }
        let embedding = data.embedding.selectingRows(referenceRows)
        let covariate = Covariate(name: "batch", labels: referenceRows.map { data.batch[$0] })
        var parameters = HarmonyParameters()
        parameters.nClusters = clusters
        parameters.threads = threads
        let fit = try Harmony.fit(embedding, covariates: [covariate], parameters: parameters)
        model = try ReferenceModel.build(fit: fit, embedding: embedding, covariates: [covariate],
                                         parameters: parameters, cellIds: referenceRows.map { data.ids[$0] },
                                         labels: ("cell_type", referenceRows.map { data.cellType[$0] }),
                                         compact: false)
        query = data.embedding.selectingRows(queryRows)
        queryBatches = queryRows.map { data.batch[$0] }
    }
}
