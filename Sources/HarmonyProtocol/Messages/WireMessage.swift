/// A message with a fixed type and a payload layout (Protocols/harmonyd-protocol.md, one section per message).
public protocol WireMessage: Sendable, Equatable {
    /// The type byte frames of this message carry.
    static var messageType: MessageType { get }
    /// Bytes to reserve for the payload (exact or a close over-estimate).
    var payloadSizeHint: Int { get }
    /// Appends the payload bytes.
    func encodePayload(into writer: inout ByteWriter)
    /// Reads the payload; the caller checks afterwards that no byte is left over.
    init(reading reader: inout ByteReader) throws
    /// Appends the payload bytes of protocol version `version` (messages whose layout grew in a later version
    /// implement it; the others use `encodePayload(into:)`).
    func encodePayload(into writer: inout ByteWriter, version: UInt8)
    /// Reads the payload of a frame of protocol version `version`.
    init(reading reader: inout ByteReader, version: UInt8) throws
}

extension WireMessage {
    /// A default reservation for small messages.
    public var payloadSizeHint: Int { 64 }

    /// The layout is the same in every version.
    public func encodePayload(into writer: inout ByteWriter, version: UInt8) { encodePayload(into: &writer) }

    /// The layout is the same in every version.
    public init(reading reader: inout ByteReader, version: UInt8) throws { try self.init(reading: &reader) }

    /// The payload bytes alone, in the layout of protocol version `version`.
    public func encodedPayload(version: UInt8 = ProtocolVersion.current) -> [UInt8] {
        var writer = ByteWriter(capacity: payloadSizeHint)
        encodePayload(into: &writer, version: version)
        return writer.take()
    }

    /// The complete frame (header and payload) in one buffer, ready to write to a socket.
    public func encodedFrame(requestID: UInt32, version: UInt8 = ProtocolVersion.current) -> [UInt8] {
        var writer = ByteWriter(capacity: FrameHeader.size + payloadSizeHint)
        FrameHeader(type: Self.messageType, requestID: requestID, payloadLength: 0, version: version)
            .write(into: &writer)
        encodePayload(into: &writer, version: version)
        let length = writer.count - FrameHeader.size
        precondition(length <= Int(UInt32.max), "payload of \(length) bytes does not fit a frame")
        writer.patchUInt32(UInt32(length), at: 12)
        return writer.take()
    }

    /// This message as a `Frame` value.
    public func frame(requestID: UInt32, version: UInt8 = ProtocolVersion.current) -> Frame {
        Frame(type: Self.messageType, requestID: requestID, payload: encodedPayload(version: version), version: version)
    }

    /// Decodes a whole payload of protocol version `version`; trailing bytes are MALFORMED.
    public init(payload: [UInt8], version: UInt8 = ProtocolVersion.current) throws {
        var reader = ByteReader(payload)
        try self.init(reading: &reader, version: version)
        try reader.finish("the \(Self.messageType.name) payload")
    }

    /// Decodes a frame that must carry this message type and no flags.
    public init(frame: Frame) throws {
        try Message.checkFlags(frame.header)
        guard frame.header.typeByte == Self.messageType.rawValue else {
            throw ProtocolError(.malformed, "expected a \(Self.messageType.name) frame, got type 0x"
                                + FrameHeader.hex([frame.header.typeByte]), requestID: frame.header.requestID)
        }
        do {
            try self.init(payload: frame.payload, version: frame.header.version)
        } catch let error as ProtocolError {
            throw ProtocolError(error.code, error.message, requestID: frame.header.requestID)
        }
    }
}
