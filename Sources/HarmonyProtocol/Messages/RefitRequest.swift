/// REFIT (0x05): a request with an empty payload.
public struct RefitRequest: WireMessage {
    /// Frames of this message carry type 0x05.
    public static let messageType = MessageType.refit

    /// The (only) REFIT request.
    public init() {}

    /// The payload is empty.
    public var payloadSizeHint: Int { 0 }

    /// Writes nothing: the payload is empty.
    public func encodePayload(into writer: inout ByteWriter) {}

    /// Reads nothing; a non-empty payload is rejected as trailing bytes.
    public init(reading reader: inout ByteReader) throws {}
}
