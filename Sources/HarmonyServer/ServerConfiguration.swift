// The daemon's settings, as parsed from harmonyd's flags. A plain value; `validate()` checks it.
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Everything harmonyd needs to know to start.
public struct ServerConfiguration: Sendable {
    /// The reference model file served when the state directory has no model of its own yet.
    public var referencePath: String?
    /// Path of the Unix-domain socket.
    public var socketPath: String
    /// Directory for the write-ahead log and refitted models.
    public var stateDirectory: String
    /// Start a background refit once this many new cells have accumulated; 0 disables automatic refits.
    public var refitAfter: Int = 0
    /// Permission bits of the socket file.
    public var socketMode: UInt32 = 0o600
    /// Peers allowed to connect (by uid); empty allows every peer that can open the socket.
    public var allowedUIDs: [UInt32] = []
    /// Largest number of simultaneous connections.
    public var maxConnections: Int = 256
    /// Largest frame payload accepted, in bytes.
    public var maxFrameBytes: Int = ProtocolLimits.defaultMaxPayloadBytes
    /// Largest number of cells in one MAP request.
    public var maxCellsPerMap: Int = 1 << 20
    /// Seconds a connection may stay idle (nothing owed, nothing read) before it is closed; 0 disables.
    public var idleTimeoutSeconds: Int = 300
    /// Seconds within which a frame must arrive completely once its first byte has; 0 disables. A peer that
    /// trickles a frame byte by byte is closed after it, so that a few such peers cannot hold every slot.
    public var frameTimeoutSeconds: Int = 30
    /// Largest number of query batches held (a MAP that would start another one is answered BUSY).
    public var maxBatches: Int = 100_000
    /// Largest number of query cells held over all batches (a MAP that would pass it is answered BUSY).
    public var maxCellsHeld: Int = 50_000_000
    /// Query batches that keep their streaming state in memory (least recently used first out); any other
    /// batch rebuilds it from its cells when next used. Bounds the per-batch memory of many small batches.
    public var batchStates: Int = 256
    /// The longest idle timeout accepted: one year (timers count nanoseconds in 64 bits).
    public static let maxIdleTimeoutSeconds = 365 * 86_400
    /// Size of libuv's thread pool (0 keeps libuv's default); must be set before the first pool job.
    public var threads: Int = 0
    /// Ridge lambda of query batches, a pseudo-count of cells; nil uses Symphony's 1, the default of
    /// `harmony map` too, so EXPORT matches offline mapping.
    public var queryLambda: Double?
    /// Labels from the cluster-based estimate even when the model keeps its cells (the kNN vote otherwise),
    /// as `harmony map --cluster-labels`: about 50 times cheaper, for throughput-bound streams.
    public var clusterLabels: Bool = false
    /// Whether version-3 MAP replies carry mapping distances when the model keeps cluster spreads. They cost
    /// about 2 K d^2 flops a cell (at K 100, d 30 several times the mapping); false leaves them out (-1).
    public var mappingDistances: Bool = true
    /// MAP requests with more cells than this are mapped on the thread pool instead of the loop.
    // A cell costs a few microseconds to map, and 20-100 more for its exact kNN label vote against a reference of
    // 20k-40k cells in 30 dimensions: 16 cells keep the loop busy for at most about 1.5 ms, while a single-cell
    // request saves the trip through the pool (tens of microseconds).
    public var inlineCellLimit: Int = 16
    /// Whether SIGINT/SIGTERM stop the server (off when embedded in tests).
    public var handleSignals: Bool = true
    /// Seconds a shutdown waits for peers to take the replies they are owed before closing them anyway.
    public var shutdownGraceSeconds: Int = 5
    /// fdatasync the write-ahead log before acknowledging cells; turning it off is for measurements only.
    public var syncWAL: Bool = true
    /// Microseconds that the log's thread, after a write, and the loop, while a write is in flight, poll for each
    /// other instead of sleeping (not while a refit runs); 0 never polls. Polling saves two thread wake-ups per
    /// durable MAP (30-110 us each on a VM) at the cost of CPU time while requests stream one at a time.
    public var logPollMicroseconds: Int = ServerConfiguration.defaultLogPollMicroseconds
    /// The default of `logPollMicroseconds`: a little more than the gap, on a 2-core VM, between a single-cell
    /// MAP's reply and the next request of a client that sends them one at a time.
    public static let defaultLogPollMicroseconds = 250
    /// Suppress the one-line-per-event log on stderr.
    public var quiet: Bool = false
    /// One JSON object per log line (`{"time", "level", "event", "details"}`) instead of text, for log collectors.
    public var jsonLog: Bool = false
    // How the write-ahead log reaches the disk; fault-injection tests replace it.
    var logFileIO: LogFileIO = .system

    /// A configuration with the given paths and every other setting at its default.
    public init(referencePath: String?, socketPath: String, stateDirectory: String) {
        self.referencePath = referencePath
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
    }

    /// Throws `ServerError.configuration` for values that cannot work.
    public func validate() throws {
        func bad(_ message: String) -> ServerError { .configuration(message) }
        guard !socketPath.isEmpty, socketPath.utf8.count < 108 else {
            throw bad("the socket path must have 1 to 107 bytes (a Unix socket address limit), got \(socketPath.utf8.count)")
        }
        guard !stateDirectory.isEmpty else { throw bad("--state-dir is required") }
        guard refitAfter >= 0 else { throw bad("--refit-after must be 0 (off) or a positive number of cells") }
        guard socketMode <= 0o777, socketMode & 0o600 == 0o600 else {
            throw bad("--socket-mode must be octal permission bits including owner read and write (0600), got "
                      + String(socketMode, radix: 8))
        }
        guard maxConnections >= 1 else { throw bad("--max-connections must be at least 1") }
        guard maxFrameBytes >= 1024, maxFrameBytes <= Int(UInt32.max) else {
            throw bad("--max-frame-bytes must be between 1024 and \(UInt32.max)")
        }
        guard maxCellsPerMap >= 1 else { throw bad("the MAP cell limit must be at least 1") }
        guard idleTimeoutSeconds >= 0, idleTimeoutSeconds <= ServerConfiguration.maxIdleTimeoutSeconds else {
            throw bad("--idle-timeout must be 0 (off) or a number of seconds up to "
                      + "\(ServerConfiguration.maxIdleTimeoutSeconds) (one year), got \(idleTimeoutSeconds)")
        }
        guard frameTimeoutSeconds >= 0, frameTimeoutSeconds <= ServerConfiguration.maxIdleTimeoutSeconds else {
            throw bad("--frame-timeout must be 0 (off) or a number of seconds up to "
                      + "\(ServerConfiguration.maxIdleTimeoutSeconds), got \(frameTimeoutSeconds)")
        }
        guard batchStates >= 1 else { throw bad("--batch-states must be at least 1") }
        guard maxBatches >= 1 else { throw bad("--max-batches must be at least 1") }
        guard maxCellsHeld >= 1 else { throw bad("--max-cells must be at least 1") }
        guard shutdownGraceSeconds >= 0, shutdownGraceSeconds <= ServerConfiguration.maxIdleTimeoutSeconds else { throw bad("the shutdown grace period must be 0 or more seconds") }
        guard logPollMicroseconds >= 0, logPollMicroseconds <= 100_000 else {
            throw bad("--log-poll-us must be between 0 (never poll) and 100000 microseconds, got \(logPollMicroseconds)")
        }
        guard threads >= 0, threads <= 1024 else { throw bad("--threads must be between 0 (libuv default) and 1024") }
        if let lambda = queryLambda, !(lambda >= 0 && lambda.isFinite) {
            throw bad("--query-lambda must be a finite number >= 0")
        }
    }
}
