import HarmonyProtocol

/// Failures of a harmonyd client. Each case carries a sentence written for the user.
public enum ClientError: Error, Equatable, CustomStringConvertible {
    /// The socket could not be created or connected (path, reason).
    case connect(path: String, reason: String)
    /// A read or write on the connection failed (reason names the call and errno text).
    case io(String)
    /// No reply arrived within the configured timeout.
    case timeout(String)
    /// The server closed the connection before replying.
    case closed(String)
    /// The server answered with an ERROR frame.
    case server(code: ErrorCode?, name: String, message: String, requestID: UInt32)
    /// The server sent bytes that break the protocol (bad frame, wrong reply type or request id).
    case protocolViolation(String)
    /// The caller passed values that cannot be sent (e.g. ids that do not match the cells).
    case invalidArgument(String)

    /// The wire error code for `.server` errors, else nil.
    public var serverCode: ErrorCode? {
        if case .server(let code, _, _, _) = self { return code }
        return nil
    }

    /// The sentence for the user.
    public var description: String {
        switch self {
        case .connect(let path, let reason): return "cannot connect to \(path): \(reason)"
        case .io(let m), .timeout(let m), .closed(let m), .protocolViolation(let m), .invalidArgument(let m):
            return m
        case .server(_, let name, let message, _): return "server error \(name): \(message)"
        }
    }
}
