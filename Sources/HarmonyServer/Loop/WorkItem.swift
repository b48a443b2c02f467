// One `uv_queue_work` job.
//
// Thread contract: `work` runs on a libuv pool thread and stores its result in the item; `finish` runs on
// the loop thread (after-work callback) and hands the result to `completion`. The item keeps itself alive
// through the retain stored in the request's `data` until the after-work callback releases it.
import CLibUV

/// A job on libuv's thread pool with a typed result delivered on the loop thread.
final class WorkItem<T> {
    private let request: UnsafeMutablePointer<uv_work_t>
    private let work: () -> T
    private let completion: (T) -> Void
    private var result: T?

    private init(work: @escaping () -> T, completion: @escaping (T) -> Void) {
        self.request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        self.work = work
        self.completion = completion
    }

    /// Queues `work` on the pool of `loop`. A queueing failure (only possible for a closing loop) is a bug.
    static func start(on loop: UnsafeMutablePointer<uv_loop_t>, work: @escaping () -> T,
                      completion: @escaping (T) -> Void) {
        let item = WorkItem(work: work, completion: completion)
        item.request.pointee.data = Unmanaged.passRetained(item as AnyObject).toOpaque()
        let rc = uv_queue_work(loop, item.request, { req in
            let item = Unmanaged<AnyObject>.fromOpaque(req!.pointee.data).takeUnretainedValue() as! WorkRunnable
            item.runWork()
        }, { req, _ in
            let item = Unmanaged<AnyObject>.fromOpaque(req!.pointee.data).takeRetainedValue() as! WorkRunnable
            item.finish()
        })
        precondition(rc == 0, "uv_queue_work failed: \(String(cString: uv_strerror(rc)))")
    }

    deinit { request.deallocate() }
}

/// The type-erased face of a `WorkItem` seen by the C callbacks.
private protocol WorkRunnable: AnyObject {
    func runWork()
    func finish()
}

extension WorkItem: WorkRunnable {
    fileprivate func runWork() { result = work() }
    fileprivate func finish() { completion(result!) }
}
