/// EXPORT reply (0x86): every query cell of a batch, corrected with the batch's final statistics.
///
/// Payload: `u64 model_version | u32 cells | u32 d | cells*d x f32 corrected | cells x (u16 n | n bytes cell id)`.
/// Cells come in arrival order; ids are those sent in MAP, or `<batch>#<k>` for cells sent without ids.
public struct ExportReply: WireMessage {
    /// Frames of this message carry type 0x86.
    public static let messageType = MessageType.exportReply
    /// The model version used for the corrections.
    public var modelVersion: UInt64
    /// Number of cells n.
    public var cellCount: Int
    /// Embedding dimension d.
    public var dimensions: Int
    /// Corrected n x d embedding, row-major.
    public var corrected: [Float]
    /// One id per cell.
    public var cellIDs: [String]

    /// An EXPORT reply; `corrected.count` must be `cellCount * dimensions` and there must be one id per cell.
    public init(modelVersion: UInt64, cellCount: Int, dimensions: Int, corrected: [Float], cellIDs: [String]) {
        precondition(corrected.count == cellCount * dimensions, "corrected does not hold \(cellCount) x \(dimensions)")
        precondition(cellIDs.count == cellCount, "EXPORT reply needs one id per cell")
        self.modelVersion = modelVersion
        self.cellCount = cellCount
        self.dimensions = dimensions
        self.corrected = corrected
        self.cellIDs = cellIDs
    }

    /// Exact payload size.
    public var payloadSizeHint: Int { 16 + 4 * corrected.count + cellIDs.reduce(0) { $0 + 2 + $1.utf8.count } }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt64(modelVersion)
        writer.writeCount(cellCount)
        writer.writeCount(dimensions)
        writer.writeFloat32Array(corrected)
        for id in cellIDs { writer.writeShortString(id) }
    }

    /// Reads the payload; n x d is checked against the payload and values must be finite.
    public init(reading reader: inout ByteReader) throws {
        modelVersion = try reader.readUInt64("model version")
        cellCount = try reader.readCount("cell count")
        dimensions = try reader.readCount("d")
        corrected = try reader.readCellValues(cellCount: cellCount, dimensions: dimensions, "EXPORT reply corrected")
        cellIDs = try reader.readShortStrings(cellCount, "cell ids")
    }
}
