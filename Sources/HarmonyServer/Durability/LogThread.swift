// The write-ahead log's own thread: its writes, syncs, checkpoints and zero-fills run here one at a time, in
// submission order, and each result comes back on the loop thread.
//
// Why not libuv's pool: a durable single-cell MAP waits for one pwrite + fdatasync, and on virtual machines
// most of what it waits for beyond that is two thread wake-ups: the loop waking a sleeping pool thread, and the
// pool thread waking the loop sleeping in epoll. A wake-up of an idle vCPU goes through the hypervisor and was
// measured at 30-110 us here, as much as a whole socket round trip. So both sides poll for a short while:
//   - this thread, after a job, keeps looking for the next one for `pollNanoseconds` (yielding the CPU between
//     looks) before it sleeps, so that the next request of a client streaming cells one by one finds it awake;
//   - the loop, while a job is in flight and nothing else runs on the pool, polls its events instead of sleeping
//     (a libuv idle handle makes `uv_run` poll with a zero timeout), for at most `pollNanoseconds` x 8.
// Under load neither polls: the thread always finds the next group commit waiting, and the loop is busy or has
// pool jobs. Nor while `mayPoll` says no (the server: while a refit runs): a polling thread is always runnable,
// so a refit's SCHED_IDLE thread would get no CPU on its core (measured: a refit 10x longer, and STATS requests
// stalled behind it). `pollNanoseconds` 0 turns polling off.
//
// Thread contract: `submit` and `close` are called on the loop thread, completions run there; a job's `work`
// runs on this thread and touches only what it captures.
import CLibUV
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A dedicated thread that runs the log's jobs in order and hands their results to the loop thread.
final class LogThread {
    private let loop: EventLoop
    private let shared: Shared
    private var waker: LoopWaker?
    private var poller: LoopPoller?
    /// Jobs submitted whose completion has not run yet.
    private var outstanding = 0
    private let pollNanoseconds: UInt64
    /// Asked at each submission whether the two sides may poll around that job.
    var mayPoll: () -> Bool = { true }

    /// Starts the thread. Its waker keeps the loop alive only while jobs are outstanding.
    init(loop: EventLoop, pollNanoseconds: UInt64) throws {
        self.loop = loop
        self.pollNanoseconds = pollNanoseconds
        let shared = Shared()
        self.shared = shared
        if pollNanoseconds > 0 { poller = try LoopPoller(loop: loop) }
        let waker: LoopWaker
        do {
            waker = try LoopWaker(loop: loop) { [unowned self] in finishJobs() }
        } catch {
            poller?.close()
            throw error
        }
        uv_unref(waker.rawHandle)
        self.waker = waker
        shared.attach(waker)
        let poll = pollNanoseconds
        let thread = Thread { shared.serve(pollNanoseconds: poll) }
        thread.name = "harmonyd-log"
        thread.start()
    }

    /// Runs `work` on the log thread after every job submitted before it; `completion` receives the result on
    /// the loop thread.
    func submit<T>(_ work: @escaping () -> T, completion: @escaping (T) -> Void) {
        precondition(waker?.isOpen == true, "log job submitted after close")
        let poll = pollNanoseconds > 0 && mayPoll()
        if outstanding == 0 {
            uv_ref(waker!.rawHandle)
            if poll && !loop.hasPoolJobs { poller?.start(for: pollNanoseconds * 8) }
        }
        outstanding += 1
        shared.submit(Job(work: work, completion: completion, polls: poll))
    }

    deinit { close() }

    /// Stops the thread once it is idle and closes the handles (again: nothing). Jobs still outstanding are a bug.
    func close() {
        precondition(outstanding == 0, "log thread closed with \(outstanding) jobs outstanding")
        shared.stop()
        waker?.close()
        poller?.close()
        waker = nil
        poller = nil
    }

    // On the loop thread, when the thread reported finished jobs: their completions, in order.
    private func finishJobs() {
        for job in shared.takeFinished() {
            outstanding -= 1
            if outstanding == 0, let waker {
                uv_unref(waker.rawHandle)
                poller?.stop()
            }
            job.finish()
        }
    }
}

/// One job: `run` on the log thread, then `finish` on the loop thread.
// Unchecked Sendable: `result` is written by `run` on the log thread before the job is handed back under the
// shared lock, and read by `finish` on the loop thread after it is taken under that lock.
private final class Job<T>: LogJob, @unchecked Sendable {
    private let work: () -> T
    private let completion: (T) -> Void
    private var result: T?
    let polls: Bool

    init(work: @escaping () -> T, completion: @escaping (T) -> Void, polls: Bool) {
        self.work = work
        self.completion = completion
        self.polls = polls
    }

    func run() { result = work() }
    func finish() { completion(result!) }
}

private protocol LogJob: AnyObject, Sendable {
    /// Whether the thread looks for the next job for a while after this one, before it sleeps.
    var polls: Bool { get }
    func run()
    func finish()
}

/// What the loop thread and the log thread share: the queues, under one lock, and the sleeping thread's semaphore.
private final class Shared: Sendable {
    private struct State {
        var queued: [any LogJob] = []
        var finished: [any LogJob] = []
        var sleeping = false
        var stopping = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    // The loop's waker, used by the log thread under this lock, so that `stop` (which clears it before the
    // handle closes) never races with a `wake()` of a job that the loop already took.
    private let waker = Mutex<LoopWaker?>(nil)

    func attach(_ waker: LoopWaker) { self.waker.withLock { $0 = waker } }

    func submit(_ job: any LogJob) {
        changeAndWake { $0.queued.append(job) }
    }

    func takeFinished() -> [any LogJob] {
        state.withLock { state in
            defer { state.finished = [] }
            return state.finished
        }
    }

    func stop() {
        waker.withLock { $0 = nil }
        changeAndWake { $0.stopping = true }
    }

    // Applies `change` under the lock and wakes the thread if it sleeps (one signal per sleep).
    private func changeAndWake(_ change: (inout State) -> Void) {
        let wasSleeping = state.withLock { state in
            change(&state)
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wasSleeping { wakeUp.signal() }
    }

    /// The thread's body: jobs in order; after each, looks for the next one for `pollNanoseconds`, then sleeps.
    func serve(pollNanoseconds: UInt64) {
        var pollUntil: UInt64 = 0
        while true {
            let next: (any LogJob)? = state.withLock { state in
                state.queued.isEmpty ? nil : state.queued.removeFirst()
            }
            if let job = next {
                job.run()
                state.withLock { $0.finished.append(job) }
                waker.withLock { $0?.wake() }
                pollUntil = job.polls ? EventLoop.now() + pollNanoseconds : 0
                continue
            }
            if pollUntil > 0 && EventLoop.now() < pollUntil {
                sched_yield()
                continue
            }
            let sleep = state.withLock { state -> Bool? in
                if state.stopping { return nil }
                if !state.queued.isEmpty { return false }
                state.sleeping = true
                return true
            }
            guard let sleep else { return }
            if sleep { wakeUp.wait() }
        }
    }
}

/// A libuv idle handle: while started, `uv_run` polls for events with a zero timeout instead of sleeping.
/// Stops itself after the time it was started for. Loop thread only.
private final class LoopPoller: UVHandle<uv_idle_t> {
    private var deadline: UInt64 = 0
    private var running = false

    init(loop: EventLoop) throws {
        super.init()
        try uvCheck(uv_idle_init(loop.raw, handle), "uv_idle_init")
        attach()
    }

    func start(for nanoseconds: UInt64) {
        guard isOpen, !running else { return }
        running = true
        deadline = uv_hrtime() + nanoseconds
        uv_idle_start(handle) { idle in
            let poller = UVHandle<uv_idle_t>.owner(of: idle.map(UnsafeMutableRawPointer.init), as: LoopPoller.self)
            if uv_hrtime() >= poller.deadline { poller.stop() }
        }
    }

    func stop() {
        guard running else { return }
        running = false
        uv_idle_stop(handle)
    }

    override func willClose() { stop() }
}
