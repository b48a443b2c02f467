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

    /// A caller in SCHED_IDLE gets workers in SCHED_IDLE (threads of its own, never libdispatch's shared ones),
    /// every task still runs once, and the caller's class is unchanged afterwards.
    func testIdleCallerRunsEveryTaskOnIdleWorkers() {
        final class Observed: @unchecked Sendable {
            var entered = false, stillIdle = false
            var idle = [Bool](repeating: false, count: 64)
            var hits = [Int](repeating: 0, count: 64)
        }
        let observed = Observed()
        let done = DispatchSemaphore(value: 0)
        Thread {
            observed.entered = BackgroundScheduling.enterIdleClass()
            observed.idle.withUnsafeMutableBufferPointer { idle in
                observed.hits.withUnsafeMutableBufferPointer { hits in
                    TaskRunner(requested: 3).run(64) { task in
                        idle[task] = BackgroundScheduling.callerIsIdle
                        hits[task] += 1
                        usleep(200)
                    }
                }
            }
            observed.stillIdle = BackgroundScheduling.callerIsIdle
            done.signal()
        }.start()
        done.wait()
        XCTAssertTrue(observed.entered, "an unprivileged thread may always enter SCHED_IDLE")
        XCTAssertTrue(observed.stillIdle)
        XCTAssertEqual(observed.hits, [Int](repeating: 1, count: 64))
        XCTAssertEqual(observed.idle, [Bool](repeating: true, count: 64))
        XCTAssertFalse(BackgroundScheduling.callerIsIdle, "the test thread itself is untouched")
    }
}
