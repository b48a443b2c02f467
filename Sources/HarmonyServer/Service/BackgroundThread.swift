// Runs a refit (the Harmony fit, the model build, its file) on a dedicated thread in Linux's SCHED_IDLE class,
// so that the loop thread and the pool's mapping and logging jobs take the CPU the moment they wake: the
// latency goal holds during refits even on two cores. No pool thread waits for it: the thread hands its result
// to the loop through a `LoopWaker`.
import Foundation
import HarmonyCore
import HarmonySystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot background thread.
enum BackgroundThread {
    /// The nice value used where SCHED_IDLE is refused (higher is lower priority).
    static let fallbackNiceness: Int32 = 19

    /// Starts `body` on a new SCHED_IDLE thread (or, failing that, nice `fallbackNiceness`) and returns at once;
    /// `finished` runs on that thread with the result.
    static func start<T>(_ body: @escaping @Sendable () throws -> T,
                         finished: @escaping @Sendable (Result<T, Error>) -> Void) {
        let thread = Thread {
            // Only this thread changes: on Linux both the class and the nice value are per thread.
            if !BackgroundScheduling.enterIdleClass() {
                setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, fallbackNiceness)
            }
            finished(Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Threads a refit may use: all cores but one (for the loop), at least one, unless configured.
    static func refitThreads(configured: Int) -> Int {
        configured > 0 ? configured : max(1, OnlineProcessors.count - 1)
    }
}

/// A value handed from one thread to another under a lock.
final class HandOff<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)

    /// Stores `value` (on the producing thread).
    func put(_ value: T) { self.value.withLock { $0 = value } }

    /// Takes the value stored, if any (on the consuming thread).
    func take() -> T? { value.withLock { $0.take() } }
}
