/// STATS (0x04): a request with an empty payload.
public struct StatsRequest: WireMessage {
    /// Frames of this message carry type 0x04.
    public static let messageType = MessageType.stats

    /// The (only) STATS request.
    public init() {}

    /// The payload is empty.
    public var payloadSizeHint: Int { 0 }

    /// Writes nothing: the payload is empty.
    public func encodePayload(into writer: inout ByteWriter) {}

    /// Reads nothing; a non-empty payload is rejected as trailing bytes.
    public init(reading reader: inout ByteReader) throws {}
}
