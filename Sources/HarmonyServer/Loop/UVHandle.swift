// The common life cycle of a libuv handle owned by a Swift object.
//
// Thread contract: loop thread only. The handle memory is allocated once (libuv handles must not move);
// after a successful `uv_*_init` the subclass calls `attach()`, which stores a retain of the owner in
// `handle.data`. `close()` may be called any number of times; the first call starts `uv_close`, and the close
// callback runs `didClose()` and drops that retain, so the memory is freed only after libuv is done with it.
import CLibUV

/// Base class of the owners of one libuv handle of type `Handle` (`uv_pipe_t`, `uv_timer_t`, ...).
class UVHandle<Handle> {
    /// Where an owner is in its life cycle.
    enum State { case initialised, attached, closing, closed }

    /// The handle; valid until the owner is deinitialised.
    let handle: UnsafeMutablePointer<Handle>
    /// The life-cycle state; only `attach`, `close` and the close callback change it.
    private(set) var state = State.initialised

    init() {
        handle = UnsafeMutablePointer<Handle>.allocate(capacity: 1)
        UnsafeMutableRawPointer(handle).initializeMemory(as: UInt8.self, repeating: 0,
                                                         count: MemoryLayout<Handle>.size)
    }

    deinit { handle.deallocate() }

    /// The handle viewed as a generic `uv_handle_t`.
    var rawHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutablePointer(OpaquePointer(handle)) }

    /// The handle viewed as a stream (only meaningful for stream handles such as pipes).
    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutablePointer(OpaquePointer(handle)) }

    /// Records that `uv_*_init` succeeded: the loop now holds a retain of the owner until the close callback.
    func attach() {
        precondition(state == .initialised, "handle attached twice")
        rawHandle.pointee.data = Unmanaged.passRetained(self as AnyObject).toOpaque()
        state = .attached
    }

    /// True while the handle is usable (attached and not closing).
    var isOpen: Bool { state == .attached }

    /// Starts closing the handle; later calls do nothing.
    func close() {
        guard state == .attached else { return }
        state = .closing
        willClose()
        uv_close(rawHandle, handleCloseCallback)
    }

    /// Called just before `uv_close`; subclasses stop timers or reads here.
    func willClose() {}

    /// Called from the close callback; subclasses release resources here.
    func didClose() {}

    fileprivate func finishClose() {
        state = .closed
        didClose()
    }

    /// The owner stored in a handle's `data` (for C callbacks).
    static func owner<T: AnyObject>(of handle: UnsafeMutableRawPointer?, as type: T.Type) -> T {
        let raw = handle!.assumingMemoryBound(to: uv_handle_t.self)
        return Unmanaged<AnyObject>.fromOpaque(raw.pointee.data).takeUnretainedValue() as! T
    }
}

/// The face of every `UVHandle` that the close callback needs (the base class is generic).
private protocol ClosableOwner: AnyObject { func finishClose() }
extension UVHandle: ClosableOwner {}

private let handleCloseCallback: uv_close_cb = { handle in
    let box = Unmanaged<AnyObject>.fromOpaque(handle!.pointee.data)
    (box.takeUnretainedValue() as! ClosableOwner).finishClose()
    box.release()
}
