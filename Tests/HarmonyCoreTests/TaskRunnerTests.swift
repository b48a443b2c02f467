import XCTest
@testable import HarmonyCore

final class TaskRunnerTests: XCTestCase {
    /// Every task runs exactly once for any thread count, and fixed ranges cover the items without overlap.
    func testEveryTaskRunsOnce() {
        for threads in [1, 2, 5] {
            var hits = [Int](repeating: 0, count: 1000)
            hits.withUnsafeMutableBufferPointer { buffer in
                let p = buffer.baseAddress!
                TaskRunner(requested: threads).run(1000) { p[$0] += 1 }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: 1000), "threads \(threads)")
            var covered = [Int](repeating: 0, count: 5000)
            covered.withUnsafeMutableBufferPointer { buffer in
                let p = buffer.baseAddress!
                TaskRunner(requested: threads).runRanges(5000, perTask: 700) { _, start, end in
                    for i in start..<end { p[i] += 1 }
                }
            }
            XCTAssertEqual(covered, [Int](repeating: 1, count: 5000))
        }
        XCTAssertEqual(TaskRunner.taskCount(5000, perTask: 700), 8)
        XCTAssertGreaterThanOrEqual(TaskRunner(requested: 0).threads, 1)
    }
}
