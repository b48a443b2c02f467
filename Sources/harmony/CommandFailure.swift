import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// An error with the exit status the CLI reports it with: 2 for bad usage or input, 1 for runtime failures.
struct CommandFailure: Error, CustomStringConvertible {
    /// The sentence printed after `error: `.
    let message: String
    /// The process exit status.
    let status: Int32

    var description: String { message }

    /// Exit status for bad usage or bad input.
    static let usageStatus: Int32 = 2
    /// Exit status for a failure while computing or writing.
    static let runtimeStatus: Int32 = 1

    /// Runs `body` (reading and checking input) so that any failure counts as bad input (exit 2), including a
    /// missing or unreadable input file.
    static func readingInput<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as HarmonyError {
            throw CommandFailure(message: e.description, status: usageStatus)
        }
    }

    /// Runs `body` (writing output) so that any failure counts as a runtime failure (exit 1).
    static func writingOutput<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as HarmonyError {
            throw CommandFailure(message: e.description, status: runtimeStatus)
        }
    }

    /// Status for a HarmonyCore error raised while computing: bad parameters or data are the user's (2),
    /// numerical or I/O failures are runtime failures (1).
    static func status(of error: HarmonyError) -> Int32 {
        switch error {
        case .invalidParameter, .invalidInput, .fileFormat: return usageStatus
        case .io, .numerical: return runtimeStatus
        }
    }

    /// Prints `error` as the contract says and returns the exit status. Help and version requests print to
    /// stdout and return 0. `quiet` prints nothing (the ranks of harmony-mpi other than 0).
    static func report(_ error: Error, helpFrom root: ParsableCommand.Type, quiet: Bool = false) -> Int32 {
        let status: Int32
        let message: String
        switch error {
        case let e as CommandFailure:
            (status, message) = (e.status, e.message)
        case let e as HarmonyError:
            (status, message) = (Self.status(of: e), e.description)
        case let e as ExitCode:
            return e.rawValue
        default:
            if root.exitCode(for: error) == .success {
                if !quiet { print(root.fullMessage(for: error)) }
                return 0
            }
            status = usageStatus
            message = root.message(for: error) + "\n(see 'harmony help' or 'harmony <command> --help')"
        }
        if !quiet { StandardError.write("error: \(message)\n") }
        return status
    }
}
