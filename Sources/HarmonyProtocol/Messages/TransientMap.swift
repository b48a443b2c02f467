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
public struct TransientMapReply: MapReplyPayload {
    /// Frames of this message carry type 0x88.
    public static let messageType = MessageType.mapTransientReply
    /// MAP_TRANSIENT came with version 2.
    public static let defaultVersion: UInt8 = 2
    /// The corrections, clusters and labels, as in a MAP reply.
    public var reply: MapReply

    /// A transient reply carrying `reply`'s fields.
    public init(_ reply: MapReply) { self.reply = reply }
}

/// A reply whose payload is exactly a MAP reply's, laid out for the version the peers negotiated.
public protocol MapReplyPayload: WireMessage {
    /// The version whose layout the calls without a version use.
    static var defaultVersion: UInt8 { get }
    /// The corrections, clusters, labels and (version 3) distances.
    var reply: MapReply { get }
    /// A reply carrying `reply`'s fields.
    init(_ reply: MapReply)
}

extension MapReplyPayload {
    /// Exact payload size.
    public var payloadSizeHint: Int { reply.payloadSizeHint }

    /// Appends the payload bytes of `defaultVersion`.
    public func encodePayload(into writer: inout ByteWriter) { encodePayload(into: &writer, version: Self.defaultVersion) }

    /// Appends the payload bytes of `version` (a MAP reply's).
    public func encodePayload(into writer: inout ByteWriter, version: UInt8) {
        reply.encodePayload(into: &writer, version: version)
    }

    /// Reads the payload of `defaultVersion` with MAP reply's checks.
    public init(reading reader: inout ByteReader) throws { try self.init(reading: &reader, version: Self.defaultVersion) }

    /// Reads the payload of `version` with MAP reply's checks.
    public init(reading reader: inout ByteReader, version: UInt8) throws {
        self.init(try MapReply(reading: &reader, version: version))
    }
}
