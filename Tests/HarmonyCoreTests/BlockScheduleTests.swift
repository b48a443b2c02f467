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
}

/// The shards of a distributed fit: runs of 2,048 cells, and each rank's blocks are the whole schedule's blocks
/// restricted to its cells.
final class CellShardTests: XCTestCase {
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
