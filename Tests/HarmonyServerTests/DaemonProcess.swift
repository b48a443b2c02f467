import Foundation
import HarmonyClient
import HarmonyTestSupport

/// The built `harmonyd` binary running as a child process on a socket and state directory.
final class DaemonProcess: Sendable {
    let process = Process()
    let socketPath: String
    private let stderrPipe = Pipe()

    /// The executable next to the test bundle (.build/<config>/harmonyd).
    static var binary: URL { BuiltBinary.url("harmonyd") }

    /// Starts harmonyd with `arguments` (plus --socket) and waits until the socket answers.
    init(socket: String, arguments: [String]) throws {
        socketPath = socket
        process.executableURL = DaemonProcess.binary
        process.arguments = ["--socket", socket] + arguments
        process.standardError = stderrPipe
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? HarmonyClient.connect(socket, timeoutSeconds: 5), (try? client.hello()) != nil {
                client.close()
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(process.processIdentifier, SIGKILL)
        throw POSIXError(.ETIMEDOUT)
    }

    func client() throws -> HarmonyClient { try HarmonyClient.connect(socketPath, timeoutSeconds: 30) }

    /// SIGKILL, then wait for the process to be gone.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends `signal` and returns the exit status once the process ended.
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Everything the daemon wrote on stderr (after it exited).
    var log: String {
        String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit {
        if process.isRunning { crash() }
    }
}
