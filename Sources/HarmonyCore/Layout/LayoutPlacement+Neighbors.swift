// The one way to place query cells on a reference layout from embeddings: the neighbours come from an exact
// NearestNeighborIndex over the reference embedding the layout was computed from (Float, the precision the
// index works in; its answers are re-ranked in Double, so they are the exact neighbours), then `place`.
// `harmony plot mapping` and the C interface (harmony_layout_place) both call this.

extension LayoutPlacement {
    /// The 2-D positions (queries x 2) of `queries` on `layout`, the layout of `referenceEmbedding`'s rows.
    /// Each query cell's `parameters.neighbors` nearest reference cells (all of them when the reference is
    /// smaller) anchor it; `parameters.threads` runs the search (the result does not depend on it).
    /// - Throws: `invalidInput` when the layout, the reference and the queries do not fit together.
    public static func place(_ queries: Matrix<Float>, on layout: Matrix<Float>, of referenceEmbedding: Matrix<Float>,
                             parameters: UMAPParameters = UMAPParameters(), epochs: Int? = nil) throws -> Matrix<Float> {
        guard layout.rows == referenceEmbedding.rows, layout.rows >= 1 else {
            throw HarmonyError.invalidInput("the reference layout has \(layout.rows) cells but the reference embedding \(referenceEmbedding.rows); they must be the same cells, at least one")
        }
        guard queries.cols == referenceEmbedding.cols else {
            throw HarmonyError.invalidInput("the query cells have \(queries.cols) dimensions; the reference embedding has \(referenceEmbedding.cols)")
        }
        // The curve and rates are checked as a layout's are; a reference smaller than k only lowers k.
        try parameters.validate(cells: max(referenceEmbedding.rows, parameters.neighbors + 1))
        if let epochs, epochs < 0 { throw HarmonyError.invalidParameter("the placement epochs must be >= 0 (got \(epochs))") }
        guard queries.rows > 0 else { return Matrix(rows: 0, cols: 2) }
        let k = min(parameters.neighbors, referenceEmbedding.rows)
        let found = NearestNeighborIndex(points: referenceEmbedding).search(queries, k: k, threads: parameters.threads)
        return try place(on: layout, indices: found.indices, distances: found.distances.map(Double.init), k: k,
                         parameters: parameters, epochs: epochs)
    }
}
