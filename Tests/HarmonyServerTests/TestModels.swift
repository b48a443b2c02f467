import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import HarmonyServer
import Synchronization
import XCTest

/// Reference models shared by the server tests (fitted once per configuration and process).
enum TestModels {
    private static let cache = Mutex<[String: SimulatedReference]>([:])

    /// A fitted reference of `cells` simulated cells with its query cells.
    static func make(cells: Int = 1200, dims: Int = 8, clusters: Int = 12, seed: UInt64 = 7) throws -> SimulatedReference {
        let key = "\(cells)-\(dims)-\(clusters)-\(seed)"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let made = try SimulatedReference(cells: cells, dims: dims, clusters: clusters, seed: seed, threads: 1)
        cache.withLock { $0[key] = made }
        return made
    }

    /// Polls STATS until a refit finished (done or failed) or `seconds` passed; returns the last STATS.
    static func waitForRefit(_ client: HarmonyClient, seconds: Double = 30) throws -> StatsReply {
        var stats = try client.stats()
        let deadline = Date().addingTimeInterval(seconds)
        while stats.refitsDone + stats.refitsFailed == 0 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
            stats = try client.stats()
        }
        return stats
    }
}

/// The tests' cells are matrices; the client takes row-major values (it depends on HarmonyProtocol only).
extension HarmonyClient {
    func map(batch: String, ids: [String]? = nil, cells: Matrix<Float>) throws -> MapReply {
        try map(batch: batch, ids: ids, values: cells.values, dimensions: cells.cols)
    }

    func mapTransient(batch: String, ids: [String]? = nil, cells: Matrix<Float>) throws -> MapReply {
        try mapTransient(batch: batch, ids: ids, values: cells.values, dimensions: cells.cols)
    }
}
