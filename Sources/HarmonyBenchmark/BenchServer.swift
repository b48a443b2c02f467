import Foundation
import HarmonyCore
import HarmonyServer
#if canImport(Glibc)
import Glibc
#endif

/// A harmonyd served in-process for a self-benchmark, from a fresh state directory that is removed afterwards.
public enum BenchServer {
    /// The daemon settings a self-benchmark is run with (harmonyd's options of the same names).
    public struct Settings: Sendable {
        /// fdatasync of the log per group commit (`--unsafe-no-fsync` turns it off).
        public var syncWAL = true
        /// Labels from the clusters instead of the kNN vote (`--cluster-labels`).
        public var clusterLabels = false
        /// Mapping distances in version-3 replies (`--no-mapping-distance` turns them off).
        public var mappingDistances = true
        /// How long the log's thread and the loop poll for each other (`--log-poll-us`).
        public var logPollMicroseconds = ServerConfiguration.defaultLogPollMicroseconds

        /// The defaults of harmonyd.
        public init() {}
    }

    /// Serves `model` from `directory` (created, and emptied and removed on return) with `settings`, runs
    /// `body(configuration)` while the server runs on its own thread, then stops it.
    static func run<T>(model: ReferenceModel, directory: String, settings: Settings,
                       _ body: (ServerConfiguration) throws -> T) throws -> T {
        var configuration = ServerConfiguration(referencePath: nil, socketPath: directory + "/h.sock",
                                                stateDirectory: directory)
        configuration.handleSignals = false
        configuration.quiet = true
        configuration.syncWAL = settings.syncWAL
        configuration.clusterLabels = settings.clusterLabels
        configuration.mappingDistances = settings.mappingDistances
        configuration.logPollMicroseconds = settings.logPollMicroseconds
        guard mkdir(directory, 0o700) == 0 else {
            throw ServerError.io("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        defer {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                unlink(directory + "/" + name)
            }
            rmdir(directory)
        }
        let server = try HarmonyServer(configuration: configuration, model: model)
        let finished = DispatchSemaphore(value: 0)
        Thread { server.run(); finished.signal() }.start()
        defer {
            server.stop()
            finished.wait()
        }
        return try body(configuration)
    }
}
