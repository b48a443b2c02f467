import Dispatch
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

// Fixed-task parallelism with results that do not depend on the thread count.
//
// Work is cut into tasks whose boundaries depend only on the problem size (never on the number of threads).
// Each task writes only its own output slot; callers then combine the slots in task order. Threads pull tasks
// from a shared counter, which only changes *when* a task runs, never what it computes.

/// Where a parallel computation's worker threads come from.
public enum ThreadPolicy: Sendable, Equatable {
    /// libdispatch's shared pool: no thread is created per parallel step. The default.
    case sharedPool
    /// Threads created for each parallel step, which inherit the caller's scheduling class. For a caller in
    /// SCHED_IDLE (a daemon's background refit, see `BackgroundScheduling`): the shared pool's threads run at
    /// normal priority and must never be moved into SCHED_IDLE, so on them its work would compete with the
    /// latency-critical threads it is meant to yield to.
    case ownThreads
}

/// Runs a fixed number of independent tasks on up to `threads` threads.
struct TaskRunner: Sendable {
    /// Threads to use (at least 1).
    let threads: Int
    /// Where the workers beyond the caller come from.
    let policy: ThreadPolicy

    /// Cells per task for streaming passes over cells.
    static let cellsPerTask = 2048

    /// A runner for `requested` threads (0 means every online core) whose workers come from `policy`.
    init(requested: Int, policy: ThreadPolicy = .sharedPool) {
        self.policy = policy
        if requested > 0 {
            threads = requested
        } else {
            threads = OnlineProcessors.count
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
        // Workers take the next task from a shared counter, so a descheduled thread does not hold back the
        // others; which thread runs a task never changes what the task computes.
        let counter = TaskCounter()
        withoutActuallyEscaping(body) { body in
            let loop = Workers {
                while true {
                    let task = counter.next()
                    if task >= count { break }
                    body(task)
                }
            }
            switch policy {
            case .sharedPool: DispatchQueue.concurrentPerform(iterations: workers) { _ in loop.work() }
            case .ownThreads: Self.runOnOwnThreads(workers, loop.work)
            }
        }
    }

    // The loop every worker of one `run` call executes. Unchecked Sendable: the tasks write disjoint slots (the
    // contract above) and `run` returns only after every worker finished, so what `body` captures never races.
    private struct Workers: @unchecked Sendable {
        let work: () -> Void
    }

    /// Calls `body` on every item `produce` returns until it returns nil, in order. With two threads or more, the
    /// next item is produced while `body` works on the current one (reading ahead of the computation); the first
    /// error of either side is thrown.
    func pipeline<Item>(_ produce: () throws -> Item?, _ body: (Item) throws -> Void) throws {
        try pipeline(produce, parts: { _ in 1 }, { item, _ in try body(item) }, merge: { _ in })
    }

    /// `pipeline` with the work on each item cut into parts: `part(item, k)` runs for every k in
    /// 0..<`parts(item)`, in parallel with the other parts and with the production of the next item, then
    /// `merge(item)` runs alone, before the next item's parts start. The tasks come from one counter, the
    /// producer's first, so a thread done producing takes the parts still waiting: both threads stay busy when
    /// producing is the shorter side. Errors: the first failing part's (in part order), else the merge's, else the
    /// producer's, which is the order in which a sequential run would meet them.
    func pipeline<Item>(_ produce: () throws -> Item?, parts: (Item) throws -> Int,
                        _ part: (Item, Int) throws -> Void, merge: (Item) throws -> Void) throws {
        var current = try produce()
        while let item = current {
            let count = try parts(item)
            guard threads > 1 else {
                for k in 0..<count { try part(item, k) }
                try merge(item)
                current = try produce()
                continue
            }
            var produced: Result<Item?, any Error> = .success(nil)
            var failures = [(any Error)?](repeating: nil, count: count)
            failures.withUnsafeMutableBufferPointer { failed in
                run(1 + count) { task in
                    if task == 0 {
                        produced = Result { try produce() }
                    } else {
                        do { try part(item, task - 1) } catch { failed[task - 1] = error }
                    }
                }
            }
            if let first = failures.lazy.compactMap({ $0 }).first { throw first }
            try merge(item)
            current = try produced.get()
        }
    }

    // Runs `work` on the caller and on `workers - 1` threads created for this call, which inherit the caller's
    // scheduling class (see `BackgroundScheduling`); returns when all are done. Thread creation costs tens of
    // microseconds per call, nothing next to the passes of a background fit.
    private static func runOnOwnThreads(_ workers: Int, _ work: @escaping () -> Void) {
        final class Box { let work: () -> Void; init(_ work: @escaping () -> Void) { self.work = work } }
        var threads: [pthread_t] = []
        for _ in 1..<workers {
            var thread = pthread_t()
            let box = Unmanaged.passRetained(Box(work)).toOpaque()
            let created = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.work()
                return nil
            }, box)
            if created == 0 {
                threads.append(thread)
            } else {
                // No thread: the caller's share of the counter simply grows.
                Unmanaged<Box>.fromOpaque(box).release()
            }
        }
        work()
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Calls `body(task, start, end)` for fixed ranges of `perTask` items covering 0..<count.
    func runRanges(_ count: Int, perTask: Int = cellsPerTask, _ body: (Int, Int, Int) -> Void) {
        run(TaskRunner.taskCount(count, perTask: perTask)) { task in
            let start = task * perTask
            body(task, start, min(count, start + perTask))
        }
    }
}
