// Runs long CPU work (a refit's Harmony fit) on a dedicated thread with a lower scheduling priority, so the
// loop thread and the pool's mapping jobs win the CPU while it runs (the latency goal holds during refits).
// The pool job that calls `run` just waits for the thread.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot low-priority thread.
enum BackgroundThread {
    /// The nice value of the background thread (higher is lower priority).
    static let niceness: Int32 = 10

    /// Runs `body` on a new thread with nice `niceness` and returns its result (blocking the caller).
    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let slot = ResultSlot<T>()
        let thread = Thread {
            // Only this thread changes: on Linux the nice value is per thread, and who = 0 names the caller.
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            slot.result = Result { try body() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        return try slot.result!.get()
    }

    /// Threads a refit may use: all cores but one (for the loop), at least one, unless configured.
    static func refitThreads(configured: Int) -> Int {
        configured > 0 ? configured : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) - 1)
    }
}

/// Where the background thread leaves its result: written before the semaphore signals, read after the wait,
/// so the semaphore orders the two accesses.
private final class ResultSlot<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
