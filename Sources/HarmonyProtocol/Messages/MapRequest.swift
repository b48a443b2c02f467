/// MAP (0x03): n query cells of one batch, n x d float32 row-major, with optional cell ids.
///
/// Payload: `u16 n | n bytes batch | u32 cells | u32 d | u8 has_ids | cells*d x f32 values
/// | (has_ids = 1) cells x (u16 n | n bytes cell id)`.
/// Without ids the server names the cells `<batch>#<k>`, k the 0-based arrival index within the batch.
public struct MapRequest: WireMessage {
    /// Frames of this message carry type 0x03.
    public static let messageType = MessageType.map
    /// The batch label of every cell in this request (non-empty).
    public var batch: String
    /// Number of cells n.
    public var cellCount: Int
    /// Embedding dimension d.
    public var dimensions: Int
    /// The n x d embedding values, row-major.
    public var values: [Float]
    /// Cell ids, one per cell, or nil.
    public var cellIDs: [String]?

    /// A MAP request; `values.count` must be `cellCount * dimensions` and `cellIDs`, if given, have `cellCount`
    /// entries (a mismatch is a caller bug).
    public init(batch: String, cellCount: Int, dimensions: Int, values: [Float], cellIDs: [String]? = nil) {
        precondition(values.count == cellCount * dimensions, "MAP values do not hold \(cellCount) x \(dimensions)")
        precondition(cellIDs.map { $0.count == cellCount } ?? true, "MAP needs one id per cell")
        self.batch = batch
        self.cellCount = cellCount
        self.dimensions = dimensions
        self.values = values
        self.cellIDs = cellIDs
    }

    /// Exact payload size.
    public var payloadSizeHint: Int {
        11 + batch.utf8.count + 4 * values.count + (cellIDs?.reduce(0) { $0 + 2 + $1.utf8.count } ?? 0)
    }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeShortString(batch)
        writer.writeCount(cellCount)
        writer.writeCount(dimensions)
        writer.writeUInt8(cellIDs == nil ? 0 : 1)
        writer.writeFloat32Array(values)
        if let cellIDs {
            for id in cellIDs { writer.writeShortString(id) }
        }
    }

    /// Reads the payload; checks the batch is non-empty and at most `ProtocolLimits.maxBatchLabelBytes` long, n and d are at least 1, n x d fits the payload and the
    /// values are finite.
    public init(reading reader: inout ByteReader) throws {
        batch = try reader.readShortString("batch label")
        guard !batch.isEmpty else { throw ProtocolError(.malformed, "the MAP batch label is empty") }
        guard batch.utf8.count <= ProtocolLimits.maxBatchLabelBytes else {
            throw ProtocolError(.malformed, "the MAP batch label is \(batch.utf8.count) bytes; "
                                + "at most \(ProtocolLimits.maxBatchLabelBytes) are allowed")
        }
        cellCount = try reader.readCount("cell count")
        dimensions = try reader.readCount("d")
        let hasIDs = try reader.readBool("has-ids flag")
        guard cellCount >= 1, dimensions >= 1 else {
            throw ProtocolError(.badDimension, "a MAP needs at least one cell of at least one dimension, "
                                + "got \(cellCount) x \(dimensions)")
        }
        values = try reader.readCellValues(cellCount: cellCount, dimensions: dimensions, "MAP")
        cellIDs = hasIDs ? try reader.readShortStrings(cellCount, "cell ids") : nil
    }
}
