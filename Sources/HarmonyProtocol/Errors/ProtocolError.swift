/// A failure to read or accept a frame or a payload, with the wire code to answer with.
///
/// Decoders throw it; a server turns it into an ERROR frame with `ErrorReply(self)`. When `code.closesConnection`
/// is true the stream is out of sync and the connection must be closed after the ERROR is sent.
public struct ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wire error code.
    public let code: ErrorCode
    /// A sentence for the user naming what was wrong.
    public let message: String
    /// The request id of the frame at fault when its header could be read, else 0 (echo it in the ERROR).
    public let requestID: UInt32

    /// An error with a code, a message and (when known) the request id of the offending frame.
    public init(_ code: ErrorCode, _ message: String, requestID: UInt32 = 0) {
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    /// The code name and the message, e.g. `BAD_DIMENSION: ...`.
    public var description: String { "\(code.name): \(message)" }
}
