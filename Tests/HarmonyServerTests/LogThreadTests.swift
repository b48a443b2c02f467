import Foundation
import Synchronization
import XCTest
@testable import HarmonyServer

/// The write-ahead log's own thread: order, results on the loop thread, and a loop that ends once it is idle,
/// with polling on and off.
final class LogThreadTests: XCTestCase {
    private func runJobs(pollNanoseconds: UInt64) throws {
        let loop = try EventLoop()
        let loopThread = pthread_self()
        let ran = Mutex<[Int]>([])
        var completed: [Int] = []
        do {
            let thread = try LogThread(loop: loop, pollNanoseconds: pollNanoseconds)
            // Jobs submitted from completions too, as the log's group commits are.
            func submit(_ k: Int) {
                thread.submit({ () -> Int in
                    ran.withLock { $0.append(k) }
                    XCTAssertEqual(pthread_equal(pthread_self(), loopThread), 0, "a job ran on the loop thread")
                    return k * k
                }, completion: { square in
                    XCTAssertNotEqual(pthread_equal(pthread_self(), loopThread), 0, "a completion ran off the loop thread")
                    XCTAssertEqual(square, k * k)
                    completed.append(k)
                    if k % 10 == 9 && k < 99 { submit(k + 1) }
                })
            }
            // 10, 20, ... 90 are submitted by the completions of 9, 19, ... 89.
            for k in 0..<100 where k % 10 != 0 || k == 0 { submit(k) }
            // The loop returns only once every completion ran: the thread's handle holds it while jobs are out.
            loop.run()
            XCTAssertEqual(completed.count, 100)
            // A second round on the same thread, after it went idle (and, with polling, past its window).
            usleep(2000)
            submit(1000)
            loop.run()
            thread.close()
            thread.close()
        }
        loop.close()
        XCTAssertEqual(ran.withLock { $0 }, completed)
        XCTAssertEqual(Set(completed), Set(0..<100).union([1000]))
        // In submission order: 0-9 first (9 submits 10), and so on.
        XCTAssertEqual(Array(completed.prefix(10)), Array(0..<10))
    }

    func testJobsRunInOrderOffTheLoopAndCompleteOnItWithoutPolling() throws {
        try runJobs(pollNanoseconds: 0)
    }

    func testJobsRunInOrderOffTheLoopAndCompleteOnItWithPolling() throws {
        try runJobs(pollNanoseconds: 300_000)
    }

    /// When the server says no (a refit runs), neither side polls, and jobs still complete: the thread sleeps
    /// until it is signalled.
    func testJobsCompleteWhenPollingIsRefused() throws {
        let loop = try EventLoop()
        var answers: [Int] = []
        do {
            let thread = try LogThread(loop: loop, pollNanoseconds: 10_000_000)
            thread.mayPoll = { false }
            thread.submit({ 42 }, completion: { answers.append($0) })
            loop.run()
            usleep(1000)
            thread.submit({ 43 }, completion: { answers.append($0) })
            loop.run()
        }
        loop.close()
        XCTAssertEqual(answers, [42, 43])
    }
}
