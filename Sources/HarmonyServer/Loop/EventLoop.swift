// The libuv loop the daemon runs on.
//
// Thread contract: an `EventLoop` and every handle registered on it are used only by the thread that
// calls `run()`; the single exception is `WorkItem`, whose `work` closure runs on a libuv pool thread
// and touches only its own inputs. Results come back on the loop thread in the completion closure.
import CLibUV

/// Owns one `uv_loop_t` (allocated, so it never moves) and runs it.
final class EventLoop {
    /// The libuv loop; valid until `close()`.
    let raw: UnsafeMutablePointer<uv_loop_t>
    private var closed = false
    // Pool jobs submitted whose completion has not run yet.
    private var poolJobs = 0

    /// A fresh loop.
    init() throws {
        raw = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        do {
            try uvCheck(uv_loop_init(raw), "uv_loop_init")
        } catch {
            raw.deallocate()
            throw error
        }
    }

    /// Runs the loop until no active handles or requests remain.
    func run() {
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Monotonic time in nanoseconds (libuv's high-resolution clock).
    static func now() -> UInt64 { uv_hrtime() }

    /// Closes the loop after every handle has been closed; runs pending close callbacks first.
    func close() {
        guard !closed else { return }
        closed = true
        // Close callbacks of handles closed during the last iteration still have to run.
        while uv_loop_close(raw) == UV_EBUSY.rawValue {
            uv_run(raw, UV_RUN_NOWAIT)
        }
        raw.deallocate()
    }

    /// Submits `work` to libuv's thread pool; `completion` receives its result on the loop thread.
    /// The work must touch only what it captures and must not call any loop API.
    func submit<T>(_ work: @escaping () -> T, completion: @escaping (T) -> Void) {
        poolJobs += 1
        WorkItem.start(on: raw, work: work) { [unowned self] result in
            poolJobs -= 1
            completion(result)
        }
    }

    /// Whether jobs submitted to the pool are still running or waiting for their completion.
    var hasPoolJobs: Bool { poolJobs > 0 }
}
