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

    /// From a caller in SCHED_IDLE, an `.ownThreads` runner's workers are in SCHED_IDLE too (threads of its own,
    /// which inherit the class), a `.sharedPool` runner does the same tasks on the shared pool, both give the
    /// same per-task results, and the caller's class is unchanged afterwards.
    func testThreadPolicyFromAnIdleCaller() {
        // Unchecked: written by the thread below (its tasks in disjoint slots), read only after `done.wait()`.
        final class Observed: @unchecked Sendable {
            var entered = false, stillIdle = false
            var idle = [Bool](repeating: false, count: 64)
            var hits: [ThreadPolicy: [Int]] = [:]
            var values: [ThreadPolicy: [Double]] = [:]
        }
        let observed = Observed()
        let done = DispatchSemaphore(value: 0)
        Thread {
            observed.entered = BackgroundScheduling.enterIdleClass()
            for policy in [ThreadPolicy.ownThreads, .sharedPool] {
                var hits = [Int](repeating: 0, count: 64)
                var values = [Double](repeating: 0, count: 64)
                hits.withUnsafeMutableBufferPointer { hits in
                    values.withUnsafeMutableBufferPointer { values in
                        observed.idle.withUnsafeMutableBufferPointer { idle in
                            TaskRunner(requested: 3, policy: policy).run(64) { task in
                                if policy == .ownThreads { idle[task] = BackgroundScheduling.callerIsIdle }
                                hits[task] += 1
                                values[task] = (0...task).reduce(0.0) { $0 + (Double($1) + 0.5).squareRoot() }
                                usleep(200)
                            }
                        }
                    }
                }
                observed.hits[policy] = hits
                observed.values[policy] = values
            }
            observed.stillIdle = BackgroundScheduling.callerIsIdle
            done.signal()
        }.start()
        done.wait()
        XCTAssertTrue(observed.entered, "an unprivileged thread may always enter SCHED_IDLE")
        XCTAssertTrue(observed.stillIdle)
        XCTAssertEqual(observed.idle, [Bool](repeating: true, count: 64), "every .ownThreads task ran in SCHED_IDLE")
        for policy in [ThreadPolicy.ownThreads, .sharedPool] {
            XCTAssertEqual(observed.hits[policy], [Int](repeating: 1, count: 64), "\(policy)")
        }
        let expected = (0..<64).map { task in (0...task).reduce(0.0) { $0 + (Double($1) + 0.5).squareRoot() } }
        XCTAssertEqual(observed.values[.ownThreads], expected)
        XCTAssertEqual(observed.values[.sharedPool], expected)
        XCTAssertFalse(BackgroundScheduling.callerIsIdle, "the test thread itself is untouched")
    }

    /// The pipeline with parts: every part of every item runs once; an item's merge runs after all of its parts and
    /// before any part of the next item; items come in order. A failing part's error is thrown (the first in part
    /// order) rather than a later item's production error, and a production error only after the item before it
    /// was merged.
    func testPipelineWithParts() throws {
        enum Failure: Error, Equatable { case part(Int, Int), produce(Int) }
        let items = 12, maxParts = 5
        for threads in [1, 2, 3] {
            var done = [Int](repeating: 0, count: items * maxParts)
            var merged: [Int] = []
            var produced = 0
            try done.withUnsafeMutableBufferPointer { done in
                let runs = done
                try TaskRunner(requested: threads).pipeline({ () -> Int? in
                    defer { produced += 1 }
                    return produced < items ? produced : nil
                }, parts: { $0 % maxParts }, { item, k in
                    runs[item * maxParts + k] += 1
                    usleep(UInt32(100 * (k % 3)))
                }, merge: { item in
                    for k in 0..<maxParts {
                        XCTAssertEqual(runs[item * maxParts + k], k < item % maxParts ? 1 : 0, "item \(item), part \(k)")
                    }
                    if item + 1 < items {
                        XCTAssertTrue(runs[((item + 1) * maxParts)..<((item + 2) * maxParts)].allSatisfy { $0 == 0 })
                    }
                    merged.append(item)
                })
            }
            XCTAssertEqual(merged, Array(0..<items), "threads \(threads)")

            merged = []
            produced = 0
            XCTAssertThrowsError(try TaskRunner(requested: threads).pipeline({ () -> Int? in
                defer { produced += 1 }
                if produced == 4 { throw Failure.produce(4) }
                return produced
            }, parts: { _ in 4 }, { item, k in
                if item == 3 && k >= 1 { throw Failure.part(item, k) }
            }, merge: { merged.append($0) })) {
                XCTAssertEqual($0 as? Failure, .part(3, 1), "threads \(threads)")
            }
            XCTAssertEqual(merged, [0, 1, 2])

            merged = []
            produced = 0
            XCTAssertThrowsError(try TaskRunner(requested: threads).pipeline({ () -> Int? in
                defer { produced += 1 }
                if produced == 4 { throw Failure.produce(4) }
                return produced
            }, parts: { _ in 2 }, { _, _ in }, merge: { merged.append($0) })) {
                XCTAssertEqual($0 as? Failure, .produce(4), "threads \(threads)")
            }
            XCTAssertEqual(merged, [0, 1, 2, 3])
        }
    }
}
