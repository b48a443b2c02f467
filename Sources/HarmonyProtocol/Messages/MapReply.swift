/// MAP reply (0x83): the immediate correction of each cell of a MAP request, with cluster and label calls.
///
/// Payload: `u64 model_version | u32 cells | u32 d | cells*d x f32 corrected | cells x u32 top cluster
/// | cells x f32 top cluster probability | cells x i32 predicted label (-1 = none) | cells x f32 label confidence`,
/// and in protocol version 3 frames `cells x f32 mapping distance` (-1 for every cell when the model keeps no cluster
/// spread).
public struct MapReply: WireMessage {
    /// Frames of this message carry type 0x83.
    public static let messageType = MessageType.mapReply
    /// The model version that mapped these cells.
    public var modelVersion: UInt64
    /// Number of cells n (as in the request).
    public var cellCount: Int
    /// Embedding dimension d.
    public var dimensions: Int
    /// Corrected n x d embedding, row-major.
    public var corrected: [Float]
    /// Most likely cluster of each cell.
    public var topCluster: [UInt32]
    /// Soft-assignment probability of that cluster.
    public var topProbability: [Float]
    /// Index into INFO's labels of the predicted label, or -1 when the reference has no labels.
    public var predictedLabel: [Int32]
    /// Confidence of the predicted label (0 when there is none).
    public var labelConfidence: [Float]
    /// Symphony's mapping distance of each cell (version 3; nil in older frames). -1 when the model has no cluster
    /// spread; a version-3 frame of a reply without distances carries -1 for every cell.
    public var mappingDistance: [Float]?

    /// The value a version-3 reply carries for a cell without a mapping distance.
    public static let noMappingDistance: Float = -1

    /// A MAP reply; array lengths must match `cellCount` and `dimensions` (a mismatch is a caller bug).
    public init(modelVersion: UInt64, cellCount: Int, dimensions: Int, corrected: [Float], topCluster: [UInt32],
                topProbability: [Float], predictedLabel: [Int32], labelConfidence: [Float],
                mappingDistance: [Float]? = nil) {
        precondition(corrected.count == cellCount * dimensions, "corrected does not hold \(cellCount) x \(dimensions)")
        precondition(topCluster.count == cellCount && topProbability.count == cellCount
                     && predictedLabel.count == cellCount && labelConfidence.count == cellCount
                     && (mappingDistance?.count ?? cellCount) == cellCount,
                     "MAP reply needs one cluster, probability, label, confidence and distance per cell")
        self.modelVersion = modelVersion
        self.cellCount = cellCount
        self.dimensions = dimensions
        self.corrected = corrected
        self.topCluster = topCluster
        self.topProbability = topProbability
        self.predictedLabel = predictedLabel
        self.labelConfidence = labelConfidence
        self.mappingDistance = mappingDistance
    }

    /// Exact payload size.
    public var payloadSizeHint: Int { 16 + 4 * corrected.count + 20 * cellCount }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt64(modelVersion)
        writer.writeCount(cellCount)
        writer.writeCount(dimensions)
        writer.writeFloat32Array(corrected)
        writer.writeUInt32Array(topCluster)
        writer.writeFloat32Array(topProbability)
        writer.writeInt32Array(predictedLabel)
        writer.writeFloat32Array(labelConfidence)
    }

    /// Appends the payload bytes of `version`: the mapping distances from version 3 on.
    public func encodePayload(into writer: inout ByteWriter, version: UInt8) {
        encodePayload(into: &writer)
        guard version >= 3 else { return }
        writer.writeFloat32Array(mappingDistance ?? [Float](repeating: Self.noMappingDistance, count: cellCount))
    }

    /// Reads the payload; n x d and n x 16 are checked against the payload and floats must be finite.
    public init(reading reader: inout ByteReader) throws {
        modelVersion = try reader.readUInt64("model version")
        cellCount = try reader.readCount("cell count")
        dimensions = try reader.readCount("d")
        corrected = try reader.readCellValues(cellCount: cellCount, dimensions: dimensions, "MAP reply corrected")
        topCluster = try reader.readUInt32Array(cellCount, "top cluster")
        topProbability = try reader.readFiniteFloat32Array(cellCount, "top cluster probability")
        predictedLabel = try reader.readInt32Array(cellCount, "predicted label")
        labelConfidence = try reader.readFiniteFloat32Array(cellCount, "label confidence")
        mappingDistance = nil
    }

    /// Reads the payload of `version`: the mapping distances from version 3 on.
    public init(reading reader: inout ByteReader, version: UInt8) throws {
        try self.init(reading: &reader)
        guard version >= 3 else { return }
        mappingDistance = try reader.readFiniteFloat32Array(cellCount, "mapping distance")
    }
}
