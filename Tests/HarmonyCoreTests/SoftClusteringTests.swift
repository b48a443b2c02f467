import XCTest
import Foundation
@testable import HarmonyCore

/// The fused objective and the carried removal sums against direct computations in double.
final class SoftClusteringTests: XCTestCase {
    private func state(cells: Int = 3000, clusters: Int = 13) -> (SoftClustering, Matrix<Float>, [Float], FitDesign) {
        let data = Simulator.generate(SimulationSpec(cells: cells, dims: 6, batches: 3, types: 4, seed: 9))
        let runner = TaskRunner(requested: 2)
        let zcos = RowNormalization.normalized(data.embedding, runner: runner)
        var rng = SeededGenerator(seed: 1)
        let y = zcos.values.withUnsafeBufferPointer {
            try! KMeansStart.centroids(zcos: $0.baseAddress!, cells: cells, dims: 6, clusters: clusters, rng: &rng,
                                       runner: runner)
        }
        let design = FitDesign(covariates: [Covariate(name: "b", labels: data.batch)], cells: cells)
        let clustering = SoftClustering(zcos: zcos.values, centroids: y, dims: 6, clusters: clusters, design: design,
                                        sigma: [Double](repeating: 0.1, count: clusters), theta: [2, 2, 2],
                                        harmony1: false, blockSize: 0.05, rng: rng, runner: runner)
        return (clustering, zcos, y, design)
    }

    /// (2000 / N) [sum R D + sum sigma R ln R + sum sigma theta O ln((O + E + 1) / (2E + 1))] in double.
    private func directObjective(_ c: SoftClustering, zcos: Matrix<Float>, y: [Float], design: FitDesign) -> Double {
        let n = c.cells, kc = c.clusters, d = zcos.cols
        var o = [Double](repeating: 0, count: 3 * kc), total = [Double](repeating: 0, count: kc)
        var kmeans = 0.0, entropy = 0.0
        for i in 0..<n {
            for k in 0..<kc {
                var dot = 0.0
                for j in 0..<d { dot += Double(zcos[i, j]) * Double(y[k * d + j]) }
                let r = Double(c.assignments[i * kc + k])
                kmeans += r * 2 * (1 - dot)
                if r > 0 { entropy += 0.1 * r * log(r) }
                o[Int(design.cellLevels[i]) * kc + k] += r
                total[k] += r
            }
        }
        var diversity = 0.0
        for b in 0..<3 {
            for k in 0..<kc {
                let e = design.levelFractions[b] * total[k], ob = o[b * kc + k]
                diversity += 0.1 * 2 * ob * log((ob + e + 1) / (2 * e + 1))
            }
        }
        return 2000 / Double(n) * (kmeans + entropy + diversity)
    }

    func testObjectiveMatchesDirectComputation() {
        let (clustering, zcos, y, design) = state()
        let initial = clustering.assignWithoutPenalty()
        let direct0 = directObjective(clustering, zcos: zcos, y: y, design: design)
        XCTAssertEqual(initial, direct0, accuracy: 1e-4 * abs(direct0))
        var last = initial
        for _ in 0..<3 { last = clustering.round() }
        let direct = directObjective(clustering, zcos: zcos, y: y, design: design)
        print("objective: fused \(last), direct \(direct)")
        XCTAssertEqual(last, direct, accuracy: 1e-4 * abs(direct))
        // O kept by block updates equals R^T Phi recomputed from R.
        for k in 0..<clustering.clusters {
            var sum = 0.0
            for i in 0..<clustering.cells where design.cellLevels[i] == 1 {
                sum += Double(clustering.assignments[i * clustering.clusters + k])
            }
            XCTAssertEqual(clustering.observed[clustering.clusters + k], sum, accuracy: 1e-3)
        }
    }

    func testRowsSumToOne() {
        let (clustering, _, _, _) = state(cells: 500, clusters: 9)
        clustering.assignWithoutPenalty()
        _ = clustering.round()
        for i in 0..<clustering.cells {
            let s = (0..<9).reduce(0.0) { $0 + Double(clustering.assignments[i * 9 + $1]) }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
    }
}
