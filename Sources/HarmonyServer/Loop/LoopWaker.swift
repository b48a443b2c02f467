// A `uv_async_t`: the one way other threads reach the loop.
//
// Thread contract: `wake()` may be called from any thread (libuv may merge several calls into one `fire`);
// everything else, and `fire` itself, runs on the loop thread.
import CLibUV

// Unchecked Sendable: other threads may only call `wake()` (uv_async_send, the one thread-safe libuv call).
/// Runs `fire` on the loop thread after `wake()` is called from any thread.
final class LoopWaker: UVHandle<uv_async_t>, @unchecked Sendable {
    private let fire: () -> Void

    /// A waker registered on `loop`. It keeps the loop alive until closed.
    init(loop: EventLoop, fire: @escaping () -> Void) throws {
        self.fire = fire
        super.init()
        try uvCheck(uv_async_init(loop.raw, handle, { async in
            UVHandle<uv_async_t>.owner(of: async.map(UnsafeMutableRawPointer.init), as: LoopWaker.self).fire()
        }), "uv_async_init")
        attach()
    }

    /// Schedules `fire` on the loop thread. Safe from any thread while the waker is open.
    func wake() { uv_async_send(handle) }
}
