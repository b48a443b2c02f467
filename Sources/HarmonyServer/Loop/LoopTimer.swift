// A repeating libuv timer. Thread contract: loop thread only; `fire` runs on the loop thread.
import CLibUV

/// Calls `fire` every `intervalMilliseconds` until closed.
final class LoopTimer: UVHandle<uv_timer_t> {
    private let fire: () -> Void

    /// A started repeating timer.
    init(loop: EventLoop, intervalMilliseconds: UInt64, fire: @escaping () -> Void) throws {
        self.fire = fire
        super.init()
        try uvCheck(uv_timer_init(loop.raw, handle), "uv_timer_init")
        attach()
        do {
            try uvCheck(uv_timer_start(handle, { timer in
                UVHandle<uv_timer_t>.owner(of: timer.map(UnsafeMutableRawPointer.init), as: LoopTimer.self).fire()
            }, intervalMilliseconds, intervalMilliseconds), "uv_timer_start")
        } catch {
            close()
            throw error
        }
    }

    override func willClose() { uv_timer_stop(handle) }
}
