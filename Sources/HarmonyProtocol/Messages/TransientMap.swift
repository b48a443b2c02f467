/// MAP_TRANSIENT (0x08, protocol version 2): map cells as a MAP would, without remembering or logging them.
///
/// Payload: exactly a MAP payload (`MapRequest`); the ids, if any, are only checked, not used.
public struct TransientMapRequest: WireMessage {
    /// Frames of this message carry type 0x08.
    public static let messageType = MessageType.mapTransient
    /// The cells, with the same layout and rules as a MAP.
    public var map: MapRequest

    /// A transient mapping of `map`'s cells.
    public init(_ map: MapRequest) { self.map = map }

    /// Exact payload size.
    public var payloadSizeHint: Int { map.payloadSizeHint }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) { map.encodePayload(into: &writer) }

    /// Reads the payload with MAP's checks.
    public init(reading reader: inout ByteReader) throws { map = try MapRequest(reading: &reader) }
}

/// MAP_TRANSIENT reply (0x88): exactly a MAP reply payload (`MapReply`).
public struct TransientMapReply: WireMessage {
    /// Frames of this message carry type 0x88.
    public static let messageType = MessageType.mapTransientReply
    /// The corrections, clusters and labels, as in a MAP reply.
    public var reply: MapReply

    /// A transient reply carrying `reply`'s fields.
    public init(_ reply: MapReply) { self.reply = reply }

    /// Exact payload size.
    public var payloadSizeHint: Int { reply.payloadSizeHint }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) { reply.encodePayload(into: &writer) }

    /// Appends the payload bytes of `version` (a MAP reply's).
    public func encodePayload(into writer: inout ByteWriter, version: UInt8) {
        reply.encodePayload(into: &writer, version: version)
    }

    /// Reads the payload with MAP reply's checks.
    public init(reading reader: inout ByteReader) throws { reply = try MapReply(reading: &reader) }

    /// Reads the payload of `version` with MAP reply's checks.
    public init(reading reader: inout ByteReader, version: UInt8) throws {
        reply = try MapReply(reading: &reader, version: version)
    }
}
