// Dispatch of a raw frame to its typed message. A server decodes requests with `Message.decode(_:)`: UNKNOWN_TYPE
// and MALFORMED errors leave the framing in sync, so the connection survives them (answer ERROR with the frame's
// request id, carried in the thrown ProtocolError).

/// Any protocol message, request or reply.
public enum Message: Sendable, Equatable {
    /// HELLO request.
    case hello(HelloRequest)
    /// INFO request.
    case info(InfoRequest)
    /// MAP request.
    case map(MapRequest)
    /// STATS request.
    case stats(StatsRequest)
    /// REFIT request.
    case refit(RefitRequest)
    /// EXPORT request.
    case export(ExportRequest)
    /// FORGET request (version 2).
    case forget(ForgetRequest)
    /// MAP_TRANSIENT request (version 2).
    case mapTransient(TransientMapRequest)
    /// MAP_EXPRESSION request (version 3).
    case mapExpression(ExpressionMapRequest)
    /// MAP_EXPRESSION_TRANSIENT request (version 3).
    case mapExpressionTransient(TransientExpressionMapRequest)
    /// HELLO reply.
    case helloReply(HelloReply)
    /// INFO reply.
    case infoReply(InfoReply)
    /// MAP reply.
    case mapReply(MapReply)
    /// STATS reply.
    case statsReply(StatsReply)
    /// REFIT reply.
    case refitReply(RefitReply)
    /// EXPORT reply.
    case exportReply(ExportReply)
    /// FORGET reply (version 2).
    case forgetReply(ForgetReply)
    /// MAP_TRANSIENT reply (version 2).
    case mapTransientReply(TransientMapReply)
    /// MAP_EXPRESSION reply (version 3).
    case mapExpressionReply(ExpressionMapReply)
    /// MAP_EXPRESSION_TRANSIENT reply (version 3).
    case mapExpressionTransientReply(TransientExpressionMapReply)
    /// ERROR reply.
    case error(ErrorReply)

    /// The typed message a frame carries. Throws UNKNOWN_TYPE for an unknown type byte, MALFORMED for nonzero
    /// flags or a bad payload, BAD_DIMENSION or NON_FINITE for bad cell matrices; errors carry the request id.
    public static func decode(_ frame: Frame) throws -> Message {
        try checkFlags(frame.header)
        let type = try knownType(frame.header)
        switch type {
        case .hello: return .hello(try HelloRequest(frame: frame))
        case .info: return .info(try InfoRequest(frame: frame))
        case .map: return .map(try MapRequest(frame: frame))
        case .stats: return .stats(try StatsRequest(frame: frame))
        case .refit: return .refit(try RefitRequest(frame: frame))
        case .export: return .export(try ExportRequest(frame: frame))
        case .forget: return .forget(try ForgetRequest(frame: frame))
        case .mapTransient: return .mapTransient(try TransientMapRequest(frame: frame))
        case .mapExpression: return .mapExpression(try ExpressionMapRequest(frame: frame))
        case .mapExpressionTransient: return .mapExpressionTransient(try TransientExpressionMapRequest(frame: frame))
        case .helloReply: return .helloReply(try HelloReply(frame: frame))
        case .infoReply: return .infoReply(try InfoReply(frame: frame))
        case .mapReply: return .mapReply(try MapReply(frame: frame))
        case .statsReply: return .statsReply(try StatsReply(frame: frame))
        case .refitReply: return .refitReply(try RefitReply(frame: frame))
        case .exportReply: return .exportReply(try ExportReply(frame: frame))
        case .forgetReply: return .forgetReply(try ForgetReply(frame: frame))
        case .mapTransientReply: return .mapTransientReply(try TransientMapReply(frame: frame))
        case .mapExpressionReply: return .mapExpressionReply(try ExpressionMapReply(frame: frame))
        case .mapExpressionTransientReply:
            return .mapExpressionTransientReply(try TransientExpressionMapReply(frame: frame))
        case .error: return .error(try ErrorReply(frame: frame))
        }
    }

    /// A request a server can act on: like `decode`, but a reply type sent to the server is UNKNOWN_TYPE (it
    /// names no request), checked before its payload is read.
    public static func decodeRequest(_ frame: Frame) throws -> Message {
        try checkFlags(frame.header)
        let type = try knownType(frame.header)
        guard type.isRequest else {
            throw ProtocolError(.unknownType, "\(type.name) (0x\(FrameHeader.hex([type.rawValue]))) is a reply type; "
                                + "clients send requests only", requestID: frame.header.requestID)
        }
        return try decode(frame)
    }

    // The type of a frame, UNKNOWN_TYPE when its byte names none in the frame's protocol version.
    private static func knownType(_ header: FrameHeader) throws -> MessageType {
        guard let type = header.messageType, type.introducedIn <= header.version else {
            throw ProtocolError(.unknownType, "message type 0x\(FrameHeader.hex([header.typeByte])) is unknown in "
                                + "protocol version \(header.version)", requestID: header.requestID)
        }
        return type
    }

    /// Throws MALFORMED when a frame sets flag bits that this version does not define.
    public static func checkFlags(_ header: FrameHeader) throws {
        guard header.flags == 0 else {
            throw ProtocolError(.malformed,
                                "flags 0x\(String(header.flags, radix: 16)) are set; no version defines any",
                                requestID: header.requestID)
        }
    }

    /// The wrapped message.
    public var payload: any WireMessage {
        switch self {
        case .hello(let m): return m
        case .info(let m): return m
        case .map(let m): return m
        case .stats(let m): return m
        case .refit(let m): return m
        case .export(let m): return m
        case .forget(let m): return m
        case .mapTransient(let m): return m
        case .mapExpression(let m): return m
        case .mapExpressionTransient(let m): return m
        case .helloReply(let m): return m
        case .infoReply(let m): return m
        case .mapReply(let m): return m
        case .statsReply(let m): return m
        case .refitReply(let m): return m
        case .exportReply(let m): return m
        case .forgetReply(let m): return m
        case .mapTransientReply(let m): return m
        case .mapExpressionReply(let m): return m
        case .mapExpressionTransientReply(let m): return m
        case .error(let m): return m
        }
    }

    /// The message type of the wrapped message.
    public var type: MessageType { Swift.type(of: payload).messageType }

    /// The complete frame bytes for this message.
    public func encodedFrame(requestID: UInt32, version: UInt8 = ProtocolVersion.current) -> [UInt8] {
        payload.encodedFrame(requestID: requestID, version: version)
    }
}
