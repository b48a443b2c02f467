import XCTest
@testable import HarmonyCore

/// Presets, several covariates, determinism.
final class HarmonyBehaviourTests: XCTestCase {
    func testHarmony1PresetCorrelatesWithClassicHarmonypy() throws {
        let pcs = try FixtureData.pcs("cell_lines")
        let labels = try FixtureData.metaColumn("cell_lines", "dataset")
        let result = try Harmony.fit(pcs, covariates: [Covariate(name: "dataset", labels: labels)],
                                     parameters: HarmonyParameters(preset: .harmony1))
        let classic = try FixtureData.matrix("fixtures/cell_lines/harmonypy0010_Zcorr.tsv.gz")
        let r = FixtureData.minPearson(result.corrected, classic)
        print("harmony1 cell_lines vs harmonypy 0.0.10: min Pearson \(r), iterations \(result.iterations), rounds \(result.clusterRounds)")
        XCTAssertGreaterThanOrEqual(r, 0.95)
    }

    /// Simulated data plus a second covariate `lane`, assigned at random and shifting every lane-B cell.
    private func twoCovariateData() -> (Matrix<Float>, [Covariate]) {
        let data = Simulator.generate(SimulationSpec(cells: 6000, dims: 10, batches: 3, types: 4, seed: 11))
        var embedding = data.embedding
        var rng = SeededGenerator(seed: 99)
        var lanes: [String] = []
        for i in 0..<embedding.rows {
            let laneB = rng.uniform() < 0.4
            lanes.append(laneB ? "B" : "A")
            if laneB { for j in 0..<embedding.cols { embedding[i, j] += j % 2 == 0 ? 2 : -2 } }
        }
        return (embedding, [Covariate(name: "batch", labels: data.batch), Covariate(name: "lane", labels: lanes)])
    }

    /// Euclidean distance between the means of lane A and lane B cells.
    private func laneSeparation(_ embedding: Matrix<Float>, _ lane: Covariate) -> Double {
        var sums = [[Double]](repeating: [Double](repeating: 0, count: embedding.cols), count: 2)
        let counts = lane.levelCounts
        for i in 0..<embedding.rows {
            for j in 0..<embedding.cols { sums[Int(lane.codes[i])][j] += Double(embedding[i, j]) }
        }
        var dist = 0.0
        for j in 0..<embedding.cols {
            let diff = sums[0][j] / Double(counts[0]) - sums[1][j] / Double(counts[1])
            dist += diff * diff
        }
        return dist.squareRoot()
    }

    func testTwoCovariatesReduceSeparation() throws {
        let (embedding, covariates) = twoCovariateData()
        var params = HarmonyParameters()
        params.nClusters = 30
        let result = try Harmony.fit(embedding, covariates: covariates, parameters: params)
        let before = laneSeparation(embedding, covariates[1])
        let after = laneSeparation(result.corrected, covariates[1])
        print("two covariates: lane separation \(before) -> \(after), iterations \(result.iterations)")
        XCTAssertLessThan(after, 0.3 * before)
        XCTAssertEqual(result.levelTerms.count, 5)
        XCTAssertTrue(result.corrected.values.allSatisfy { $0.isFinite })
        XCTAssertTrue(result.objective.allSatisfy { $0.isFinite })
    }

    func testSameSeedIsBitIdenticalAndIndependentOfThreadsAndTheirPolicy() throws {
        let data = Simulator.generate(SimulationSpec(cells: 50_000, dims: 10, batches: 3, types: 5, seed: 5))
        let covariate = Covariate(name: "batch", labels: data.batch)
        var params = HarmonyParameters()
        params.nClusters = 20
        params.maxIterations = 2
        params.threads = 1
        let one = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        let again = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        params.threads = 2
        let two = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        XCTAssertEqual(one.corrected.values, again.corrected.values, "same seed must give identical output")
        XCTAssertEqual(one.corrected.values, two.corrected.values, "1 and 2 threads must give identical output")
        XCTAssertEqual(one.objective, two.objective)
        XCTAssertEqual(one.assignments.values, two.assignments.values)
        params.threadPolicy = .ownThreads
        let own = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        XCTAssertEqual(one.corrected.values, own.corrected.values, "threads of its own must give identical output")
        XCTAssertEqual(one.assignments.values, own.assignments.values)
        params.threadPolicy = .sharedPool
        params.seed = 1
        let other = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        XCTAssertNotEqual(one.corrected.values, other.corrected.values, "different seeds should differ")
    }

    func testZeroIterationsReturnsInputAndProgressIsReported() throws {
        let data = Simulator.generate(SimulationSpec(cells: 2000, dims: 5, batches: 2, types: 3, seed: 2))
        let covariate = Covariate(name: "batch", labels: data.batch)
        var params = HarmonyParameters()
        params.maxIterations = 0
        let none = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        XCTAssertEqual(none.corrected, data.embedding)
        XCTAssertEqual(none.iterations, 0)
        XCTAssertEqual(none.objective.count, 1)
        params.maxIterations = 3
        params.earlyStop = false
        var seen: [Int] = []
        let three = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params) { seen.append($0.iteration) }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(three.iterations, 3)
        XCTAssertFalse(three.converged)
        XCTAssertEqual(three.clusterRounds, [4, 4, 4])
        XCTAssertEqual(three.objectiveKMeans.count, 1 + 12)
        XCTAssertEqual(three.resolved.nClusters, 67)
        for k in 0..<three.centroids.rows {
            let norm = (0..<5).reduce(0.0) { $0 + Double(three.centroids[k, $1] * three.centroids[k, $1]) }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
        for i in stride(from: 0, to: 2000, by: 97) {
            XCTAssertEqual((0..<67).reduce(0.0) { $0 + Double(three.assignments[i, $1]) }, 1, accuracy: 1e-4)
        }
    }

    func testWarmStartFromCentroids() throws {
        let data = Simulator.generate(SimulationSpec(cells: 3000, dims: 6, batches: 2, types: 3, seed: 4))
        let covariate = Covariate(name: "batch", labels: data.batch)
        var params = HarmonyParameters()
        params.nClusters = 10
        let first = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params)
        let warm = try Harmony.fit(data.embedding, covariates: [covariate], parameters: params,
                                   initialCentroids: first.centroids)
        XCTAssertEqual(warm.resolved.nClusters, 10)
        XCTAssertGreaterThan(FixtureData.minPearson(warm.corrected, first.corrected), 0.95)
    }

    /// An all-zero cell keeps a zero unit row: it gets a uniform assignment and a finite correction.
    func testZeroRowStaysFinite() throws {
        var data = Simulator.generate(SimulationSpec(cells: 1500, dims: 5, batches: 2, types: 3, seed: 8))
        for j in 0..<5 { data.embedding[10, j] = 0 }
        var params = HarmonyParameters()
        params.nClusters = 8
        let result = try Harmony.fit(data.embedding, covariates: [Covariate(name: "b", labels: data.batch)],
                                     parameters: params)
        XCTAssertTrue(result.corrected.values.allSatisfy { $0.isFinite })
        XCTAssertTrue(result.objective.allSatisfy { $0.isFinite })
        let row = (0..<8).map { result.assignments[10, $0] }
        XCTAssertTrue(row.allSatisfy { $0.isFinite })
        XCTAssertEqual(Double(row.reduce(0, +)), 1, accuracy: 1e-4)
    }

    /// The reported batch terms reproduce the output: Zcorr_i = Z_i - sum_c R_i M_{b_c(i)} (within 1e-5 of max |Z|),
    /// and the reported assignments and centroids are consistent (unit centroid rows).
    func testLevelTermsReproduceCorrection() throws {
        let (embedding, covariates) = twoCovariateData()
        var params = HarmonyParameters()
        params.nClusters = 12
        params.maxIterations = 3
        let result = try Harmony.fit(embedding, covariates: covariates, parameters: params)
        let kc = 12, d = embedding.cols
        var worst = 0.0
        for i in 0..<embedding.rows {
            let levels = [Int(covariates[0].codes[i]), 3 + Int(covariates[1].codes[i])]
            for j in 0..<d {
                var shift = 0.0
                for b in levels {
                    for k in 0..<kc { shift += Double(result.assignments[i, k]) * result.levelTerms[b][k, j] }
                }
                worst = max(worst, abs(Double(embedding[i, j]) - shift - Double(result.corrected[i, j])))
            }
        }
        print("level terms reproduce Zcorr to \(worst / FixtureData.maxAbs(embedding)) of max |Z|")
        XCTAssertLessThan(worst / FixtureData.maxAbs(embedding), 1e-5)
    }

    /// Inner convergence is checked from the 5th round on; when it stops a step there, the rows of that round
    /// are the ones reported (every row sums to 1).
    func testInnerConvergenceStopsAfterFiveRounds() throws {
        let data = Simulator.generate(SimulationSpec(cells: 3000, dims: 6, batches: 3, types: 4, seed: 12))
        var params = HarmonyParameters()
        params.nClusters = 10
        params.maxClusterRounds = 9
        params.epsilonCluster = 1      // any change below 100 % converges
        params.maxIterations = 2
        params.earlyStop = false
        let result = try Harmony.fit(data.embedding, covariates: [Covariate(name: "b", labels: data.batch)],
                                     parameters: params)
        XCTAssertEqual(result.clusterRounds, [5, 5])
        for i in 0..<3000 {
            let s = (0..<10).reduce(0.0) { $0 + Double(result.assignments[i, $1]) }
            XCTAssertEqual(s, 1, accuracy: 1e-4)
        }
    }
}
