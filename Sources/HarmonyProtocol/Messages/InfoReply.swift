/// INFO reply (0x82): the model the server maps with and the limits it enforces.
///
/// Payload: `u64 model_version | u32 d | u32 K | u64 reference_cells | u32 max_frame_bytes | u32 max_cells_per_map
/// | u32 max_connections | u32 B | B x (u16 n | n bytes batch level) | u32 L | L x (u16 n | n bytes label)`.
public struct InfoReply: WireMessage {
    /// Frames of this message carry type 0x82.
    public static let messageType = MessageType.infoReply
    /// Version of the current model (1 for the loaded reference, +1 per successful refit).
    public var modelVersion: UInt64
    /// Embedding dimension d every MAP must use.
    public var dimensions: Int
    /// Number of clusters K.
    public var clusters: Int
    /// Number of cells in the reference.
    public var referenceCells: UInt64
    /// Largest payload the server accepts, in bytes.
    public var maxFrameBytes: Int
    /// Largest number of cells in one MAP request.
    public var maxCellsPerMap: Int
    /// Largest number of simultaneous connections.
    public var maxConnections: Int
    /// Batch levels of the reference, sorted by bytes (query batches are listed by STATS).
    public var batches: [String]
    /// Cell-type labels of the reference (index = predicted label index in MAP replies); empty without labels.
    public var labels: [String]

    /// An INFO reply from its fields.
    public init(modelVersion: UInt64, dimensions: Int, clusters: Int, referenceCells: UInt64, maxFrameBytes: Int,
                maxCellsPerMap: Int, maxConnections: Int, batches: [String], labels: [String]) {
        self.modelVersion = modelVersion
        self.dimensions = dimensions
        self.clusters = clusters
        self.referenceCells = referenceCells
        self.maxFrameBytes = maxFrameBytes
        self.maxCellsPerMap = maxCellsPerMap
        self.maxConnections = maxConnections
        self.batches = batches
        self.labels = labels
    }

    /// Fixed fields plus the strings' bytes.
    public var payloadSizeHint: Int {
        44 + (batches + labels).reduce(0) { $0 + 2 + $1.utf8.count }
    }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt64(modelVersion)
        writer.writeCount(dimensions)
        writer.writeCount(clusters)
        writer.writeUInt64(referenceCells)
        writer.writeCount(maxFrameBytes)
        writer.writeCount(maxCellsPerMap)
        writer.writeCount(maxConnections)
        writer.writeCount(batches.count)
        for b in batches { writer.writeShortString(b) }
        writer.writeCount(labels.count)
        for l in labels { writer.writeShortString(l) }
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        modelVersion = try reader.readUInt64("model version")
        dimensions = try reader.readCount("d")
        clusters = try reader.readCount("K")
        referenceCells = try reader.readUInt64("reference cells")
        maxFrameBytes = try reader.readCount("max frame bytes")
        maxCellsPerMap = try reader.readCount("max cells per MAP")
        maxConnections = try reader.readCount("max connections")
        batches = try reader.readShortStrings(try reader.readCount("batch count"), "batch levels")
        labels = try reader.readShortStrings(try reader.readCount("label count"), "labels")
    }
}
