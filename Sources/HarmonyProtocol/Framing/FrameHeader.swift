// The fixed 16-byte frame header (Protocols/harmonyd-protocol.md, "Frame header"), all integers little-endian:
//   0  magic "HMNY"   4  version u8   5  type u8   6  flags u16   8  request id u32   12  payload length u32

/// The 16-byte header that starts every frame.
public struct FrameHeader: Equatable, Sendable {
    /// Size of the header in bytes.
    public static let size = 16
    /// The four magic bytes, ASCII `HMNY`.
    public static let magic: [UInt8] = [0x48, 0x4D, 0x4E, 0x59]

    /// Protocol version of this frame.
    public var version: UInt8
    /// The raw message type byte (kept raw so that an unknown type can be answered with UNKNOWN_TYPE).
    public var typeByte: UInt8
    /// Flag bits; all must be 0 in version 1.
    public var flags: UInt16
    /// Request id chosen by the client and echoed in the reply.
    public var requestID: UInt32
    /// Number of payload bytes that follow the header.
    public var payloadLength: UInt32

    /// A header for a frame of a known type.
    public init(type: MessageType, requestID: UInt32, payloadLength: UInt32,
                version: UInt8 = ProtocolVersion.current, flags: UInt16 = 0) {
        self.init(version: version, typeByte: type.rawValue, flags: flags, requestID: requestID,
                  payloadLength: payloadLength)
    }

    /// A header from raw field values (used by decoders and by tests that forge bad frames).
    public init(version: UInt8, typeByte: UInt8, flags: UInt16, requestID: UInt32, payloadLength: UInt32) {
        self.version = version
        self.typeByte = typeByte
        self.flags = flags
        self.requestID = requestID
        self.payloadLength = payloadLength
    }

    /// The message type, or nil when the type byte names none.
    public var messageType: MessageType? { MessageType(rawValue: typeByte) }

    /// Appends the 16 header bytes.
    public func write(into writer: inout ByteWriter) {
        writer.writeBytes(FrameHeader.magic)
        writer.writeUInt8(version)
        writer.writeUInt8(typeByte)
        writer.writeUInt16(flags)
        writer.writeUInt32(requestID)
        writer.writeUInt32(payloadLength)
    }

    /// The 16 header bytes.
    public var bytes: [UInt8] {
        var writer = ByteWriter(capacity: FrameHeader.size)
        write(into: &writer)
        return writer.take()
    }

    /// Parses and checks the header in `raw` (at least 16 bytes): magic, version and the payload length limit.
    /// Throws BAD_MAGIC, UNSUPPORTED_VERSION or FRAME_TOO_LARGE; the type and flags are checked later, when the
    /// payload is decoded, because the framing is still in sync for those.
    public static func parse(_ raw: UnsafeRawBufferPointer, maxPayloadBytes: Int) throws -> FrameHeader {
        precondition(raw.count >= size, "FrameHeader.parse needs 16 bytes")
        guard raw[0] == magic[0], raw[1] == magic[1], raw[2] == magic[2], raw[3] == magic[3] else {
            throw ProtocolError(.badMagic, "the frame does not start with HMNY (got \(hex(raw[0..<4])))")
        }
        func u32(_ at: Int) -> UInt32 {
            UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24
        }
        let header = FrameHeader(version: raw[4], typeByte: raw[5], flags: UInt16(raw[6]) | UInt16(raw[7]) << 8,
                                 requestID: u32(8), payloadLength: u32(12))
        guard ProtocolVersion.isSupported(header.version) else {
            throw ProtocolError(.unsupportedVersion,
                                "protocol version \(header.version) is not supported; this peer speaks "
                                + "\(ProtocolVersion.minimum)...\(ProtocolVersion.maximum)",
                                requestID: header.requestID)
        }
        guard UInt64(header.payloadLength) <= UInt64(max(0, maxPayloadBytes)) else {
            throw ProtocolError(.frameTooLarge,
                                "the payload length \(header.payloadLength) exceeds the limit of "
                                + "\(maxPayloadBytes) bytes",
                                requestID: header.requestID)
        }
        return header
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef")
        return bytes.map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }.joined(separator: " ")
    }
}
