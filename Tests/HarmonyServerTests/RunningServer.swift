import Foundation
import HarmonyClient
import HarmonyCore
import Synchronization
@testable import HarmonyServer

/// A HarmonyServer running in this process on a background thread, on a temporary socket and state directory.
final class RunningServer: Sendable {
    let directory: TemporaryDirectory
    let server: HarmonyServer
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Mutex(false)

    var socketPath: String { server.configuration.socketPath }
    var stateDirectory: String { server.configuration.stateDirectory }

    /// Starts a server for `model`; `configure` adjusts the configuration (quiet, no signal handling by default).
    init(model: ReferenceModel, directory: TemporaryDirectory? = nil,
         configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        var configuration = ServerConfiguration(referencePath: nil, socketPath: directory.path + "/h.sock",
                                                stateDirectory: directory.path + "/state")
        configuration.handleSignals = false
        configuration.quiet = ProcessInfo.processInfo.environment["HARMONYD_TEST_LOG"] == nil
        configure(&configuration)
        // What the harmonyd executable does for its process: peers that vanish mid-reply give EPIPE.
        signal(SIGPIPE, SIG_IGN)
        server = try HarmonyServer(configuration: configuration, model: model)
        let thread = Thread { [server, finished] in
            server.run()
            finished.signal()
        }
        thread.start()
    }

    /// A connected client.
    func client() throws -> HarmonyClient { try HarmonyClient.connect(socketPath, timeoutSeconds: 30) }

    /// Stops the server and waits (at most `seconds`) for `run()` to return; false on timeout.
    @discardableResult
    func stop(within seconds: Double = 20) -> Bool {
        // Only the first call stops the server (stop may come from the test and from deinit).
        let alreadyStopped = stopped.withLock { flag in
            let was = flag
            flag = true
            return was
        }
        guard !alreadyStopped else { return true }
        server.stop()
        return finished.wait(timeout: .now() + seconds) == .success
    }

    deinit { stop() }
}
