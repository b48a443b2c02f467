import Dispatch
#if canImport(Glibc)
import Glibc
#endif

// Fixed-task parallelism with results that do not depend on the thread count.
//
// Work is cut into tasks whose boundaries depend only on the problem size (never on the number of threads).
// Each task writes only its own output slot; callers then combine the slots in task order. Threads pull tasks
// in a fixed stride, which only changes *when* a task runs, never what it computes.

/// Runs a fixed number of independent tasks on up to `threads` threads.
struct TaskRunner: Sendable {
    /// Threads to use (at least 1).
    let threads: Int

    /// Cells per task for streaming passes over cells.
    static let cellsPerTask = 2048

    /// A runner for `requested` threads; 0 means every online core.
    init(requested: Int) {
        if requested > 0 {
            threads = requested
        } else {
            threads = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        }
    }

    /// Number of fixed-size tasks covering `count` items with `perTask` items each.
    static func taskCount(_ count: Int, perTask: Int = cellsPerTask) -> Int {
        (count + perTask - 1) / perTask
    }

    /// Calls `body(task)` once for every task in 0..<count, in parallel when more than one thread is allowed.
    func run(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for task in 0..<count { body(task) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var task = worker
                while task < count {
                    body(task)
                    task += workers
                }
            }
        }
    }

    /// Calls `body(task, start, end)` for fixed ranges of `perTask` items covering 0..<count.
    func runRanges(_ count: Int, perTask: Int = cellsPerTask, _ body: (Int, Int, Int) -> Void) {
        run(TaskRunner.taskCount(count, perTask: perTask)) { task in
            let start = task * perTask
            body(task, start, min(count, start + perTask))
        }
    }
}
