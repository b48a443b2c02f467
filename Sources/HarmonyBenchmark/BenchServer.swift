import Foundation
import HarmonyCore
import HarmonyServer
#if canImport(Glibc)
import Glibc
#endif

/// A harmonyd served in-process for a self-benchmark, from a fresh state directory that is removed afterwards.
enum BenchServer {
    /// Serves `model` from `directory` (created, and emptied and removed on return) with the benchmarks' settings,
    /// runs `body(configuration)` while the server runs on its own thread, then stops it.
    static func run<T>(model: ReferenceModel, directory: String, syncWAL: Bool, clusterLabels: Bool,
                       mappingDistances: Bool, _ body: (ServerConfiguration) throws -> T) throws -> T {
        var configuration = ServerConfiguration(referencePath: nil, socketPath: directory + "/h.sock",
                                                stateDirectory: directory)
        configuration.handleSignals = false
        configuration.quiet = true
        configuration.syncWAL = syncWAL
        configuration.clusterLabels = clusterLabels
        configuration.mappingDistances = mappingDistances
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
