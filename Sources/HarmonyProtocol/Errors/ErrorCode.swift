/// The error codes an ERROR frame carries (u16 on the wire, plus the uppercase name).
///
/// Codes 1...5 concern framing and encoding, 6...9 and 15 the content of a request, 10...14 the server's state.
/// The guidance sentences are repeated in Protocols/harmonyd-protocol.md.
public enum ErrorCode: UInt16, Sendable, CaseIterable {
    /// The first four bytes of a frame are not `HMNY`; framing is lost and the connection is closed.
    case badMagic = 1
    /// The frame's protocol version (or the HELLO range) is not spoken by the peer.
    case unsupportedVersion = 2
    /// The message type byte names no request this peer handles.
    case unknownType = 3
    /// The payload length in the header exceeds the announced limit.
    case frameTooLarge = 4
    /// The payload does not follow the message layout (short, trailing bytes, bad UTF-8, nonzero flags).
    case malformed = 5
    /// The cell matrix's shape does not match the payload or the model's dimension.
    case badDimension = 6
    /// A float value in the payload is NaN or infinite.
    case nonFinite = 7
    /// A MAP request carries more cells than the announced limit.
    case tooManyCells = 8
    /// The batch label names no batch the server knows (EXPORT of a batch with no cells).
    case unknownBatch = 9
    /// The server has too much work queued to take this request now.
    case busy = 10
    /// A refit is already running, so this REFIT request is refused.
    case refitInProgress = 11
    /// The server has no model loaded yet.
    case notReady = 12
    /// The server failed for a reason of its own.
    case `internal` = 13
    /// The server is shutting down and takes no new requests.
    case shuttingDown = 14
    /// A value is outside its domain (protocol version 3): a negative or non-integer count, a library total below
    /// its cell's counts, an empty cell, an entry on a gene marked absent.
    case badValue = 15

    /// The uppercase name carried on the wire, e.g. `BAD_DIMENSION`.
    public var name: String {
        switch self {
        case .badMagic: return "BAD_MAGIC"
        case .unsupportedVersion: return "UNSUPPORTED_VERSION"
        case .unknownType: return "UNKNOWN_TYPE"
        case .frameTooLarge: return "FRAME_TOO_LARGE"
        case .malformed: return "MALFORMED"
        case .badDimension: return "BAD_DIMENSION"
        case .nonFinite: return "NON_FINITE"
        case .tooManyCells: return "TOO_MANY_CELLS"
        case .unknownBatch: return "UNKNOWN_BATCH"
        case .busy: return "BUSY"
        case .refitInProgress: return "REFIT_IN_PROGRESS"
        case .notReady: return "NOT_READY"
        case .internal: return "INTERNAL"
        case .shuttingDown: return "SHUTTING_DOWN"
        case .badValue: return "BAD_VALUE"
        }
    }

    /// The code whose uppercase name is `name`, or nil.
    public init?(name: String) {
        guard let match = ErrorCode.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// True when this code, raised by `FrameDecoder`, means the framing is lost, so the sender of the ERROR closes
    /// the connection. (UNSUPPORTED_VERSION in answer to a HELLO range keeps the connection: framing is intact.)
    public var closesConnection: Bool {
        switch self {
        case .badMagic, .unsupportedVersion, .frameTooLarge: return true
        default: return false
        }
    }

    /// What a client should do on receiving this code (one sentence).
    public var guidance: String {
        switch self {
        case .badMagic:
            return "The byte stream is out of sync; reconnect and check that every frame starts with HMNY."
        case .unsupportedVersion:
            return "Send HELLO with the range of versions you speak and use the version the server chooses."
        case .unknownType:
            return "Send only the request types listed in INFO's protocol version; the connection stays open."
        case .frameTooLarge:
            return "Split the request into smaller chunks below the max frame bytes announced by INFO, then reconnect."
        case .malformed:
            return "Fix the encoder: the payload does not follow the documented layout; the connection stays open."
        case .badDimension:
            return "Send n x d values with d equal to the model dimension from INFO."
        case .nonFinite:
            return "Remove or impute NaN and infinite values before sending."
        case .tooManyCells:
            return "Send at most max cells per MAP (from INFO) cells per request."
        case .unknownBatch:
            return "Map cells of the batch before exporting it; the batch names come from your MAP requests."
        case .busy:
            return "Retry later with backoff, or keep fewer requests in flight."
        case .refitInProgress:
            return "Wait for the running refit to finish (watch STATS) before asking again."
        case .notReady:
            return "Retry after a short delay; the server is still loading its model."
        case .internal:
            return "Report the message to the server operator; retrying may not help."
        case .shuttingDown:
            return "Reconnect later, possibly to a restarted server."
        case .badValue:
            return "Send counts as non-negative integers with each cell's whole-library total, or log-normalized values."
        }
    }
}
