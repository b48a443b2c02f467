// Runs a refit (the Harmony fit, the model build, its file) on a dedicated thread in Linux's SCHED_IDLE class,
// so that the loop thread and the pool's mapping and logging jobs take the CPU the moment they wake: the
// latency goal holds during refits even on two cores. The pool job that calls `run` just waits for the thread.
import Foundation
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot background thread.
enum BackgroundThread {
    /// The nice value used where SCHED_IDLE is refused (higher is lower priority).
    static let fallbackNiceness: Int32 = 19

    /// Runs `body` on a new SCHED_IDLE thread (or, failing that, nice `fallbackNiceness`) and returns its
    /// result, blocking the caller.
    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let slot = ResultSlot<T>()
        let thread = Thread {
            // Only this thread changes: on Linux both the class and the nice value are per thread.
            if !BackgroundScheduling.enterIdleClass() {
                setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, fallbackNiceness)
            }
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
