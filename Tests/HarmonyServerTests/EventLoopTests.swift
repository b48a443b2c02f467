import XCTest
@testable import HarmonyServer

final class EventLoopTests: XCTestCase {
    func testPoolWorkRunsOffTheLoopAndCompletesOnIt() throws {
        let loop = try EventLoop()
        let loopThread = pthread_self()
        var completions = 0
        var sum = 0
        for i in 1...50 {
            loop.submit({ () -> (Int, Bool) in (i * i, pthread_equal(pthread_self(), loopThread) != 0) }) { result in
                XCTAssertFalse(result.1, "work ran on the loop thread")
                XCTAssertNotEqual(pthread_equal(pthread_self(), loopThread), 0, "completion ran off the loop thread")
                sum += result.0
                completions += 1
            }
        }
        loop.run()
        XCTAssertEqual(completions, 50)
        XCTAssertEqual(sum, (1...50).map { $0 * $0 }.reduce(0, +))
        loop.close()
    }

    func testHandlesCloseCleanlyAndTheirCallbacksAreCounted() throws {
        let loop = try EventLoop()
        var ticks = 0, wakes = 0
        var timer: LoopTimer?
        let waker = try LoopWaker(loop: loop) { wakes += 1; timer?.close() }
        timer = try LoopTimer(loop: loop, intervalMilliseconds: 1) {
            ticks += 1
            if ticks == 3 { waker.wake() }
        }
        let closer = try LoopTimer(loop: loop, intervalMilliseconds: 5) {}
        loop.submit({ 0 }) { _ in
            closer.close()
            closer.close()
        }
        // The waker keeps the loop alive until it is closed too.
        let stopper = try LoopTimer(loop: loop, intervalMilliseconds: 20) {}
        loop.submit({ usleep(30_000) }) { _ in
            waker.close()
            stopper.close()
        }
        loop.run()
        XCTAssertEqual(ticks, 3)
        XCTAssertEqual(wakes, 1)
        XCTAssertFalse(waker.isOpen)
        XCTAssertFalse(closer.isOpen)
        loop.close()
    }
}
