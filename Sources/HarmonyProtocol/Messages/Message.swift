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
    /// ERROR reply.
    case error(ErrorReply)

    /// The typed message a frame carries. Throws UNKNOWN_TYPE for an unknown type byte, MALFORMED for nonzero
    /// flags or a bad payload, BAD_DIMENSION or NON_FINITE for bad cell matrices; errors carry the request id.
    public static func decode(_ frame: Frame) throws -> Message {
        try checkFlags(frame.header)
        guard let type = frame.header.messageType else {
            throw ProtocolError(.unknownType, "message type 0x\(FrameHeader.hex([frame.header.typeByte])) is unknown",
                                requestID: frame.header.requestID)
        }
        switch type {
        case .hello: return .hello(try HelloRequest(frame: frame))
        case .info: return .info(try InfoRequest(frame: frame))
        case .map: return .map(try MapRequest(frame: frame))
        case .stats: return .stats(try StatsRequest(frame: frame))
        case .refit: return .refit(try RefitRequest(frame: frame))
        case .export: return .export(try ExportRequest(frame: frame))
        case .helloReply: return .helloReply(try HelloReply(frame: frame))
        case .infoReply: return .infoReply(try InfoReply(frame: frame))
        case .mapReply: return .mapReply(try MapReply(frame: frame))
        case .statsReply: return .statsReply(try StatsReply(frame: frame))
        case .refitReply: return .refitReply(try RefitReply(frame: frame))
        case .exportReply: return .exportReply(try ExportReply(frame: frame))
        case .error: return .error(try ErrorReply(frame: frame))
        }
    }

    /// Throws MALFORMED when a frame sets flag bits that this version does not define.
    public static func checkFlags(_ header: FrameHeader) throws {
        guard header.flags == 0 else {
            throw ProtocolError(.malformed,
                                "flags 0x\(String(header.flags, radix: 16)) are set; version 1 defines none",
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
        case .helloReply(let m): return m
        case .infoReply(let m): return m
        case .mapReply(let m): return m
        case .statsReply(let m): return m
        case .refitReply(let m): return m
        case .exportReply(let m): return m
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
