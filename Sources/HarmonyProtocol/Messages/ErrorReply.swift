/// ERROR (0xFF): the reply to a request that failed.
///
/// Payload: `u16 code | u16 n | n bytes uppercase code name | u32 m | m bytes UTF-8 message`.
/// Codes unknown to this codec are kept raw so that newer servers stay readable.
public struct ErrorReply: WireMessage {
    /// Frames of this message carry type 0xFF.
    public static let messageType = MessageType.error
    /// The numeric code as sent.
    public var rawCode: UInt16
    /// The uppercase code name as sent, e.g. `BAD_DIMENSION`.
    public var name: String
    /// A sentence for the user.
    public var message: String

    /// An error reply with a known code.
    public init(code: ErrorCode, message: String) {
        self.init(rawCode: code.rawValue, name: code.name, message: message)
    }

    /// An error reply from a decoding or validation failure.
    public init(_ error: ProtocolError) {
        self.init(code: error.code, message: error.message)
    }

    /// An error reply from raw values (any code).
    public init(rawCode: UInt16, name: String, message: String) {
        self.rawCode = rawCode
        self.name = name
        self.message = message
    }

    /// The known code, or nil for a code newer than this codec.
    public var code: ErrorCode? { ErrorCode(rawValue: rawCode) }

    /// Exact payload size.
    public var payloadSizeHint: Int { 8 + name.utf8.count + message.utf8.count }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt16(rawCode)
        writer.writeShortString(name)
        writer.writeLongString(message)
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        rawCode = try reader.readUInt16("error code")
        name = try reader.readShortString("error name")
        message = try reader.readLongString("error message")
    }
}
