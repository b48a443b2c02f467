import XCTest
@testable import HarmonyCore

final class BlockScheduleTests: XCTestCase {
    func testBlocksPartitionTheCellsInIncreasingOrder() {
        for (cells, blockSize) in [(1003, 0.05), (39, 0.2), (10, 0.3), (7, 1.0)] {
            var schedule = BlockSchedule(cells: cells)
            var rng = SeededGenerator(seed: 5)
            schedule.draw(rng: &rng, blockSize: blockSize)
            let (blocks, perBlock) = BlockSchedule.shape(cells: cells, blockSize: blockSize)
            XCTAssertLessThanOrEqual(schedule.blockCount, blocks)
            XCTAssertEqual(schedule.bounds.first, 0)
            XCTAssertEqual(schedule.bounds.last, cells, "the last block runs to N")
            XCTAssertEqual(schedule.order.sorted(), (0..<cells).map { Int32($0) })
            for j in 0..<schedule.blockCount {
                let members = schedule.order[schedule.bounds[j]..<schedule.bounds[j + 1]]
                if j < schedule.blockCount - 1 { XCTAssertEqual(members.count, perBlock) }
                XCTAssertEqual(Array(members), members.sorted(), "cells inside a block are increasing")
                XCTAssertTrue(members.allSatisfy { Int(schedule.blockOf[Int($0)]) == j })
            }
        }
    }

    /// Every cell lands in each block with probability size / N, and two cells share a block with probability
    /// sum s (s - 1) / (N (N - 1)), whether or not they are in the same segment (small segments here).
    func testBlocksAreUniformAcrossSegments() {
        let cells = 200, draws = 4000
        var schedule = BlockSchedule(cells: cells, segmentCells: 16)
        var rng = SeededGenerator(seed: 3)
        var inBlock = [Int](repeating: 0, count: cells * 10)
        var sameSegment = 0, otherSegments = 0
        for _ in 0..<draws {
            schedule.draw(rng: &rng, blockSize: 0.1)
            XCTAssertEqual(schedule.blockCount, 10)
            for i in 0..<cells { inBlock[i * 10 + Int(schedule.blockOf[i])] += 1 }
            if schedule.blockOf[0] == schedule.blockOf[1] { sameSegment += 1 }
            if schedule.blockOf[0] == schedule.blockOf[150] { otherSegments += 1 }
        }
        // Binomial counts: 5 standard deviations.
        let p = 0.1, sd = (Double(draws) * p * (1 - p)).squareRoot()
        XCTAssertLessThan(inBlock.map { abs(Double($0) - Double(draws) * p) }.max()!, 5 * sd)
        let pair = 19.0 / 199, pairSD = (Double(draws) * pair * (1 - pair)).squareRoot()
        XCTAssertEqual(Double(sameSegment), Double(draws) * pair, accuracy: 5 * pairSD)
        XCTAssertEqual(Double(otherSegments), Double(draws) * pair, accuracy: 5 * pairSD)
    }

    /// A rank's blocks do not depend on how the other cells are split: shards of any size, with segments smaller
    /// than a shard and segments cut by shard edges.
    func testShardsOfAnySizeSeeTheSameBlocks() {
        let cells = 10_000
        var whole = BlockSchedule(cells: cells, segmentCells: 3000)
        var rng = SeededGenerator(seed: 8)
        whole.draw(rng: &rng, blockSize: 0.05)
        for rows in [0..<2048, 2048..<10_000, 4096..<6144, 8192..<10_000] {
            let shard = CellShard(totalCells: cells, first: rows.lowerBound, count: rows.count, communicator: nil)
            var part = BlockSchedule(cells: cells, shard: shard, segmentCells: 3000)
            var same = SeededGenerator(seed: 8)
            part.draw(rng: &same, blockSize: 0.05)
            for i in rows { XCTAssertEqual(part.blockOf[i - rows.lowerBound], whole.blockOf[i], "cell \(i)") }
        }
    }
}

/// Hypergeometric draws against the exact law.
final class HypergeometricTests: XCTestCase {
    func testSmallCaseFollowsTheExactProbabilities() {
        let population = 20, marked = 7, draws = 8, samples = 100_000
        var rng = SeededGenerator(seed: 12)
        var seen = [Int](repeating: 0, count: draws + 1)
        for _ in 0..<samples { seen[rng.hypergeometric(population: population, marked: marked, draws: draws)] += 1 }
        func choose(_ a: Int, _ b: Int) -> Double {
            b < 0 || b > a ? 0 : (0..<b).reduce(1.0) { $0 * Double(a - $1) / Double($1 + 1) }
        }
        for x in 0...draws {
            let p = choose(marked, x) * choose(population - marked, draws - x) / choose(population, draws)
            let sd = (Double(samples) * p * (1 - p)).squareRoot()
            XCTAssertEqual(Double(seen[x]), Double(samples) * p, accuracy: 5 * sd + 0.5, "x = \(x)")
        }
    }

    func testLargeCaseHasTheExactMeanAndVariance() {
        let population = 100_000_000, marked = 5_000_000, draws = 65_536, samples = 2000
        var rng = SeededGenerator(seed: 13)
        let xs = (0..<samples).map { _ in Double(rng.hypergeometric(population: population, marked: marked, draws: draws)) }
        let p = Double(marked) / Double(population), n = Double(draws), total = Double(population)
        let mean = n * p, variance = n * p * (1 - p) * (total - n) / (total - 1)
        let sampleMean = xs.reduce(0, +) / Double(samples)
        let sampleVariance = xs.map { ($0 - sampleMean) * ($0 - sampleMean) }.reduce(0, +) / Double(samples - 1)
        XCTAssertEqual(sampleMean, mean, accuracy: 5 * (variance / Double(samples)).squareRoot())
        // The sample variance's standard deviation is about variance sqrt(2 / samples).
        XCTAssertEqual(sampleVariance, variance, accuracy: 5 * variance * (2 / Double(samples)).squareRoot())
        XCTAssertEqual(rng.hypergeometric(population: 10, marked: 10, draws: 4), 4)
        XCTAssertEqual(rng.hypergeometric(population: 10, marked: 0, draws: 4), 0)
        XCTAssertEqual(rng.hypergeometric(population: 10, marked: 6, draws: 10), 6)
    }
}

/// The shards of a distributed fit: runs of 2,048 cells, and each rank's blocks are the whole schedule's blocks
/// restricted to its cells.
final class CellShardTests: XCTestCase {
    func testBlocksDoNotDependOnTheThreadCount() {
        var schedules: [BlockSchedule] = []
        for threads in [1, 2, 3] {
            var rng = SeededGenerator(seed: 9)
            var schedule = BlockSchedule(cells: 50_000, segmentCells: 4096)
            schedule.draw(rng: &rng, blockSize: 0.05, runner: TaskRunner(requested: threads))
            schedules.append(schedule)
        }
        for schedule in schedules.dropFirst() {
            XCTAssertEqual(schedule.order, schedules[0].order)
            XCTAssertEqual(schedule.bounds, schedules[0].bounds)
        }
    }

    func testPairsAreNumberedBlockByBlockInOrderOfFirstAppearance() {
        var rng = SeededGenerator(seed: 4)
        let cells = 3000, nc = 2, levelCount = 7
        let levels = (0..<(cells * nc)).map { x in Int32(x % nc == 0 ? rng.below(3) : 3 + rng.below(4)) }
        var schedule = BlockSchedule(cells: cells, segmentCells: 512)
        schedule.draw(rng: &rng, blockSize: 0.1)
        schedule.indexPairs(levels: levels, covariates: nc, levelCount: levelCount)
        // The numbering spelled out: blocks in order, each block's cells in its order, new pairs numbered on sight.
        var pairLevel: [Int32] = [], pairStart = [0]
        var cellPairs = [Int32](repeating: -1, count: cells * nc)
        for j in 0..<schedule.blockCount {
            var seen: [Int32: Int32] = [:]
            for p in schedule.bounds[j]..<schedule.bounds[j + 1] {
                let i = Int(schedule.order[p])
                for c in 0..<nc {
                    let b = levels[i * nc + c]
                    if seen[b] == nil { seen[b] = Int32(pairLevel.count); pairLevel.append(b) }
                    cellPairs[i * nc + c] = seen[b]!
                }
            }
            pairStart.append(pairLevel.count)
        }
        XCTAssertEqual(schedule.pairLevel, pairLevel)
        XCTAssertEqual(schedule.pairStart, pairStart)
        XCTAssertEqual(schedule.cellPairs, cellPairs)
    }

    func testShardsAreConsecutiveRunsCoveringTheCells() {
        for (cells, ranks) in [(9000, 3), (9000, 1), (4096, 2), (5000, 4), (100_000, 7)] {
            var next = 0
            for rank in 0..<ranks {
                let rows = CellShard.rows(of: rank, ranks: ranks, cells: cells)
                XCTAssertEqual(rows.lowerBound, next)
                XCTAssertTrue(rows.lowerBound % TaskRunner.cellsPerTask == 0 || rows.isEmpty)
                next = rows.upperBound
            }
            XCTAssertEqual(next, cells)
        }
    }

    func testEachShardListsItsCellsOfTheWholeSchedulesBlocks() {
        let cells = 9000, ranks = 3
        var whole = BlockSchedule(cells: cells)
        var rng = SeededGenerator(seed: 11)
        whole.draw(rng: &rng, blockSize: 0.05)
        for rank in 0..<ranks {
            let rows = CellShard.rows(of: rank, ranks: ranks, cells: cells)
            let shard = CellShard(totalCells: cells, first: rows.lowerBound, count: rows.count, communicator: nil)
            var part = BlockSchedule(cells: cells, shard: shard)
            var same = SeededGenerator(seed: 11)
            part.draw(rng: &same, blockSize: 0.05)
            XCTAssertEqual(part.blockCount, whole.blockCount)
            for j in 0..<whole.blockCount {
                let expected = whole.order[whole.bounds[j]..<whole.bounds[j + 1]].filter { rows.contains(Int($0)) }
                XCTAssertEqual(Array(part.order[part.bounds[j]..<part.bounds[j + 1]]), expected, "rank \(rank), block \(j)")
            }
        }
    }
}
