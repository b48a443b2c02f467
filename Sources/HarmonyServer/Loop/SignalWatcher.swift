// SIGINT/SIGTERM delivered on the loop thread through `uv_signal_t` (no async-signal-safety concerns:
// libuv forwards the signal through a pipe and `fire` runs as an ordinary loop callback).
import CLibUV

/// Calls `fire` with the signal number each time `signal` arrives.
final class SignalWatcher: UVHandle<uv_signal_t> {
    private let fire: (Int32) -> Void

    /// A started watcher for `signal`.
    init(loop: EventLoop, signal: Int32, fire: @escaping (Int32) -> Void) throws {
        self.fire = fire
        super.init()
        try uvCheck(uv_signal_init(loop.raw, handle), "uv_signal_init")
        attach()
        do {
            try uvCheck(uv_signal_start(handle, { watcher, number in
                UVHandle<uv_signal_t>.owner(of: watcher.map(UnsafeMutableRawPointer.init),
                                            as: SignalWatcher.self).fire(number)
            }, signal), "uv_signal_start")
        } catch {
            close()
            throw error
        }
    }

    override func willClose() { uv_signal_stop(handle) }
}
