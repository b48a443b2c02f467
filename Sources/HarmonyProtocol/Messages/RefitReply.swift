/// REFIT reply (0x85): whether a background refit was started, the current model version, and a message.
///
/// Payload: `u8 accepted | u64 model_version | u32 n | n bytes UTF-8 message`.
public struct RefitReply: WireMessage {
    /// Frames of this message carry type 0x85.
    public static let messageType = MessageType.refitReply
    /// True when a refit was started by this request.
    public var accepted: Bool
    /// Version of the model in use when the request was answered (the refit will produce a later one).
    public var modelVersion: UInt64
    /// A sentence for the user, e.g. why the refit was not started.
    public var message: String

    /// A REFIT reply from its fields.
    public init(accepted: Bool, modelVersion: UInt64, message: String) {
        self.accepted = accepted
        self.modelVersion = modelVersion
        self.message = message
    }

    /// Exact payload size.
    public var payloadSizeHint: Int { 13 + message.utf8.count }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt8(accepted ? 1 : 0)
        writer.writeUInt64(modelVersion)
        writer.writeLongString(message)
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        accepted = try reader.readBool("accepted flag")
        modelVersion = try reader.readUInt64("model version")
        message = try reader.readLongString("message")
    }
}
