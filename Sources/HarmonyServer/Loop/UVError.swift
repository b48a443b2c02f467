// Errors of libuv calls. libuv reports failures as negative errno-style integers; every call whose result
// matters goes through `uvCheck(_:_:)`, which is the only place a `UVError` is made.
import CLibUV

/// A failed libuv call: the operation that failed and libuv's error code.
public struct UVError: Error, Equatable, CustomStringConvertible {
    /// libuv's (negative) error code, e.g. `UV_EADDRINUSE`.
    public let code: Int32
    /// The operation that failed, e.g. `uv_pipe_bind /tmp/h.sock`.
    public let operation: String

    /// libuv's short error name, e.g. `EADDRINUSE`.
    public var name: String { String(cString: uv_err_name(code)) }

    /// The failed operation and libuv's explanation.
    public var description: String {
        "\(operation) failed: \(String(cString: uv_strerror(code))) (\(name))"
    }
}

/// Returns `rc` when it is not negative, otherwise throws a `UVError` naming `operation`.
@discardableResult
func uvCheck(_ rc: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if rc < 0 { throw UVError(code: rc, operation: operation()) }
    return rc
}
