/// STATS reply (0x84): counters, refit state and latency of the server.
///
/// Payload: `u64 model_version | u64 uptime_ms | u64 cells_mapped | u64 cells_pending_refit | u64 requests
/// | u32 refits_done | u32 refits_failed | u32 connections | u8 refit_running | u64 p50_us | u64 p90_us
/// | u64 p99_us | u64 p999_us | u32 B | B x (u16 n | n bytes batch | u64 cells)`.
public struct StatsReply: WireMessage {
    /// Frames of this message carry type 0x84.
    public static let messageType = MessageType.statsReply
    /// Version of the current model.
    public var modelVersion: UInt64
    /// Milliseconds since the server started.
    public var uptimeMilliseconds: UInt64
    /// Query cells mapped (acknowledged) since the reference was built, across restarts.
    public var cellsMapped: UInt64
    /// Query cells accumulated since the last successful refit.
    public var cellsPendingRefit: UInt64
    /// Requests answered since the server started.
    public var requestsServed: UInt64
    /// Successful refits since the server started.
    public var refitsDone: UInt32
    /// Failed refits since the server started.
    public var refitsFailed: UInt32
    /// Connections open now.
    public var connections: UInt32
    /// True while a refit runs.
    public var refitRunning: Bool
    /// Request latency percentiles in microseconds.
    public var latency: LatencyPercentiles
    /// Query cells per batch.
    public var batches: [BatchCount]

    /// A STATS reply from its fields.
    public init(modelVersion: UInt64, uptimeMilliseconds: UInt64, cellsMapped: UInt64, cellsPendingRefit: UInt64,
                requestsServed: UInt64, refitsDone: UInt32, refitsFailed: UInt32, connections: UInt32,
                refitRunning: Bool, latency: LatencyPercentiles, batches: [BatchCount]) {
        self.modelVersion = modelVersion
        self.uptimeMilliseconds = uptimeMilliseconds
        self.cellsMapped = cellsMapped
        self.cellsPendingRefit = cellsPendingRefit
        self.requestsServed = requestsServed
        self.refitsDone = refitsDone
        self.refitsFailed = refitsFailed
        self.connections = connections
        self.refitRunning = refitRunning
        self.latency = latency
        self.batches = batches
    }

    /// Fixed fields plus the per-batch entries.
    public var payloadSizeHint: Int { 89 + batches.reduce(0) { $0 + 10 + $1.batch.utf8.count } }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeUInt64(modelVersion)
        writer.writeUInt64(uptimeMilliseconds)
        writer.writeUInt64(cellsMapped)
        writer.writeUInt64(cellsPendingRefit)
        writer.writeUInt64(requestsServed)
        writer.writeUInt32(refitsDone)
        writer.writeUInt32(refitsFailed)
        writer.writeUInt32(connections)
        writer.writeUInt8(refitRunning ? 1 : 0)
        writer.writeUInt64(latency.p50)
        writer.writeUInt64(latency.p90)
        writer.writeUInt64(latency.p99)
        writer.writeUInt64(latency.p999)
        writer.writeCount(batches.count)
        for b in batches {
            writer.writeShortString(b.batch)
            writer.writeUInt64(b.cells)
        }
    }

    /// Reads the payload.
    public init(reading reader: inout ByteReader) throws {
        modelVersion = try reader.readUInt64("model version")
        uptimeMilliseconds = try reader.readUInt64("uptime")
        cellsMapped = try reader.readUInt64("cells mapped")
        cellsPendingRefit = try reader.readUInt64("cells pending refit")
        requestsServed = try reader.readUInt64("requests served")
        refitsDone = try reader.readUInt32("refits done")
        refitsFailed = try reader.readUInt32("refits failed")
        connections = try reader.readUInt32("connections")
        refitRunning = try reader.readBool("refit running flag")
        latency = LatencyPercentiles(p50: try reader.readUInt64("p50"), p90: try reader.readUInt64("p90"),
                                     p99: try reader.readUInt64("p99"), p999: try reader.readUInt64("p999"))
        let count = try reader.readCount("batch count")
        // Each entry takes at least 10 bytes (u16 length + u64 count).
        guard count <= reader.remaining / 10 else {
            throw ProtocolError(.malformed,
                                "\(count) batch counts announced, but only \(reader.remaining) bytes remain")
        }
        var batches: [BatchCount] = []
        batches.reserveCapacity(count)
        for i in 0..<count {
            let name = try reader.readShortString("batch #\(i)")
            batches.append(BatchCount(batch: name, cells: try reader.readUInt64("cells of batch #\(i)")))
        }
        self.batches = batches
    }
}
