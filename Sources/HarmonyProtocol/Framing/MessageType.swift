/// The message type byte at offset 5 of every frame header.
///
/// Requests use 0x01...0x0A; the reply to a request has the request's type with the high bit set
/// (`request | 0x80`); `error` (0xFF) may answer any request.
public enum MessageType: UInt8, Sendable, CaseIterable {
    /// Version negotiation request: the client's [min, max] versions and name.
    case hello = 0x01
    /// Model and limits request (empty payload).
    case info = 0x02
    /// Map a chunk of query cells of one batch.
    case map = 0x03
    /// Server statistics request (empty payload).
    case stats = 0x04
    /// Ask for a background refit (empty payload).
    case refit = 0x05
    /// Ask for the current corrections of every cell of one batch.
    case export = 0x06
    /// Drop every cell of one batch (protocol version 2).
    case forget = 0x07
    /// Map cells without remembering or logging them (protocol version 2).
    case mapTransient = 0x08
    /// Map cells given as sparse expression over the reference's genes (protocol version 3).
    case mapExpression = 0x09
    /// MAP_EXPRESSION without remembering or logging the cells (protocol version 3).
    case mapExpressionTransient = 0x0A
    /// Reply to `hello`.
    case helloReply = 0x81
    /// Reply to `info`.
    case infoReply = 0x82
    /// Reply to `map`.
    case mapReply = 0x83
    /// Reply to `stats`.
    case statsReply = 0x84
    /// Reply to `refit`.
    case refitReply = 0x85
    /// Reply to `export`.
    case exportReply = 0x86
    /// Reply to `forget`.
    case forgetReply = 0x87
    /// Reply to `mapTransient`.
    case mapTransientReply = 0x88
    /// Reply to `mapExpression`.
    case mapExpressionReply = 0x89
    /// Reply to `mapExpressionTransient`.
    case mapExpressionTransientReply = 0x8A
    /// An error reply to any request.
    case error = 0xFF

    /// True for the request types a client may send.
    public var isRequest: Bool { rawValue < 0x80 }

    /// The first protocol version that defines this type; a frame of an older version carrying it is
    /// UNKNOWN_TYPE.
    public var introducedIn: UInt8 {
        switch self {
        case .forget, .mapTransient, .forgetReply, .mapTransientReply: return 2
        case .mapExpression, .mapExpressionTransient, .mapExpressionReply, .mapExpressionTransientReply: return 3
        default: return 1
        }
    }

    /// The type of a successful reply to this request type; nil for reply types.
    public var replyType: MessageType? {
        isRequest ? MessageType(rawValue: rawValue | 0x80) : nil
    }

    /// The uppercase name used in documents and logs, e.g. `MAP` or `MAP_REPLY`.
    public var name: String {
        switch self {
        case .hello: return "HELLO"
        case .info: return "INFO"
        case .map: return "MAP"
        case .stats: return "STATS"
        case .refit: return "REFIT"
        case .export: return "EXPORT"
        case .forget: return "FORGET"
        case .mapTransient: return "MAP_TRANSIENT"
        case .mapExpression: return "MAP_EXPRESSION"
        case .mapExpressionTransient: return "MAP_EXPRESSION_TRANSIENT"
        case .helloReply: return "HELLO_REPLY"
        case .infoReply: return "INFO_REPLY"
        case .mapReply: return "MAP_REPLY"
        case .statsReply: return "STATS_REPLY"
        case .refitReply: return "REFIT_REPLY"
        case .exportReply: return "EXPORT_REPLY"
        case .forgetReply: return "FORGET_REPLY"
        case .mapTransientReply: return "MAP_TRANSIENT_REPLY"
        case .mapExpressionReply: return "MAP_EXPRESSION_REPLY"
        case .mapExpressionTransientReply: return "MAP_EXPRESSION_TRANSIENT_REPLY"
        case .error: return "ERROR"
        }
    }
}
