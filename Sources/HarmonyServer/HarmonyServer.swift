// harmonyd's server: wiring of the loop, the listening socket, connections, the write-ahead log, batches and
// refits. Request dispatch is in HarmonyServer+Requests.swift, one operation type per request kind in
// Operations/, refits in HarmonyServer+Refit.swift (see README.md).
//
// Thread contract: `init` runs on the caller's thread before the loop exists for anyone else; `run()` runs the
// loop on the calling thread, and from then on every member is touched only by that thread, except `stop()`,
// which may be called from any thread (it goes through a `uv_async_t`). Mapping of large requests, EXPORTs of
// large batches, WAL writes and refits run on libuv's thread pool and publish their results in after-work
// callbacks on the loop thread.
import CLibUV
import Foundation
import HarmonyCore
import HarmonyProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Unchecked Sendable: once `run()` starts only the loop thread touches its state; `stop()`, the one member for
// other threads, goes through `StopGate` and a `LoopWaker`.
/// The harmonyd daemon: serves a Harmony reference model over a Unix-domain socket.
///
/// Process-wide settings are the embedding program's: it must ignore SIGPIPE (a peer that hangs up while its
/// replies are written must give EPIPE, not end the process), and it sets `UV_THREADPOOL_SIZE` before the first
/// server starts if it wants a pool size other than libuv's default. The `harmonyd` executable does both.
public final class HarmonyServer: @unchecked Sendable {
    /// The settings the server runs with.
    public let configuration: ServerConfiguration
    let log: ServerLog
    let loop: EventLoop
    // Held until `run()` returns: no other daemon may use the same state directory meanwhile.
    private var stateLock: DirectoryLock?
    /// The served-model store: the model requests are mapped with, and the state directory's model files.
    var models: ServedModelStore
    // MARK: The stream: batches, their states and the log that makes them durable.
    /// The write-ahead log.
    let wal: WriteAheadLog
    /// Query batches and their counts, changed only by durable log records.
    var table = BatchTable()
    /// The batches that keep their streaming state (the others rebuild it when used).
    var stateCache: BatchStateCache
    /// The sequence the next log record gets.
    var nextSequence: UInt64
    /// The refit scheduler: the running refit and when the next automatic one is due.
    var refits = RefitScheduler()
    /// The connection registry.
    var connections = ConnectionRegistry()
    /// Server statistics (STATS).
    var statistics = ServerStatistics()
    private var listener: PipeListener?
    private var waker: LoopWaker?
    // Lets `stop()` reach the waker only while it is open: `stop()` may come from any thread, even after `run()`
    // returned and the handle was freed.
    private let stopGate = StopGate()
    private var sweepTimer: LoopTimer?
    private var graceTimer: LoopTimer?
    private var signalWatchers: [SignalWatcher] = []
    /// True once shutdown began: no new connections or requests.
    private(set) var draining = false
    /// Refused requests are logged, a few a second at most.
    var refusalLogLimit = LogRateLimit(perSecond: 5)

    /// Loads the model and the write-ahead log from the state directory, binds the socket, and gets ready to
    /// `run()`. `model` (for embedding the server in tests) replaces the `--reference` file when the state
    /// directory has no model of its own.
    public init(configuration: ServerConfiguration, model: ReferenceModel? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        log = ServerLog(quiet: configuration.quiet, json: configuration.jsonLog)
        stateCache = BatchStateCache(capacity: configuration.batchStates)
        try StateFiles.checkSocketDirectory(of: configuration.socketPath)
        // A start that fails removes what it created, so that it leaves the state directory as it found it.
        let created = CreatedFiles()
        do {
            if try StateFiles.ensureDirectory(configuration.stateDirectory) { created.directory = configuration.stateDirectory }
            // Nothing in the state directory is read or cut before no other daemon can be using it.
            let lockPath = configuration.stateDirectory + "/" + DirectoryLock.fileName
            let lockExisted = StateFiles.exists(lockPath)
            stateLock = try DirectoryLock(directory: configuration.stateDirectory)
            if !lockExisted { created.files.append(lockPath) }
            let store = ModelStore(directory: configuration.stateDirectory)

            // MARK: Model: the state directory's own (after a refit) wins over --reference.
            let loaded: (model: ReferenceModel, foldedSequence: UInt64, source: String)
            if let current = try store.loadCurrent() {
                loaded = current
                if let path = configuration.referencePath {
                    log.event("model-preferred", "the state directory's model (version \(current.model.modelVersion)) "
                              + "is served instead of --reference \(path)", level: .warning)
                }
            } else if let model {
                loaded = (model, 0, "the embedding program")
            } else if let path = configuration.referencePath {
                loaded = (try ModelStore.readModel(path), 0, path)
            } else {
                throw ServerError.configuration("no model: pass --reference model.hmod (the state directory "
                                                + "\(configuration.stateDirectory) has none yet)")
            }
            let served = try ServedModel(model: loaded.model, queryLambda: configuration.queryLambda,
                                         foldedSequence: loaded.foldedSequence, clusterLabels: configuration.clusterLabels,
                                         mappingDistances: configuration.mappingDistances)
            models = ServedModelStore(current: served, files: store)
            log.event("model-loaded", "version=\(models.current.version) K=\(models.current.model.clusterCount) "
                      + "d=\(models.current.model.dimension) reference_cells=\(models.current.model.cellCount) from=\(loaded.source)")

            // MARK: Recovery: replay the checkpoint, then the write-ahead log records after it, into batches,
            // exactly as the live server applied them.
            let checkpoint = try Checkpoint.read(path: store.checkpointPath)
            let through = checkpoint?.throughSequence ?? 0
            for record in checkpoint?.records ?? [] { table.apply(record, foldedSequence: models.current.foldedSequence) }
            let recovery = try WALRecovery.read(path: store.walPath)
            if let reason = recovery.discardReason {
                log.event("recovery-discarded", "bytes=\(recovery.discardedBytes) reason=\"\(reason)\"", level: .warning)
            }
            let replayed = recovery.records.filter { $0.sequence > through }
            for record in replayed { table.apply(record, foldedSequence: models.current.foldedSequence) }
            table.recoveredAll()
            // Sequences never go back, even when the checkpoint's last records were FORGETs (not kept in it).
            nextSequence = max(table.lastSequence, models.current.foldedSequence, through) + 1
            if checkpoint != nil || !recovery.records.isEmpty {
                log.event("recovery", "records=\(replayed.count) checkpoint_through=\(through) "
                          + "checkpoint_chunks=\(checkpoint?.records.count ?? 0) cells=\(table.cellsHeld) "
                          + "batches=\(table.nonEmpty.count) pending_refit=\(table.cellsPendingRefit)")
            }
            if !StateFiles.exists(store.walPath) { created.files.append(store.walPath) }

            // MARK: Loop and handles.
            loop = try EventLoop()
            wal = try WriteAheadLog(path: store.walPath, loop: loop, validBytes: recovery.validBytes,
                                    sync: configuration.syncWAL, io: configuration.logFileIO,
                                    pollMicroseconds: configuration.logPollMicroseconds)
        } catch {
            created.remove()
            throw error
        }
        do {
            try startHandles()
        } catch {
            closeHandles()
            loop.run()
            loop.close()
            created.remove()
            throw error
        }
        log.event("start", "socket=\(configuration.socketPath) state_dir=\(configuration.stateDirectory) "
                  + "libuv=\(HarmonyServerInfo.libuvVersion) wal_sync=\(configuration.syncWAL) pid=\(getpid())")
    }

    private func startHandles() throws {
        wal.mayPoll = { [unowned self] in !refits.running }
        waker = try LoopWaker(loop: loop) { [unowned self] in beginShutdown(reason: "stop requested") }
        listener = try PipeListener(loop: loop, path: configuration.socketPath,
                                    mode: mode_t(configuration.socketMode)) { [unowned self] in accept(from: $0) }
        sweepTimer = try LoopTimer(loop: loop, intervalMilliseconds: 1000) { [unowned self] in sweepIdle() }
        if configuration.handleSignals {
            for number in [SIGINT, SIGTERM] {
                signalWatchers.append(try SignalWatcher(loop: loop, signal: number) { [unowned self] number in
                    beginShutdown(reason: number == SIGINT ? "SIGINT" : "SIGTERM")
                })
            }
        }
    }

    /// Serves until `stop()` or SIGINT/SIGTERM, then returns after in-flight work finished and the log is flushed.
    public func run() {
        loop.run()
        loop.close()
        log.event("stopped", "requests=\(statistics.requestsServed) cells_mapped=\(table.cellsHeld)")
        // Everything is flushed and no handle is left: another server may take the directory now.
        stateLock = nil
    }

    /// Asks the server to shut down cleanly; safe from any thread, at any time (a no-op once it has stopped).
    public func stop() { stopGate.ifOpen { waker?.wake() } }

    // MARK: - Connections

    private func accept(from listener: PipeListener) {
        guard let connection = try? Connection(loop: loop, id: connections.takeID(),
                                               maxPayloadBytes: configuration.maxFrameBytes, handler: self) else {
            return
        }
        do {
            try listener.accept(into: connection.stream)
        } catch {
            log.event("accept-failed", "\(error)")
            connection.close()
            return
        }
        connection.readPeerCredentials()
        if !configuration.allowedUIDs.isEmpty {
            guard let uid = connection.peerUID, configuration.allowedUIDs.contains(uid) else {
                log.event("peer-refused", "uid=\(connection.peerUID.map { "\($0)" } ?? "unknown")")
                connection.close()
                return
            }
        }
        if draining || connections.count >= configuration.maxConnections {
            // Tell the client why before closing; the slot takes the place of a request.
            let code: ErrorCode = draining ? .shuttingDown : .busy
            connection.refuse(with: ErrorReply(code: code, message: draining ? "harmonyd is shutting down" :
                "harmonyd already serves \(configuration.maxConnections) connections (--max-connections)")
                .encodedFrame(requestID: 0, version: ProtocolVersion.minimum))
            return
        }
        connections[connection.id] = connection
        connection.startReading()
    }

    // Closes connections idle for longer than --idle-timeout, and those whose current frame has been arriving
    // for longer than --frame-timeout.
    private func sweepIdle() {
        let now = EventLoop.now()
        let idleLimit = UInt64(configuration.idleTimeoutSeconds) * 1_000_000_000
        let frameLimit = UInt64(configuration.frameTimeoutSeconds) * 1_000_000_000
        for connection in connections.values {
            if idleLimit > 0, connection.isIdle, now - connection.lastActivity > idleLimit {
                log.event("idle-closed", "connection=\(connection.id)")
                connection.close()
            } else if frameLimit > 0, let since = connection.partialFrameSince, now - since > frameLimit {
                log.event("frame-timeout", "connection=\(connection.id) seconds=\(configuration.frameTimeoutSeconds)",
                          level: .warning)
                connection.close()
            }
        }
    }

    // MARK: - Shutdown

    /// Stops accepting, lets every connection finish the replies it is owed, flushes the WAL, closes handles.
    func beginShutdown(reason: String) {
        guard !draining else { return }
        draining = true
        log.event("shutdown", "reason=\(reason) connections=\(connections.count)")
        listener?.close()
        for watcher in signalWatchers { watcher.close() }
        // A refit would only delay the stop: it ends before its next iteration, persists nothing, and its cells
        // stay pending for the next refit.
        refits.cancellation?.set()
        for connection in connections.values { connection.drain() }
        // A peer that never reads its replies must not hold the shutdown forever.
        graceTimer = try? LoopTimer(loop: loop, intervalMilliseconds: UInt64(configuration.shutdownGraceSeconds) * 1000) {
            [unowned self] in
            if !connections.isEmpty { log.event("shutdown-forced", "connections=\(connections.count)") }
            for connection in connections.values { connection.close() }
            graceTimer?.close()
        }
        finishShutdownIfQuiet()
    }

    /// Closes the remaining handles once no connection, WAL write or refit is left.
    func finishShutdownIfQuiet() {
        guard draining, connections.isEmpty, !refits.running else { return }
        wal.whenIdle { [self] in
            guard connections.isEmpty, !refits.running else { return }
            closeHandles()
        }
    }

    private func closeHandles() {
        wal.close()
        listener?.close()
        stopGate.close()
        waker?.close()
        sweepTimer?.close()
        graceTimer?.close()
        for watcher in signalWatchers { watcher.close() }
        for connection in connections.values { connection.close() }
    }
}

extension HarmonyServer: ConnectionHandler {
    func connection(_ connection: Connection, lostFraming error: ProtocolError) -> [UInt8] {
        log.event("framing-error", "connection=\(connection.id) \(error)", level: .warning)
        // The peer's version is unknown when its framing is lost: version 1 is read by every client.
        return ErrorReply(error).encodedFrame(requestID: error.requestID, version: ProtocolVersion.minimum)
    }

    func connectionClosed(_ connection: Connection) {
        connections[connection.id] = nil
        finishShutdownIfQuiet()
    }
}

/// A flag that another thread can act on only while it is set, under a lock.
final class StopGate: Sendable {
    private let open = Mutex(true)

    /// Runs `body` if the gate is still open, holding the lock (so `close()` waits for it).
    func ifOpen(_ body: () -> Void) { open.withLock { if $0 { body() } } }

    /// Closes the gate; later `ifOpen` calls do nothing.
    func close() { open.withLock { $0 = false } }
}
