import Foundation
import XCTest
@testable import HarmonyCore

/// The distributed fit (CellShard) without MPI: P threads of this process each fit their shard and exchange
/// sums through an in-process all-gather, and the corrected rows are compared with the single-process fit.
final class DistributedFitTests: XCTestCase {
    /// The all-gather of P threads: each call blocks until every rank has called it.
    final class ThreadGroup: @unchecked Sendable {
        // @unchecked: every field is read and written under `condition`.
        let size: Int
        private let condition = NSCondition()
        private var slots: [[Double]]
        private var arrived = 0
        private var generation = 0
        private var result: [Double] = []

        init(size: Int) {
            self.size = size
            slots = [[Double]](repeating: [], count: size)
        }

        func allGather(rank: Int, _ values: [Double]) -> [Double] {
            condition.lock()
            defer { condition.unlock() }
            slots[rank] = values
            arrived += 1
            let mine = generation
            if arrived == size {
                result = slots.flatMap { $0 }
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
            return result
        }
    }

    /// One rank of a `ThreadGroup`.
    final class ThreadRank: FitCommunicator, @unchecked Sendable {
        let rank: Int
        let group: ThreadGroup
        var size: Int { group.size }
        init(rank: Int, group: ThreadGroup) { self.rank = rank; self.group = group }
        func allGather(_ values: [Double]) -> [Double] { group.allGather(rank: rank, values) }
    }

    /// Two covariates (so the ridge correction works on level-combination groups), 9,000 cells.
    private func data() -> (Matrix<Float>, [Covariate]) {
        let sim = Simulator.generate(SimulationSpec(cells: 9000, dims: 10, batches: 3, types: 4, seed: 21))
        let lanes = (0..<sim.ids.count).map { $0 % 7 < 3 ? "A" : "B" }
        return (sim.embedding, [Covariate(name: "batch", labels: sim.batch), Covariate(name: "lane", labels: lanes)])
    }

    /// The corrected rows of a fit over `ranks` threads, in cell order.
    private func distributedFit(_ embedding: Matrix<Float>, _ covariates: [Covariate], parameters: HarmonyParameters,
                                ranks: Int) throws -> (corrected: [Float], objective: [Double]) {
        let group = ThreadGroup(size: ranks)
        let outcomes = UnsafeMutableBufferPointer<Result<HarmonyFitResult, Error>?>.allocate(capacity: ranks)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deallocate() }
        // Unchecked: rank r's thread writes only slots[r], and done.wait() orders those writes before the reads.
        nonisolated(unsafe) let slots = outcomes
        // One thread per rank (a dispatch pool may run fewer at once, and the ranks wait for each other).
        let done = DispatchGroup()
        for rank in 0..<ranks {
            done.enter()
            Thread.detachNewThread {
                let shard = CellShard.split(cells: embedding.rows, communicator: ThreadRank(rank: rank, group: group))
                slots[rank] = Result {
                    try Harmony.fit(embedding.selectingRows(shard.range), covariates: covariates,
                                    parameters: parameters, shard: shard)
                }
                done.leave()
            }
        }
        done.wait()
        let results = try outcomes.map { try $0!.get() }
        for result in results.dropFirst() { XCTAssertEqual(result.objective, results[0].objective) }
        return (results.flatMap { $0.corrected.values }, results[0].objective)
    }

    private func parameters(_ preset: HarmonyPreset = .harmony2) -> HarmonyParameters {
        var p = HarmonyParameters(preset: preset)
        p.threads = 2
        p.maxIterations = 4
        return p
    }

    func testOneRankIsTheSingleProcessFit() throws {
        let (embedding, covariates) = data()
        let single = try Harmony.fit(embedding, covariates: covariates, parameters: parameters())
        let one = try distributedFit(embedding, covariates, parameters: parameters(), ranks: 1)
        XCTAssertEqual(one.corrected, single.corrected.values)
        XCTAssertEqual(one.objective, single.objective)
    }

    /// With 2 or 3 ranks the ranks' sums are added in rank order instead of the single process's task order:
    /// float32 roundings apart, the same result for a rank count on every run.
    func testSeveralRanksMatchTheSingleProcessFitAndRepeat() throws {
        let (embedding, covariates) = data()
        for preset in [HarmonyPreset.harmony2, .harmony1] {
            let single = try Harmony.fit(embedding, covariates: covariates, parameters: parameters(preset))
            let scale = single.corrected.values.map { abs($0) }.max()!
            for ranks in [2, 3] {
                let fit = try distributedFit(embedding, covariates, parameters: parameters(preset), ranks: ranks)
                let worst = zip(fit.corrected, single.corrected.values).map { abs($0 - $1) }.max()!
                print("\(preset), \(ranks) ranks: max |difference| / max |Z| = \(worst / scale)")
                XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(preset), \(ranks) ranks")
                for (a, b) in zip(fit.objective, single.objective) {
                    XCTAssertEqual(a, b, accuracy: 1e-6 * abs(b), "\(preset), \(ranks) ranks: objective")
                }
                let again = try distributedFit(embedding, covariates, parameters: parameters(preset), ranks: ranks)
                XCTAssertEqual(again.corrected, fit.corrected, "\(preset), \(ranks) ranks: not repeatable")
            }
        }
    }
}
