// harmonyd: parses its flags and runs HarmonyServer until SIGINT/SIGTERM. Exit statuses, as `harmony`'s: 0 after a
// clean shutdown; 2 for bad usage or input (flags, the model, the state directory's contents, a socket path in
// use), with one line `error: ...`; 1 when the system fails it (I/O errors, libuv calls), also `error: ...`.
import ArgumentParser
import HarmonyBenchmark
import HarmonyServer
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

@main
struct HarmonyDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmonyd",
        abstract: "Serve a frozen Harmony reference over a Unix socket (libuv \(HarmonyServerInfo.libuvVersion)).",
        discussion: """
            Query cells sent with MAP are corrected against the reference, logged durably in the state \
            directory before they are acknowledged, and folded into the reference by background refits. \
            A model in the state directory (written by a refit) takes precedence over --reference.

            Examples:
              harmonyd --reference ref.hmod --socket /run/harmony/h.sock --state-dir /var/lib/harmonyd
              harmonyd --reference ref.hmod --socket h.sock --state-dir state --refit-after 10000 --allow-uid 1000
              harmonyd --reference ref.hmod --socket h.sock --state-dir state --self-bench
              harmonyd --self-bench-expression
            Then: harmony client info --socket h.sock (see `harmony client --help`).
            """,
        version: "harmonyd \(HarmonyServerInfo.version) (libuv \(HarmonyServerInfo.libuvVersion))")

    // The flags' defaults are the library's, written once in `ServerConfiguration`.
    private static let defaults = ServerConfiguration(referencePath: nil, socketPath: "", stateDirectory: "")

    @Option(name: .long, help: "The reference model file (.hmod) to serve when the state directory has none.")
    var reference: String?

    @Option(name: .long, help: "Path of the Unix-domain socket to listen on.")
    var socket: String?

    @Option(name: .customLong("state-dir"), help: "Directory for the write-ahead log and refitted models.")
    var stateDir: String?

    @Option(name: .customLong("refit-after"), help: "Refit in the background once this many new cells arrived (0: only on REFIT).")
    var refitAfter: Int = Self.defaults.refitAfter

    @Option(name: .customLong("socket-mode"), help: "Octal permission bits of the socket file.")
    var socketMode: String = "0600"

    @Option(name: .customLong("allow-uid"), help: "Comma-separated uids allowed to connect (default: anyone who can open the socket).")
    var allowUID: String?

    @Option(name: .customLong("max-connections"), help: "Largest number of simultaneous connections.")
    var maxConnections: Int = Self.defaults.maxConnections

    @Option(name: .customLong("max-frame-bytes"), help: "Largest frame payload accepted, in bytes.")
    var maxFrameBytes: Int = Self.defaults.maxFrameBytes

    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle connection is closed (0: never).")
    var idleTimeout: Int = Self.defaults.idleTimeoutSeconds

    @Option(name: .customLong("frame-timeout"), help: "Seconds within which a started frame must arrive completely (0: no limit); slower peers are closed.")
    var frameTimeout: Int = Self.defaults.frameTimeoutSeconds

    @Option(name: .customLong("max-batches"), help: "Largest number of query batches held; a MAP starting another is answered BUSY.")
    var maxBatches: Int = Self.defaults.maxBatches

    @Option(name: .customLong("max-cells"), help: "Largest number of query cells held over all batches; a MAP passing it is answered BUSY.")
    var maxCells: Int = Self.defaults.maxCellsHeld

    @Option(name: .customLong("batch-states"), help: "Query batches that keep their streaming state (about K x d x 32 bytes each) in memory; the least recently used others rebuild it from their cells when used.")
    var batchStates: Int = Self.defaults.batchStates

    @Option(name: .long, help: "Threads in libuv's pool for mapping, logging and refits (0: libuv's default).")
    var threads: Int = Self.defaults.threads

    @Option(name: .customLong("query-lambda"), help: "Ridge penalty of new query batches, a pseudo-count of cells: early streamed corrections are shrunk by n / (n + L) (default 1, Symphony's and harmony map's; 10-50 damps a stream's first answers but under-corrects small batches).")
    var queryLambda: Double?

    @Flag(name: .customLong("unsafe-no-fsync"),
          help: "Acknowledge cells without fdatasync of the log (measurements only: a power failure may lose them).")
    var unsafeNoFsync = false

    @Option(name: .customLong("log-poll-us"),
            help: "Microseconds that the log's thread (after a write) and the event loop (while a write is in flight) poll for each other instead of sleeping, not while a refit runs: saves two thread wake-ups per durable MAP, which cost 30-110 us each on VMs, for some CPU time while cells stream in one by one (0: never poll).")
    var logPollMicroseconds: Int = Self.defaults.logPollMicroseconds

    @Flag(name: .customLong("cluster-labels"),
          help: "Predict labels from the clusters' label frequencies instead of a vote among the 5 nearest reference cells (as harmony map --cluster-labels; about 50x cheaper, for throughput-bound streams).")
    var clusterLabels = false

    @Flag(name: .customLong("no-mapping-distance"),
          help: "Leave mapping distances out of MAP replies (-1; INFO says so) although the model keeps cluster spreads: they cost about 2 K d^2 flops a cell, several times the mapping at K 100, d 30.")
    var noMappingDistance = false

    @Flag(name: .long, help: "Do not log events on stderr.")
    var quiet = false

    @Option(name: .customLong("log-format"),
            help: "How events are logged on stderr: text (one line 'harmonyd TIME LEVEL EVENT DETAILS') or json (one object per line with time, level, event and details, for log collectors).")
    var logFormat: LogFormat = .text

    @Flag(name: .customLong("self-bench"),
          help: "Measure throughput and latency on a simulated reference in a temporary directory, print them, and exit.")
    var selfBench = false

    @Flag(name: .customLong("self-bench-expression"),
          help: "Measure MAP_EXPRESSION throughput (durable, 1000-cell requests, a 2,000-gene reference built from simulated counts) in a temporary directory, print it, and exit.")
    var selfBenchExpression = false

    func validate() throws {
        if !selfBench && !selfBenchExpression { _ = try makeConfiguration() }
    }

    private func makeConfiguration() throws -> ServerConfiguration {
        guard let socket, let stateDir else { throw ValidationError("--socket and --state-dir are required") }
        var configuration = ServerConfiguration(referencePath: reference, socketPath: socket, stateDirectory: stateDir)
        configuration.refitAfter = refitAfter
        guard let mode = UInt32(socketMode, radix: 8) else {
            throw ValidationError("--socket-mode must be octal permission bits such as 0600, got \(socketMode)")
        }
        configuration.socketMode = mode
        if let allowUID {
            let uids = allowUID.split(separator: ",").map { UInt32($0.filter { $0 != " " }) }
            guard !uids.isEmpty, uids.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--allow-uid must be a comma-separated list of numeric uids, got \(allowUID)")
            }
            configuration.allowedUIDs = uids.map { $0! }
        }
        configuration.maxConnections = maxConnections
        configuration.maxFrameBytes = maxFrameBytes
        configuration.idleTimeoutSeconds = idleTimeout
        configuration.frameTimeoutSeconds = frameTimeout
        configuration.maxBatches = maxBatches
        configuration.maxCellsHeld = maxCells
        configuration.batchStates = batchStates
        configuration.clusterLabels = clusterLabels
        configuration.mappingDistances = !noMappingDistance
        configuration.threads = threads
        configuration.queryLambda = queryLambda
        configuration.quiet = quiet
        configuration.jsonLog = logFormat == .json
        configuration.syncWAL = !unsafeNoFsync
        configuration.logPollMicroseconds = logPollMicroseconds
        do {
            try configuration.validate()
        } catch let error as ServerError {
            throw ValidationError(error.description)
        }
        return configuration
    }

    /// Parses and runs; maps failures to the exit statuses above (ArgumentParser's usage status 64 becomes 2).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as StartFailure {
            StandardError.write("error: \(failure.message)\n")
            Glibc.exit(failure.status)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            var message = fullMessage(for: error)
            // ArgumentParser writes "Error: "; both executables write "error: ".
            if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
            if !message.isEmpty { StandardError.write(message + "\n") }
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    /// A server that could not start, with its exit status.
    struct StartFailure: Error {
        let message: String
        let status: Int32

        /// Bad input (flags, model, state directory contents) is 2, a failing system 1.
        init(_ error: Error) {
            message = "cannot start: \(error)"
            switch error {
            case ServerError.configuration, ServerError.state: status = 2
            default: status = 1
            }
        }
    }

    func run() throws {
        // Process-wide settings belong here, not in the library. A peer that hangs up while its replies are
        // written must give EPIPE, not end the daemon; libuv sizes its pool from the environment on first use.
        signal(SIGPIPE, SIG_IGN)
        if threads > 0 { setenv("UV_THREADPOOL_SIZE", "\(threads)", 1) }
        var bench = BenchServer.Settings()
        bench.syncWAL = !unsafeNoFsync
        bench.clusterLabels = clusterLabels
        bench.mappingDistances = !noMappingDistance
        bench.logPollMicroseconds = logPollMicroseconds
        if selfBench {
            print(try ServerBenchmark.selfBench(settings: bench))
            return
        }
        if selfBenchExpression {
            print(try ExpressionBenchmark.selfBench(settings: bench))
            return
        }
        let configuration = try makeConfiguration()
        let server: HarmonyServer
        do {
            server = try HarmonyServer(configuration: configuration)
        } catch {
            throw StartFailure(error)
        }
        // The socket listens (connections wait in its backlog until the loop runs).
        SystemdNotify.send("READY=1\nMAINPID=\(getpid())")
        server.run()
        SystemdNotify.send("STOPPING=1")
    }
}

/// The values of `--log-format`.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
