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
