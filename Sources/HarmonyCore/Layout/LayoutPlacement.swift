// Placing new cells on an existing UMAP layout without moving it (umap-learn's `transform`).
//
// Each new cell's k nearest reference cells (in the space the layout was computed from) get UMAP memberships
// (FuzzyGraph.memberships: the cell's own rho and sigma). The cell starts at the membership-weighted mean of
// its neighbours' 2-D positions, then a few SGD epochs (LayoutOptimizer with the reference fixed: attraction
// to its neighbours, repulsion from random reference cells; a quarter of the learning rate, as umap-learn)
// settle it. Cells never interact with each other,
// so a cell's place depends only on the reference and its own neighbours, and the seed.
//
// What a reference must keep to place cells: its 2-D layout (N x 2 Float), the embedding the layout was
// computed from (to find the neighbours; for a Harmony reference, the corrected embedding) and the curve
// parameters (min_dist, spread); the neighbour search itself is NearestNeighborIndex over that embedding.

/// Places query cells on a fixed reference layout.
public enum LayoutPlacement {
    /// The 2-D positions (queries x 2) of query cells.
    /// - Parameters:
    ///   - reference: the reference layout, reference cells x 2.
    ///   - indices: queries x k row-major indices of each query's nearest reference cells, nearest first.
    ///   - distances: the matching distances, ascending in each row.
    ///   - epochs: SGD epochs after the weighted-mean start (0 keeps the weighted mean; umap-learn uses 100 up
    ///     to 10,000 cells and 30 above, a third of the layout's own schedule).
    /// - Throws: `invalidInput` when the shapes disagree or an index is out of range.
    public static func place(on reference: Matrix<Float>, indices: [Int32], distances: [Double], k: Int,
                             parameters: UMAPParameters = UMAPParameters(), epochs: Int? = nil) throws -> Matrix<Float> {
        guard reference.cols == 2, k >= 1, indices.count == distances.count, indices.count % k == 0 else {
            throw HarmonyError.invalidInput("the reference layout must have 2 columns and the neighbour lists k entries per query cell")
        }
        let queries = indices.count / k
        let referenceCount = reference.rows
        for j in indices where j < 0 || Int(j) >= referenceCount {
            throw HarmonyError.invalidInput("a neighbour index (\(j)) is outside the reference layout's \(referenceCount) cells")
        }
        let w = FuzzyGraph.memberships(distances: distances, rows: queries, k: k)
        var out = [Float](repeating: 0, count: queries * 2)
        var heads: [Int32] = [], tails: [Int32] = [], weights: [Float] = []
        for q in 0..<queries {
            var sx = 0.0, sy = 0.0, total = 0.0
            for c in 0..<k {
                let j = Int(indices[q * k + c]), weight = w[q * k + c]
                sx += weight * Double(reference.values[2 * j]); sy += weight * Double(reference.values[2 * j + 1])
                total += weight
                heads.append(Int32(q)); tails.append(Int32(j)); weights.append(Float(weight))
            }
            out[2 * q] = Float(sx / total); out[2 * q + 1] = Float(sy / total)
        }
        let rounds = epochs ?? (queries <= 10_000 ? 100 : 30)
        guard rounds > 0, queries > 0 else { return Matrix(rows: queries, cols: 2, values: out) }
        let optimizer = LayoutOptimizer(
            graph: FuzzyGraph(vertexCount: queries, heads: heads, tails: tails, weights: weights),
            curve: UMAPCurve(minDist: parameters.minDist, spread: parameters.spread), epochs: rounds,
            learningRate: Float(parameters.learningRate) / 4, negativeSampleRate: parameters.negativeSampleRate,
            repulsion: Float(parameters.repulsion), threads: parameters.threads)
        var generator = SeededGenerator(seed: parameters.seed)
        var fixed = reference.values
        out.withUnsafeMutableBufferPointer { h in
            fixed.withUnsafeMutableBufferPointer { t in
                optimizer.run(heads: h.baseAddress!, tails: t.baseAddress!, tailCount: referenceCount, moveTails: false,
                              generator: &generator)
            }
        }
        return Matrix(rows: queries, cols: 2, values: out)
    }
}
