extension QueryState {
    /// Maps each batch on its own, as harmonyd does with one `QueryState` per streamed batch: a new batch's
    /// terms are estimated from its own cells and the reference statistics only, so a batch's correction does
    /// not depend on which other batches share the file. Cells of known levels use the reference's terms.
    /// Rows of the result are in the order of `cells`. `mapJointly` instead shares one intercept across all new
    /// batches (Symphony's `mapQuery`); the two differ by at most ~lambda / N_k per cluster (Protocols/algorithm.md §5.2).
    public static func mapEachBatch(model: ReferenceModel, cells: Matrix<Float>, batches: [String], batchKey: String,
                                    options: QueryMappingOptions, threads: Int = 0) throws -> MappedCells {
        let grouping = group(batches)
        if grouping.distinct.count <= 1 {
            return try mapJointly(model: model, cells: cells, batches: batches, batchKey: batchKey,
                                  options: options, threads: threads)
        }
        var rowsOf = [[Int]](repeating: [], count: grouping.distinct.count)
        for (i, code) in grouping.codes.enumerated() { rowsOf[code].append(i) }
        let n = cells.rows, d = cells.cols, k = model.clusterCount
        var out = MappedCells(corrected: Matrix(rows: n, cols: d), topCluster: [Int32](repeating: 0, count: n),
                              topProbability: [Float](repeating: 0, count: n),
                              assignments: options.includeAssignments ? Matrix(rows: n, cols: k) : nil,
                              mappingDistance: options.includeMappingDistance ? [Double](repeating: 0, count: n) : nil)
        for (b, rows) in rowsOf.enumerated() {
            let part = try mapJointly(model: model, cells: cells.selectingRows(rows),
                                      batches: [String](repeating: grouping.distinct[b], count: rows.count),
                                      batchKey: batchKey, options: options, threads: threads)
            for (j, i) in rows.enumerated() {
                out.corrected.values.replaceSubrange((i * d)..<((i + 1) * d),
                                                     with: part.corrected.values[(j * d)..<((j + 1) * d)])
                out.topCluster[i] = part.topCluster[j]
                out.topProbability[i] = part.topProbability[j]
                if let r = part.assignments {
                    out.assignments!.values.replaceSubrange((i * k)..<((i + 1) * k),
                                                            with: r.values[(j * k)..<((j + 1) * k)])
                }
                if let distances = part.mappingDistance { out.mappingDistance![i] = distances[j] }
            }
        }
        return out
    }
}
