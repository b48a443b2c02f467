// UMAP (McInnes, Healy & Melville 2018) of an embedding into 2-D: exact kNN graph, fuzzy simplicial set
// (FuzzyGraph), a deterministic start, and SGD (LayoutOptimizer).
//
// Neighbours: the exact k nearest other cells of the coordinates rounded to Float (the layout is Float), found
// with the inverted-file index (NearestNeighborIndex) that the mapping uses: cells are searched against
// themselves for k + 1 neighbours and each cell then drops itself. On clustered data the index scans a few
// lists per cell instead of every cell, as a brute-force search would.
//
// Start: instead of umap-learn's spectral embedding of the graph, the first two principal components of the
// input (eigenvectors of the d x d covariance by cyclic Jacobi rotations, each signed so its largest
// component is positive), scaled together so the wider axis spans [0, 10] (umap-learn's box), plus a seeded
// jitter of 1e-4 so that coincident cells do not start on top of each other. This costs O(N d^2), needs no
// sparse eigensolver, and the SGD stage repairs what PCA does not separate; the trustworthiness test checks
// the result.

#if canImport(Glibc)
import Glibc
#endif

/// A 2-D UMAP layout of an embedding.
public enum UMAP {
    /// The layout (cells x 2, Float) of the rows of `points`.
    /// - Throws: `invalidParameter`/`invalidInput` for bad parameters or too few cells.
    public static func layout(_ points: Matrix<Double>, parameters: UMAPParameters = UMAPParameters()) throws -> Matrix<Float> {
        try parameters.validate(cells: points.rows)
        let neighbors = otherNeighbors(points.converted(to: Float.self), k: parameters.neighbors,
                                       threads: parameters.threads)
        let graph = FuzzyGraph(indices: neighbors.indices, distances: neighbors.distances, rows: points.rows,
                               k: parameters.neighbors)
        var generator = SeededGenerator(seed: parameters.seed)
        var positions = principalStart(points, generator: &generator)
        let optimizer = LayoutOptimizer(
            graph: graph, curve: UMAPCurve(minDist: parameters.minDist, spread: parameters.spread),
            epochs: parameters.resolvedEpochs(cells: points.rows), learningRate: Float(parameters.learningRate),
            negativeSampleRate: parameters.negativeSampleRate, repulsion: Float(parameters.repulsion),
            threads: parameters.threads)
        positions.values.withUnsafeMutableBufferPointer { p in
            optimizer.run(heads: p.baseAddress!, tails: p.baseAddress!, tailCount: points.rows, moveTails: true,
                          generator: &generator)
        }
        return positions
    }

    /// The `k` nearest other points of every point (n x k, nearest first) and their distances.
    static func otherNeighbors(_ points: Matrix<Float>, k: Int, threads: Int) -> (indices: [Int32], distances: [Double]) {
        let n = points.rows
        let found = NearestNeighborIndex(points: points).search(points, k: k + 1, threads: threads)
        var indices = [Int32](repeating: 0, count: n * k), distances = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            // The point itself is among its k + 1 nearest unless more than k others coincide with it (ties go
            // to the smaller index); then the farthest of the k + 1 is dropped instead.
            var kept = 0
            for c in 0...k where kept < k && found.indices[i * (k + 1) + c] != Int32(i) {
                indices[i * k + kept] = found.indices[i * (k + 1) + c]
                distances[i * k + kept] = Double(found.distances[i * (k + 1) + c])
                kept += 1
            }
        }
        return (indices, distances)
    }

    /// The first two principal components of `points`, scaled into UMAP's starting box, with a small jitter.
    static func principalStart(_ points: Matrix<Double>, generator: inout SeededGenerator) -> Matrix<Float> {
        let n = points.rows, d = points.cols
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += points.values[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        var centred = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { centred[j] = points.values[i * d + j] - mean[j] }
            for r in 0..<d { for c in r..<d { covariance[r * d + c] += centred[r] * centred[c] } }
        }
        for r in 0..<d { for c in 0..<r { covariance[r * d + c] = covariance[c * d + r] } }
        let axes = SymmetricEigen.topVectors(covariance, size: d, count: min(2, d))
        var projected = [Double](repeating: 0, count: n * 2)
        for i in 0..<n {
            for (a, axis) in axes.enumerated() {
                var s = 0.0
                for j in 0..<d { s += (points.values[i * d + j] - mean[j]) * axis[j] }
                projected[i * 2 + a] = s
            }
        }
        var lo = [Double.infinity, .infinity], hi = [-Double.infinity, -Double.infinity]
        for i in 0..<n {
            for a in 0..<2 { lo[a] = min(lo[a], projected[i * 2 + a]); hi[a] = max(hi[a], projected[i * 2 + a]) }
        }
        let width = max(hi[0] - lo[0], hi[1] - lo[1])
        let scale = width > 0 ? 10 / width : 1
        var out = [Float](repeating: 0, count: n * 2)
        for i in 0..<n {
            for a in 0..<2 {
                out[i * 2 + a] = Float((projected[i * 2 + a] - lo[a]) * scale + 1e-4 * generator.normal())
            }
        }
        return Matrix(rows: n, cols: 2, values: out)
    }
}
