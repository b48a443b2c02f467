import XCTest
@testable import HarmonyCore

/// UMAP: the curve fit, the fuzzy graph, the layout's quality (trustworthiness), determinism and placement.
final class UMAPTests: XCTestCase {
    /// umap-learn 0.5's `find_ab_params(spread=1, min_dist=0.1)` (scipy curve_fit) gives
    /// a = 1.5769434603113077, b = 0.8950608781227859.
    func testCurveMatchesUmapLearnsFit() {
        let curve = UMAPCurve(minDist: 0.1, spread: 1)
        XCTAssertEqual(curve.a, 1.5769434603113077, accuracy: 1e-4)
        XCTAssertEqual(curve.b, 0.8950608781227859, accuracy: 1e-4)
    }

    /// Each cell's memberships sum to log2(k) (the calibration's definition), the nearest is 1, and the
    /// graph is symmetric.
    func testFuzzyGraphCalibrationAndSymmetry() {
        var g = SeededGenerator(seed: 3)
        let n = 300, d = 5, k = 10
        let points = Matrix(rows: n, cols: d, values: (0..<(n * d)).map { _ in g.normal() })
        let nn = NearestNeighbors.exact(points, k: k, threads: 1)
        let w = FuzzyGraph.memberships(distances: nn.distances, rows: n, k: k)
        for i in 0..<n {
            XCTAssertEqual(w[i * k..<(i * k + k)].reduce(0, +), log2(Double(k)), accuracy: 1e-4)
            XCTAssertEqual(w[i * k], 1)
        }
        let graph = FuzzyGraph(indices: nn.indices, distances: nn.distances, rows: n, k: k)
        var edges: [String: Float] = [:]
        for e in graph.heads.indices { edges["\(graph.heads[e]) \(graph.tails[e])"] = graph.weights[e] }
        XCTAssertEqual(edges.count, graph.heads.count, "an edge is listed twice")
        for e in graph.heads.indices {
            XCTAssertEqual(edges["\(graph.tails[e]) \(graph.heads[e])"], graph.weights[e])
        }
        // The union of the two directions: w_ij + w_ji - w_ij w_ji, so every edge is at least its directed part.
        for i in 0..<n {
            for c in 0..<k {
                XCTAssertGreaterThanOrEqual(Double(edges["\(i) \(nn.indices[i * k + c])"] ?? 0), w[i * k + c] - 1e-6)
            }
        }
    }

    /// The eigenvectors of a small symmetric matrix satisfy A v = lambda v, largest eigenvalue first.
    func testSymmetricEigenVectors() {
        let a: [Double] = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1]
        let vectors = SymmetricEigen.topVectors(a, size: 3, count: 3)
        var previous = Double.infinity
        for v in vectors {
            let av = (0..<3).map { r in (0..<3).reduce(0.0) { $0 + a[r * 3 + $1] * v[$1] } }
            let lambda = zip(av, v).reduce(0.0) { $0 + $1.0 * $1.1 }
            for r in 0..<3 { XCTAssertEqual(av[r], lambda * v[r], accuracy: 1e-10) }
            XCTAssertLessThan(lambda, previous)
            previous = lambda
        }
    }

    /// The acceptance bar: trustworthiness (k = 15, sklearn's definition) of the cell_lines layout >= 0.9.
    func testTrustworthinessOnCellLines() throws {
        let pcs = try FixtureData.matrix("data/cell_lines/pcs.tsv.gz")
        let layout = try UMAP.layout(pcs)
        XCTAssertEqual(layout.rows, pcs.rows)
        XCTAssertEqual(layout.cols, 2)
        XCTAssertTrue(layout.values.allSatisfy { $0.isFinite })
        let t = Self.trustworthiness(pcs, layout.converted(to: Double.self), k: 15)
        print("cell_lines UMAP trustworthiness (k = 15): \(t)")
        XCTAssertGreaterThanOrEqual(t, 0.9)
    }

    /// The layout's neighbours (the index searched with the cells themselves, each cell then dropped) are the
    /// brute-force neighbours of the same Float coordinates; a cell with more than k exact copies still never
    /// lists itself.
    func testLayoutNeighboursAreExactAndExcludeSelf() {
        var g = SeededGenerator(seed: 11)
        let n = 600, d = 8, k = 10
        var values = (0..<(n * d)).map { _ in Float(g.normal()) }
        // Cells 0..<15 are copies of one point.
        for i in 1..<15 { for j in 0..<d { values[i * d + j] = values[j] } }
        let points = Matrix(rows: n, cols: d, values: values)
        let ours = UMAP.otherNeighbors(points, k: k, threads: 2)
        let brute = NearestNeighbors.exact(points.converted(to: Double.self), k: k, threads: 1)
        for i in 0..<n {
            let row = Array(ours.indices[(i * k)..<(i * k + k)])
            XCTAssertFalse(row.contains(Int32(i)), "cell \(i) lists itself")
            for c in 0..<k {
                XCTAssertEqual(ours.distances[i * k + c], brute.distances[i * k + c], accuracy: 1e-5)
            }
            if i >= 15 { XCTAssertEqual(row, Array(brute.indices[(i * k)..<(i * k + k)])) }
        }
        for i in 0..<15 { XCTAssertEqual(ours.distances[i * k + k - 1], 0) }
    }

    /// Same seed, same bits on any number of threads; another seed, another layout.
    func testDeterministicGivenSeed() throws {
        let pcs = try FixtureData.matrix("data/cell_lines/pcs.tsv.gz").selectingRows(0..<1500)
        var p = UMAPParameters()
        p.epochs = 60
        p.threads = 3
        let first = try UMAP.layout(pcs, parameters: p)
        p.threads = 1
        let second = try UMAP.layout(pcs, parameters: p)
        XCTAssertEqual(first.values, second.values)
        p.seed = 1
        let other = try UMAP.layout(pcs, parameters: p)
        XCTAssertNotEqual(first.values, other.values)
    }

    /// Held-out cells placed on a layout land among reference cells of their own type.
    func testPlacementLandsAmongOwnType() throws {
        let pcs = try FixtureData.matrix("data/cell_lines/pcs.tsv.gz")
        let types = try FixtureData.metaColumn("cell_lines", "cell_type")
        // Every fifth cell is a query, the rest the reference.
        let queryRows = Array(stride(from: 0, to: pcs.rows, by: 5))
        let referenceRows = (0..<pcs.rows).filter { $0 % 5 != 0 }
        let reference = pcs.selectingRows(referenceRows), queries = pcs.selectingRows(queryRows)
        var p = UMAPParameters()
        p.epochs = 200
        let layout = try UMAP.layout(reference, parameters: p)
        let placed = try LayoutPlacement.place(queries.converted(to: Float.self), on: layout,
                                               of: reference.converted(to: Float.self), parameters: p)
        var agree = 0
        for (q, row) in queryRows.enumerated() {
            // The nearest reference cell in the layout.
            var best = 0, bestD = Float.infinity
            for r in 0..<layout.rows {
                let dx = layout[r, 0] - placed[q, 0], dy = layout[r, 1] - placed[q, 1]
                let dd = dx * dx + dy * dy
                if dd < bestD { bestD = dd; best = r }
            }
            if types[referenceRows[best]] == types[row] { agree += 1 }
        }
        let rate = Double(agree) / Double(queryRows.count)
        print("placed cells whose nearest reference cell in 2-D shares their type: \(rate)")
        XCTAssertGreaterThanOrEqual(rate, 0.95)
    }

    func testRejectsTooFewCells() {
        let points = Matrix<Double>(rows: 10, cols: 2, repeating: 1)
        XCTAssertThrowsError(try UMAP.layout(points))
    }

    /// Trustworthiness as sklearn.manifold.trustworthiness defines it (Venna & Kaski 2001):
    /// 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in the k nearest of i in the layout} max(0, r(i, j) - k),
    /// r(i, j) the rank of j among i's neighbours in the input (1 = nearest; ties by index).
    static func trustworthiness(_ x: Matrix<Double>, _ y: Matrix<Double>, k: Int) -> Double {
        let n = x.rows, d = x.cols
        let layoutNeighbors = NearestNeighbors.exact(y, k: k)
        var penalty = 0.0
        var distance = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for c in 0..<d { let t = x.values[i * d + c] - x.values[j * d + c]; s += t * t }
                distance[j] = s
            }
            for c in 0..<k {
                let j = Int(layoutNeighbors.indices[i * k + c])
                var rank = 1
                for m in 0..<n where m != i && m != j {
                    if distance[m] < distance[j] || (distance[m] == distance[j] && m < j) { rank += 1 }
                }
                penalty += Double(max(0, rank - k))
            }
        }
        return 1 - 2 / (Double(n) * Double(k) * (2 * Double(n) - 3 * Double(k) - 1)) * penalty
    }
}
