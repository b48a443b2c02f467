import HarmonyCore

/// Small real reference models for server tests: simulated data, a Harmony fit, a built reference.
enum TestModels {
    /// The reference's cell embedding and metadata, and a query from the same simulation (other batches).
    struct Data {
        var model: ReferenceModel
        var query: Matrix<Float>
        var queryBatches: [String]
    }

    /// A fitted reference of `cells` simulated cells (batches 1-2 are the reference, 3-4 the query).
    static func make(cells: Int = 1200, dims: Int = 8, clusters: Int = 12, seed: UInt64 = 7) throws -> Data {
        let data = Simulator.generate(SimulationSpec(cells: cells, dims: dims, batches: 4, types: 4, seed: seed))
        var referenceRows: [Int] = [], queryRows: [Int] = []
        for (i, batch) in data.batch.enumerated() {
            if batch == "batch01" || batch == "batch02" { referenceRows.append(i) } else { queryRows.append(i) }
        }
        let embedding = data.embedding.selectingRows(referenceRows)
        let covariate = Covariate(name: "batch", labels: referenceRows.map { data.batch[$0] })
        var parameters = HarmonyParameters()
        parameters.nClusters = clusters
        parameters.threads = 1
        let fit = try Harmony.fit(embedding, covariates: [covariate], parameters: parameters)
        let model = try ReferenceModel.build(fit: fit, embedding: embedding, covariates: [covariate],
                                             parameters: parameters, cellIds: referenceRows.map { data.ids[$0] },
                                             labels: ("cell_type", referenceRows.map { data.cellType[$0] }),
                                             compact: false)
        return Data(model: model, query: data.embedding.selectingRows(queryRows),
                    queryBatches: queryRows.map { data.batch[$0] })
    }
}
