/// HELLO (0x01): the client names the range of protocol versions it speaks, and itself.
///
/// Payload: `u8 min_version | u8 max_version | u16 n | n bytes UTF-8 client name`.
public struct HelloRequest: WireMessage {
    /// Frames of this message carry type 0x01.
    public static let messageType = MessageType.hello
    /// Oldest version the client speaks.
    public var minVersion: UInt8
    /// Newest version the client speaks.
    public var maxVersion: UInt8
    /// A free-form client name for logs (may be empty).
    public var clientName: String

    /// A HELLO offering `minVersion...maxVersion`.
    public init(minVersion: UInt8 = ProtocolVersion.minimum, maxVersion: UInt8 = ProtocolVersion.maximum,
                clientName: String) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.clientName = clientName
    }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt8(minVersion)
        writer.writeUInt8(maxVersion)
        writer.writeShortString(clientName)
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        minVersion = try reader.readUInt8("min version")
        maxVersion = try reader.readUInt8("max version")
        clientName = try reader.readShortString("client name")
    }
}
