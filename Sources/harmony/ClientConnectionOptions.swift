import ArgumentParser
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// The options every `harmony client` subcommand shares, and the error handling they share.
struct ClientConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the harmonyd Unix socket.")
    var socket: String

    @Option(name: .long, help: "Seconds to wait for the daemon on each read or write (0 waits forever).")
    var timeout: Double = 600

    func validate() throws {
        guard timeout >= 0, timeout.isFinite else {
            throw ValidationError("--timeout must be a non-negative number of seconds.")
        }
    }

    /// A connected client that has negotiated the protocol version.
    func connect() throws -> HarmonyClient {
        let client = try HarmonyClient.connect(socket, timeoutSeconds: timeout)
        try client.hello(clientName: "harmony client")
        return client
    }

    /// Runs `body`, turning failures into a message on standard error and the documented exit status:
    /// 2 for bad input (files, dimensions, values), 1 for runtime failures (connection, server state).
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ClientError {
            report("error: \(error.description)")
            throw ExitCode(isInputError(error) ? 2 : 1)
        } catch let error as HarmonyError {
            report("error: \(error.description)")
            if case .io = error { throw ExitCode(1) }
            throw ExitCode(2)
        }
    }

    /// Runs `body` (reading the user's input files) so that any failure, a missing file included, is bad
    /// input (exit 2), as for the offline commands.
    static func readingInput<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as HarmonyError {
            throw ClientError.invalidArgument(error.description)
        }
    }

    /// Prints one line on standard error (progress notes and failures; standard output carries results).
    static func report(_ message: String) {
        StandardError.write("\(message)\n")
    }

    private static func isInputError(_ error: ClientError) -> Bool {
        switch error {
        case .invalidArgument: return true
        case .server(let code, _, _, _):
            let inputCodes: Set<ErrorCode> = [.malformed, .badDimension, .nonFinite, .tooManyCells, .unknownBatch]
            return code.map(inputCodes.contains) ?? false
        default: return false
        }
    }
}
