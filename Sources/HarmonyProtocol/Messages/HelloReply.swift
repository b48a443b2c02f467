/// HELLO reply (0x81): the version the server chose and the server's name.
///
/// Payload: `u8 version | u16 n | n bytes UTF-8 server name`.
public struct HelloReply: WireMessage {
    /// Frames of this message carry type 0x81.
    public static let messageType = MessageType.helloReply
    /// The version both sides use from now on.
    public var version: UInt8
    /// The server's name and version, e.g. `harmonyd 0.1.0`.
    public var serverName: String

    /// A reply choosing `version`.
    public init(version: UInt8, serverName: String) {
        self.version = version
        self.serverName = serverName
    }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt8(version)
        writer.writeShortString(serverName)
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        version = try reader.readUInt8("version")
        serverName = try reader.readShortString("server name")
    }
}
