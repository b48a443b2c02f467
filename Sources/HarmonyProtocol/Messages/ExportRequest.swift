/// EXPORT (0x06): ask for the current corrections of every query cell of one batch.
///
/// Payload: `u16 n | n bytes UTF-8 batch label` (non-empty).
public struct ExportRequest: WireMessage {
    /// Frames of this message carry type 0x06.
    public static let messageType = MessageType.export
    /// The batch to export.
    public var batch: String

    /// An EXPORT of `batch`.
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
        guard !batch.isEmpty else { throw ProtocolError(.malformed, "the EXPORT batch label is empty") }
    }
}
