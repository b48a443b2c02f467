/// FORGET (0x07, protocol version 2): drop every cell of one query batch, durably.
///
/// Payload: `u16 n | n bytes UTF-8 batch label` (non-empty).
public struct ForgetRequest: WireMessage {
    /// Frames of this message carry type 0x07.
    public static let messageType = MessageType.forget
    /// The batch to forget.
    public var batch: String

    /// A FORGET of `batch`.
    public init(batch: String) { self.batch = batch }

    /// Exact payload size.
    public var payloadSizeHint: Int { 2 + batch.utf8.count }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeShortString(batch)
    }

    /// Reads the payload; the batch label must be non-empty.
    public init(reading reader: inout ByteReader) throws {
        batch = try reader.readShortString("batch label")
        guard !batch.isEmpty else { throw ProtocolError(.malformed, "the FORGET batch label is empty") }
    }
}

/// FORGET reply (0x87): how many cells the batch held when it was forgotten.
///
/// Payload: `u64 cells forgotten`.
public struct ForgetReply: WireMessage {
    /// Frames of this message carry type 0x87.
    public static let messageType = MessageType.forgetReply
    /// Cells of the batch that were dropped.
    public var cellsForgotten: UInt64

    /// A FORGET reply.
    public init(cellsForgotten: UInt64) { self.cellsForgotten = cellsForgotten }

    /// Exact payload size.
    public var payloadSizeHint: Int { 8 }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt64(cellsForgotten)
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        cellsForgotten = try reader.readUInt64("cells forgotten")
    }
}
