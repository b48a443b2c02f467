import HarmonyCore
import HarmonyProtocol

/// Renders INFO, STATS and REFIT replies as small JSON documents for `harmony client` (stable key order).
enum ClientJSON {
    /// The INFO reply as JSON.
    static func render(_ info: InfoReply) -> String {
        object([
            ("model_version", "\(info.modelVersion)"), ("dimensions", "\(info.dimensions)"),
            ("clusters", "\(info.clusters)"), ("reference_cells", "\(info.referenceCells)"),
            ("max_frame_bytes", "\(info.maxFrameBytes)"), ("max_cells_per_map", "\(info.maxCellsPerMap)"),
            ("max_connections", "\(info.maxConnections)"),
            ("batches", array(info.batches.map(string))), ("labels", array(info.labels.map(string))),
            // Protocol version 3: the reference's gene count (0 without genes) and whether replies carry distances.
            ("genes", "\(info.geneSpace?.genes.count ?? 0)"),
            ("mapping_distance", info.hasMappingDistance ? "true" : "false"),
        ])
    }

    /// The STATS reply as JSON.
    static func render(_ stats: StatsReply) -> String {
        object([
            ("model_version", "\(stats.modelVersion)"), ("uptime_ms", "\(stats.uptimeMilliseconds)"),
            ("cells_mapped", "\(stats.cellsMapped)"), ("cells_pending_refit", "\(stats.cellsPendingRefit)"),
            ("requests_served", "\(stats.requestsServed)"), ("refits_done", "\(stats.refitsDone)"),
            ("refits_failed", "\(stats.refitsFailed)"), ("connections", "\(stats.connections)"),
            ("refit_running", stats.refitRunning ? "true" : "false"),
            ("latency_us", object([("p50", "\(stats.latency.p50)"), ("p90", "\(stats.latency.p90)"),
                                   ("p99", "\(stats.latency.p99)"), ("p999", "\(stats.latency.p999)")])),
            ("batches", object(stats.batches.map { ($0.batch, "\($0.cells)") })),
        ])
    }

    /// The REFIT reply as JSON.
    static func render(_ refit: RefitReply) -> String {
        object([("accepted", refit.accepted ? "true" : "false"), ("model_version", "\(refit.modelVersion)"),
                ("message", string(refit.message))])
    }

    /// A JSON object from keys and already-rendered values.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A JSON array from already-rendered values.
    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    /// A JSON string literal with the required escapes.
    static func string(_ s: String) -> String { JSONText.string(s) }
}
