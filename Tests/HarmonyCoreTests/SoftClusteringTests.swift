import XCTest
import Foundation
@testable import HarmonyCore

/// The fused objective and the carried removal sums against direct computations in double.
final class SoftClusteringTests: XCTestCase {
    private func state(cells: Int = 3000, clusters: Int = 13, theta: Double = 2, batches: Int = 3,
                       threads: Int = 2) -> (SoftClustering, Matrix<Float>, [Float], FitDesign) {
        let data = Simulator.generate(SimulationSpec(cells: cells, dims: 6, batches: batches, types: 4, seed: 9))
        let runner = TaskRunner(requested: threads)
        let zcos = RowNormalization.normalized(data.embedding, runner: runner)
        var rng = SeededGenerator(seed: 1)
        let y = zcos.values.withUnsafeBufferPointer {
            try! KMeansStart.centroids(zcos: $0.baseAddress!, cells: cells, dims: 6, clusters: clusters, rng: &rng,
                                       runner: runner)
        }
        let design = FitDesign(covariates: [Covariate(name: "b", labels: data.batch)], cells: cells)
        let clustering = SoftClustering(embedding: data.embedding.values, centroids: y, dims: 6, clusters: clusters, design: design,
                                        sigma: [Double](repeating: 0.1, count: clusters),
                                        theta: [Double](repeating: theta, count: design.levelCount),
                                        harmony1: false, blockSize: 0.05, rng: rng, runner: runner)
        return (clustering, zcos, y, design)
    }

    /// (2000 / N) [sum R D + sum sigma R ln R + sum sigma theta O ln((O + E + 1) / (2E + 1))] in double.
    private func directObjective(_ c: SoftClustering, zcos: Matrix<Float>, y: [Float], design: FitDesign) -> Double {
        let n = c.cells, kc = c.clusters, d = zcos.cols
        let nb = design.levelCount
        var o = [Double](repeating: 0, count: nb * kc), total = [Double](repeating: 0, count: kc)
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
        for b in 0..<nb {
            for k in 0..<kc {
                let e = design.levelFractions[b] * total[k], ob = o[b * kc + k]
                diversity += 0.1 * c.theta[b] * ob * log((ob + e + 1) / (2 * e + 1))
            }
        }
        return 2000 / Double(n) * (kmeans + entropy + diversity)
    }

    func testManyPairsRunInLargerTasksWithoutChangingWhatIsComputed() {
        // 60 batches in 20 blocks give about 1,200 (block, level) pairs: passes over many cells then run in tasks of
        // up to 8192 cells (20,000 cells: 4 tasks of 5,000 instead of 10 of 2,000).
        XCTAssertEqual(SoftClustering.cellsPerTask(20_000, pairs: 1200), 5000)
        XCTAssertEqual(SoftClustering.cellsPerTask(20_000, pairs: 80), 2000)
        let runs = [1, 2].map { threads -> (rows: [Float], objective: Double, direct: Double) in
            let (clustering, zcos, y, design) = state(cells: 20_000, batches: 60, threads: threads)
            clustering.assignWithoutPenalty()
            var last = 0.0
            for _ in 0..<3 { last = clustering.round() }
            return (clustering.assignments, last, directObjective(clustering, zcos: zcos, y: y, design: design))
        }
        XCTAssertEqual(runs[0].rows, runs[1].rows)
        XCTAssertEqual(runs[0].objective, runs[1].objective)
        XCTAssertEqual(runs[0].objective, runs[0].direct, accuracy: 1e-4 * abs(runs[0].direct))
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

    /// Rounds from the cached exponentials against rounds of the log-space kernel (the same blocks): R within
    /// 1e-5, objectives within 1e-5 relative, and each state's objective against the direct computation.
    /// With theta 1000 (penalty factors far below Float's range, rows that fall back to log space) the two
    /// paths drift apart after a few blocks, as any last-bit difference is amplified by exp(1000 x ...), so
    /// there each path is checked against its own direct objective only.
    func testCachedRoundsMatchLogSpaceRounds() {
        for theta in [2.0, 1000] {
            let (cachedState, zcos, y, design) = state(theta: theta)
            let (logState, _, _, _) = state(theta: theta)
            cachedState.assignWithoutPenalty(storeRows: false)
            logState.assignWithoutPenalty(storeRows: true)
            var cachedObjective = 0.0, logObjective = 0.0
            for t in 0..<3 {
                cachedObjective = cachedState.round(storeRows: t == 2)
                logObjective = logState.round()
            }
            var worst: Float = 0
            for x in 0..<cachedState.assignments.count {
                worst = max(worst, abs(cachedState.assignments[x] - logState.assignments[x]))
            }
            let direct = directObjective(cachedState, zcos: zcos, y: y, design: design)
            let logDirect = directObjective(logState, zcos: zcos, y: y, design: design)
            print("theta \(theta): cached vs log-space R max diff \(worst); objective \(cachedObjective) (direct \(direct)) vs \(logObjective) (direct \(logDirect))")
            XCTAssertEqual(cachedObjective, direct, accuracy: 1e-4 * abs(direct))
            XCTAssertEqual(logObjective, logDirect, accuracy: 1e-4 * abs(logDirect))
            if theta == 2 {
                XCTAssertLessThanOrEqual(worst, 1e-5)
                XCTAssertEqual(cachedObjective, logObjective, accuracy: 1e-5 * abs(logObjective))
            }
        }
    }

    /// A round run without its rows and then stored gives exactly what a storing round gives.
    func testStoreLastRoundRowsEqualsStoringRound() {
        let (replayed, _, _, _) = state()
        let (stored, _, _, _) = state()
        replayed.assignWithoutPenalty(storeRows: false)
        stored.assignWithoutPenalty(storeRows: false)
        XCTAssertEqual(replayed.round(storeRows: false), stored.round(storeRows: false))
        let first = replayed.round(storeRows: false)
        let again = replayed.storeLastRoundRows()
        let direct = stored.round(storeRows: true)
        XCTAssertEqual(first, direct)
        XCTAssertEqual(again, direct)
        XCTAssertEqual(replayed.assignments, stored.assignments)
        XCTAssertEqual(replayed.observed, stored.observed)
        XCTAssertEqual(replayed.expected, stored.expected)
    }

    /// Cached rounds give bit-identical rows and objectives on 1 and 2 threads.
    func testCachedRoundsDoNotDependOnThreads() {
        let (one, _, _, _) = state(threads: 1)
        let (two, _, _, _) = state(threads: 2)
        one.assignWithoutPenalty(storeRows: false)
        two.assignWithoutPenalty(storeRows: false)
        for t in 0..<3 { XCTAssertEqual(one.round(storeRows: t == 2), two.round(storeRows: t == 2)) }
        XCTAssertEqual(one.assignments, two.assignments)
    }

    /// The cached kernel declines a row whose penalised products sum below its safe range.
    func testCachedKernelDeclinesTinyRowSums() {
        let kc = 9, kp = SoftmaxKernel.padded(kc)
        var cache = [Float](repeating: 1e-30, count: kc) + [Float](repeating: 0, count: kp - kc)
        cache[0] = 1
        var factors = [Float](repeating: 1, count: kp), logs = [Float](repeating: 0, count: kp)
        factors[0] = 1e-25
        logs[0] = log(1e-25)
        for k in kc..<kp { factors[k] = 0 }
        let sigma = [Float](repeating: 0.1, count: kc) + [Float](repeating: 0, count: kp - kc)
        var sums = [Float](repeating: 0, count: kp)
        let scratch = SoftmaxKernel.makeScratch(clusters: kc)
        defer { scratch.deallocate() }
        let levels: [Int32] = [0], slots: [Int32] = [0]
        let term = SoftmaxKernel.assignCached(exponentials: cache, shift: 0, levels: levels, slots: slots,
                                              covariates: 1, factors: factors, logFactors: logs, sigma: sigma, clusters: kc,
                                              row: nil, sums: &sums, scratch: scratch)
        XCTAssertNil(term)
        XCTAssertEqual(sums, [Float](repeating: 0, count: kp))
    }
}
