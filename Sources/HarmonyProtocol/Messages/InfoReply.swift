/// INFO reply (0x82): the model the server maps with and the limits it enforces.
///
/// Payload: `u64 model_version | u32 d | u32 K | u64 reference_cells | u32 max_frame_bytes | u32 max_cells_per_map
/// | u32 max_connections | u32 B | B x (u16 n | n bytes batch level) | u32 L | L x (u16 n | n bytes label)`, and in
/// protocol version 3 frames `u8 has_mapping_distance | u8 has_genes | (has_genes = 1) u32 G | G x (str16 id, str16
/// name) | u8 normalization (0 counts, 1 as given) | f64 target sum (0 when as given)`.
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
    /// Whether MAP replies carry mapping distances (the model keeps its cluster spread); version 3, false before.
    public var hasMappingDistance: Bool
    /// The reference's genes and normalization, nil when it has none (or in frames before version 3).
    public var geneSpace: InfoGeneSpace?

    /// An INFO reply from its fields.
    public init(modelVersion: UInt64, dimensions: Int, clusters: Int, referenceCells: UInt64, maxFrameBytes: Int,
                maxCellsPerMap: Int, maxConnections: Int, batches: [String], labels: [String],
                hasMappingDistance: Bool = false, geneSpace: InfoGeneSpace? = nil) {
        self.modelVersion = modelVersion
        self.dimensions = dimensions
        self.clusters = clusters
        self.referenceCells = referenceCells
        self.maxFrameBytes = maxFrameBytes
        self.maxCellsPerMap = maxCellsPerMap
        self.maxConnections = maxConnections
        self.batches = batches
        self.labels = labels
        self.hasMappingDistance = hasMappingDistance
        self.geneSpace = geneSpace
    }

    /// Fixed fields plus the strings' bytes.
    public var payloadSizeHint: Int {
        59 + (batches + labels).reduce(0) { $0 + 2 + $1.utf8.count }
            + (geneSpace?.genes.reduce(0) { $0 + 4 + $1.id.utf8.count + $1.name.utf8.count } ?? 0)
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

    /// Appends the payload bytes of `version`: the gene section from version 3 on.
    public func encodePayload(into writer: inout ByteWriter, version: UInt8) {
        encodePayload(into: &writer)
        guard version >= 3 else { return }
        writer.writeUInt8(hasMappingDistance ? 1 : 0)
        writer.writeUInt8(geneSpace == nil ? 0 : 1)
        geneSpace?.encode(into: &writer)
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
        hasMappingDistance = false
        geneSpace = nil
    }

    /// Reads the payload of `version`: the gene section from version 3 on.
    public init(reading reader: inout ByteReader, version: UInt8) throws {
        try self.init(reading: &reader)
        guard version >= 3 else { return }
        hasMappingDistance = try reader.readBool("has-mapping-distance flag")
        geneSpace = try reader.readBool("has-genes flag") ? try InfoGeneSpace(reading: &reader) : nil
    }
}

/// One reference gene as INFO lists it: a stable id (e.g. an Ensembl id) and a name (a symbol).
public struct InfoGene: Sendable, Equatable {
    /// The gene id.
    public var id: String
    /// The gene name.
    public var name: String

    /// A gene from its id and name.
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// How the reference normalizes expression before scaling (INFO, version 3).
public enum InfoNormalization: Sendable, Equatable {
    /// Counts: each cell scaled to `targetSum` counts over its whole library, then ln(1 + x) (code 0).
    case logCounts(targetSum: Double)
    /// Values already normalized, used as they are (code 1).
    case asGiven
}

/// INFO's gene section (version 3): the reference genes, in the order MAP_EXPRESSION's column indices use.
public struct InfoGeneSpace: Sendable, Equatable {
    /// The reference genes, G of them.
    public var genes: [InfoGene]
    /// The normalization the model recorded.
    public var normalization: InfoNormalization

    /// A gene section from its parts.
    public init(genes: [InfoGene], normalization: InfoNormalization) {
        self.genes = genes
        self.normalization = normalization
    }

    func encode(into writer: inout ByteWriter) {
        writer.writeCount(genes.count)
        for gene in genes {
            writer.writeShortString(gene.id)
            writer.writeShortString(gene.name)
        }
        switch normalization {
        case .logCounts(let targetSum):
            writer.writeUInt8(0)
            writer.writeFloat64(targetSum)
        case .asGiven:
            writer.writeUInt8(1)
            writer.writeFloat64(0)
        }
    }

    init(reading reader: inout ByteReader) throws {
        let count = try reader.readCount("gene count")
        // Each gene takes at least its two 2-byte lengths.
        guard count >= 1, count <= reader.remaining / 4 else {
            throw ProtocolError(.malformed, "\(count) genes announced, but only \(reader.remaining) bytes remain")
        }
        var genes: [InfoGene] = []
        genes.reserveCapacity(count)
        for i in 0..<count {
            genes.append(InfoGene(id: try reader.readShortString("gene id #\(i)"),
                                  name: try reader.readShortString("gene name #\(i)")))
        }
        self.genes = genes
        let kind = try reader.readUInt8("normalization")
        let targetSum = Double(bitPattern: try reader.readUInt64("target sum"))
        switch kind {
        case 0:
            guard targetSum > 0, targetSum.isFinite else {
                throw ProtocolError(.malformed, "the target sum \(targetSum) is not a positive number")
            }
            normalization = .logCounts(targetSum: targetSum)
        case 1:
            normalization = .asGiven
        default:
            throw ProtocolError(.malformed, "normalization must be 0 (counts) or 1 (as given), got \(kind)")
        }
    }
}
