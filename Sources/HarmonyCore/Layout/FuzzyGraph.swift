// UMAP's fuzzy simplicial set over a kNN graph (McInnes et al. 2018, section 3).
//
// Each cell i gets a local scale: rho_i, the distance to its nearest neighbour, and sigma_i, found by bisection
// so that sum_j exp(-max(0, d_ij - rho_i) / sigma_i) = log2(k) over its k neighbours (64 halvings at most,
// stopping within 1e-5). The nearest neighbour therefore has membership 1. sigma is kept at least 1e-3 times
// the mean neighbour distance (umap-learn's MIN_K_DIST_SCALE), so duplicated cells do not give a zero scale.
// The directed memberships w_ij are made symmetric by the fuzzy union w_ij + w_ji - w_ij w_ji.
// Distances are Double (they come from the Double kNN search); the kept weights are Float, as the layout.

#if canImport(Glibc)
import Glibc
#endif

/// A weighted undirected graph stored as directed edges, each undirected edge in both directions, grouped by
/// head in increasing order.
public struct FuzzyGraph: Sendable {
    /// Number of vertices.
    public let vertexCount: Int
    /// Head (moving end) of each directed edge.
    public let heads: [Int32]
    /// Tail of each directed edge.
    public let tails: [Int32]
    /// Membership strength of each edge, in (0, 1].
    public let weights: [Float]

    /// The directed memberships of `rows` points to their k neighbours (row-major distances, ascending in each
    /// row), as described in the file header.
    public static func memberships(distances: [Double], rows: Int, k: Int) -> [Double] {
        let target = log2(Double(k))
        var out = [Double](repeating: 0, count: rows * k)
        var sum = 0.0
        for v in distances { sum += v }
        let globalMean = distances.isEmpty ? 0 : sum / Double(distances.count)
        for i in 0..<rows {
            let row = distances[(i * k)..<(i * k + k)]
            let rho = row.first(where: { $0 > 0 }) ?? 0
            var lo = 0.0, hi = Double.infinity, sigma = 1.0
            for _ in 0..<64 {
                var psum = 0.0
                for d in row { psum += d > rho ? exp(-(d - rho) / sigma) : 1 }
                if abs(psum - target) < 1e-5 { break }
                if psum > target {
                    hi = sigma
                    sigma = (lo + hi) / 2
                } else {
                    lo = sigma
                    sigma = hi.isInfinite ? sigma * 2 : (lo + hi) / 2
                }
            }
            var rowMean = 0.0
            for d in row { rowMean += d }
            rowMean /= Double(k)
            sigma = max(sigma, 1e-3 * (rho > 0 ? rowMean : globalMean))
            for (j, d) in row.enumerated() {
                out[i * k + j] = d > rho ? exp(-(d - rho) / sigma) : 1
            }
        }
        return out
    }

    /// The fuzzy union of the directed kNN memberships: `indices` and `distances` are `rows` x `k` row-major.
    public init(indices: [Int32], distances: [Double], rows: Int, k: Int) {
        let w = Self.memberships(distances: distances, rows: rows, k: k)
        // Membership of i -> j, or nil when j is not among i's neighbours (rows are short: a linear scan).
        func directed(_ i: Int, _ j: Int32) -> Double? {
            for c in 0..<k where indices[i * k + c] == j { return w[i * k + c] }
            return nil
        }
        var byHead = [[(Int32, Float)]](repeating: [], count: rows)
        for i in 0..<rows {
            for c in 0..<k {
                let j = indices[i * k + c]
                let reverse = directed(Int(j), Int32(i))
                let wij = w[i * k + c], wji = reverse ?? 0
                let union = Float(wij + wji - wij * wji)
                guard union > 0 else { continue }
                // A pair in both neighbour lists is emitted once from each side; a one-sided pair in both
                // directions from this side.
                byHead[i].append((j, union))
                if reverse == nil { byHead[Int(j)].append((Int32(i), union)) }
            }
        }
        var heads: [Int32] = [], tails: [Int32] = [], weights: [Float] = []
        for i in 0..<rows {
            for (j, value) in byHead[i].sorted(by: { $0.0 < $1.0 }) {
                heads.append(Int32(i)); tails.append(j); weights.append(value)
            }
        }
        self.init(vertexCount: rows, heads: heads, tails: tails, weights: weights)
    }

    /// A graph from explicit edges.
    public init(vertexCount: Int, heads: [Int32], tails: [Int32], weights: [Float]) {
        self.vertexCount = vertexCount
        self.heads = heads
        self.tails = tails
        self.weights = weights
    }
}
